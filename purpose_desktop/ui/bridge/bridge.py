"""EngineBridge (GUI side) of the bridge to the engine thread: with bridge_worker and bridge_vault,
the only place ui/ calls engine/ (whose services do the work).

Requests travel GUI → engine as frozen dataclasses on queued ``sig_<noun>_requested`` signals; facts
travel back on past-tense signals carrying the request id. Stopping a reply is *not* a signal: the
worker is busy inside the generation loop, so the GUI sets the request's CancelToken directly and the
engine checks it between tokens (the GPT4All pattern).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from purpose_desktop.engine.core import MAX_INPUT_CHARS, Engine
from purpose_desktop.ui.bridge.requests import (
    AddModelRequest,
    ChatRequest,
    CheckPrivacyRequest,
    CloseRequest,
    Conversation,
    DecideMemoriesRequest,
    DeleteRequest,
    DeleteTeamRequest,
    EditMemoryRequest,
    ErrorInfo,
    ExportConversationRequest,
    ForgetModelRequest,
    IndexRequest,
    ListConversationsRequest,
    ListMemoriesRequest,
    ListRunsRequest,
    ListSourcesRequest,
    ListTeamsRequest,
    LoadMessagesRequest,
    LoadModelRequest,
    LoadRunRequest,
    LoadSettingsRequest,
    LoadTeamRequest,
    MarkWrongRequest,
    Message,
    ModelSummary,
    ProposeTeamRequest,
    QueryVaultRequest,
    RemoveSourceRequest,
    RenameRequest,
    ReplyResult,
    RestoreMessagesRequest,
    RestoreRequest,
    RetestMemoryRequest,
    RunTeamRequest,
    SaveSettingsRequest,
    SaveTeamRequest,
    ScanModelsRequest,
    SearchMessagesRequest,
    ShowMemoryRequest,
    StartRequest,
    TeachRequest,
    UndoDecisionRequest,
)
from purpose_desktop.ui.bridge.vault_worker import VaultWorker
from purpose_desktop.ui.bridge.worker import EngineWorker

log = logging.getLogger(__name__)

__all__ = [
    "MAX_INPUT_CHARS",
    "ChatRequest",
    "Conversation",
    "EngineBridge",
    "EngineWorker",
    "ErrorInfo",
    "Message",
    "ModelSummary",
    "ReplyResult",
]

#: How long shutdown waits for the worker to close the engine, then for the thread to end.
SHUTDOWN_TIMEOUT_MS = 10_000


# -- the GUI side ----------------------------------------------------------------------------------
class EngineBridge(QObject):
    """Owns the "engine" QThread and its EngineWorker (and, from the first vault request, the "vault"
    QThread and its VaultWorker); panes call its methods and connect to its facts.

    Every fact carries the id of the request it answers, so a pane can ignore answers it no longer wants.
    """

    # Asks (GUI → engine thread, queued). Emitted by the methods below; panes call the methods.
    sig_engine_start_requested = Signal(object)  #: StartRequest
    sig_model_load_requested = Signal(object)  #: LoadModelRequest
    sig_conversations_list_requested = Signal(object)  #: ListConversationsRequest
    sig_messages_load_requested = Signal(object)  #: LoadMessagesRequest
    sig_chat_requested = Signal(object)  #: ChatRequest
    sig_conversation_rename_requested = Signal(object)  #: RenameRequest
    sig_conversation_delete_requested = Signal(object)  #: DeleteRequest
    sig_conversation_restore_requested = Signal(object)  #: RestoreRequest
    sig_engine_close_requested = Signal(object)  #: CloseRequest
    sig_models_scan_requested = Signal(object)  #: ScanModelsRequest
    sig_model_add_requested = Signal(object)  #: AddModelRequest
    sig_model_forget_requested = Signal(object)  #: ForgetModelRequest
    sig_settings_load_requested = Signal(object)  #: LoadSettingsRequest
    sig_settings_save_requested = Signal(object)  #: SaveSettingsRequest
    sig_privacy_check_requested = Signal(object)  #: CheckPrivacyRequest
    sig_teams_list_requested = Signal(object)  #: ListTeamsRequest
    sig_team_propose_requested = Signal(object)  #: ProposeTeamRequest
    sig_team_load_requested = Signal(object)  #: LoadTeamRequest
    sig_team_save_requested = Signal(object)  #: SaveTeamRequest
    sig_team_delete_requested = Signal(object)  #: DeleteTeamRequest
    sig_team_run_requested = Signal(object)  #: RunTeamRequest
    sig_runs_list_requested = Signal(object)  #: ListRunsRequest
    sig_run_load_requested = Signal(object)  #: LoadRunRequest
    sig_memories_list_requested = Signal(object)  #: ListMemoriesRequest
    sig_memory_show_requested = Signal(object)  #: ShowMemoryRequest
    sig_memories_decide_requested = Signal(object)  #: DecideMemoriesRequest
    sig_memory_undo_requested = Signal(object)  #: UndoDecisionRequest
    sig_memory_edit_requested = Signal(object)  #: EditMemoryRequest
    sig_memory_teach_requested = Signal(object)  #: TeachRequest
    sig_memory_retest_requested = Signal(object)  #: RetestMemoryRequest
    sig_message_mark_wrong_requested = Signal(object)  #: MarkWrongRequest
    sig_messages_restore_requested = Signal(object)  #: RestoreMessagesRequest
    sig_messages_search_requested = Signal(object)  #: SearchMessagesRequest
    sig_conversation_export_requested = Signal(object)  #: ExportConversationRequest
    # GUI → vault thread
    sig_vault_sources_requested = Signal(object)  #: ListSourcesRequest
    sig_vault_index_requested = Signal(object)  #: IndexRequest
    sig_vault_query_requested = Signal(object)  #: QueryVaultRequest
    sig_vault_remove_requested = Signal(object)  #: RemoveSourceRequest
    sig_vault_close_requested = Signal(object)  #: CloseRequest

    # Facts (engine thread → GUI).
    #: (request id) the Engine exists and its database is open.
    sig_engine_started = Signal(str)
    #: (request id, ErrorInfo) the database could not be opened; later requests fail with the same error.
    sig_engine_start_failed = Signal(str, object)
    #: (request id, text) a human progress line while a model loads ("Loading x.gguf…").
    sig_model_load_progress = Signal(str, str)
    #: (request id, ModelSummary) the model is ready for chat.
    sig_model_loaded = Signal(str, object)
    #: (request id, ErrorInfo) the model could not be loaded; chats can still be browsed.
    sig_model_load_failed = Signal(str, object)
    #: (request id, list[Conversation]) newest activity first, deleted chats hidden.
    sig_conversations_listed = Signal(str, object)
    #: (request id, conversation id, list[Message]) oldest first.
    sig_messages_loaded = Signal(str, str, object)
    #: (chat request id, Conversation) a chat request without a conversation started this new chat.
    sig_conversation_created = Signal(str, object)
    #: (chat request id, text) the next piece of a streaming reply.
    sig_token_received = Signal(str, str)
    #: (chat request id, ReplyResult) the reply ended normally ("stop" or "length").
    sig_reply_finished = Signal(str, object)
    #: (chat request id, ReplyResult) the reply was stopped; its partial text is stored as "cancelled".
    sig_reply_cancelled = Signal(str, object)
    #: (chat request id, ErrorInfo) the reply failed; what streamed is stored with status "failed".
    sig_reply_failed = Signal(str, object)
    #: (request id, Conversation) the chat now has the new title.
    sig_conversation_renamed = Signal(str, object)
    #: (request id, conversation id) the chat is soft-deleted (restorable until the app closes).
    sig_conversation_deleted = Signal(str, str)
    #: (request id, Conversation) a soft-deleted chat is back.
    sig_conversation_restored = Signal(str, object)
    #: (request id, ErrorInfo) a chat list / load / rename / delete / restore request failed.
    sig_request_failed = Signal(str, object)
    #: (request id) the model and the database are closed; the thread is about to end.
    sig_engine_closed = Signal(str)
    #: (request id, ModelsReport) the models on this computer, the chosen one, RAM and GPU facts.
    sig_models_scanned = Signal(str, object)
    #: (request id, ModelsReport) a picked .gguf file is remembered (``added_id`` names it).
    sig_model_added = Signal(str, object)
    #: (request id, ModelsReport) an added model is off the list (its file untouched).
    sig_model_forgotten = Signal(str, object)
    #: (request id, SettingsSnapshot) the engine settings and where the data lives.
    sig_settings_loaded = Signal(str, object)
    #: (request id, SettingsSnapshot) changes are validated, saved and in use.
    sig_settings_saved = Signal(str, object)
    #: (request id, PrivacyReport) the sandbox protections active on this computer (probed for real).
    sig_privacy_checked = Signal(str, object)
    #: (request id, TeamCatalog) saved teams, role templates, tools and models for roles.
    sig_teams_listed = Signal(str, object)
    #: (request id, TeamSpec dict) the team a purpose suggests (not saved yet).
    sig_team_proposed = Signal(str, object)
    #: (request id, TeamSpec dict) a saved team.
    sig_team_loaded = Signal(str, object)
    #: (request id, TeamSpec dict) the team as saved.
    sig_team_saved = Signal(str, object)
    #: (request id, team id) the team is deleted (the pane keeps its spec for Undo).
    sig_team_deleted = Signal(str, str)
    #: (run request id, RunEvent) RunStarted, StepStarted, TokenReceived, ToolCalled, StepScored, RunFinished.
    sig_run_event_received = Signal(str, object)
    #: (run request id, RunResult) the run ended with an answer.
    sig_team_run_finished = Signal(str, object)
    #: (run request id, RunResult) the run was stopped; steps so far are kept in the trace.
    sig_team_run_cancelled = Signal(str, object)
    #: (run request id, ErrorInfo) the run failed.
    sig_team_run_failed = Signal(str, object)
    #: (request id, list[dict]) past runs, newest first.
    sig_runs_listed = Signal(str, object)
    #: (request id, dict) one run with its steps, each with its memories and vault citations.
    sig_run_loaded = Signal(str, object)
    #: (request id, MemoryList) every memory and the counts by status.
    sig_memories_listed = Signal(str, object)
    #: (request id, dict) one memory with history, evidence runs, credits and its runs' tasks.
    sig_memory_shown = Signal(str, object)
    #: (request id, MemoryDecision) approve / reject / archive / restore / undo done.
    sig_memories_decided = Signal(str, object)
    #: (request id, Memory) edited text scanned again and back in review (or rejected by the scan).
    sig_memory_edited = Signal(str, object)
    #: (request id, SubmitResult) a lesson the person taught.
    sig_memory_taught = Signal(str, object)
    #: (re-test request id, ReplayProgress) one replay run finished.
    sig_memory_retest_progressed = Signal(str, object)
    #: (re-test request id, ReplayEvidence) the replay's evidence is stored on the memory.
    sig_memory_retested = Signal(str, object)
    #: (re-test request id, ReplayEvidence) the replay was stopped; nothing was stored.
    sig_memory_retest_cancelled = Signal(str, object)
    #: (request id, ErrorInfo) a pane's request (models, settings, teams, runs, memory, vault,
    #: mark wrong, search, export) failed.
    sig_action_failed = Signal(str, object)
    #: (request id, dict) an answer is marked wrong: {"message_id", "already_marked", "memories":
    #: [{"id", "verdict", "utility_after", "demoted", "flagged"}]}.
    sig_message_marked_wrong = Signal(str, object)
    #: (request id, list[Message]) Undo of a regenerate or edit: the chat's messages, as put back.
    sig_messages_restored = Signal(str, object)
    #: (request id, query, list[MessageHit]) messages containing the query, newest first.
    sig_messages_searched = Signal(str, str, object)
    #: (request id, path str) the chat's Markdown is written there.
    sig_conversation_exported = Signal(str, object)
    # Facts (vault thread → GUI).
    #: (request id, list[SourceInfo]) vault sources with counts and status, oldest first.
    sig_vault_sources_listed = Signal(str, object)
    #: (index request id, IndexProgress) files and chunks done, rate, time left.
    sig_vault_index_progressed = Signal(str, object)
    #: (index request id, IndexReport) indexing finished.
    sig_vault_index_finished = Signal(str, object)
    #: (index request id, IndexReport) indexing stopped; finished work is kept and the next run resumes.
    sig_vault_index_cancelled = Signal(str, object)
    #: (index request id, ErrorInfo) indexing could not run.
    sig_vault_index_failed = Signal(str, object)
    #: (request id, query text, list[Hit]) ranked chunks, flagged ones included and marked.
    sig_vault_queried = Signal(str, str, object)
    #: (request id, SourceInfo) the source and its chunks are gone.
    sig_vault_source_removed = Signal(str, object)

    _FACTS = (
        "sig_engine_started",
        "sig_engine_start_failed",
        "sig_model_load_progress",
        "sig_model_loaded",
        "sig_model_load_failed",
        "sig_conversations_listed",
        "sig_messages_loaded",
        "sig_conversation_created",
        "sig_token_received",
        "sig_reply_finished",
        "sig_reply_cancelled",
        "sig_reply_failed",
        "sig_conversation_renamed",
        "sig_conversation_deleted",
        "sig_conversation_restored",
        "sig_request_failed",
        "sig_engine_closed",
        "sig_models_scanned",
        "sig_model_added",
        "sig_model_forgotten",
        "sig_settings_loaded",
        "sig_settings_saved",
        "sig_privacy_checked",
        "sig_teams_listed",
        "sig_team_proposed",
        "sig_team_loaded",
        "sig_team_saved",
        "sig_team_deleted",
        "sig_run_event_received",
        "sig_team_run_finished",
        "sig_team_run_cancelled",
        "sig_team_run_failed",
        "sig_runs_listed",
        "sig_run_loaded",
        "sig_memories_listed",
        "sig_memory_shown",
        "sig_memories_decided",
        "sig_memory_edited",
        "sig_memory_taught",
        "sig_memory_retest_progressed",
        "sig_memory_retested",
        "sig_memory_retest_cancelled",
        "sig_action_failed",
        "sig_message_marked_wrong",
        "sig_messages_restored",
        "sig_messages_searched",
        "sig_conversation_exported",
    )
    _ASKS = (
        ("sig_engine_start_requested", "on_engine_start_requested"),
        ("sig_model_load_requested", "on_model_load_requested"),
        ("sig_conversations_list_requested", "on_conversations_list_requested"),
        ("sig_messages_load_requested", "on_messages_load_requested"),
        ("sig_chat_requested", "on_chat_requested"),
        ("sig_conversation_rename_requested", "on_conversation_rename_requested"),
        ("sig_conversation_delete_requested", "on_conversation_delete_requested"),
        ("sig_conversation_restore_requested", "on_conversation_restore_requested"),
        ("sig_engine_close_requested", "on_engine_close_requested"),
        ("sig_models_scan_requested", "on_models_scan_requested"),
        ("sig_model_add_requested", "on_model_add_requested"),
        ("sig_model_forget_requested", "on_model_forget_requested"),
        ("sig_settings_load_requested", "on_settings_load_requested"),
        ("sig_settings_save_requested", "on_settings_save_requested"),
        ("sig_privacy_check_requested", "on_privacy_check_requested"),
        ("sig_teams_list_requested", "on_teams_list_requested"),
        ("sig_team_propose_requested", "on_team_propose_requested"),
        ("sig_team_load_requested", "on_team_load_requested"),
        ("sig_team_save_requested", "on_team_save_requested"),
        ("sig_team_delete_requested", "on_team_delete_requested"),
        ("sig_team_run_requested", "on_team_run_requested"),
        ("sig_runs_list_requested", "on_runs_list_requested"),
        ("sig_run_load_requested", "on_run_load_requested"),
        ("sig_memories_list_requested", "on_memories_list_requested"),
        ("sig_memory_show_requested", "on_memory_show_requested"),
        ("sig_memories_decide_requested", "on_memories_decide_requested"),
        ("sig_memory_undo_requested", "on_memory_undo_requested"),
        ("sig_memory_edit_requested", "on_memory_edit_requested"),
        ("sig_memory_teach_requested", "on_memory_teach_requested"),
        ("sig_memory_retest_requested", "on_memory_retest_requested"),
        ("sig_message_mark_wrong_requested", "on_message_mark_wrong_requested"),
        ("sig_messages_restore_requested", "on_messages_restore_requested"),
        ("sig_messages_search_requested", "on_messages_search_requested"),
        ("sig_conversation_export_requested", "on_conversation_export_requested"),
    )
    _VAULT_ASKS = (
        ("sig_vault_sources_requested", "on_sources_requested"),
        ("sig_vault_index_requested", "on_index_requested"),
        ("sig_vault_query_requested", "on_query_requested"),
        ("sig_vault_remove_requested", "on_remove_requested"),
        ("sig_vault_close_requested", "on_close_requested"),
    )
    _VAULT_FACTS = (
        ("sig_sources_listed", "sig_vault_sources_listed"),
        ("sig_index_progressed", "sig_vault_index_progressed"),
        ("sig_index_finished", "sig_vault_index_finished"),
        ("sig_index_cancelled", "sig_vault_index_cancelled"),
        ("sig_index_failed", "sig_vault_index_failed"),
        ("sig_queried", "sig_vault_queried"),
        ("sig_source_removed", "sig_vault_source_removed"),
        ("sig_action_failed", "sig_action_failed"),
    )

    def __init__(
        self,
        engine_factory: Callable[[], Engine] | None = None,
        parent: QObject | None = None,
        *,
        vault_factory: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self._in_flight: dict[str, Any] = {}
        self._model_spec: str | None = None
        self._started = False
        self._shut_down = False
        self._thread = QThread()
        self._thread.setObjectName("engine")
        self._worker = EngineWorker(engine_factory or (lambda: Engine()))
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        for ask, slot in self._ASKS:
            getattr(self, ask).connect(getattr(self._worker, slot))
        for name in self._FACTS:
            getattr(self._worker, name).connect(getattr(self, name))
        for name in (
            "sig_reply_finished",
            "sig_reply_cancelled",
            "sig_reply_failed",
            "sig_team_run_finished",
            "sig_team_run_cancelled",
            "sig_team_run_failed",
            "sig_memory_retested",
            "sig_memory_retest_cancelled",
            "sig_vault_index_finished",
            "sig_vault_index_cancelled",
            "sig_vault_index_failed",
        ):
            getattr(self, name).connect(self._forget)
        self.sig_action_failed.connect(self._forget)
        self._vault_factory = vault_factory
        self._vault_thread: QThread | None = None
        self._vault_worker: VaultWorker | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self, model_spec: str | None = None, *, load_model: bool = True) -> None:
        """Start the engine thread, build the Engine there, list chats, then load the model."""
        if self._started:
            return
        self._started = True
        self._thread.start()
        self.sig_engine_start_requested.emit(StartRequest())
        self.list_conversations()
        if load_model:
            self.load_model(model_spec)

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    @property
    def engine_thread(self) -> QThread:
        """The "engine" QThread (for tests and diagnostics)."""
        return self._thread

    def _ensure_vault(self) -> None:
        """Start the "vault" thread on first use: the embedder and its torch import stay off start-up."""
        if self._vault_thread is not None or self._shut_down:
            return
        self._vault_thread = QThread()
        self._vault_thread.setObjectName("vault")
        self._vault_worker = VaultWorker(self._vault_factory)
        self._vault_worker.moveToThread(self._vault_thread)
        self._vault_thread.finished.connect(self._vault_worker.deleteLater)
        for ask, slot in self._VAULT_ASKS:
            getattr(self, ask).connect(getattr(self._vault_worker, slot))
        for worker_fact, fact in self._VAULT_FACTS:
            getattr(self._vault_worker, worker_fact).connect(getattr(self, fact))
        self._vault_thread.start()

    def shutdown(self, timeout_ms: int = SHUTDOWN_TIMEOUT_MS) -> bool:
        """Stop in-flight work → close model, vault and database → quit the threads → wait; True if all ended.

        Safe to call twice. Blocks the GUI thread for at most ``timeout_ms`` (the window is gone by then).
        """
        if self._shut_down:
            return True
        self._shut_down = True
        self.stop_all()
        deadline = time.monotonic() + timeout_ms / 1000
        ok = True
        if self._vault_thread is not None and self._vault_thread.isRunning():
            close = CloseRequest()
            self.sig_vault_close_requested.emit(close)
            ok = close.done.wait(max(0.0, deadline - time.monotonic())) and ok
            self._vault_thread.quit()
            ok = self._vault_thread.wait(max(1, int((deadline - time.monotonic()) * 1000))) and ok
        if not self._thread.isRunning():
            return ok
        close = CloseRequest()
        self.sig_engine_close_requested.emit(close)
        closed = close.done.wait(max(0.0, deadline - time.monotonic()))
        if not closed:
            log.error("the engine did not close within %d ms (it may be loading a model)", timeout_ms)
        self._thread.quit()
        finished = self._thread.wait(max(1, int((deadline - time.monotonic()) * 1000)))
        if not finished:
            log.error("the engine thread did not end within %d ms", timeout_ms)
        return ok and closed and finished

    # -- asks: chat -------------------------------------------------------------------------------
    def load_model(self, spec: str | None = None, *, remember: bool = False) -> LoadModelRequest:
        """Load ``spec`` (None: the model in the settings, else the bundled one); Retry reuses it.

        ``remember`` makes it the chat model in the settings once it has loaded.
        """
        self._model_spec = spec
        req = LoadModelRequest(spec, remember)
        self.sig_model_load_requested.emit(req)
        return req

    def reload_model(self) -> LoadModelRequest:
        """Try the last requested model again (the Retry button after a failed load)."""
        return self.load_model(self._model_spec)

    def list_conversations(self) -> ListConversationsRequest:
        req = ListConversationsRequest()
        self.sig_conversations_list_requested.emit(req)
        return req

    def load_messages(self, conversation_id: str) -> LoadMessagesRequest:
        req = LoadMessagesRequest(conversation_id)
        self.sig_messages_load_requested.emit(req)
        return req

    def send_message(self, conversation_id: str | None, text: str) -> ChatRequest:
        """Ask for a reply; keep the returned request to match its tokens and to stop it."""
        req = ChatRequest(conversation_id, text)
        self._in_flight[req.id] = req
        self.sig_chat_requested.emit(req)
        return req

    def regenerate(self, conversation_id: str) -> ChatRequest:
        """Answer the chat's last user message again; streams and ends like send_message (stop with stop())."""
        req = ChatRequest(conversation_id, "", mode="regenerate")
        self._in_flight[req.id] = req
        self.sig_chat_requested.emit(req)
        return req

    def edit_and_resend(self, conversation_id: str, message_id: str, text: str) -> ChatRequest:
        """Replace the user message ``message_id`` with ``text``, drop what followed, and stream a new answer."""
        req = ChatRequest(conversation_id, text, mode="edit", message_id=message_id)
        self._in_flight[req.id] = req
        self.sig_chat_requested.emit(req)
        return req

    def mark_wrong(self, message_id: str, note: str = "") -> MarkWrongRequest:
        """Record that an answer was wrong; answered by sig_message_marked_wrong."""
        return self._ask(self.sig_message_mark_wrong_requested, MarkWrongRequest(message_id, note))

    def restore_messages(self, conversation_id: str, messages) -> RestoreMessagesRequest:
        """Undo a regenerate or edit (ReplyResult.replaced); answered by sig_messages_restored."""
        return self._ask(
            self.sig_messages_restore_requested, RestoreMessagesRequest(conversation_id, tuple(messages))
        )

    def search_messages(self, query: str, limit: int = 50) -> SearchMessagesRequest:
        """Search every chat; answered by sig_messages_searched."""
        return self._ask(self.sig_messages_search_requested, SearchMessagesRequest(query, limit))

    def export_conversation(self, conversation_id: str, path: str) -> ExportConversationRequest:
        """Write the chat as Markdown to ``path``; answered by sig_conversation_exported."""
        return self._ask(
            self.sig_conversation_export_requested, ExportConversationRequest(conversation_id, str(path))
        )

    def stop(self, req: Any) -> None:
        """Stop a reply, run, re-test or indexing now: sets its CancelToken from this (GUI) thread."""
        req.cancel.set()

    def stop_all(self) -> None:
        for req in list(self._in_flight.values()):
            req.cancel.set()

    def rename_conversation(self, conversation_id: str, title: str) -> RenameRequest:
        req = RenameRequest(conversation_id, title)
        self.sig_conversation_rename_requested.emit(req)
        return req

    def delete_conversation(self, conversation_id: str) -> DeleteRequest:
        req = DeleteRequest(conversation_id)
        self.sig_conversation_delete_requested.emit(req)
        return req

    def restore_conversation(self, conversation_id: str) -> RestoreRequest:
        req = RestoreRequest(conversation_id)
        self.sig_conversation_restore_requested.emit(req)
        return req

    def in_flight(self) -> list[Any]:
        return list(self._in_flight.values())

    # -- asks: panes ------------------------------------------------------------------------------
    def _ask(self, signal: Any, req: Any, *, long: bool = False) -> Any:
        if long:
            self._in_flight[req.id] = req
        signal.emit(req)
        return req

    def scan_models(self) -> ScanModelsRequest:
        return self._ask(self.sig_models_scan_requested, ScanModelsRequest())

    def add_model(self, path: str) -> AddModelRequest:
        return self._ask(self.sig_model_add_requested, AddModelRequest(path))

    def forget_model(self, path: str) -> ForgetModelRequest:
        return self._ask(self.sig_model_forget_requested, ForgetModelRequest(path))

    def load_settings(self) -> LoadSettingsRequest:
        return self._ask(self.sig_settings_load_requested, LoadSettingsRequest())

    def save_settings(self, **changes: Any) -> SaveSettingsRequest:
        return self._ask(self.sig_settings_save_requested, SaveSettingsRequest(tuple(changes.items())))

    def check_privacy(self) -> CheckPrivacyRequest:
        return self._ask(self.sig_privacy_check_requested, CheckPrivacyRequest())

    def list_teams(self) -> ListTeamsRequest:
        return self._ask(self.sig_teams_list_requested, ListTeamsRequest())

    def propose_team(self, purpose: str) -> ProposeTeamRequest:
        return self._ask(self.sig_team_propose_requested, ProposeTeamRequest(purpose))

    def load_team(self, name_or_id: str) -> LoadTeamRequest:
        return self._ask(self.sig_team_load_requested, LoadTeamRequest(name_or_id))

    def save_team(self, spec: dict) -> SaveTeamRequest:
        return self._ask(self.sig_team_save_requested, SaveTeamRequest(spec))

    def delete_team(self, team_id: str) -> DeleteTeamRequest:
        return self._ask(self.sig_team_delete_requested, DeleteTeamRequest(team_id))

    def run_team(
        self, spec: dict, task: str, tests: str | None = None, mode: str = "train"
    ) -> RunTeamRequest:
        """Run a task; keep the request to match its events and to stop it (``stop(req)``)."""
        return self._ask(self.sig_team_run_requested, RunTeamRequest(spec, task, tests, mode), long=True)

    def list_runs(self, limit: int = 500, team: str | None = None) -> ListRunsRequest:
        return self._ask(self.sig_runs_list_requested, ListRunsRequest(limit, team))

    def load_run(self, run_id: str) -> LoadRunRequest:
        return self._ask(self.sig_run_load_requested, LoadRunRequest(run_id))

    def list_memories(self) -> ListMemoriesRequest:
        return self._ask(self.sig_memories_list_requested, ListMemoriesRequest())

    def show_memory(self, memory_id: str) -> ShowMemoryRequest:
        return self._ask(self.sig_memory_show_requested, ShowMemoryRequest(memory_id))

    def decide_memories(self, memory_ids, action: str, reason: str = "") -> DecideMemoriesRequest:
        return self._ask(
            self.sig_memories_decide_requested, DecideMemoriesRequest(tuple(memory_ids), action, reason)
        )

    def undo_decision(self, previous, undoing: str = "") -> UndoDecisionRequest:
        return self._ask(self.sig_memory_undo_requested, UndoDecisionRequest(tuple(previous), undoing))

    def edit_memory(self, memory_id: str, text: str, reason: str = "") -> EditMemoryRequest:
        return self._ask(self.sig_memory_edit_requested, EditMemoryRequest(memory_id, text, reason))

    def teach(self, text: str, kind: str = "user_preference") -> TeachRequest:
        return self._ask(self.sig_memory_teach_requested, TeachRequest(text, kind))

    def retest_memory(self, memory_id: str) -> RetestMemoryRequest:
        return self._ask(self.sig_memory_retest_requested, RetestMemoryRequest(memory_id), long=True)

    def list_sources(self) -> ListSourcesRequest:
        self._ensure_vault()
        return self._ask(self.sig_vault_sources_requested, ListSourcesRequest())

    def index_paths(self, paths) -> IndexRequest:
        """Add or refresh folders and files in the vault; stop it with ``stop(req)``."""
        self._ensure_vault()
        return self._ask(
            self.sig_vault_index_requested, IndexRequest(tuple(str(p) for p in paths)), long=True
        )

    def query_vault(self, text: str, k: int = 10) -> QueryVaultRequest:
        self._ensure_vault()
        return self._ask(self.sig_vault_query_requested, QueryVaultRequest(text, k))

    def remove_source(self, source_id: str) -> RemoveSourceRequest:
        self._ensure_vault()
        return self._ask(self.sig_vault_remove_requested, RemoveSourceRequest(source_id))

    @Slot(str, object)
    def _forget(self, request_id: str, _result: Any) -> None:
        self._in_flight.pop(request_id, None)
