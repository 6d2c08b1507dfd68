"""The frozen requests (GUI → engine) and results (engine → GUI) that travel across the EngineBridge."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

from purpose_desktop.engine import paths
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.services import (  # noqa: F401 - the panes' result types, re-exported
    MemoryDecision,
    MemoryList,
    ModelRow,
    ModelsReport,
    ModelSummary,
    PrivacyReport,
    Protection,
    SettingsSnapshot,
    TeamCatalog,
    TeamSummary,
)
from purpose_desktop.engine.store import Conversation, Message

__all__ = [
    "ChatRequest",
    "CloseRequest",
    "Conversation",
    "DeleteRequest",
    "ErrorInfo",
    "ExportConversationRequest",
    "ListConversationsRequest",
    "LoadMessagesRequest",
    "LoadModelRequest",
    "MarkWrongRequest",
    "Message",
    "ModelSummary",
    "RenameRequest",
    "ReplyResult",
    "RestoreRequest",
    "SearchMessagesRequest",
    "StartRequest",
]

CHAT_MODES = ("send", "regenerate", "edit")


def _new_id() -> str:
    return uuid.uuid4().hex


# -- requests (GUI → engine) -----------------------------------------------------------------------
@dataclass(frozen=True)
class StartRequest:
    """Build the Engine (opens the database) on the engine thread."""

    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class LoadModelRequest:
    """Load (or switch to) a chat model; ``spec`` None means the one in the settings (or the bundled one).

    ``remember`` saves ``spec`` as the chat model in the settings once it has loaded.
    """

    spec: str | None = None
    remember: bool = False
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

    def __post_init__(self) -> None:
        if self.mode not in CHAT_MODES:
            raise ValueError(f"unknown chat mode {self.mode!r}; use one of {CHAT_MODES}")


@dataclass(frozen=True)
class MarkWrongRequest:
    """The person says an answer was wrong (``note``: what was wrong); the lessons it used are debited."""

    message_id: str
    note: str = ""
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class RestoreMessagesRequest:
    """Undo a regenerate or an edit: put back ``messages`` (a ReplyResult's ``replaced``) in their chat."""

    conversation_id: str
    messages: tuple
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class SearchMessagesRequest:
    """Find messages containing ``query`` across every chat not deleted, newest first."""

    query: str
    limit: int = 50
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class ExportConversationRequest:
    """Write a chat as Markdown to ``path`` (atomically: the file is replaced whole or left as it was)."""

    conversation_id: str
    path: str
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
class ReplyResult:
    """A finished (or stopped) reply: both stored messages and the chat as it now is."""

    conversation: Conversation
    user: Message
    assistant: Message
    #: What a regenerate or an edit removed from the chat, for Undo (RestoreMessagesRequest).
    replaced: tuple = ()

    @property
    def ttft_ms(self) -> float | None:
        return self.assistant.meta.get("ttft_ms")

    @property
    def tokens_per_s(self) -> float | None:
        return self.assistant.meta.get("tokens_per_s")


# -- pane requests (Models, Settings, Team, Runs, Vault, Memory) -------------------------------------
# Each is answered by its own past-tense fact, or by ``sig_action_failed(request id, ErrorInfo)``.
@dataclass(frozen=True)
class ScanModelsRequest:
    """Discover GGUF models (bundled, added, other apps' folders) and read their headers."""

    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class AddModelRequest:
    """Remember a .gguf file the person picked (checked as GGUF first)."""

    path: str
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class ForgetModelRequest:
    """Drop an added model from the list (the file itself is never touched)."""

    path: str
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class LoadSettingsRequest:
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class SaveSettingsRequest:
    """Apply ``changes`` (EngineSettings field → value), validate, save; the engine uses them from now on."""

    changes: tuple[tuple[str, object], ...]
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class CheckPrivacyRequest:
    """Probe the sandbox for real (takes a moment the first time) and report its protections."""

    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class ListTeamsRequest:
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class ProposeTeamRequest:
    """Turn a purpose ("Help me write Python code") into a proposed team (not saved)."""

    purpose: str
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class LoadTeamRequest:
    name_or_id: str
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class SaveTeamRequest:
    """Save ``spec`` (a TeamSpec dict) under its name; same id updates, a new id adds."""

    spec: dict
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class DeleteTeamRequest:
    team_id: str
    id: str = field(default_factory=_new_id)


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
class ListRunsRequest:
    limit: int = 500
    team: str | None = None
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class LoadRunRequest:
    run_id: str
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class ListSourcesRequest:
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class IndexRequest:
    """Add (or refresh) folders and files; ``cancel`` stops after the current file or batch."""

    paths: tuple[str, ...]
    cancel: CancelToken = field(default_factory=CancelToken)
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class QueryVaultRequest:
    text: str
    k: int = 10
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class RemoveSourceRequest:
    source_id: str
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class ListMemoriesRequest:
    """Every memory (the pane filters and searches locally) plus counts by status."""

    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class ShowMemoryRequest:
    memory_id: str
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class DecideMemoriesRequest:
    """``action`` ("approve" | "reject" | "archive" | "restore") on each of ``memory_ids``, with ``reason``."""

    memory_ids: tuple[str, ...]
    action: str
    reason: str = ""
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class UndoDecisionRequest:
    """Put memories back where a decision found them: (memory id, status before) pairs."""

    previous: tuple[tuple[str, str], ...]
    undoing: str = ""
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class EditMemoryRequest:
    """New text for a memory: scanned again and back to review (re-tested if a model is loaded)."""

    memory_id: str
    text: str
    reason: str = ""
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class RetestMemoryRequest:
    """Replay A/B test now; ``cancel`` stops it (nothing is stored for a cancelled replay)."""

    memory_id: str
    cancel: CancelToken = field(default_factory=CancelToken)
    id: str = field(default_factory=_new_id)


@dataclass(frozen=True)
class TeachRequest:
    """The person's own lesson ("Always add type hints"): scanned, then promoted."""

    text: str
    kind: str = "user_preference"
    id: str = field(default_factory=_new_id)
