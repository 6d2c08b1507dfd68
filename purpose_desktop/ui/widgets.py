"""Small widgets the panes share: pane header, empty state, delayed busy bar, score badge, formatting helpers."""

from __future__ import annotations

import math
import threading
from datetime import datetime

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.grounding import grounding_label, is_grounded
from purpose_desktop.engine.models.fit import human_bytes  # noqa: F401 — re-exported for the panes

#: Quick work never flashes a progress bar (the Anki rule).
PROGRESS_DELAY_MS = 500


def human_duration(seconds: float | None) -> str:
    """0.4 → "0.4 s", 75 → "1 min 15 s"."""
    if seconds is None:
        return "–"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def local_time(iso: str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if not iso:
        return ""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime(fmt)
    except ValueError:
        return iso


def seconds_between(start: str | None, end: str | None) -> float | None:
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def score_state(score: float | None) -> str:
    """ "good" (≥7), "fair" (≥4), "poor", or "none": the colour of a score badge."""
    if score is None:
        return "none"
    if score >= 7:
        return "good"
    if score >= 4:
        return "fair"
    return "poor"


def repolish(widget: QWidget) -> None:
    """Re-apply the stylesheet after a dynamic property changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class PaneHeader(QWidget):
    """A pane's title, a muted one-line description, and room for buttons on the right."""

    def __init__(self, title: str, subtitle: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("paneHeader")
        row = QHBoxLayout(self)
        row.setContentsMargins(20, 16, 20, 10)
        row.setSpacing(10)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        self.title_label = QLabel(title, objectName="paneTitle")
        self.subtitle_label = QLabel(subtitle, objectName="paneSubtitle")
        self.subtitle_label.setWordWrap(True)
        self.subtitle_label.setVisible(bool(subtitle))
        texts.addWidget(self.title_label)
        texts.addWidget(self.subtitle_label)
        row.addLayout(texts, 1)
        self.actions = QHBoxLayout()
        self.actions.setSpacing(8)
        row.addLayout(self.actions)

    def add_button(self, text: str, tooltip: str = "", primary: bool = False) -> QPushButton:
        button = QPushButton(text, objectName="primaryButton" if primary else "secondaryButton")
        button.setToolTip(tooltip)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.actions.addWidget(button)
        return button


class EmptyState(QFrame):
    """What a pane shows with nothing in it: a title, what to do next, and optionally the button to do it."""

    sig_action_triggered = Signal()

    def __init__(self, title: str, hint: str, action: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("paneEmpty")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.setSpacing(8)
        layout.addStretch(1)
        self.title_label = QLabel(title, objectName="emptyTitle")
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title_label.setWordWrap(True)
        self.hint_label = QLabel(hint, objectName="emptyHint")
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint_label.setWordWrap(True)
        layout.addWidget(self.title_label)
        layout.addWidget(self.hint_label)
        self.button = QPushButton(action, objectName="primaryButton")
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.button.clicked.connect(self.sig_action_triggered)
        self.button.setVisible(bool(action))
        layout.addSpacing(6)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)

    def set_text(self, title: str, hint: str) -> None:
        self.title_label.setText(title)
        self.hint_label.setText(hint)


class BusyBar(QWidget):
    """A thin busy bar and a line of text that appear only if the work takes longer than ~0.5 s.

    ``start(text)`` arms it; ``set_progress(fraction, text)`` turns it into a real bar; ``stop()`` hides it.
    An optional Cancel button emits ``sig_cancel_requested``.
    """

    sig_cancel_requested = Signal()

    def __init__(self, cancellable: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("busyBar")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(10)
        self.bar = QProgressBar(objectName="paneProgress")
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        self.bar.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.label = QLabel("", objectName="busyText")
        self.cancel_button = QPushButton("Cancel", objectName="secondaryButton")
        self.cancel_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.cancel_button.clicked.connect(self.sig_cancel_requested)
        self.cancel_button.setVisible(cancellable)
        row.addWidget(self.label)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        self._timer = QTimer(self, singleShot=True, interval=PROGRESS_DELAY_MS)
        self._timer.timeout.connect(self.show)
        self._active = False
        self.hide()

    @property
    def active(self) -> bool:
        return self._active

    def start(self, text: str = "") -> None:
        self._active = True
        self.bar.setRange(0, 0)
        self.label.setText(text)
        self.cancel_button.setEnabled(True)
        if not self.isVisible():
            self._timer.start()

    def set_progress(self, fraction: float | None, text: str = "") -> None:
        if fraction is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(max(0.0, min(1.0, fraction)) * 1000))
        if text:
            self.label.setText(text)

    def stop(self) -> None:
        self._active = False
        self._timer.stop()
        self.hide()


class Badge(QLabel):
    """A small rounded label whose colour follows its ``state`` property (score, status, verdict)."""

    def __init__(self, text: str = "", state: str = "none", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setObjectName("badge")
        self.set_state(state)

    def set_state(self, state: str, text: str | None = None) -> None:
        if text is not None:
            self.setText(text)
        self.setProperty("state", state)
        repolish(self)


#: The runs table's few words per ground (the badge and its tooltip carry the longer label).
GROUNDING_SHORT = {
    "given_tests": "given tests",
    "tester_checks": "tester checks",
    "examples": "task examples",
    "execution": "code was run",
    "static": "static only",
    "judge": "not grounded",
}
GROUNDED_HINT = (
    "Grounded: checks ran the code. Only grounded scores teach the team (credit, replay, lessons)."
)
UNGROUNDED_HINT = "No check ran the code, so this score does not teach the team (credit, replay, lessons)."
UNRECORDED_HINT = "This run was recorded before scores said what grounds them."


def grounding_state(grounded_by: str | None) -> str:
    """A grounding badge's look: "grounded" (executed checks), "partly" (static), "ungrounded" (judge), "unrecorded"."""
    if is_grounded(grounded_by):
        return "grounded"
    return {"static": "partly", "judge": "ungrounded"}.get(grounded_by or "", "unrecorded")


def grounding_text(grounded_by: str | None, tests: dict | None = None) -> str:
    """The badge's plain words, without the label's longest asides ("grounded: 3 tester checks (all 3 passed)")."""
    label = grounding_label(grounded_by, tests)
    for aside in (
        ", written without seeing the solution",
        " written without seeing the solution",
        " (no tests ran)",
    ):
        label = label.replace(aside, "")
    return label


def grounding_tooltip(grounded_by: str | None, tests: dict | None = None) -> str:
    """The full label, then what it means for learning."""
    state = grounding_state(grounded_by)
    hint = {"grounded": GROUNDED_HINT, "unrecorded": UNRECORDED_HINT}.get(state, UNGROUNDED_HINT)
    return f"{grounding_label(grounded_by, tests)}\n{hint}"


class GroundingBadge(Badge):
    """What a score rests on, in plain words: filled for executed checks, outlined when not grounded.

    In a narrow card the words are cut short with "…" rather than pushing the card wider; ``full_text``
    and the tooltip always have them whole.
    """

    MIN_WIDTH = 90

    def __init__(
        self, grounded_by: str | None = None, tests: dict | None = None, parent: QWidget | None = None
    ) -> None:
        self.full_text = ""
        super().__init__("", "unrecorded", parent)
        self.setObjectName("groundingBadge")
        self.grounded_by: str | None = None
        self.set_grounding(grounded_by, tests)

    def set_grounding(self, grounded_by: str | None, tests: dict | None = None) -> None:
        self.grounded_by = grounded_by
        self.full_text = grounding_text(grounded_by, tests)
        self.set_state(grounding_state(grounded_by), self.full_text)
        self.setToolTip(grounding_tooltip(grounded_by, tests))
        self.updateGeometry()
        if self.isVisible():
            self._elide()

    def _chrome(self) -> int:
        """Padding and border around the text (from the stylesheet), in pixels."""
        self.ensurePolished()
        return max(0, super().sizeHint().width() - self.fontMetrics().horizontalAdvance(self.text()))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        chrome = self._chrome()  # polishes first: the stylesheet sets the badge's font
        width = math.ceil(QFontMetricsF(self.font()).horizontalAdvance(self.full_text)) + chrome
        return QSize(width, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(min(self.MIN_WIDTH, self.sizeHint().width()), super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        if self.width() >= self.sizeHint().width():
            text = self.full_text
        else:
            room = max(0, self.width() - self._chrome())
            text = self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight, room) or "…"
        if text != self.text():
            self.setText(text)


def score_text(score: float | None) -> str:
    return "–" if score is None else f"{score:.1f}"


def list_table(model, *, name: str, accessible: str, columns: int, stretch: int = 0) -> QTableView:
    """The panes' read-only list table: whole-row single selection, no grid, alternating rows, one
    stretching column (``stretch``) and the rest sized to their contents."""
    table = QTableView(objectName=name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().hide()
    table.setShowGrid(False)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.setAccessibleName(accessible)
    h = table.horizontalHeader()
    for col in range(columns):
        h.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
    h.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    h.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return table


class LatestProgress:
    """The engine thread's latest progress report, read by a GUI-thread timer (no signal per report)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict | None = None

    def put(self, p: dict) -> None:
        with self._lock:
            self._latest = dict(p)

    def take(self) -> dict | None:
        with self._lock:
            latest, self._latest = self._latest, None
            return latest
