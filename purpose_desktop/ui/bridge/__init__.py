"""The bridge to the engine and vault threads: the only place ui/ calls engine/ (see bridge.py)."""

from purpose_desktop.engine.core import MAX_INPUT_CHARS
from purpose_desktop.ui.bridge.bridge import EngineBridge
from purpose_desktop.ui.bridge.requests import (
    ChatRequest,
    Conversation,
    ErrorInfo,
    Message,
    ModelSummary,
    ReplyResult,
)
from purpose_desktop.ui.bridge.worker import EngineWorker

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
