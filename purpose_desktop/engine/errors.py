"""User-facing exception types: every error a person may see carries a message and a hint."""

from __future__ import annotations


class PurposeError(Exception):
    """Base error whose ``message`` says what went wrong and ``hint`` says what to do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message

    def to_dict(self) -> dict[str, str]:
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class ModelError(PurposeError):
    """A model file is missing, unreadable, not GGUF, truncated or unsupported, or failed to load."""


class StoreError(PurposeError):
    """The data directory or database cannot be used (read-only, full, newer schema, corrupt)."""


class InputError(PurposeError):
    """Input a person gave cannot be accepted as it is (too long, empty, malformed)."""


class RunModeError(PurposeError):
    """A write the current RunMode forbids (EVAL_TEST writes nothing; validation writes evidence only)."""
