"""EngineBridge (GUI side) + EngineWorker (engine thread): the only place ui/ calls engine/.

Requests travel GUI → engine as frozen dataclasses on queued ``sig_<noun>_requested`` signals; facts
travel back on past-tense signals carrying the request id. Stopping a reply is *not* a signal: the
worker is busy inside the generation loop, so the GUI sets the request's CancelToken directly and the
engine checks it between tokens (the GPT4All pattern).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from purpose_desktop.engine.core import MAX_INPUT_CHARS, Engine
from purpose_desktop.engine.errors import InputError, ModelError, PurposeError, StoreError
from purpose_desktop.ui.bridge_types import (
    ChatRequest,
    CloseRequest,
    Conversation,
    DeleteRequest,
    ErrorInfo,
    ListConversationsRequest,
    LoadMessagesRequest,
    LoadModelRequest,
    Message,
    ModelSummary,
    RenameRequest,
    ReplyResult,
    RestoreRequest,
    StartRequest,
)

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


class _EngineNotRunning(StoreError):
    pass


# -- the engine thread -----------------------------------------------------------------------------
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
            started = time.perf_counter()
            info = engine.load_model(
                req.spec, on_progress=lambda text: self.sig_model_load_progress.emit(req.id, text)
            )
            model = engine.model
            summary = ModelSummary(
                name=str(getattr(model, "display_name", None) or getattr(info, "name", None) or "model"),
                path=str(getattr(info, "path", "")),
                size_label=getattr(info, "size_label", None),
                quantization=getattr(info, "quantization", None),
                context_length=getattr(model, "n_ctx", None) or getattr(info, "context_length", None),
                gpu_offload=bool(getattr(model, "gpu_offload", False)),
                load_s=time.perf_counter() - started,
                note=getattr(model, "template_note", None),
            )
            self.sig_model_loaded.emit(req.id, summary)
        except Exception as exc:
            self.sig_model_load_failed.emit(req.id, self._fail("loading the model", exc))

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
            if not req.text.strip():
                raise InputError("The message is empty.", "Type a question or some code, then press Enter.")
            conversation_id = req.conversation_id
            if conversation_id is None:
                conversation = engine.store.create_conversation(
                    model=getattr(engine.model, "display_name", None)
                )
                conversation_id = conversation.id
                self.sig_conversation_created.emit(req.id, conversation)
            user, assistant = engine.send_message(
                conversation_id,
                req.text,
                cancel=req.cancel,
                on_token=lambda piece: self.sig_token_received.emit(req.id, piece),
            )
            result = ReplyResult(engine.store.get_conversation(conversation_id), user, assistant)
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


# -- the GUI side ----------------------------------------------------------------------------------
class EngineBridge(QObject):
    """Owns the "engine" QThread and its EngineWorker; panes call its methods and connect to its facts.

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
    #: (request id, ErrorInfo) a list / load / rename / delete / restore request failed.
    sig_request_failed = Signal(str, object)
    #: (request id) the model and the database are closed; the thread is about to end.
    sig_engine_closed = Signal(str)

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
    )

    def __init__(
        self, engine_factory: Callable[[], Engine] | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._in_flight: dict[str, ChatRequest] = {}
        self._model_spec: str | None = None
        self._started = False
        self._shut_down = False
        self._thread = QThread()
        self._thread.setObjectName("engine")
        self._worker = EngineWorker(engine_factory or (lambda: Engine()))
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        w = self._worker
        for ask, slot in (
            (self.sig_engine_start_requested, w.on_engine_start_requested),
            (self.sig_model_load_requested, w.on_model_load_requested),
            (self.sig_conversations_list_requested, w.on_conversations_list_requested),
            (self.sig_messages_load_requested, w.on_messages_load_requested),
            (self.sig_chat_requested, w.on_chat_requested),
            (self.sig_conversation_rename_requested, w.on_conversation_rename_requested),
            (self.sig_conversation_delete_requested, w.on_conversation_delete_requested),
            (self.sig_conversation_restore_requested, w.on_conversation_restore_requested),
            (self.sig_engine_close_requested, w.on_engine_close_requested),
        ):
            ask.connect(slot)
        for name in self._FACTS:
            getattr(w, name).connect(getattr(self, name))
        for name in ("sig_reply_finished", "sig_reply_cancelled", "sig_reply_failed"):
            getattr(self, name).connect(self._forget)

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

    def shutdown(self, timeout_ms: int = SHUTDOWN_TIMEOUT_MS) -> bool:
        """Stop in-flight replies → close model and database → quit the thread → wait; True if all ended.

        Safe to call twice. Blocks the GUI thread for at most ``timeout_ms`` (the window is gone by then).
        """
        if self._shut_down:
            return True
        self._shut_down = True
        self.stop_all()
        if not self._thread.isRunning():
            return True
        deadline = time.monotonic() + timeout_ms / 1000
        close = CloseRequest()
        self.sig_engine_close_requested.emit(close)
        closed = close.done.wait(max(0.0, deadline - time.monotonic()))
        if not closed:
            log.error("the engine did not close within %d ms (it may be loading a model)", timeout_ms)
        self._thread.quit()
        finished = self._thread.wait(max(1, int((deadline - time.monotonic()) * 1000)))
        if not finished:
            log.error("the engine thread did not end within %d ms", timeout_ms)
        return closed and finished

    # -- asks -------------------------------------------------------------------------------------
    def load_model(self, spec: str | None = None) -> LoadModelRequest:
        """Load ``spec`` (None: the model in the settings, else the bundled one); Retry reuses it."""
        self._model_spec = spec
        req = LoadModelRequest(spec)
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

    def stop(self, req: ChatRequest) -> None:
        """Stop a reply now: sets its CancelToken from this (GUI) thread; harmless twice or after the end."""
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

    def in_flight(self) -> list[ChatRequest]:
        return list(self._in_flight.values())

    @Slot(str, object)
    def _forget(self, request_id: str, _result: Any) -> None:
        self._in_flight.pop(request_id, None)
