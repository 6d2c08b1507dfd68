"""The frozen requests (GUI → engine) and results (engine → GUI) that travel across the EngineBridge."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from purpose_desktop.engine import paths
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.store import Conversation, Message

__all__ = [
    "Call",
    "ChatRequest",
    "CloseRequest",
    "Conversation",
    "ErrorInfo",
    "IndexRequest",
    "LoadModelRequest",
    "Message",
    "ReplyResult",
    "RetestRequest",
    "RunTeamRequest",
    "StartRequest",
    "ToolCallUpdate",
]

CHAT_MODES = ("send", "regenerate", "edit")
CALL_OWNERS = ("engine", "vault")


def _new_id() -> str:
    return uuid.uuid4().hex


# -- requests (GUI → engine) -----------------------------------------------------------------------
@dataclass(frozen=True)
class StartRequest:
    """Build the Engine (opens the database) on the engine thread."""

    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class Call:
    """One request of a pane: ``fn(engine)`` (or ``fn(vault)``) run on the ``owner`` thread.

    Answered by ``sig_call_finished(id, result)`` or ``sig_call_failed(id, ErrorInfo)``; ``what`` names
    it in the log ("saving a team").
    """

    fn: Callable[[Any], Any]
    owner: str = "engine"
    what: str = ""
    id: str = field(default_factory=_new_id)

    def __post_init__(self) -> None:
        if self.owner not in CALL_OWNERS:
            raise ValueError(f"unknown owner {self.owner!r}; use one of {CALL_OWNERS}")


@dataclass(frozen=True)
class LoadModelRequest:
    """Load (or switch to) a chat model; ``spec`` None means the one in the settings (or the bundled one).

    ``remember`` saves ``spec`` as the chat model in the settings once it has loaded.
    """

    spec: str | None = None
    remember: bool = False
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class ChatRequest:
    """Send ``text`` and stream the reply; ``conversation_id`` None starts a new chat.

    ``mode`` "regenerate" answers the chat's last user message again (``text`` unused); "edit" replaces
    the user message ``message_id`` with ``text``, drops what followed, and answers it. ``cancel`` is
    set straight from the GUI thread to stop the reply (see EngineBridge.stop).
    """

    conversation_id: str | None
    text: str
    cancel: CancelToken = field(default_factory=CancelToken)
    id: str = field(default_factory=_new_id)
    mode: str = "send"
    message_id: str | None = None
    #: When the person pressed Send (perf_counter, GUI thread): time to first token counts from here,
    #: so a wait for the model (a re-test giving it up, a model still loading) is part of it.
    sent_at: float = field(default_factory=time.perf_counter)
    #: A new chat's own generation settings, stored with it when it is created (None: the app's).
    chat_settings: dict | None = None
    #: A new chat offers the MCP servers' tools (stored with it when it is created).
    mcp_tools: bool = False

    def __post_init__(self) -> None:
        if self.mode not in CHAT_MODES:
            raise ValueError(f"unknown chat mode {self.mode!r}; use one of {CHAT_MODES}")


@dataclass(frozen=True)
class CloseRequest:
    """Purge soft-deleted chats, close the model and the database; ``done`` is set when finished."""

    done: threading.Event = field(default_factory=threading.Event)
    id: str = field(default_factory=_new_id)


# -- results (engine → GUI) ------------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorInfo:
    """What the person sees when something fails: what happened and what to do about it."""

    message: str
    hint: str = ""
    kind: str = "PurposeError"

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorInfo:
        if isinstance(exc, PurposeError):
            return cls(exc.message, exc.hint, type(exc).__name__)
        return cls(
            f"Something went wrong: {type(exc).__name__}: {exc}",
            f"This is a bug. Details are in the log in {paths.log_dir()}.",
            type(exc).__name__,
        )


@dataclass(frozen=True)
class ReplyResult:
    """A finished (or stopped) reply: both stored messages and the chat as it now is."""

    conversation: Conversation
    user: Message
    assistant: Message
    #: What a regenerate or an edit removed from the chat, for Undo (Engine.restore_messages).
    replaced: tuple = ()
    #: From Send to the first streamed token, as the person waited for it (None: no token came).
    first_token_after_send_ms: float | None = None

    @property
    def ttft_ms(self) -> float | None:
        """Time to first token from Send; the model's own figure (from its start) only when not measured."""
        if self.first_token_after_send_ms is not None:
            return self.first_token_after_send_ms
        return self.assistant.meta.get("ttft_ms")

    @property
    def tokens_per_s(self) -> float | None:
        return self.assistant.meta.get("tokens_per_s")


@dataclass(frozen=True)
class ToolCallUpdate:
    """One MCP tool call of a chat reply as it now stands (engine/chat/tool_calls records) and, while the
    person must decide, the question to answer (an engine ``ToolCallAsk``; answered from any thread)."""

    record: dict
    ask: Any = None


# -- streams (Team runs, re-tests, Vault indexing) -----------------------------------------------------
@dataclass(frozen=True)
class RunTeamRequest:
    """Run ``task`` on the team ``spec``; ``cancel`` is set straight from the GUI thread to stop it."""

    spec: dict
    task: str
    tests: str | None = None
    mode: str = "train"
    cancel: CancelToken = field(default_factory=CancelToken)
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class IndexRequest:
    """Add (or refresh) folders and files; ``cancel`` stops after the current file or batch."""

    paths: tuple[str, ...]
    cancel: CancelToken = field(default_factory=CancelToken)
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class RetestRequest:
    """Replay A/B test now with the saved ``team`` (None: the team that produced the memory, else the
    default team); ``cancel`` stops it (nothing is stored for a cancelled replay)."""

    memory_id: str
    team: str | None = None
    cancel: CancelToken = field(default_factory=CancelToken)
    id: str = field(default_factory=_new_id)
