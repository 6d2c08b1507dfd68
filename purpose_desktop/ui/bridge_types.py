"""The frozen requests (GUI → engine) and results (engine → GUI) that travel across the EngineBridge."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from purpose_desktop.engine import paths
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.store import Conversation, Message

__all__ = [
    "ChatRequest",
    "CloseRequest",
    "Conversation",
    "DeleteRequest",
    "ErrorInfo",
    "ListConversationsRequest",
    "LoadMessagesRequest",
    "LoadModelRequest",
    "Message",
    "ModelSummary",
    "RenameRequest",
    "ReplyResult",
    "RestoreRequest",
    "StartRequest",
]


def _new_id() -> str:
    return uuid.uuid4().hex


# -- requests (GUI → engine) -----------------------------------------------------------------------
@dataclass(frozen=True)
class StartRequest:
    """Build the Engine (opens the database) on the engine thread."""

    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class LoadModelRequest:
    """Load (or switch to) a chat model; ``spec`` None means the one in the settings (or the bundled one)."""

    spec: str | None = None
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class ListConversationsRequest:
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class LoadMessagesRequest:
    conversation_id: str
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class ChatRequest:
    """Send ``text`` and stream the reply; ``conversation_id`` None starts a new chat.

    ``cancel`` is set straight from the GUI thread to stop the reply (see EngineBridge.stop).
    """

    conversation_id: str | None
    text: str
    cancel: CancelToken = field(default_factory=CancelToken)
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class RenameRequest:
    conversation_id: str
    title: str
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class DeleteRequest:
    """Soft delete (undoable until the app closes, when deleted chats are purged)."""

    conversation_id: str
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class RestoreRequest:
    conversation_id: str
    id: str = field(default_factory=_new_id)


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
class ModelSummary:
    """What the status bar shows about the loaded model."""

    name: str
    path: str
    size_label: str | None = None
    quantization: str | None = None
    context_length: int | None = None
    gpu_offload: bool = False
    load_s: float = 0.0
    note: str | None = None  # e.g. "x.gguf has no chat template; using the ChatML format instead."


@dataclass(frozen=True)
class ReplyResult:
    """A finished (or stopped) reply: both stored messages and the chat as it now is."""

    conversation: Conversation
    user: Message
    assistant: Message

    @property
    def ttft_ms(self) -> float | None:
        return self.assistant.meta.get("ttft_ms")

    @property
    def tokens_per_s(self) -> float | None:
        return self.assistant.meta.get("tokens_per_s")
