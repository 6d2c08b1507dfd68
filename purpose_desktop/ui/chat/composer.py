"""The composer: the message box (Enter sends, Shift+Enter breaks the line, Esc stops), Send/Stop, paste limit,
and the editing mode that resends an earlier message."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.ui.chat.messages import MAX_COLUMN_WIDTH, Banner

HINT = "Enter to send  ·  Shift+Enter for a new line  ·  Esc to stop"
EDIT_HINT = "Enter to resend  ·  Shift+Enter for a new line  ·  Esc to cancel editing"
EDITING_TEXT = "Editing your message — Enter resends, Esc cancels"


@dataclass(frozen=True)
class Editing:
    """An earlier message being edited: which one, how many messages follow it, and the draft it replaced."""

    message_id: str
    later: int
    draft: str


class ChatInput(QPlainTextEdit):
    """The message box: Enter sends, Shift+Enter breaks the line, Esc stops; refuses giant pastes."""

    sig_submitted = Signal()  #: Enter pressed (without Shift)
    sig_stop_requested = Signal()  #: Esc pressed
    sig_paste_refused = Signal(str)  #: (pasted text) a paste that would exceed ``max_chars``

    MIN_LINES = 1
    MAX_LINES = 10

    def __init__(self, max_chars: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.max_chars = max_chars
        self.setObjectName("chatInput")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setTabChangesFocus(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self._fit_height()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
            else:
                self.sig_submitted.emit()
            return
        if key == Qt.Key.Key_Escape:
            self.sig_stop_requested.emit()
            return
        super().keyPressEvent(event)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 - Qt override
        text = source.text() if source.hasText() else ""
        selected = len(self.textCursor().selectedText())
        if text and len(self.toPlainText()) - selected + len(text) > self.max_chars:
            self.sig_paste_refused.emit(text)
            return
        super().insertFromMimeData(source)

    def room(self) -> int:
        """Characters that still fit (the current selection would be replaced, so it counts as room)."""
        selected = len(self.textCursor().selectedText())
        return max(0, self.max_chars - len(self.toPlainText()) + selected)

    def _fit_height(self, *_args) -> None:
        # QPlainTextEdit's layout measures the document in lines, not pixels.
        line = self.fontMetrics().lineSpacing()
        wanted = int(self.document().size().height())
        lines = max(self.MIN_LINES, min(self.MAX_LINES, wanted))
        # Its scroll bar counts lines, and shows up for a single line too; only allow it once we stop growing.
        self.setVerticalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if wanted > self.MAX_LINES
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        margins = self.contentsMargins()
        padding = 2 * int(self.document().documentMargin()) + 4
        self.setFixedHeight(lines * line + padding + margins.top() + margins.bottom())


class Composer(QWidget):
    """The bottom of the chat: paste warning, the rounded input box with its Send/Stop button, and a hint line.

    A paste that would make the message longer than ``max_chars`` is not inserted; a banner offers to keep
    its beginning or to cancel, so neither the typed text nor the pasted text is silently lost.
    """

    sig_send_requested = Signal()  #: Enter, or Send clicked
    sig_stop_requested = Signal()  #: Esc, or Stop clicked

    def __init__(self, max_chars: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.max_chars = max_chars
        self._pending_paste: str | None = None
        self._streaming = False
        self._stopping = False
        self._ready = False
        #: The earlier message being edited, or None.
        self.editing: Editing | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.paste_banner = Banner("info")
        self.paste_banner.sig_dismissed.connect(self._drop_pending_paste)
        layout.addWidget(self.paste_banner)
        self.confirm_banner = Banner("info")
        layout.addWidget(self.confirm_banner)
        self.edit_banner = Banner("info")
        self.edit_banner.sig_dismissed.connect(self._on_edit_banner_dismissed)
        layout.addWidget(self.edit_banner)

        row_widget = QWidget()
        outer = QHBoxLayout(row_widget)
        outer.setContentsMargins(24, 0, 24, 0)
        outer.addStretch(1)
        box = QFrame(objectName="composer")
        box.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        box.setMaximumWidth(MAX_COLUMN_WIDTH)
        box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        outer.addWidget(box, 100)
        outer.addStretch(1)
        row = QHBoxLayout(box)
        row.setContentsMargins(12, 8, 8, 8)
        row.setSpacing(8)
        self.input = ChatInput(max_chars)
        self.input.setAccessibleName("Message")
        self.input.sig_submitted.connect(self._on_submit)
        self.input.sig_stop_requested.connect(self._on_escape)
        self.input.sig_paste_refused.connect(self._on_paste_refused)
        self.input.textChanged.connect(self._update_button)
        self.send_button = QPushButton("Send", objectName="sendButton")
        self.send_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.send_button.clicked.connect(self._on_button)
        row.addWidget(self.input, 1)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        self._row = row
        layout.addWidget(row_widget)

        self.hint_label = QLabel(HINT, objectName="composerHint")
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.hint_label)
        self._update_button()

    def add_leading(self, widget: QWidget) -> None:
        """Put ``widget`` (the Tools switch) at the start of the box, beside the message."""
        self._row.insertWidget(0, widget, 0, Qt.AlignmentFlag.AlignBottom)

    def set_state(
        self, *, ready: bool, streaming: bool, stopping: bool = False, placeholder: str = ""
    ) -> None:
        """``ready``: a model can answer; the box is editable only then. The button is Stop while streaming."""
        self._ready, self._streaming, self._stopping = ready, streaming, stopping
        self.input.setEnabled(ready)
        if placeholder:
            self.input.setPlaceholderText(placeholder)
        self._update_button()

    def _on_button(self) -> None:
        if self._streaming:
            self.sig_stop_requested.emit()
        else:
            self._on_submit()

    # -- editing an earlier message -----------------------------------------------------------------
    def start_editing(self, message_id: str, text: str, later: int) -> None:
        """Put an earlier message's text in the box; Enter resends it, replacing the ``later`` messages."""
        draft = self.editing.draft if self.editing is not None else self.input.toPlainText()
        self.editing = Editing(message_id, later, draft)
        self.confirm_banner.dismiss()
        self.input.setPlainText(text)
        self.input.moveCursor(QTextCursor.MoveOperation.End)
        self.edit_banner.show_message(EDITING_TEXT, actions=[("Cancel", self.cancel_editing)])
        self.hint_label.setText(EDIT_HINT)
        self._update_button()
        self.input.setFocus()

    def cancel_editing(self) -> None:
        """Leave editing mode and give back the draft the person had before."""
        editing = self.finish_editing()
        if editing is not None:
            self.input.setPlainText(editing.draft)
            self.input.moveCursor(QTextCursor.MoveOperation.End)
            self.input.setFocus()

    def finish_editing(self) -> Editing | None:
        """Leave editing mode (the edit was resent or cancelled); returns what was being edited."""
        editing, self.editing = self.editing, None
        self.confirm_banner.dismiss()
        self.edit_banner.dismiss()
        self.hint_label.setText(HINT)
        self._update_button()
        return editing

    def _on_edit_banner_dismissed(self) -> None:
        if self.editing is not None:  # its ✕ was clicked
            self.cancel_editing()

    def _on_submit(self) -> None:
        editing = self.editing
        if editing is None or self._streaming or editing.later <= 1 or self.confirm_banner.isVisible():
            # Only its own reply follows (or the person already confirmed): resend straight away.
            self.confirm_banner.dismiss()
            self.sig_send_requested.emit()
            return
        if not self.input.toPlainText().strip():
            return
        self.confirm_banner.show_message(
            f"Resending replaces the {editing.later} messages after this one.",
            "Your edited message and a new reply take their place. Press Enter again to go ahead.",
            actions=[("Replace and resend", self._confirm_resend), ("Keep editing", self.input.setFocus)],
        )

    def _confirm_resend(self) -> None:
        self.sig_send_requested.emit()

    def _on_escape(self) -> None:
        if self._streaming or self.editing is None:
            self.sig_stop_requested.emit()
        elif self.confirm_banner.isVisible():
            self.confirm_banner.dismiss()
        else:
            self.cancel_editing()

    def _update_button(self) -> None:
        button = self.send_button
        if self._streaming:
            button.setText("Stopping…" if self._stopping else "Stop")
            button.setProperty("mode", "stop")
            button.setEnabled(not self._stopping)
            button.setToolTip("Stop the reply (Esc)")
        else:
            editing = self.editing is not None
            button.setText("Resend" if editing else "Send")
            button.setProperty("mode", "send")
            button.setEnabled(self._ready and bool(self.input.toPlainText().strip()))
            button.setToolTip("Resend the edited message (Enter)" if editing else "Send (Enter)")
        button.style().unpolish(button)
        button.style().polish(button)

    # -- oversized pastes -------------------------------------------------------------------------
    def _on_paste_refused(self, text: str) -> None:
        self._pending_paste = text
        room = self.input.room()
        actions = [(f"Paste the first {room:,} characters", self._accept_partial_paste)] if room else []
        actions.append(("Cancel", self._drop_pending_paste))
        self.paste_banner.show_message(
            f"That paste is {len(text):,} characters; a message can hold {self.max_chars:,}.",
            "Nothing was pasted and your message is unchanged. Paste just the part that matters"
            + (", or keep the beginning of it." if room else "."),
            actions=actions,
        )

    def _accept_partial_paste(self) -> None:
        text, self._pending_paste = self._pending_paste, None
        if text:
            self.input.insertPlainText(text[: self.input.room()])
        self.input.setFocus()

    def _drop_pending_paste(self) -> None:
        self._pending_paste = None
