"""LearningMethodsSection: Settings' switches for the self-improvement methods (the ``learning_methods_off`` setting)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout, QWidget

from purpose_desktop.engine.settings import LEARNING_METHODS, METHOD_LABELS, METHOD_OFF


class LearningMethodsSection(QWidget):
    """One checkbox per method, all on by default; each says in its tooltip what turning it off does."""

    #: The person changed a switch: the methods now turned off, in LEARNING_METHODS order.
    sig_methods_off_changed = Signal(list)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 6, 0, 0)
        title = QLabel("Learning methods (what they propose still waits for your approval)")
        title.setWordWrap(True)
        box.addWidget(title)
        self.boxes: dict[str, QCheckBox] = {}
        for method in LEARNING_METHODS:
            check = QCheckBox(METHOD_LABELS[method])
            check.setChecked(True)
            check.setToolTip(f"Off: {METHOD_OFF[method]}.")
            check.toggled.connect(self._changed)
            box.addWidget(check)
            self.boxes[method] = check
        self._syncing = False

    def methods_off(self) -> list[str]:
        return [m for m, check in self.boxes.items() if not check.isChecked()]

    def apply_settings(self, settings: dict) -> None:
        """Show the saved choice (emits nothing)."""
        off = set(settings.get("learning_methods_off") or ())
        self._syncing = True
        try:
            for method, check in self.boxes.items():
                check.setChecked(method not in off)
        finally:
            self._syncing = False

    def _changed(self, _on: bool) -> None:
        if not self._syncing:
            self.sig_methods_off_changed.emit(self.methods_off())
