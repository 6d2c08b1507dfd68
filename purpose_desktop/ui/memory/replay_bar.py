"""ReplayQueueBar: one line in Memory review about the background re-tests, with a pause switch."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from purpose_desktop.engine.services import ReplayQueueStatus


def describe_queue(status: ReplayQueueStatus | None, name_of=None) -> str:
    """The bar's line, in plain words; ``name_of(memory_id)`` gives a memory's short text (else its id)."""
    if status is None:
        return "Re-tests run in the background; chat and team runs always go first."
    if status.paused:
        waiting = len(status.queued) + (1 if status.running else 0)
        return f"Re-tests paused · {waiting} waiting" if waiting else "Re-tests paused"
    parts: list[str] = []
    if status.running:
        who = "auto-promotion" if status.running_reason == "auto" else "asked"
        runs = f" · run {status.done}/{status.total}" if status.total else ""
        name = (name_of(status.running) if name_of else None) or status.running[:8]
        parts.append(f"Re-testing “{name}” in the background ({who}){runs}")
    if status.queued:
        parts.append(f"{len(status.queued)} waiting")
    if not parts:
        parts.append(
            "Idle · new memories are re-tested when the model is idle"
            if status.auto
            else "Idle · auto-promotion is off (Settings), press T to re-test one"
        )
    if status.running or status.queued:
        parts.append("chat goes first")
    if status.last_error:
        parts.append(f"last failure: {status.last_error}")
    return " · ".join(parts)


class ReplayQueueBar(QFrame):
    """Shows ``ReplayQueueStatus``; the button asks to pause or resume (``sig_pause_requested(bool)``)."""

    sig_pause_requested = Signal(bool)  # True: pause

    def __init__(self, parent: QWidget | None = None, name_of=None) -> None:
        super().__init__(parent)
        self._name_of = name_of
        self.setObjectName("replayQueueBar")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        self.label = QLabel(describe_queue(None), objectName="hint")
        self.label.setWordWrap(True)
        self.pause_button = QPushButton("Pause re-tests", objectName="secondaryButton")
        self.pause_button.setToolTip("Hold the background re-tests; the one in progress starts over on resume")
        self.pause_button.clicked.connect(lambda: self.sig_pause_requested.emit(not self.paused))
        row.addWidget(self.label, 1)
        row.addWidget(self.pause_button)
        self.status: ReplayQueueStatus | None = None

    @property
    def paused(self) -> bool:
        return bool(self.status and self.status.paused)

    def show_status(self, status: ReplayQueueStatus) -> None:
        self.status = status
        self.label.setText(describe_queue(status, self._name_of))
        self.pause_button.setText("Resume re-tests" if status.paused else "Pause re-tests")
