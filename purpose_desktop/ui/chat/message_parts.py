"""What sits under a chat message: its action row (Copy, Edit, Regenerate, This was wrong) and context chips."""

from __future__ import annotations

import html

from PySide6.QtCore import QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetItem,
)

#: How long "Copied ✓" stays on the Copy button.
COPIED_MS = 1500
#: Words of a memory shown on its chip (the tooltip has all of it).
CHIP_WORDS = 6
CHIP_CHARS = 44


def short(text: str, words: int = CHIP_WORDS, chars: int = CHIP_CHARS) -> str:
    """The first few words of ``text`` on one line, with "…" when something was cut."""
    parts = " ".join(str(text).split()).split(" ")
    out = " ".join(parts[:words])
    if len(out) > chars:
        out = out[: chars - 1].rstrip()
    return out + ("…" if out != " ".join(parts) else "")


def kind_label(kind: str) -> str:
    return str(kind or "memory").replace("_", " ")


def memory_chip_text(item: dict) -> str:
    roles = item.get("roles") or []
    whose = f" ({', '.join(roles[:2])})" if roles else ""
    return f"Memory · {kind_label(item.get('kind', ''))}{whose}: {short(item.get('text', ''))}"


def citation(item: dict) -> str:
    """``rel_path:start-end`` for a vault context item (what the answer's "[n]" stands for)."""
    rel = item.get("rel_path") or item.get("path") or "?"
    start, end = item.get("start_line"), item.get("end_line")
    if start is None:
        return str(rel)
    return f"{rel}:{start}-{end if end is not None else start}"


def vault_chip_text(item: dict) -> str:
    n = item.get("n")
    unread = item.get("unread_languages") or []
    return (f"[{n}] " if n is not None else "") + citation(item) + (" ⚠" if unread else "")


def withheld_items(context: dict) -> list:
    withheld = context.get("withheld") or []
    if isinstance(withheld, int):
        return [{}] * withheld
    return list(withheld)


def withheld_text(count: int) -> str:
    return f"{count} passage{'s' if count != 1 else ''} withheld by the safety scan"


def _withheld_line(item) -> str:
    if not isinstance(item, dict) or not item:
        return "a passage"
    reasons = item.get("reasons") or item.get("findings") or item.get("reason") or ""
    if isinstance(reasons, list | tuple):
        reasons = "; ".join(
            str(r.get("message") or r.get("category") or r) if isinstance(r, dict) else str(r)
            for r in reasons
        )
    return citation(item) + (f" — {reasons}" if reasons else "")


class FlowLayout(QLayout):
    """Lays widgets out left to right, wrapping to a new line when the row is full (chips)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:  # noqa: N802 - Qt override
        self._items.append(item)

    def addWidget(self, widget: QWidget) -> None:  # noqa: N802 - Qt override
        self.addChildWidget(widget)
        self.addItem(QWidgetItem(widget))

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):  # noqa: N802 - Qt override
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):  # noqa: N802 - Qt override
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self):  # noqa: N802 - Qt override
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt override
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt override
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _arrange(self, rect: QRect, move: bool) -> int:
        x, y, line = rect.x(), rect.y(), 0
        for item in self._items:
            if item.widget() is not None and not item.widget().isVisibleTo(self.parentWidget()):
                continue
            hint = item.sizeHint()
            width = min(hint.width(), max(1, rect.width()))
            if x > rect.x() and x + width > rect.right() + 1:
                x, y, line = rect.x(), y + line + self._spacing, 0
            if move:
                item.setGeometry(QRect(QPoint(x, y), QSize(width, hint.height())))
            x += width + self._spacing
            line = max(line, hint.height())
        return y + line - rect.y()


class ContextChips(QWidget):
    """The memories and vault passages an answer used, as clickable chips; withheld passages as a muted one."""

    #: (memory id) show this memory in the Memory pane.
    sig_memory_requested = Signal(str)
    #: (vault context item dict) open the source at these lines.
    sig_source_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("contextChips")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._flow = FlowLayout(self)
        self.chips: list[QWidget] = []
        self.hide()

    def set_context(self, context: dict | None) -> None:
        """Rebuild the chips from ``meta["context"]`` (hidden when it lists nothing)."""
        for chip in self.chips:
            self._flow.removeWidget(chip)
            chip.deleteLater()
        self.chips = []
        context = context if isinstance(context, dict) else {}
        for item in context.get("memories") or []:
            chip = self._chip(memory_chip_text(item), "memoryChip")
            score = item.get("score")
            chip.setToolTip(
                f"<b>Memory used for this answer</b> ({html.escape(kind_label(item.get('kind', '')))}"
                + (f", score {score:.2f}" if isinstance(score, int | float) else "")
                + f")<br>{html.escape(str(item.get('text', '')))}<br><i>Click to show it in the Memory pane.</i>"
            )
            memory_id = str(item.get("id", ""))
            chip.clicked.connect(lambda _=False, mid=memory_id: self.sig_memory_requested.emit(mid))
        for item in context.get("vault") or []:
            chip = self._chip(vault_chip_text(item), "sourceChip")
            title = item.get("title") or ""
            snippet = short(item.get("snippet") or "", 40, 240)
            chip.setToolTip(
                f"<b>{html.escape(citation(item))}</b>"
                + (f" · {html.escape(title)}" if title else "")
                + (f"<br><span style='white-space:pre-wrap'>{html.escape(snippet)}</span>" if snippet else "")
                + (
                    f"<br>⚠ Partly in {html.escape(' and '.join(item['unread_languages']))}, which the safety "
                    "scan cannot read: the model saw it only as quoted data."
                    if item.get("unread_languages")
                    else ""
                )
                + "<br><i>Click to open it at these lines.</i>"
            )
            source = dict(item)
            chip.clicked.connect(lambda _=False, it=source: self.sig_source_requested.emit(it))
        withheld = withheld_items(context)
        if withheld:
            label = QLabel(withheld_text(len(withheld)), self, objectName="withheldChip")
            label.setToolTip(
                "Kept out of the prompt because the safety scan flagged them:\n"
                + "\n".join(f"• {_withheld_line(w)}" for w in withheld)
            )
            self._add(label)
        self.setVisible(bool(self.chips))
        self.updateGeometry()

    def _chip(self, text: str, name: str) -> QPushButton:
        chip = QPushButton(text, self, objectName=name)
        chip.setCursor(Qt.CursorShape.PointingHandCursor)
        chip.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self._add(chip)
        return chip

    def _add(self, widget: QWidget) -> None:
        self._flow.addWidget(widget)
        widget.show()
        self.chips.append(widget)

    def chip_texts(self) -> list[str]:
        return [c.text() for c in self.chips]

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return self._flow.heightForWidth(width)


class ActionRow(QWidget):
    """Small text buttons under a message; which show is decided by the chat pane (see ``set_allowed``)."""

    sig_copy_requested = Signal()
    sig_edit_requested = Signal()
    sig_regenerate_requested = Signal()
    sig_wrong_requested = Signal()
    sig_good_requested = Signal()
    sig_teach_requested = Signal()

    def __init__(self, role: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageActions")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        self.copy_button = self._button("Copy", "Copy the whole message", self.sig_copy_requested)
        self.edit_button = self._button("Edit", "Edit and resend (Ctrl+Shift+Up)", self.sig_edit_requested)
        self.regenerate_button = self._button(
            "Regenerate", "Write this reply again (Ctrl+Shift+R)", self.sig_regenerate_requested
        )
        self.wrong_button = self._button(
            "This was wrong",
            "Mark this reply as wrong: the memories it used lose credit (Ctrl+Shift+X)",
            self.sig_wrong_requested,
        )
        self.good_button = self._button(
            "Good answer",
            "Mark this reply as good: the memories it used gain credit — more when its code passed a run",
            self.sig_good_requested,
        )
        self.teach_button = self._button(
            "Teach from this answer",
            "Draft a lesson from this reply; you edit it, then it is scanned and held for review",
            self.sig_teach_requested,
        )
        self.feedback_label = QLabel("", objectName="feedbackLabel")
        self.feedback_label.hide()
        buttons = (
            self.copy_button,
            self.edit_button,
            self.regenerate_button,
            self.good_button,
            self.wrong_button,
            self.teach_button,
        )
        for button in buttons:
            row.addWidget(button)
        row.addSpacing(6)
        row.addWidget(self.feedback_label)
        row.addStretch(1)
        user = role == "user"
        self.edit_button.setVisible(user)
        self.regenerate_button.setVisible(False)
        self.wrong_button.setVisible(not user)
        self.good_button.setVisible(not user)
        self.teach_button.setVisible(not user)
        self._copied = QTimer(self, singleShot=True, interval=COPIED_MS)
        self._copied.timeout.connect(lambda: self.copy_button.setText("Copy"))

    def _button(self, text: str, tip: str, signal) -> QToolButton:
        button = QToolButton(self, objectName="messageAction")
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.clicked.connect(signal)
        return button

    def show_copied(self) -> None:
        self.copy_button.setText("Copied ✓")
        self._copied.start()

    def set_feedback(self, feedback: dict | None) -> None:
        """Show that the reply was marked wrong or good (with the note and evidence as tooltip), or nothing."""
        verdict = feedback.get("verdict") if isinstance(feedback, dict) else None
        marked = verdict in ("wrong", "good")
        note = str(feedback.get("note") or "") if marked else ""
        tip = [f"Your note: {note}"] if note else []
        if verdict == "good" and feedback.get("evidence"):
            tip.append(f"Evidence: {feedback['evidence']}")
        self.feedback_label.setText(
            {"wrong": "✗ Marked as wrong", "good": "✓ Marked as good"}.get(verdict, "")
        )
        self.feedback_label.setProperty("verdict", verdict or "")
        self.feedback_label.setToolTip("\n".join(tip))
        self.feedback_label.setVisible(marked)
        self.wrong_button.setEnabled(not marked and self.wrong_button.isEnabled())
        self.good_button.setEnabled(not marked and self.good_button.isEnabled())
        self._marked = marked

    @property
    def marked(self) -> bool:
        return getattr(self, "_marked", False)


class WrongDialog(QDialog):
    """Asks for an optional short note before a reply is marked wrong (opened with ``open()``, not exec)."""

    #: (note) the person confirmed.
    sig_confirmed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("wrongDialog")
        self.setWindowTitle("This was wrong")
        self.setMinimumWidth(420)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "The memories this reply used lose credit, so they are used less often. "
            "What was wrong? (optional)",
            objectName="mutedText",
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.note_edit = QLineEdit(self)
        self.note_edit.setPlaceholderText("e.g. the function does not handle empty lists")
        self.note_edit.setMaxLength(500)
        layout.addWidget(self.note_edit)
        buttons = QDialogButtonBox(self)
        self.confirm_button = buttons.addButton("Mark as wrong", QDialogButtonBox.ButtonRole.AcceptRole)
        self.confirm_button.setObjectName("primaryButton")
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.accepted.connect(lambda: self.sig_confirmed.emit(self.note_edit.text().strip()))
        self.note_edit.setFocus()


class ThinkingDisclosure(QWidget):
    """A reasoning model's ``<think>`` text above its answer: one "Thinking" line, collapsed by default.

    While the block is still open (streaming) the header says "Thinking…"; the text itself is put on
    screen only when the person expands it, so a long think block costs nothing while it streams.
    """

    #: (expanded) the person opened or closed the disclosure.
    sig_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("thinkingDisclosure")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 2)
        layout.setSpacing(2)
        self.toggle = QToolButton(self, objectName="thinkingToggle")
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        self.toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setToolTip("Show what the model thought before answering (not part of the answer)")
        self.toggle.toggled.connect(self._on_toggled)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        self.text_label = QLabel("", self, objectName="thinkingText")
        self.text_label.setWordWrap(True)
        self.text_label.setTextFormat(Qt.TextFormat.PlainText)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text_label.hide()
        layout.addWidget(self.text_label)
        self._text = ""
        self._open = False
        self.hide()

    @property
    def text(self) -> str:
        return self._text

    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()

    def set_thinking(self, text: str, *, still_open: bool = False) -> None:
        """Show ``text`` as the thinking (hidden when there is none and no block is open)."""
        self._text = text
        self._open = still_open
        if still_open:
            title = "Thinking…"
        else:
            words = len(text.split())
            title = f"Thought for {words} word{'s' if words != 1 else ''}"
        if self.toggle.text() != title:
            self.toggle.setText(title)
        if self.expanded:
            self.text_label.setText(text)
        self.setVisible(bool(text.strip()) or still_open)

    def _on_toggled(self, expanded: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        if expanded:
            self.text_label.setText(self._text)
        self.text_label.setVisible(expanded)
        self.sig_toggled.emit(expanded)
