"""The bridge to the engine and vault threads: the only place ui/ calls engine/ (see bridge.py)."""

from purpose_desktop.engine.core import MAX_INPUT_CHARS
from purpose_desktop.engine.services.models import ModelSummary
from purpose_desktop.ui.bridge.bridge import EngineBridge
from purpose_desktop.ui.bridge.requests import (
    Call,
    ChatRequest,
    Conversation,
    ErrorInfo,
    Message,
    ReplyResult,
)
from purpose_desktop.ui.bridge.worker import EngineWorker

__all__ = [
    "MAX_INPUT_CHARS",
    "Call",
    "ChatRequest",
    "Conversation",
    "EngineBridge",
    "EngineWorker",
    "ErrorInfo",
    "Message",
    "ModelSummary",
    "ReplyResult",
]
