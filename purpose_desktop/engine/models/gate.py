"""ModelGate: one model in RAM, two priorities — a person waiting always goes first.

Foreground work (a chat reply, a team run someone started) takes the gate with ``foreground()``.
Background work (replaying memories A/B) reaches the model only through ``BackgroundModel``, which
takes the gate for one call at a time and only while nobody is waiting in the foreground. When a
foreground request arrives during a background generation, the background call stops at its next token
(the model's own cancel check), gives the model up, waits until the foreground is done, and then runs
the same call again from the start. Replays use fixed seeds, so the repeated call gives what the first
would have given, and the caller never sees the interruption — only ``preemptions`` counts them.

llama.cpp objects are not safe to use from two threads at once but are fine used by one thread at a time;
the gate is what makes "one at a time" true when the engine thread and the replay thread share a model.
llama-cpp-python also reuses the longest prompt prefix already in its KV cache, so consecutive A/B arm
calls that share a role's system prompt only evaluate what differs; the gate keeps those calls together
when no one is waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from purpose_desktop.engine.cancel import CancelToken

_POLL_S = 0.05  # how often a waiting background call looks at its own cancel token


class ModelGate:
    """Serialises use of one model between a foreground and a background thread, foreground first.

    ``foreground()`` is re-entrant on the thread that holds it. ``foreground_waiting`` is read by the
    background side between tokens.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._owner: int | None = None  # thread ident holding the gate
        self._depth = 0
        self._waiting = 0  # foreground threads waiting for the gate
        self._last_foreground = time.monotonic()
        self.preemptions = 0  # background calls interrupted so the foreground could start

    # -- foreground ----------------------------------------------------------------------------
    @contextmanager
    def foreground(self) -> Iterator[None]:
        """Hold the model for a person's request; a background call in progress stops within one token."""
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
            else:
                self._waiting += 1
                try:
                    while self._owner is not None:
                        self._cond.wait()
                finally:
                    self._waiting -= 1
                self._owner, self._depth = me, 1
        try:
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if self._depth == 0:
                    self._owner = None
                    self._last_foreground = time.monotonic()
                    self._cond.notify_all()

    @property
    def foreground_waiting(self) -> bool:
        return self._waiting > 0

    @property
    def busy(self) -> bool:
        """Someone holds the model (either side) or a foreground request is waiting for it."""
        return self._owner is not None or self._waiting > 0

    def idle_for(self) -> float:
        """Seconds since the foreground last let go of the model (0 while it holds or waits for it)."""
        if self._owner is not None or self._waiting:
            return 0.0
        return time.monotonic() - self._last_foreground

    # -- background ----------------------------------------------------------------------------
    def _acquire_background(self, cancel: CancelToken | None) -> bool:
        """Take the gate once no one holds it and no foreground waits; False if ``cancel`` was set meanwhile."""
        me = threading.get_ident()
        with self._cond:
            while self._owner is not None or self._waiting:
                if cancel is not None and cancel.is_set():
                    return False
                self._cond.wait(_POLL_S)
            if cancel is not None and cancel.is_set():
                return False
            self._owner, self._depth = me, 1
            return True

    def _release_background(self) -> None:
        with self._cond:
            self._owner, self._depth = None, 0
            self._cond.notify_all()

    def run_background(self, call: Callable[[CancelToken], Any], cancel: CancelToken | None,
                       preempted: Callable[[Any], bool]) -> Any:
        """Run ``call(token)`` holding the gate, again from the start each time the foreground cut in.

        ``token`` is set when ``cancel`` is or a foreground request is waiting; ``preempted(result)`` says
        whether the result was cut short by that token (then it is thrown away and the call repeated once
        the foreground is done). Returns the last result; when ``cancel`` is set the cut-short result is
        returned as it is (the caller's own cancel handling applies).
        """
        while True:
            if not self._acquire_background(cancel):
                return call(_SET)  # cancelled while waiting: let the model answer "cancelled" its own way
            token = _Preempt(self, cancel)
            try:
                result = call(token)
            finally:
                self._release_background()
            if cancel is not None and cancel.is_set():
                return result
            if token.fired and preempted(result):
                self.preemptions += 1
                continue
            return result


class _Preempt:
    """A cancel token that is set while the caller's token is set or a foreground request waits."""

    __slots__ = ("_gate", "_cancel", "fired")

    def __init__(self, gate: ModelGate, cancel: CancelToken | None) -> None:
        self._gate, self._cancel, self.fired = gate, cancel, False

    def is_set(self) -> bool:
        if self._cancel is not None and self._cancel.is_set():
            return True
        if self._gate.foreground_waiting:
            self.fired = True
            return True
        return False

    def set(self) -> None:  # the CancelToken interface; a background call never cancels itself
        pass


_SET = CancelToken()
_SET.set()


class BackgroundModel:
    """A model as background work sees it: every call goes through the gate, behind any foreground request.

    Wraps the ChatModel protocol (``chat``, ``complete_json``); everything else (``display_name``,
    ``n_ctx``, ``count_tokens``, ``info`` …) is the wrapped model's. ``close`` does nothing: the
    engine owns the model.
    """

    def __init__(self, model: Any, gate: ModelGate) -> None:
        self._model = model
        self._gate = gate

    @property
    def wrapped(self) -> Any:
        return self._model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def chat(self, messages: list[dict], *, settings=None, cancel: CancelToken | None = None, on_token=None):
        return self._gate.run_background(
            lambda token: self._model.chat(messages, settings=settings, cancel=token, on_token=on_token),
            cancel,
            preempted=lambda reply: getattr(reply, "finish_reason", None) == "cancelled",
        )

    def complete_json(self, messages: list[dict], schema: dict, *, settings=None,
                      cancel: CancelToken | None = None, **kwargs):
        return self._gate.run_background(
            lambda token: self._model.complete_json(messages, schema, settings=settings, cancel=token, **kwargs),
            cancel,
            preempted=lambda value: value == {},  # complete_json answers {} when cancelled
        )

    def close(self) -> None:
        pass


class ForegroundModel:
    """The engine's model as the engine thread uses it: each call holds the gate in the foreground.

    A background replay in progress gives the model up within one token; nested calls (a team run that
    already holds the gate) pass straight through. Everything but ``chat`` and ``complete_json`` is the
    wrapped model's own.
    """

    def __init__(self, model: Any, gate: ModelGate) -> None:
        self._model = model
        self._gate = gate

    @property
    def wrapped(self) -> Any:
        return self._model

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def chat(self, messages: list[dict], **kwargs):
        with self._gate.foreground():
            return self._model.chat(messages, **kwargs)

    def complete_json(self, messages: list[dict], schema: dict, **kwargs):
        with self._gate.foreground():
            return self._model.complete_json(messages, schema, **kwargs)

    def __repr__(self) -> str:
        return f"ForegroundModel({self._model!r})"
