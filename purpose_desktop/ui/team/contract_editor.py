"""ContractEditor: the team's purpose contract (what it is for, its roles, what "done" means), shown and edited.

Saved with the team, the contract is immune-scanned and — the person's own words, saved by the person —
promoted into every role's prompt; a blocked one says why and stays out of every prompt.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

STATES = {
    "promoted": "in every role's prompt (scanned clean)",
    "unsaved": "not saved yet: Save puts it in every role's prompt",
    "rejected": "blocked by the immune scan: not used",
}


class ContractEditor(QWidget):
    """A small text box with the contract's state under its title and a Reset to the default."""

    #: the person edited the text.
    sig_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._default = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        head = QHBoxLayout()
        head.addWidget(QLabel("Contract", objectName="sectionTitle"))
        self.state_label = QLabel("", objectName="mutedText")
        self.state_label.setWordWrap(True)
        head.addWidget(self.state_label, 1)
        self.reset_button = QPushButton("Reset", objectName="linkButton")
        self.reset_button.setToolTip("Back to the contract made from the purpose and the roles")
        self.reset_button.clicked.connect(self.reset)
        head.addWidget(self.reset_button)
        layout.addLayout(head)
        self.edit = QPlainTextEdit(objectName="field")
        self.edit.setAccessibleName("Team contract")
        self.edit.setPlaceholderText("Purpose: …\nRoles: …\nDone means: …")
        self.edit.setTabChangesFocus(True)
        self.edit.setFixedHeight(84)
        self.edit.textChanged.connect(self._on_edited)
        layout.addWidget(self.edit)
        self._filling = False

    def text(self) -> str:
        return self.edit.toPlainText().strip()

    def set_contract(self, text: str, default: str, status: str, reason: str = "") -> None:
        """Show ``text`` and what became of it (``status``: promoted, unsaved, rejected)."""
        self._default = default
        self._filling = True
        try:
            if self.edit.toPlainText() != text:
                self.edit.setPlainText(text)
        finally:
            self._filling = False
        self.set_state(status, reason)

    def set_state(self, status: str, reason: str = "") -> None:
        words = STATES.get(status, status)
        self.state_label.setText(f"{words}: {reason}" if reason else words)
        self.state_label.setToolTip(reason)

    def reset(self) -> None:
        if self._default and self.text() != self._default:
            self.edit.setPlainText(self._default)

    def _on_edited(self) -> None:
        if not self._filling:
            self.set_state("unsaved")
            self.sig_changed.emit()
