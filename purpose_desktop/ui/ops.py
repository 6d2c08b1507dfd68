"""EngineOp: one request a pane makes of the engine (or vault) thread, and what to do with its answer.

Anki's QueryOp/CollectionOp for Purpose Desktop. ``fn(engine)`` runs on the owner thread inside the bridge's
one catch-all; ``success(result)`` runs here on the GUI thread; without a ``failure`` callback the error
is shown once, in the pane's banner. Nothing shows for quick work: a busy bar (or the busy cursor) appears
only after a delay.

    EngineOp(self, lambda e: e.memories.decide(ids, "approve", reason)).success(self._show).run(self._bridge)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from purpose_desktop.ui.bridge.requests import Call, ErrorInfo

if TYPE_CHECKING:
    from purpose_desktop.ui.bridge import EngineBridge
    from purpose_desktop.ui.widgets import BusyBar

#: How long an op may take before the busy cursor shows (BusyBar has its own, similar delay).
BUSY_CURSOR_DELAY_MS = 600


def show_error(parent: QWidget | None, err: ErrorInfo) -> None:
    """The default failure: the message and hint in the nearest pane's error banner, else a message box."""
    widget = parent
    while widget is not None:
        banner = getattr(widget, "banner", None)
        if banner is not None and hasattr(banner, "show_message"):
            banner.show_message(err.message, err.hint)
            return
        widget = widget.parentWidget()
    QMessageBox.warning(parent, "Purpose Desktop", f"{err.message}\n\n{err.hint}".strip())


class EngineOp:
    """Build with the pane and the callable, chain ``success``/``failure``/``busy``, then ``run(bridge)``."""

    def __init__(
        self, parent: QWidget | None, fn: Callable[[Any], Any], *, owner: str = "engine", what: str = ""
    ):
        self._parent = parent
        self._fn = fn
        self._owner = owner
        self._what = what
        self._on_success: Callable[[Any], None] | None = None
        self._on_failure: Callable[[ErrorInfo], None] | None = None
        self._bar: BusyBar | None = None
        self._bar_text = ""
        self._cursor_timer: QTimer | None = None
        self._cursor_shown = False

    def success(self, callback: Callable[[Any], None]) -> EngineOp:
        self._on_success = callback
        return self

    def failure(self, callback: Callable[[ErrorInfo], None]) -> EngineOp:
        self._on_failure = callback
        return self

    def busy(self, bar: BusyBar, text: str = "") -> EngineOp:
        """Show ``bar`` (after its delay) with ``text`` while the op runs."""
        self._bar, self._bar_text = bar, text
        return self

    def run(self, bridge: EngineBridge) -> Call:
        call = bridge.call(self._fn, owner=self._owner, what=self._what)
        _router(bridge).add(call.id, self)
        if self._bar is not None:
            self._bar.start(self._bar_text)
        elif self._parent is not None:
            self._cursor_timer = QTimer(singleShot=True, interval=BUSY_CURSOR_DELAY_MS)
            self._cursor_timer.timeout.connect(self._show_cursor)
            self._cursor_timer.start()
        return call

    # -- answers (GUI thread) -----------------------------------------------------------------------
    def _show_cursor(self) -> None:
        if self._alive():
            QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
            self._cursor_shown = True

    def _done(self) -> bool:
        if self._cursor_timer is not None:
            self._cursor_timer.stop()
        if self._cursor_shown:
            QApplication.restoreOverrideCursor()
            self._cursor_shown = False
        if self._bar is not None and shiboken6.isValid(self._bar):
            self._bar.stop()
        return self._alive()

    def _alive(self) -> bool:
        return self._parent is None or shiboken6.isValid(self._parent)

    def finished(self, result: Any) -> None:
        if self._done() and self._on_success is not None:
            self._on_success(result)

    def failed(self, err: ErrorInfo) -> None:
        if not self._done():
            return
        if self._on_failure is not None:
            self._on_failure(err)
        else:
            show_error(self._parent, err)


class _Router(QObject):
    """Keeps the ops in flight by call id and hands each its one answer."""

    def __init__(self, bridge: EngineBridge) -> None:
        super().__init__(bridge)
        self._ops: dict[str, EngineOp] = {}
        bridge.sig_call_finished.connect(self._on_finished)
        bridge.sig_call_failed.connect(self._on_failed)

    def add(self, call_id: str, op: EngineOp) -> None:
        self._ops[call_id] = op

    @Slot(str, object)
    def _on_finished(self, call_id: str, result: Any) -> None:
        op = self._ops.pop(call_id, None)
        if op is not None:
            op.finished(result)

    @Slot(str, object)
    def _on_failed(self, call_id: str, err: ErrorInfo) -> None:
        op = self._ops.pop(call_id, None)
        if op is not None:
            op.failed(err)


def in_flight(bridge: EngineBridge) -> int:
    """How many ops on ``bridge`` still wait for their answer (tests wait for 0)."""
    router = bridge.findChild(_Router)
    return len(router._ops) if router is not None else 0


def _router(bridge: EngineBridge) -> _Router:
    router = bridge.findChild(_Router)
    return router if router is not None else _Router(bridge)
