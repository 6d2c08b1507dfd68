"""BridgeFacts: every fact the engine and vault threads report, declared once, and the one guarded-slot helper.

The workers emit these; EngineBridge (a BridgeFacts too) relays each one unchanged, so a pane connects to
``bridge.sig_…``. Only streams and lifecycle have their own facts; every one-shot request is a Call,
answered by ``sig_call_finished`` or ``sig_call_failed``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.ui.bridge.requests import ErrorInfo

log = logging.getLogger(__name__)


class BridgeFacts(QObject):
    """The facts (engine or vault thread → GUI); each carries the id of the request it answers."""

    # -- lifecycle ---------------------------------------------------------------------------------
    #: (request id) the Engine exists and its database is open.
    sig_engine_started = Signal(str)
    #: (request id, ErrorInfo) the database could not be opened; later requests fail with the same error.
    sig_engine_start_failed = Signal(str, object)
    #: (request id) the model and the database are closed; the thread is about to end.
    sig_engine_closed = Signal(str)
    #: (request id, text) a human progress line while a model loads ("Loading x.gguf…").
    sig_model_load_progress = Signal(str, str)
    #: (request id, ModelSummary) the model is ready for chat.
    sig_model_loaded = Signal(str, object)
    #: (request id, ErrorInfo) the model could not be loaded; chats can still be browsed.
    sig_model_load_failed = Signal(str, object)
    # -- chat: one queued conversation (GPT4All) ---------------------------------------------------
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
    #: (chat request id, ToolCallUpdate) an MCP tool call of the reply changed (its record, stored already);
    #: while ``update.ask`` is set the reply waits for ``ask.answer("allow" | "always" | "deny")`` (Stop denies).
    sig_chat_tool_call_changed = Signal(str, object)
    # -- team runs ---------------------------------------------------------------------------------
    #: (run request id, RunEvent) RunStarted, StepStarted, TokenReceived, ToolCalled, StepScored, RunFinished.
    sig_run_event_received = Signal(str, object)
    #: (run request id, RunResult) the run ended with an answer.
    sig_team_run_finished = Signal(str, object)
    #: (run request id, RunResult) the run was stopped; steps so far are kept in the trace.
    sig_team_run_cancelled = Signal(str, object)
    #: (run request id, ToolCallAsk) a role wants to call an MCP tool; the run waits until the GUI calls
    #: ``ask.answer("allow" | "always" | "deny")`` (a stopped run answers "deny" itself).
    sig_tool_approval_requested = Signal(str, object)
    #: (run request id, ErrorInfo) the run failed.
    sig_team_run_failed = Signal(str, object)
    # -- memory re-tests ---------------------------------------------------------------------------
    #: (re-test request id, ReplayProgress) one replay run finished.
    sig_memory_retest_progressed = Signal(str, object)
    #: (re-test request id, ReplayEvidence) the replay's evidence is stored on the memory.
    sig_memory_retested = Signal(str, object)
    #: (re-test request id, ReplayEvidence) the replay was stopped; nothing was stored.
    sig_memory_retest_cancelled = Signal(str, object)
    #: (re-test request id, ErrorInfo) the replay could not run (no model, no past tasks …).
    sig_memory_retest_failed = Signal(str, object)
    #: (ReplayQueueStatus) the background re-test queue changed: what runs, what waits, paused or not.
    #: Emitted from the replay thread; panes receive it queued on the GUI thread.
    sig_replay_status_changed = Signal(object)
    # -- vault indexing (vault thread) -------------------------------------------------------------
    #: (index request id, IndexProgress) files and chunks done, rate, time left.
    sig_vault_index_progressed = Signal(str, object)
    #: (index request id, IndexReport) indexing finished.
    sig_vault_index_finished = Signal(str, object)
    #: (index request id, IndexReport) indexing stopped; finished work is kept and the next run resumes.
    sig_vault_index_cancelled = Signal(str, object)
    #: (index request id, ErrorInfo) indexing could not run.
    sig_vault_index_failed = Signal(str, object)
    # -- one-shot calls (bridge.call / ui.ops.EngineOp) --------------------------------------------
    #: (call id, result) ``fn(engine)`` (or ``fn(vault)``) returned ``result``.
    sig_call_finished = Signal(str, object)
    #: (call id, ErrorInfo) ``fn`` raised; nothing else reports it.
    sig_call_failed = Signal(str, object)


#: Every fact's name, in declaration order (the bridge relays each from both workers).
FACT_NAMES: tuple[str, ...] = tuple(
    name for name, value in vars(BridgeFacts).items() if name.startswith("sig_") and isinstance(value, Signal)
)


def error_info(what: str, exc: BaseException) -> ErrorInfo:
    """Log a failure (a traceback only for the unexpected) and say it the way the person sees it."""
    if isinstance(exc, PurposeError):
        log.warning("%s failed: %s", what, exc)
    else:
        log.exception("%s failed unexpectedly", what)
    return ErrorInfo.from_exception(exc)


def guarded(failed: SignalInstance, request_id: str, what: str, work: Callable[[], Any]) -> None:
    """Run a slot's ``work``; anything it raises is answered on ``failed`` (every slot catches everything)."""
    try:
        work()
    except Exception as exc:
        failed.emit(request_id, error_info(what, exc))
