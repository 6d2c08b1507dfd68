"""EngineBridge: the GUI side of the bridge to the engine and vault threads, the only place ui/ calls engine/.

Two kinds of traffic cross it:
- **Streams and lifecycle** keep their own queued asks and facts: start, model load, chat replies (tokens),
  team runs (events), memory re-tests (progress), vault indexing, close. Stopping one is *not* a signal:
  the worker is busy in its loop, so the GUI sets the request's CancelToken directly (the GPT4All pattern).
- **Every one-shot request** is ``call(fn)``: ``fn(engine)`` (or ``fn(vault)``) runs on the owner thread in
  one catch-all and is answered by ``sig_call_finished(id, result)`` or ``sig_call_failed(id, ErrorInfo)``.
  Panes use :class:`purpose_desktop.ui.ops.EngineOp` rather than calling it themselves.

The facts are declared once on :class:`BridgeFacts`; the bridge relays each from both workers unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from purpose_desktop.engine.core import Engine
from purpose_desktop.ui.bridge.facts import FACT_NAMES, BridgeFacts
from purpose_desktop.ui.bridge.requests import (
    Call,
    ChatRequest,
    CloseRequest,
    IndexRequest,
    LoadModelRequest,
    RetestRequest,
    RunTeamRequest,
    StartRequest,
)
from purpose_desktop.ui.bridge.vault_worker import VaultWorker
from purpose_desktop.ui.bridge.worker import EngineWorker

log = logging.getLogger(__name__)

#: How long shutdown waits for the worker to close the engine, then for the thread to end.
SHUTDOWN_TIMEOUT_MS = 10_000

#: Facts that end a long request (the bridge then forgets its CancelToken).
_ENDINGS = (
    "sig_reply_finished",
    "sig_reply_cancelled",
    "sig_reply_failed",
    "sig_team_run_finished",
    "sig_team_run_cancelled",
    "sig_team_run_failed",
    "sig_memory_retested",
    "sig_memory_retest_cancelled",
    "sig_memory_retest_failed",
    "sig_vault_index_finished",
    "sig_vault_index_cancelled",
    "sig_vault_index_failed",
)


class EngineBridge(BridgeFacts):
    """Owns the "engine" QThread and its EngineWorker (and, from the first vault request, the "vault"
    QThread and its VaultWorker); panes call its methods and connect to its facts (see BridgeFacts).
    """

    # Asks (GUI → engine thread, queued). Emitted by the methods below; panes call the methods.
    sig_engine_start_requested = Signal(object)  #: StartRequest
    sig_model_load_requested = Signal(object)  #: LoadModelRequest
    sig_chat_requested = Signal(object)  #: ChatRequest
    sig_team_run_requested = Signal(object)  #: RunTeamRequest
    sig_memory_retest_requested = Signal(object)  #: RetestRequest
    sig_call_requested = Signal(object)  #: Call (owner "engine")
    sig_engine_close_requested = Signal(object)  #: CloseRequest
    # GUI → vault thread
    sig_vault_index_requested = Signal(object)  #: IndexRequest
    sig_vault_call_requested = Signal(object)  #: Call (owner "vault")
    sig_vault_close_requested = Signal(object)  #: CloseRequest

    _ASKS = (
        ("sig_engine_start_requested", "on_engine_start_requested"),
        ("sig_model_load_requested", "on_model_load_requested"),
        ("sig_chat_requested", "on_chat_requested"),
        ("sig_team_run_requested", "on_team_run_requested"),
        ("sig_memory_retest_requested", "on_memory_retest_requested"),
        ("sig_call_requested", "on_call_requested"),
        ("sig_engine_close_requested", "on_engine_close_requested"),
    )
    _VAULT_ASKS = (
        ("sig_vault_index_requested", "on_index_requested"),
        ("sig_vault_call_requested", "on_call_requested"),
        ("sig_vault_close_requested", "on_close_requested"),
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
        self._before_start: list[Call] = []
        self._model_spec: str | None = None
        self._started = False
        self._shut_down = False
        self._thread = QThread()
        self._thread.setObjectName("engine")
        self._worker = EngineWorker(engine_factory or (lambda: Engine()))
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._relay(self._worker, self._ASKS)
        for name in _ENDINGS:
            getattr(self, name).connect(self._forget)
        self._vault_factory = vault_factory
        self._vault_thread: QThread | None = None
        self._vault_worker: VaultWorker | None = None

    def _relay(self, worker: BridgeFacts, asks: tuple[tuple[str, str], ...]) -> None:
        for ask, slot in asks:
            getattr(self, ask).connect(getattr(worker, slot))
        for name in FACT_NAMES:
            getattr(worker, name).connect(getattr(self, name))

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self, model_spec: str | None = None, *, load_model: bool = True) -> None:
        """Start the engine thread and build the Engine there; then the calls panes made before start
        (the chat list first), then load the model."""
        if self._started:
            return
        self._started = True
        self._thread.start()
        self.sig_engine_start_requested.emit(StartRequest())
        waiting, self._before_start = self._before_start, []
        for call in waiting:
            self.sig_call_requested.emit(call)
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
        self._relay(self._vault_worker, self._VAULT_ASKS)
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

    # -- one-shot calls ---------------------------------------------------------------------------
    def call(self, fn: Callable[[Any], Any], owner: str = "engine", *, what: str = "") -> Call:
        """Run ``fn(engine)`` (``owner="vault"``: ``fn(vault)``) on that thread; answered by
        sig_call_finished or sig_call_failed with the returned Call's id. Calls made before start()
        run right after the Engine is built."""
        call = Call(fn, owner, what)
        if owner == "vault":
            self._ensure_vault()
            self.sig_vault_call_requested.emit(call)
        elif not self._started:
            self._before_start.append(call)
        else:
            self.sig_call_requested.emit(call)
        return call

    # -- streams: model, chat, team runs, re-tests, indexing ----------------------------------------
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

    def send_message(
        self, conversation_id: str | None, text: str, chat_settings: dict | None = None, mcp_tools: bool = False
    ) -> ChatRequest:
        """Ask for a reply; keep the returned request to match its tokens and to stop it.

        ``chat_settings``: a new chat's own generation settings (stored when the chat is created);
        ``mcp_tools``: a new chat offers the MCP servers' tools.
        """
        req = ChatRequest(conversation_id, text, chat_settings=chat_settings or None, mcp_tools=mcp_tools)
        return self._ask(self.sig_chat_requested, req)

    def regenerate(self, conversation_id: str) -> ChatRequest:
        """Answer the chat's last user message again; streams and ends like send_message (stop with stop())."""
        return self._ask(self.sig_chat_requested, ChatRequest(conversation_id, "", mode="regenerate"))

    def edit_and_resend(self, conversation_id: str, message_id: str, text: str) -> ChatRequest:
        """Replace the user message ``message_id`` with ``text``, drop what followed, and stream a new answer."""
        req = ChatRequest(conversation_id, text, mode="edit", message_id=message_id)
        return self._ask(self.sig_chat_requested, req)

    def run_team(
        self, spec: dict, task: str, tests: str | None = None, mode: str = "train"
    ) -> RunTeamRequest:
        """Run a task; keep the request to match its events and to stop it (``stop(req)``)."""
        return self._ask(self.sig_team_run_requested, RunTeamRequest(spec, task, tests, mode))

    def retest_memory(self, memory_id: str, team: str | None = None) -> RetestRequest:
        """Replay-test a memory (with the saved ``team``, else the default one); stop it with ``stop(req)``."""
        return self._ask(self.sig_memory_retest_requested, RetestRequest(memory_id, team))

    def index_paths(self, paths) -> IndexRequest:
        """Add or refresh folders and files in the vault; stop it with ``stop(req)``."""
        self._ensure_vault()
        return self._ask(self.sig_vault_index_requested, IndexRequest(tuple(str(p) for p in paths)))

    def _ask(self, signal: Any, req: Any) -> Any:
        self._in_flight[req.id] = req
        signal.emit(req)
        return req

    def stop(self, req: Any) -> None:
        """Stop a reply, run, re-test or indexing now: sets its CancelToken from this (GUI) thread."""
        req.cancel.set()

    def stop_all(self) -> None:
        for req in list(self._in_flight.values()):
            req.cancel.set()

    def in_flight(self) -> list[Any]:
        return list(self._in_flight.values())

    @Slot(str, object)
    def _forget(self, request_id: str, _result: Any) -> None:
        self._in_flight.pop(request_id, None)
