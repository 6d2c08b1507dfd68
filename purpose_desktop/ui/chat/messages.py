"""The chat pane's building blocks: one widget per message, the scrolling message list, banners."""

from __future__ import annotations

import math

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.models.thinking import split_thinking
from purpose_desktop.ui.chat.markdown import RenderedMarkdown, copy_index, run_link
from purpose_desktop.ui.chat.message_parts import ActionRow, ContextChips, ThinkingDisclosure
from purpose_desktop.ui.chat.streaming import StreamRenderer, link_citations, shared_renderer
from purpose_desktop.ui.chat.tool_calls import ToolCallsView

__all__ = [
    "Banner",
    "MessageBody",
    "MessageList",
    "MessageWidget",
    "link_citations",  # re-exported: the streaming renderer's, used by every rendered answer
    "shared_renderer",
    "status_label",
]

#: Widest a message column gets: long lines are hard to read on a wide monitor.
MAX_COLUMN_WIDTH = 860
WELCOME_TITLE = "What are we building today?"
WELCOME_HINT = "Ask a coding question or paste some code. Everything stays on this computer."
#: How long a code block's link reads "Copied ✓" after a click.
COPIED_FEEDBACK_MS = 1500

# Qt's rich-text defaults (huge h1, 12 px paragraph gaps) look like a 1998 web page in a chat bubble.
_DOCUMENT_CSS = """
p { margin-top: 0px; margin-bottom: 8px; }
h1 { font-size: x-large; margin-top: 8px; margin-bottom: 6px; }
h2 { font-size: large; margin-top: 8px; margin-bottom: 6px; }
h3, h4, h5, h6 { font-size: medium; margin-top: 6px; margin-bottom: 4px; }
ul, ol { margin-top: 0px; margin-bottom: 8px; }
li { margin-bottom: 2px; }
a { color: #0969da; text-decoration: none; }
table { margin-bottom: 8px; }
th { background-color: #f6f8fa; }
blockquote { color: #57606a; margin-left: 12px; }
"""


def status_label(status: str, meta: dict) -> str:
    """The badge a message's stored status earns: "stopped", "interrupted", "failed", or nothing."""
    if status == "cancelled":
        return "interrupted" if meta.get("interrupted") else "stopped"
    if status == "failed":
        return "failed"
    return ""


class MessageBody(QTextBrowser):
    """Read-only rich text that is exactly as tall as its content, so the outer list does the scrolling."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setOpenLinks(False)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.viewport().setAutoFillBackground(False)
        self.document().setDocumentMargin(0)
        self.document().setDefaultStyleSheet(_DOCUMENT_CSS)
        self.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        self.setFixedHeight(self.fontMetrics().height() + 4)

    def _fit_height(self, *_args) -> None:
        margins = self.contentsMargins()
        height = math.ceil(self.document().size().height()) + margins.top() + margins.bottom()
        if height != self.height():
            self.setFixedHeight(max(height, self.fontMetrics().height()))

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt override
        # Everything is visible already; let the message list scroll instead.
        event.ignore()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(super().sizeHint().width(), self.height())


class MessageWidget(QFrame):
    """One message: a header (who, status badge), its body (assistant text is rendered Markdown), the
    context chips of an answer and a row of actions."""

    #: (text) something worth a status-bar line, e.g. "Copied 12 lines".
    sig_status = Signal(str)
    #: ("edit" | "regenerate" | "wrong" | "good" | "teach" | "run:<n>" | "runtests:<n>") the person pressed
    #: that action on this message (n: the code block's index).
    sig_action_requested = Signal(str)
    #: (memory id) a memory chip was clicked.
    sig_memory_requested = Signal(str)
    #: (vault context item) a source chip was clicked.
    sig_source_requested = Signal(object)

    def __init__(self, role: str, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.role = role
        #: The stored message this widget shows; None while it streams or if it was never stored.
        self.message = None
        self._meta: dict = {}
        self.setObjectName("userMessage" if role == "user" else "assistantMessage")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._text = ""
        self._answer = ""  # the text without a reasoning model's <think> block (what is rendered)
        self._status = ""
        self._rendered = RenderedMarkdown("", ())
        self._stream = StreamRenderer()  # incremental rendering while the reply streams
        self._copied: int | None = None
        self._tests_attached = False
        self._running: dict[int, dict] = {}  # block index → a run in progress (not stored yet)
        self._copied_timer = QTimer(self, singleShot=True, interval=COPIED_FEEDBACK_MS)
        self._copied_timer.timeout.connect(self._clear_copied)

        layout = QVBoxLayout(self)
        if role == "user":
            layout.setContentsMargins(14, 10, 14, 10)
        else:
            layout.setContentsMargins(2, 4, 2, 4)
        layout.setSpacing(4)
        header = QHBoxLayout()
        header.setSpacing(8)
        self.name_label = QLabel(name, objectName="messageRole")
        self.badge = QLabel("", objectName="messageBadge")
        self.badge.hide()
        header.addWidget(self.name_label)
        header.addWidget(self.badge)
        header.addStretch(1)
        layout.addLayout(header)
        self.thinking = ThinkingDisclosure(self)
        layout.addWidget(self.thinking)
        self.tool_calls = ToolCallsView(self)  # the MCP tool calls the reply made, each with its result
        layout.addWidget(self.tool_calls)
        self.body = MessageBody(self)
        self.body.anchorClicked.connect(self._on_link)
        layout.addWidget(self.body)
        self.placeholder = QLabel("", objectName="messagePlaceholder")
        self.placeholder.hide()
        layout.addWidget(self.placeholder)
        self.chips = ContextChips(self)
        self.chips.sig_memory_requested.connect(self.sig_memory_requested)
        self.chips.sig_source_requested.connect(self.sig_source_requested)
        layout.addWidget(self.chips)
        self.actions_row = ActionRow(role, self)
        self.actions_row.sig_copy_requested.connect(self.copy_text)
        self.actions_row.sig_edit_requested.connect(lambda: self.sig_action_requested.emit("edit"))
        self.actions_row.sig_regenerate_requested.connect(
            lambda: self.sig_action_requested.emit("regenerate")
        )
        self.actions_row.sig_wrong_requested.connect(lambda: self.sig_action_requested.emit("wrong"))
        self.actions_row.sig_good_requested.connect(lambda: self.sig_action_requested.emit("good"))
        self.actions_row.sig_teach_requested.connect(lambda: self.sig_action_requested.emit("teach"))
        self.actions_row.hide()  # shown by set_actions once the message is complete
        layout.addWidget(self.actions_row)

    # -- content ------------------------------------------------------------------------------------
    @property
    def text(self) -> str:
        return self._text

    @property
    def code_blocks(self) -> tuple[str, ...]:
        return self._rendered.code_blocks

    @property
    def message_id(self) -> str | None:
        return self.message.id if self.message is not None else None

    @property
    def meta(self) -> dict:
        return self._meta

    def set_message(self, message) -> None:
        """Show a stored message (text, status, context chips, feedback) and remember it for the actions."""
        self.message = message
        self.set_text(message.content, message.status, meta=message.meta)

    @property
    def answer(self) -> str:
        """The reply without its ``<think>`` block (the person's own text as typed)."""
        return self._answer

    def set_text(self, text: str, status: str = "", *, meta: dict | None = None) -> None:
        """Show ``text`` (Markdown for the assistant, plain for the person) with ``status`` ("streaming", …)."""
        self._text = text
        self._meta = dict(meta or {})
        self._status = status  # before rendering: a finished answer's Python blocks get "Run"
        self._split(streaming=status == "streaming")
        self._render()
        self.set_status(status, self._meta)
        self.chips.set_context(self._meta.get("context") if self.role == "assistant" else None)
        self.tool_calls.set_calls(self._meta.get("tool_calls"), live=status == "streaming")
        self.actions_row.set_feedback(self._meta.get("feedback"))

    def stream_text(self, text: str) -> None:
        """Show a reply that is still streaming: ``text`` is all of it so far.

        Bounded work per call: finished Markdown blocks are rendered once and appended to the document;
        only the block being written is rendered again. A think block updates its disclosure (whose text
        is drawn only when open). ``set_text``/``set_message`` at the end renders everything once more.
        """
        self._text = text
        self._split(streaming=True)
        if self.role == "user":
            self.body.setPlainText(text)
            return
        blocks = self._stream.feed(self.body.document(), self._answer, set(self._excerpts()))
        self._rendered = RenderedMarkdown("", blocks)
        if self._status != "streaming":
            self.set_status("streaming", self._meta)
        else:
            self._show_body()

    def _split(self, *, streaming: bool) -> None:
        if self.role == "user":
            self._answer = self._text
            return
        split = split_thinking(self._text, streaming=streaming)
        self._answer = split.answer
        self.thinking.set_thinking(split.thinking, still_open=split.open and streaming)

    def set_feedback(self, feedback: dict) -> None:
        """Record and show the person's verdict on this reply (after "This was wrong")."""
        self._meta["feedback"] = dict(feedback)
        self.actions_row.set_feedback(feedback)

    # -- code runs ----------------------------------------------------------------------------------
    def set_tests_attached(self, attached: bool) -> None:
        """Offer "Run the tests" on Python blocks (the chat has tests attached)."""
        if attached != self._tests_attached:
            self._tests_attached = attached
            self._render()

    def runs(self) -> dict[int, dict]:
        """Each block's last run (stored in ``meta["code_runs"]``), with runs in progress on top."""
        stored = self._meta.get("code_runs") if isinstance(self._meta, dict) else None
        out = {int(k): v for k, v in (stored or {}).items() if str(k).isdigit() and isinstance(v, dict)}
        out.update(self._running)
        return out

    def set_running(self, index: int, tests: bool) -> None:
        self._running[index] = {"status": "running", "kind": "tests" if tests else "code", "index": index}
        self._render()

    def set_run(self, index: int, record: dict | None) -> None:
        """Show a finished run under block ``index`` (None: the run failed to start; drop "Running…")."""
        self._running.pop(index, None)
        if record is not None:
            runs = dict(self._meta.get("code_runs") or {})
            runs[str(index)] = dict(record)
            self._meta["code_runs"] = runs
        self._render()

    def set_actions(self, *, edit: bool = False, regenerate: bool | None = None, wrong: bool = False) -> None:
        """Which actions this message offers now (the chat pane decides: streaming, latest reply, stored).

        ``regenerate`` None hides Regenerate (not the latest reply); False shows it disabled.
        """
        row = self.actions_row
        row.edit_button.setVisible(self.role == "user")
        row.edit_button.setEnabled(edit)
        row.regenerate_button.setVisible(self.role == "assistant" and regenerate is not None)
        row.regenerate_button.setEnabled(bool(regenerate))
        row.wrong_button.setVisible(self.role == "assistant")
        row.wrong_button.setEnabled(wrong and not row.marked)
        row.good_button.setVisible(self.role == "assistant")
        row.good_button.setEnabled(wrong and not row.marked)
        row.teach_button.setVisible(self.role == "assistant")
        row.teach_button.setEnabled(wrong)
        row.setVisible(bool(self._text.strip()) and self._status != "streaming")

    def copy_text(self) -> None:
        """Put the whole message (its Markdown source, without a <think> block) on the clipboard and say so."""
        QGuiApplication.clipboard().setText(self._answer)
        self.actions_row.show_copied()
        self.sig_status.emit("Copied the message")

    def set_status(self, status: str, meta: dict | None = None) -> None:
        self._status = status
        label = status_label(status, meta or {})
        self.badge.setText(label)
        self.badge.setProperty("state", status)
        self.badge.style().unpolish(self.badge)
        self.badge.style().polish(self.badge)
        self.badge.setVisible(bool(label))
        empty = not self._answer.strip()
        if empty and status == "streaming" and (self.thinking.isVisibleTo(self) or self.tool_calls.pending()):
            self.placeholder.setText("")  # the disclosure already says "Thinking…"
        elif empty and status == "streaming":
            self.placeholder.setText("Thinking…")
        elif empty and status == "cancelled":
            self.placeholder.setText("Stopped before the first word.")
        elif empty and status == "failed":
            self.placeholder.setText("No reply.")
        else:
            self.placeholder.setText("")
        self.placeholder.setVisible(bool(self.placeholder.text()))
        self.body.setVisible(not empty)

    def _show_body(self) -> None:
        """Refresh what shows (body, placeholder) only when it changes: cheap enough for every flush."""
        body = bool(self._answer.strip())
        placeholder = not body and not self.thinking.isVisibleTo(self)
        if self.body.isVisibleTo(self) != body or self.placeholder.isVisibleTo(self) != placeholder:
            self.set_status(self._status, self._meta)

    def status(self) -> str:
        return self._status

    def badge_text(self) -> str:
        return self.badge.text() if self.badge.isVisible() or self.badge.text() else ""

    def _render(self) -> None:
        self._stream.forget()
        if self.role == "user":
            self.body.setPlainText(self._text)
            return
        runnable = self._status not in ("streaming",) and self.message is not None
        self._rendered = shared_renderer().render(
            self._answer,
            copied_index=self._copied,
            runnable=runnable,
            tests=runnable and self._tests_attached,
            runs=self.runs(),
        )
        self.body.setHtml(link_citations(self._rendered.html, set(self._excerpts())))

    def _excerpts(self) -> dict[int, dict]:
        """The numbered Vault excerpts this answer was given (``meta["context"]["vault"]``)."""
        context = self._meta.get("context") if isinstance(self._meta, dict) else None
        items = (context or {}).get("vault") if isinstance(context, dict) else None
        return {int(v["n"]): v for v in items or [] if isinstance(v, dict) and isinstance(v.get("n"), int)}

    # -- links --------------------------------------------------------------------------------------
    def _on_link(self, url: QUrl) -> None:
        index = copy_index(url.toString())
        run = run_link(url.toString())
        if index is not None:
            self.copy_code_block(index)
        elif run is not None:
            if run[1] not in self._running:
                self.sig_action_requested.emit(f"{run[0]}:{run[1]}")
        elif url.scheme() == "cite":
            excerpt = self._excerpts().get(int(url.path())) if url.path().isdigit() else None
            if excerpt is not None:
                self.sig_source_requested.emit(excerpt)
        elif url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)

    def copy_code_block(self, index: int) -> None:
        """Put code block ``index``'s exact source on the clipboard and say so on its link."""
        if not 0 <= index < len(self._rendered.code_blocks):
            return
        code = self._rendered.code_blocks[index]
        QGuiApplication.clipboard().setText(code)
        lines = code.count("\n") + 1 if code else 0
        self.sig_status.emit(f"Copied {lines} line{'s' if lines != 1 else ''} of code")
        self._copied = index
        self._render()
        self._copied_timer.start()

    def _clear_copied(self) -> None:
        self._copied = None
        self._render()


class MessageList(QScrollArea):
    """A centred column of MessageWidgets that follows new text only while the person is at the bottom."""

    #: (text) forwarded from a message (copy feedback).
    sig_status = Signal(str)
    #: (action, MessageWidget) an action button was pressed on a message ("edit", "regenerate", "wrong").
    sig_message_action = Signal(str, object)
    #: (memory id) forwarded from a message's memory chip.
    sig_memory_requested = Signal(str)
    #: (vault context item) forwarded from a message's source chip.
    sig_source_requested = Signal(object)

    #: How long a message found by search stays highlighted (ms).
    HIGHLIGHT_MS = 2000
    #: Within this many pixels of the end counts as "at the bottom".
    STICKY_PX = 24

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageList")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        canvas = QWidget(objectName="messageCanvas")
        outer = QHBoxLayout(canvas)
        outer.setContentsMargins(24, 20, 24, 20)
        outer.addStretch(1)
        self._column = QWidget(objectName="messageColumn")
        self._column.setMaximumWidth(MAX_COLUMN_WIDTH)
        self._column.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        outer.addWidget(self._column, 100)
        outer.addStretch(1)
        self._layout = QVBoxLayout(self._column)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(14)
        self._layout.addStretch(1)
        self.setWidget(canvas)

        self._empty = QWidget(objectName="emptyState")
        empty_layout = QVBoxLayout(self._empty)
        empty_layout.setSpacing(10)
        empty_layout.addStretch(2)
        self._empty_title = QLabel(WELCOME_TITLE, objectName="emptyTitle")
        self._empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty_hint = QLabel(WELCOME_HINT, objectName="emptyHint")
        self._empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty_hint.setWordWrap(True)
        self._empty_busy = QProgressBar(objectName="emptyBusy")
        self._empty_busy.setRange(0, 0)
        self._empty_busy.setTextVisible(False)
        self._empty_busy.setFixedSize(220, 6)
        self._empty_busy.hide()
        empty_layout.addWidget(self._empty_title)
        empty_layout.addWidget(self._empty_hint)
        empty_layout.addSpacing(6)
        empty_layout.addWidget(self._empty_busy, 0, Qt.AlignmentFlag.AlignHCenter)
        empty_layout.addStretch(3)
        self._layout.insertWidget(0, self._empty, 1)

        self._stick = True
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range_changed)

    # -- contents -----------------------------------------------------------------------------------
    def messages(self) -> list[MessageWidget]:
        return [
            w
            for i in range(self._layout.count())
            if isinstance(w := self._layout.itemAt(i).widget(), MessageWidget)
        ]

    def clear(self, empty_text: str | None = None) -> None:
        """Remove every message; show the welcome, or just ``empty_text`` (e.g. "Loading…")."""
        for widget in self.messages():
            self._layout.removeWidget(widget)
            widget.hide()
            widget.deleteLater()
        if empty_text is None:
            self.set_empty(WELCOME_TITLE, WELCOME_HINT)
        else:
            self.set_empty("", empty_text)
        self._empty.show()
        self._stick = True

    def remove_from(self, widget: MessageWidget) -> None:
        """Remove ``widget`` and every message after it (a reply written again, an edited message)."""
        widgets = self.messages()
        if widget not in widgets:
            return
        for w in widgets[widgets.index(widget) :]:
            self._layout.removeWidget(w)
            w.hide()
            w.deleteLater()
        if not self.messages():
            self._empty.show()

    def set_empty(self, title: str, hint: str, busy: bool = False) -> None:
        """What the empty view says (title may be ""), with an optional busy bar."""
        self._empty_title.setText(title)
        self._empty_title.setVisible(bool(title))
        self._empty_hint.setText(hint)
        self._empty_busy.setVisible(busy)

    def is_empty(self) -> bool:
        return not self.messages()

    def empty_state(self) -> tuple[str, str, bool]:
        return self._empty_title.text(), self._empty_hint.text(), self._empty_busy.isVisible()

    def add_message(self, role: str, name: str, text: str = "", status: str = "", meta: dict | None = None):
        """Append a message widget (before the bottom stretch) and return it."""
        self._empty.hide()
        widget = MessageWidget(role, name, self._column)
        widget.set_text(text, status, meta=meta)
        widget.sig_status.connect(self.sig_status)
        widget.sig_action_requested.connect(lambda action, w=widget: self.sig_message_action.emit(action, w))
        widget.sig_memory_requested.connect(self.sig_memory_requested)
        widget.sig_source_requested.connect(self.sig_source_requested)
        # Person's messages sit to the right in a bubble; the assistant's use the full column.
        self._layout.insertWidget(self._layout.count() - 1, widget)
        if role == "user":
            self._layout.setAlignment(widget, Qt.AlignmentFlag.AlignRight)
            widget.setMaximumWidth(int(MAX_COLUMN_WIDTH * 0.8))
        return widget

    # -- scrolling ----------------------------------------------------------------------------------
    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - self.STICKY_PX

    def scroll_to_bottom(self) -> None:
        self._stick = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def reveal(self, widget: MessageWidget, highlight: bool = True) -> None:
        """Scroll so ``widget`` is in view (its top near the top) and briefly highlight it."""
        self._stick = False
        self.widget().layout().activate()
        self._column.layout().activate()
        top = widget.mapTo(self.widget(), widget.rect().topLeft()).y()
        self.verticalScrollBar().setValue(max(0, top - 40))
        if highlight:
            widget.setProperty("found", True)
            _repolish(widget)
            QTimer.singleShot(self.HIGHLIGHT_MS, lambda: _unhighlight(widget))

    def _on_scrolled(self, _value: int) -> None:
        self._stick = self.at_bottom()

    def _on_range_changed(self, _minimum: int, maximum: int) -> None:
        # Content grew: follow it only if the person had not scrolled up to read something.
        if self._stick:
            self.verticalScrollBar().setValue(maximum)


def _repolish(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.update()


def _unhighlight(widget: QWidget) -> None:
    try:
        widget.setProperty("found", False)
        _repolish(widget)
    except RuntimeError:  # the message was removed meanwhile
        pass


class Banner(QWidget):
    """A dismissable strip with a bold message, a hint and optional action buttons ("error" or "info").

    It centres itself in a column as wide as the messages; hidden, it takes no room at all.
    """

    sig_dismissed = Signal()

    def __init__(self, kind: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = kind
        self.about = ""  # what the banner is about ("model", …), so the right event can clear it
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.dismiss)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(24, 0, 24, 0)
        outer.addStretch(1)
        self.frame = QFrame(objectName="errorBanner" if kind == "error" else "infoBanner")
        self.frame.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.frame.setMaximumWidth(MAX_COLUMN_WIDTH)
        self.frame.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        outer.addWidget(self.frame, 100)
        outer.addStretch(1)
        layout = QHBoxLayout(self.frame)
        layout.setContentsMargins(14, 10, 10, 10)
        layout.setSpacing(10)
        icon = QLabel("⚠" if kind == "error" else "ℹ", objectName="bannerIcon")
        layout.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        texts = QVBoxLayout()
        texts.setSpacing(2)
        self.message_label = QLabel("", objectName="bannerMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hint_label = QLabel("", objectName="bannerHint")
        self.hint_label.setWordWrap(True)
        self.hint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        texts.addWidget(self.message_label)
        texts.addWidget(self.hint_label)
        layout.addLayout(texts, 1)
        self._actions = QHBoxLayout()
        self._actions.setSpacing(6)
        layout.addLayout(self._actions)
        self.close_button = QToolButton(objectName="bannerClose", text="✕", toolTip="Dismiss")
        self.close_button.setAutoRaise(True)
        self.close_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.close_button.clicked.connect(self.dismiss)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_message(
        self,
        message: str,
        hint: str = "",
        actions: list[tuple[str, object]] | tuple = (),
        timeout_ms: int = 0,
        about: str = "",
    ) -> None:
        """Show ``message`` and ``hint``; each action is (button text, callable) and dismisses the banner."""
        self.about = about
        self.message_label.setText(message)
        self.hint_label.setText(hint)
        self.hint_label.setVisible(bool(hint))
        while self._actions.count():
            item = self._actions.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for text, callback in actions:
            button = QPushButton(text, objectName="bannerAction")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, cb=callback: (cb(), self.dismiss()))
            self._actions.addWidget(button)
        self._timer.stop()
        if timeout_ms:
            self._timer.start(timeout_ms)
        self.show()

    def action_buttons(self) -> list[QPushButton]:
        return [
            w
            for i in range(self._actions.count())
            if isinstance(w := self._actions.itemAt(i).widget(), QPushButton)
        ]

    def dismiss(self) -> None:
        self._timer.stop()
        if self.isVisible():
            self.hide()
            self.about = ""
            self.sig_dismissed.emit()
