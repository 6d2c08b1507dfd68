"""ToolApprovalDialog: asks the person whether a role may call an MCP tool with the arguments shown."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.mcp import ALLOW, ALWAYS, DENY


class ToolApprovalDialog(QDialog):
    """One call's question: the server, the tool, its description and the exact arguments.

    Allow once (Enter), Always allow this tool (remembered in the settings), or Deny (Esc, or closing
    the window). If the run stops meanwhile, the question is already answered and the dialog closes.
    """

    def __init__(self, ask, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ask = ask
        self.setObjectName("toolApprovalDialog")
        self.setWindowTitle("Allow this tool call?")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        head = QLabel(
            f"A role wants to call <b>{_esc(ask.tool)}</b> on the MCP server <b>{_esc(ask.server)}</b>.",
            objectName="cardTitle",
        )
        head.setWordWrap(True)
        layout.addWidget(head)
        if ask.description:
            about = QLabel(ask.description, objectName="mutedText")
            about.setWordWrap(True)
            layout.addWidget(about)
        layout.addWidget(QLabel("With these arguments:", objectName="sectionTitle"))
        self.arguments = QPlainTextEdit(objectName="toolArguments")
        self.arguments.setReadOnly(True)
        self.arguments.setPlainText(ask.arguments_text())
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.arguments.setFont(mono)
        self.arguments.setMinimumHeight(120)
        layout.addWidget(self.arguments, 1)
        note = QLabel(
            "What it returns is checked by the safety scan before the model sees it. "
            "“Always allow” lets this tool run without asking; you can undo that in Settings ▸ Tools.",
            objectName="mutedText",
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        row = QHBoxLayout()
        self.deny_button = QPushButton("Deny", objectName="secondaryButton")
        self.always_button = QPushButton("Always allow this tool", objectName="secondaryButton")
        self.allow_button = QPushButton("Allow once", objectName="primaryButton")
        self.allow_button.setDefault(True)
        self.deny_button.setToolTip("Do not run it (Esc); the role is told you said no")
        self.always_button.setToolTip(f"Run {ask.key} now and from now on without asking")
        self.allow_button.setToolTip("Run it this time only (Enter)")
        row.addWidget(self.deny_button)
        row.addStretch(1)
        row.addWidget(self.always_button)
        row.addWidget(self.allow_button)
        layout.addLayout(row)
        self.deny_button.clicked.connect(lambda: self._decide(DENY))
        self.always_button.clicked.connect(lambda: self._decide(ALWAYS))
        self.allow_button.clicked.connect(lambda: self._decide(ALLOW))
        QShortcut(QKeySequence("Ctrl+Shift+A"), self, activated=lambda: self._decide(ALWAYS))
        # A stopped run answers "deny" on the engine thread: then there is nothing left to ask.
        self._watch = QTimer(self, interval=200)
        self._watch.timeout.connect(self._close_if_answered)
        self._watch.start()

    def _decide(self, decision: str) -> None:
        self.ask.answer(decision)
        self._watch.stop()
        self.done(QDialog.DialogCode.Accepted if decision != DENY else QDialog.DialogCode.Rejected)

    def reject(self) -> None:  # Esc and the window's close button deny
        if not self.ask.answered:
            self.ask.answer(DENY)
        self._watch.stop()
        super().reject()

    def _close_if_answered(self) -> None:
        if self.ask.answered and self.isVisible():
            self._watch.stop()
            super().reject()


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def install_tool_approvals(bridge, parent: QWidget) -> None:
    """Show a ToolApprovalDialog over ``parent`` for every MCP call a run asks about."""

    def show(_request_id: str, ask) -> None:
        if ask.answered:
            return
        dialog = ToolApprovalDialog(ask, parent)
        dialog.setModal(True)
        dialog.finished.connect(dialog.deleteLater)
        parent._tool_approval_dialog = dialog  # for tests and to keep it alive
        dialog.open()

    bridge.sig_tool_approval_requested.connect(show)
