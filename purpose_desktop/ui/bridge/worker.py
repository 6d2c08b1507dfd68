"""EngineWorker: lives on the "engine" QThread, owns the Engine, and serves the bridge's requests one at a time.

Its signals are documented on EngineBridge (bridge.py), which forwards them unchanged; what it does for
each pane is in engine/services/.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.errors import InputError, ModelError, PurposeError, StoreError
from purpose_desktop.ui.bridge.requests import (
    AddModelRequest,
    ChatRequest,
    CheckPrivacyRequest,
    CloseRequest,
    DecideMemoriesRequest,
    DeleteRequest,
    DeleteTeamRequest,
    EditMemoryRequest,
    ErrorInfo,
    ExportConversationRequest,
    ForgetModelRequest,
    ListConversationsRequest,
    ListMemoriesRequest,
    ListRunsRequest,
    ListTeamsRequest,
    LoadMessagesRequest,
    LoadModelRequest,
    LoadRunRequest,
    LoadSettingsRequest,
    LoadTeamRequest,
    MarkWrongRequest,
    ProposeTeamRequest,
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

log = logging.getLogger(__name__)


class _EngineNotRunning(StoreError):
    pass


class EngineWorker(QObject):
    """Lives on the "engine" QThread, owns the Engine (SQLite + llama objects), serves one request at a time.

    Every slot catches everything and answers with a ``*_failed`` signal; its signals are documented
    on :class:`EngineBridge`, which forwards them unchanged.
    """

    sig_engine_started = Signal(str)
    sig_engine_start_failed = Signal(str, object)
    sig_model_load_progress = Signal(str, str)
    sig_model_loaded = Signal(str, object)
    sig_model_load_failed = Signal(str, object)
    sig_conversations_listed = Signal(str, object)
    sig_messages_loaded = Signal(str, str, object)
    sig_conversation_created = Signal(str, object)
    sig_token_received = Signal(str, str)
    sig_reply_finished = Signal(str, object)
    sig_reply_cancelled = Signal(str, object)
    sig_reply_failed = Signal(str, object)
    sig_conversation_renamed = Signal(str, object)
    sig_conversation_deleted = Signal(str, str)
    sig_conversation_restored = Signal(str, object)
    sig_request_failed = Signal(str, object)
    sig_engine_closed = Signal(str)
    # panes
    sig_models_scanned = Signal(str, object)
    sig_model_added = Signal(str, object)
    sig_model_forgotten = Signal(str, object)
    sig_settings_loaded = Signal(str, object)
    sig_settings_saved = Signal(str, object)
    sig_privacy_checked = Signal(str, object)
    sig_teams_listed = Signal(str, object)
    sig_team_proposed = Signal(str, object)
    sig_team_loaded = Signal(str, object)
    sig_team_saved = Signal(str, object)
    sig_team_deleted = Signal(str, str)
    sig_run_event_received = Signal(str, object)
    sig_team_run_finished = Signal(str, object)
    sig_team_run_cancelled = Signal(str, object)
    sig_team_run_failed = Signal(str, object)
    sig_runs_listed = Signal(str, object)
    sig_run_loaded = Signal(str, object)
    sig_memories_listed = Signal(str, object)
    sig_memory_shown = Signal(str, object)
    sig_memories_decided = Signal(str, object)
    sig_memory_edited = Signal(str, object)
    sig_memory_taught = Signal(str, object)
    sig_memory_retest_progressed = Signal(str, object)
    sig_memory_retested = Signal(str, object)
    sig_memory_retest_cancelled = Signal(str, object)
    sig_action_failed = Signal(str, object)
    # chat extras
    sig_message_marked_wrong = Signal(str, object)
    sig_messages_restored = Signal(str, object)
    sig_messages_searched = Signal(str, str, object)
    sig_conversation_exported = Signal(str, object)

    def __init__(self, engine_factory: Callable[[], Engine]) -> None:
        super().__init__()
        self._engine_factory = engine_factory
        self._engine: Engine | None = None
        self._start_error: ErrorInfo | None = None

    def _require_engine(self) -> Engine:
        if self._engine is None:
            if self._start_error is not None:
                raise _EngineNotRunning(self._start_error.message, self._start_error.hint)
            raise _EngineNotRunning("The engine is not running.", "Restart Purpose Desktop.")
        return self._engine

    @staticmethod
    def _fail(what: str, exc: BaseException) -> ErrorInfo:
        if isinstance(exc, PurposeError):
            log.warning("%s failed: %s", what, exc)
        else:
            log.exception("%s failed unexpectedly", what)
        return ErrorInfo.from_exception(exc)

    @Slot(object)
    def on_engine_start_requested(self, req: StartRequest) -> None:
        try:
            threading.current_thread().name = "engine"
            self._engine = self._engine_factory()
            self._start_error = None
            self.sig_engine_started.emit(req.id)
        except Exception as exc:
            self._start_error = self._fail("starting the engine", exc)
            self.sig_engine_start_failed.emit(req.id, self._start_error)

    @Slot(object)
    def on_model_load_requested(self, req: LoadModelRequest) -> None:
        try:
            engine = self._require_engine()
            summary = engine.model_files.load(
                req.spec,
                remember=req.remember,
                on_progress=lambda text: self.sig_model_load_progress.emit(req.id, text),
            )
            self.sig_model_loaded.emit(req.id, summary)
        except Exception as exc:
            self.sig_model_load_failed.emit(req.id, self._fail("loading the model", exc))
            return
        try:
            engine.warm_up_context()  # a chat sent meanwhile waits here, as it would for the embedder
        except Exception:  # grounding is optional: the chat reports it when it is asked for
            log.exception("warming up chat context failed")

    @Slot(object)
    def on_conversations_list_requested(self, req: ListConversationsRequest) -> None:
        try:
            self.sig_conversations_listed.emit(req.id, self._require_engine().store.list_conversations())
        except Exception as exc:
            self.sig_request_failed.emit(req.id, self._fail("listing chats", exc))

    @Slot(object)
    def on_messages_load_requested(self, req: LoadMessagesRequest) -> None:
        try:
            messages = self._require_engine().store.messages(req.conversation_id)
            self.sig_messages_loaded.emit(req.id, req.conversation_id, messages)
        except Exception as exc:
            self.sig_request_failed.emit(req.id, self._fail("loading a chat", exc))

    @Slot(object)
    def on_chat_requested(self, req: ChatRequest) -> None:
        try:
            engine = self._require_engine()
            if engine.model is None:
                raise ModelError(
                    "No model is loaded yet.", "Wait for the model to finish loading, or pick another one."
                )
            if req.mode != "regenerate" and not req.text.strip():
                raise InputError("The message is empty.", "Type a question or some code, then press Enter.")
            stream = {
                "cancel": req.cancel,
                "on_token": lambda piece: self.sig_token_received.emit(req.id, piece),
            }
            replaced: list = []
            if req.mode == "regenerate":
                if req.conversation_id is None:
                    raise InputError("Which chat?", "Open the chat whose last answer you want again.")
                user, assistant = engine.regenerate(
                    req.conversation_id, on_replaced=replaced.extend, **stream
                )
            elif req.mode == "edit":
                if req.message_id is None:
                    raise InputError("Which message?", "Pick the message of yours to edit.")
                user, assistant = engine.edit_and_resend(
                    req.message_id, req.text, on_replaced=replaced.extend, **stream
                )
            else:
                conversation_id = req.conversation_id
                if conversation_id is None:
                    conversation = engine.store.create_conversation(
                        model=getattr(engine.model, "display_name", None)
                    )
                    conversation_id = conversation.id
                    self.sig_conversation_created.emit(req.id, conversation)
                user, assistant = engine.send_message(conversation_id, req.text, **stream)
            result = ReplyResult(
                engine.store.get_conversation(user.conversation_id), user, assistant, tuple(replaced)
            )
            if assistant.status == "cancelled":
                self.sig_reply_cancelled.emit(req.id, result)
            else:
                self.sig_reply_finished.emit(req.id, result)
        except Exception as exc:
            self.sig_reply_failed.emit(req.id, self._fail("replying", exc))

    @Slot(object)
    def on_conversation_rename_requested(self, req: RenameRequest) -> None:
        try:
            conversation = self._require_engine().store.rename_conversation(req.conversation_id, req.title)
            self.sig_conversation_renamed.emit(req.id, conversation)
        except Exception as exc:
            self.sig_request_failed.emit(req.id, self._fail("renaming a chat", exc))

    @Slot(object)
    def on_conversation_delete_requested(self, req: DeleteRequest) -> None:
        try:
            self._require_engine().store.delete_conversation(req.conversation_id)
            self.sig_conversation_deleted.emit(req.id, req.conversation_id)
        except Exception as exc:
            self.sig_request_failed.emit(req.id, self._fail("deleting a chat", exc))

    @Slot(object)
    def on_conversation_restore_requested(self, req: RestoreRequest) -> None:
        try:
            conversation = self._require_engine().store.restore_conversation(req.conversation_id)
            self.sig_conversation_restored.emit(req.id, conversation)
        except Exception as exc:
            self.sig_request_failed.emit(req.id, self._fail("restoring a chat", exc))

    # -- panes: one request, one fact (or sig_action_failed) -----------------------------------------
    def _serve(self, req: Any, what: str, fact: Any, fn: Callable[[Engine], Any]) -> None:
        try:
            result = fn(self._require_engine())
        except Exception as exc:
            self.sig_action_failed.emit(req.id, self._fail(what, exc))
            return
        fact.emit(req.id, result)

    @Slot(object)
    def on_message_mark_wrong_requested(self, req: MarkWrongRequest) -> None:
        self._serve(
            req,
            "marking an answer wrong",
            self.sig_message_marked_wrong,
            lambda e: e.mark_wrong(req.message_id, req.note),
        )

    @Slot(object)
    def on_messages_restore_requested(self, req: RestoreMessagesRequest) -> None:
        self._serve(
            req,
            "putting back the replaced messages",
            self.sig_messages_restored,
            lambda e: e.restore_messages(req.conversation_id, list(req.messages)),
        )

    @Slot(object)
    def on_messages_search_requested(self, req: SearchMessagesRequest) -> None:
        try:
            hits = self._require_engine().search_messages(req.query, req.limit)
        except Exception as exc:
            self.sig_action_failed.emit(req.id, self._fail("searching chats", exc))
            return
        self.sig_messages_searched.emit(req.id, req.query, hits)

    @Slot(object)
    def on_conversation_export_requested(self, req: ExportConversationRequest) -> None:
        self._serve(
            req,
            "exporting a chat",
            self.sig_conversation_exported,
            lambda e: str(e.export_conversation(req.conversation_id, req.path)),
        )

    @Slot(object)
    def on_models_scan_requested(self, req: ScanModelsRequest) -> None:
        self._serve(req, "finding models", self.sig_models_scanned, lambda e: e.model_files.scan())

    @Slot(object)
    def on_model_add_requested(self, req: AddModelRequest) -> None:
        self._serve(req, "adding a model", self.sig_model_added, lambda e: e.model_files.add(req.path))

    @Slot(object)
    def on_model_forget_requested(self, req: ForgetModelRequest) -> None:
        self._serve(
            req, "removing a model", self.sig_model_forgotten, lambda e: e.model_files.forget(req.path)
        )

    @Slot(object)
    def on_settings_load_requested(self, req: LoadSettingsRequest) -> None:
        self._serve(req, "reading the settings", self.sig_settings_loaded, lambda e: e.config.snapshot())

    @Slot(object)
    def on_settings_save_requested(self, req: SaveSettingsRequest) -> None:
        self._serve(
            req, "saving the settings", self.sig_settings_saved, lambda e: e.config.update(dict(req.changes))
        )

    @Slot(object)
    def on_privacy_check_requested(self, req: CheckPrivacyRequest) -> None:
        self._serve(req, "checking the sandbox", self.sig_privacy_checked, lambda e: e.diagnostics.privacy())

    @Slot(object)
    def on_teams_list_requested(self, req: ListTeamsRequest) -> None:
        self._serve(req, "listing teams", self.sig_teams_listed, lambda e: e.teams.catalog())

    @Slot(object)
    def on_team_propose_requested(self, req: ProposeTeamRequest) -> None:
        self._serve(req, "proposing a team", self.sig_team_proposed, lambda e: e.teams.propose(req.purpose))

    @Slot(object)
    def on_team_load_requested(self, req: LoadTeamRequest) -> None:
        self._serve(req, "loading a team", self.sig_team_loaded, lambda e: e.teams.load(req.name_or_id))

    @Slot(object)
    def on_team_save_requested(self, req: SaveTeamRequest) -> None:
        self._serve(req, "saving a team", self.sig_team_saved, lambda e: e.teams.save(req.spec))

    @Slot(object)
    def on_team_delete_requested(self, req: DeleteTeamRequest) -> None:
        self._serve(req, "deleting a team", self.sig_team_deleted, lambda e: e.teams.delete(req.team_id))

    @Slot(object)
    def on_team_run_requested(self, req: RunTeamRequest) -> None:
        try:
            result = self._require_engine().teams.run(
                req.spec,
                req.task,
                tests=req.tests,
                mode=req.mode,
                cancel=req.cancel,
                on_event=lambda event: self.sig_run_event_received.emit(req.id, event),
            )
            if result.status == "cancelled":
                self.sig_team_run_cancelled.emit(req.id, result)
            else:
                self.sig_team_run_finished.emit(req.id, result)
        except Exception as exc:
            self.sig_team_run_failed.emit(req.id, self._fail("running the team", exc))

    @Slot(object)
    def on_runs_list_requested(self, req: ListRunsRequest) -> None:
        self._serve(
            req,
            "listing runs",
            self.sig_runs_listed,
            lambda e: e.runs.list(limit=req.limit, team=req.team),
        )

    @Slot(object)
    def on_run_load_requested(self, req: LoadRunRequest) -> None:
        self._serve(req, "opening a run", self.sig_run_loaded, lambda e: e.runs.load(req.run_id))

    @Slot(object)
    def on_memories_list_requested(self, req: ListMemoriesRequest) -> None:
        self._serve(req, "listing memories", self.sig_memories_listed, lambda e: e.memories.list())

    @Slot(object)
    def on_memory_show_requested(self, req: ShowMemoryRequest) -> None:
        self._serve(req, "opening a memory", self.sig_memory_shown, lambda e: e.memories.show(req.memory_id))

    @Slot(object)
    def on_memories_decide_requested(self, req: DecideMemoriesRequest) -> None:
        self._serve(
            req,
            f"{req.action} memories",
            self.sig_memories_decided,
            lambda e: e.memories.decide(req.memory_ids, req.action, req.reason),
        )

    @Slot(object)
    def on_memory_undo_requested(self, req: UndoDecisionRequest) -> None:
        self._serve(
            req,
            "undoing",
            self.sig_memories_decided,
            lambda e: e.memories.undo(req.previous),
        )

    @Slot(object)
    def on_memory_edit_requested(self, req: EditMemoryRequest) -> None:
        self._serve(
            req,
            "editing a memory",
            self.sig_memory_edited,
            lambda e: e.memories.edit(req.memory_id, req.text, req.reason),
        )

    @Slot(object)
    def on_memory_teach_requested(self, req: TeachRequest) -> None:
        self._serve(req, "teaching", self.sig_memory_taught, lambda e: e.memories.teach(req.text, req.kind))

    @Slot(object)
    def on_memory_retest_requested(self, req: RetestMemoryRequest) -> None:
        try:
            evidence = self._require_engine().memories.retest(
                req.memory_id,
                progress=lambda p: self.sig_memory_retest_progressed.emit(req.id, p),
                cancel=req.cancel,
            )
            if getattr(evidence, "status", "complete") == "cancelled":
                self.sig_memory_retest_cancelled.emit(req.id, evidence)
            else:
                self.sig_memory_retested.emit(req.id, evidence)
        except Exception as exc:
            self.sig_action_failed.emit(req.id, self._fail("re-testing a memory", exc))

    @Slot(object)
    def on_engine_close_requested(self, req: CloseRequest) -> None:
        engine, self._engine = self._engine, None
        try:
            if engine is not None:
                try:
                    purged = engine.store.purge_deleted()
                    if purged:
                        log.info("purged %d deleted chat(s)", purged)
                except Exception:
                    log.exception("purging deleted chats failed")
                engine.close()
        except Exception:
            log.exception("closing the engine failed")
        finally:
            req.done.set()
            self.sig_engine_closed.emit(req.id)
