"""EngineWorker: lives on the "engine" QThread, owns the Engine, and serves the bridge's requests one at a time.

Its facts are declared once on BridgeFacts (facts.py); what it does for each pane is in engine/services/,
reached through ``bridge.call``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import Slot

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.errors import InputError, ModelError, StoreError
from purpose_desktop.ui.bridge.facts import BridgeFacts, error_info, guarded
from purpose_desktop.ui.bridge.requests import (
    Call,
    ChatRequest,
    CloseRequest,
    ErrorInfo,
    LoadModelRequest,
    ReplyResult,
    RetestRequest,
    RunTeamRequest,
    StartRequest,
    ToolCallUpdate,
)

log = logging.getLogger(__name__)


class _EngineNotRunning(StoreError):
    pass


class EngineWorker(BridgeFacts):
    """Lives on the "engine" QThread, owns the Engine (SQLite + llama objects), serves one request at a time.

    Every slot catches everything and answers with a ``*_failed`` fact.
    """

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

    @Slot(object)
    def on_engine_start_requested(self, req: StartRequest) -> None:
        try:
            threading.current_thread().name = "engine"
            self._engine = self._engine_factory()
            replays = getattr(self._engine, "replays", None)
            if replays is not None:  # re-tests in the background report here
                replays.on_status = self.sig_replay_status_changed.emit
            self._start_error = None
            self.sig_engine_started.emit(req.id)
        except Exception as exc:
            self._start_error = error_info("starting the engine", exc)
            self.sig_engine_start_failed.emit(req.id, self._start_error)

    @Slot(object)
    def on_call_requested(self, call: Call) -> None:
        """One pane request: ``call.fn(engine)``, answered by sig_call_finished or sig_call_failed."""

        def work() -> None:
            self.sig_call_finished.emit(call.id, call.fn(self._require_engine()))

        guarded(self.sig_call_failed, call.id, call.what or "a request", work)

    @Slot(object)
    def on_model_load_requested(self, req: LoadModelRequest) -> None:
        def load() -> None:
            summary = self._require_engine().model_files.load(
                req.spec,
                remember=req.remember,
                on_progress=lambda text: self.sig_model_load_progress.emit(req.id, text),
            )
            self.sig_model_loaded.emit(req.id, summary)
            loaded.append(True)

        loaded: list[bool] = []
        guarded(self.sig_model_load_failed, req.id, "loading the model", load)
        if loaded and self._engine is not None:
            try:
                self._engine.warm_up_context()  # a chat sent meanwhile waits here, as it would for the embedder
            except Exception:  # grounding is optional: the chat reports it when it is asked for
                log.exception("warming up chat context failed")

    @Slot(object)
    def on_chat_requested(self, req: ChatRequest) -> None:
        guarded(self.sig_reply_failed, req.id, "replying", lambda: self._chat(req))

    def _chat(self, req: ChatRequest) -> None:
        engine = self._require_engine()
        if engine.model is None:
            raise ModelError(
                "No model is loaded yet.", "Wait for the model to finish loading, or pick another one."
            )
        if req.mode != "regenerate" and not req.text.strip():
            raise InputError("The message is empty.", "Type a question or some code, then press Enter.")
        first_token_at: list[float] = []

        def on_token(piece: str) -> None:
            if not first_token_at:
                first_token_at.append(time.perf_counter())
            self.sig_token_received.emit(req.id, piece)

        def on_tool_call(record: dict, ask) -> None:
            self.sig_chat_tool_call_changed.emit(req.id, ToolCallUpdate(record, ask))

        # The engine thread waits in ``approve_tool``; the chat's card answers the question object itself.
        stream = {
            "cancel": req.cancel,
            "on_token": on_token,
            "on_tool_call": on_tool_call,
            "approve_tool": lambda question, cancel: question.wait(cancel or req.cancel),
        }
        replaced: list = []
        if req.mode == "regenerate":
            if req.conversation_id is None:
                raise InputError("Which chat?", "Open the chat whose last answer you want again.")
            user, assistant = engine.regenerate(req.conversation_id, on_replaced=replaced.extend, **stream)
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
                if req.chat_settings:
                    engine.set_chat_settings(conversation_id, req.chat_settings)
                    conversation = engine.store.get_conversation(conversation_id)
                if req.mcp_tools:
                    engine.chat_tools.set_enabled(conversation_id, True)
                    conversation = engine.store.get_conversation(conversation_id)
                self.sig_conversation_created.emit(req.id, conversation)
            user, assistant = engine.send_message(conversation_id, req.text, **stream)
        waited = (first_token_at[0] - req.sent_at) * 1000 if first_token_at else None
        result = ReplyResult(
            engine.store.get_conversation(user.conversation_id), user, assistant, tuple(replaced), waited
        )
        if assistant.status == "cancelled":
            self.sig_reply_cancelled.emit(req.id, result)
        else:
            self.sig_reply_finished.emit(req.id, result)

    @Slot(object)
    def on_team_run_requested(self, req: RunTeamRequest) -> None:
        def ask(question, cancel) -> str:
            # The engine thread waits here; the GUI answers the question object itself (any thread).
            self.sig_tool_approval_requested.emit(req.id, question)
            return question.wait(cancel or req.cancel)

        def run() -> None:
            result = self._require_engine().teams.run(
                req.spec,
                req.task,
                tests=req.tests,
                mode=req.mode,
                cancel=req.cancel,
                on_event=lambda event: self.sig_run_event_received.emit(req.id, event),
                approve_tool=ask,
            )
            fact = self.sig_team_run_cancelled if result.status == "cancelled" else self.sig_team_run_finished
            fact.emit(req.id, result)

        guarded(self.sig_team_run_failed, req.id, "running the team", run)

    @Slot(object)
    def on_memory_retest_requested(self, req: RetestRequest) -> None:
        """Queue the re-test on the engine's background queue; chat and team runs go first meanwhile.

        The queue's thread answers with the same facts a re-test on this thread would.
        """

        def done(evidence) -> None:
            cancelled = getattr(evidence, "status", "complete") == "cancelled"
            (self.sig_memory_retest_cancelled if cancelled else self.sig_memory_retested).emit(req.id, evidence)

        def queue() -> None:
            self._require_engine().replays.submit(
                req.memory_id,
                team=req.team,
                progress=lambda p: self.sig_memory_retest_progressed.emit(req.id, p),
                done=done,
                failed=lambda exc: self.sig_memory_retest_failed.emit(req.id, error_info("re-testing a memory", exc)),
                cancel=req.cancel,
            )

        guarded(self.sig_memory_retest_failed, req.id, "re-testing a memory", queue)

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
