"""CancelToken: a thread-safe stop flag set by the GUI and checked by the engine between tokens."""

from __future__ import annotations

import threading


class CancelToken:
    """A one-way flag: ``set()`` from any thread, ``is_set()`` from the worker loop.

    Cancellation is not an error: code that sees the flag stops and reports "cancelled".
    """

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def __repr__(self) -> str:
        return f"CancelToken(set={self.is_set()})"
