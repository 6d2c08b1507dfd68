"""ChatSearch: the search field above the chat list and its results (every chat's messages, via the bridge)."""

from __future__ import annotations

import html
import re

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.ui.bridge import EngineBridge, ErrorInfo
from purpose_desktop.ui.chat.conversation_list import relative_time
from purpose_desktop.ui.ops import EngineOp

#: Typing pauses this long (ms) before the search is asked for: one query per pause, not per key.
DEBOUNCE_MS = 250
#: Role holding a result's (conversation id, message id).
HitRole = Qt.ItemDataRole.UserRole + 1


#: Markdown marks a snippet would show as clutter: code fences (with their language), **bold**, `code`.
#: Only marks hugging a word count, so ``2 ** n`` in code keeps its operator.
_FENCE = re.compile(r"`{3}[\w+-]*")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_CODE = re.compile(r"`([^`\n]+)`")


def _plain(snippet: str) -> str:
    return _CODE.sub(r"\1", _BOLD.sub(r"\1", _FENCE.sub(" ", snippet)))


def emphasised(snippet: str, query: str) -> str:
    """``snippet`` as HTML, Markdown marks dropped, with each occurrence of ``query`` (the literal phrase,
    any case) in bold."""
    text = " ".join(_plain(str(snippet)).split())
    phrase = " ".join(query.split())
    if not phrase:
        return html.escape(text)
    out, last = [], 0
    for m in re.finditer(re.escape(phrase), text, re.IGNORECASE):
        out.append(html.escape(text[last : m.start()]))
        out.append(f"<b>{html.escape(m.group(0))}</b>")
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


class SearchField(QLineEdit):
    """The search box: Esc clears it (a second Esc leaves it); Down moves into the results."""

    sig_escaped = Signal()  #: Esc on an empty field
    sig_down = Signal()  #: Down arrow

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() == Qt.Key.Key_Escape:
            if self.text():
                self.clear()
            else:
                self.sig_escaped.emit()
            return
        if event.key() == Qt.Key.Key_Down:
            self.sig_down.emit()
            return
        super().keyPressEvent(event)


class HitWidget(QWidget):
    """One result: the chat's title and who wrote it, then the snippet with the match in bold."""

    def __init__(self, hit, query: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchHit")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(2)
        who = "You" if hit.role == "user" else "Assistant"
        when = relative_time(hit.created_at) if getattr(hit, "created_at", "") else ""
        head = QLabel(
            f"<b>{html.escape(hit.conversation_title or 'Untitled chat')}</b>"
            f" <span style='color:palette(placeholder-text)'>· {who}{' · ' + when if when else ''}</span>",
            objectName="searchHitTitle",
        )
        head.setTextFormat(Qt.TextFormat.RichText)
        head.setWordWrap(True)
        self.snippet_label = QLabel(emphasised(hit.snippet, query), objectName="searchHitSnippet")
        self.snippet_label.setTextFormat(Qt.TextFormat.RichText)
        self.snippet_label.setWordWrap(True)
        layout.addWidget(head)
        layout.addWidget(self.snippet_label)
        for label in (head, self.snippet_label):
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)


class ChatSearch(QWidget):
    """Search every chat's messages; results replace the chat list while the field has text."""

    #: (conversation id, message id) the person picked a result.
    sig_result_activated = Signal(str, str)
    #: (searching) the field went from empty to non-empty or back: the chat list hides while searching.
    sig_active_changed = Signal(bool)

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatSearch")
        self._bridge = bridge
        self._request: str | None = None
        self._query = ""
        self.hits: list = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.field = SearchField(self, objectName="chatSearchField")
        self.field.setPlaceholderText("Search chats  (Ctrl+Shift+F)")
        self.field.setClearButtonEnabled(True)
        self.field.setAccessibleName("Search chats")
        self.field.textChanged.connect(self._on_text_changed)
        self.field.returnPressed.connect(self._activate_first)
        self.field.sig_down.connect(self._focus_results)
        layout.addWidget(self.field)
        self.status_label = QLabel("", objectName="emptyListLabel")
        self.status_label.setWordWrap(True)
        self.status_label.hide()
        layout.addWidget(self.status_label)
        self.results = QListWidget(self, objectName="searchResults")
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.results.setAccessibleName("Search results")
        self.results.itemActivated.connect(self._on_activated)
        self.results.itemClicked.connect(self._on_activated)
        self.results.hide()
        self.results.viewport().installEventFilter(self)
        layout.addWidget(self.results, 1)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self._search)

    @property
    def active(self) -> bool:
        return bool(self.field.text().strip())

    def focus(self) -> None:
        self.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.field.selectAll()

    def clear(self) -> None:
        self.field.clear()

    def _on_text_changed(self, text: str) -> None:
        query = text.strip()
        was_active = bool(self._query)
        self._query = query
        if not query:
            self._timer.stop()
            self._request = None
            self.hits = []
            self.results.clear()
            self.results.hide()
            self.status_label.hide()
        else:
            self._timer.start()
        if bool(query) != was_active:
            self.sig_active_changed.emit(bool(query))

    def _search(self) -> None:
        if self._query:
            if not self.results.count():
                self._set_status("Searching…")
            token = self._request = object()
            query = self._query
            EngineOp(self, lambda e: e.search_messages(query, 50), what="searching chats").success(
                lambda hits: self._on_searched(token, query, hits)
            ).failure(lambda err: self._on_failed(token, err)).run(self._bridge)

    def _on_searched(self, token: object, query: str, hits) -> None:
        if token is not self._request:
            return  # an older query's answer
        self._request = None
        self.hits = list(hits)
        self.results.clear()
        for hit in self.hits:
            item = QListWidgetItem(self.results)
            item.setData(HitRole, (hit.conversation_id, hit.message_id))
            item.setToolTip(f"{hit.conversation_title}\n\n{' '.join(str(hit.snippet).split())}")
            self.results.setItemWidget(item, HitWidget(hit, query))
        self.results.setVisible(bool(self.hits))
        self._fit_items()
        if self.hits:
            n = len(self.hits)
            self._set_status(f"{n} message{'s' if n != 1 else ''} found")
        else:
            self._set_status(f"No messages match “{query}”.")

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if watched is self.results.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_items()
        return super().eventFilter(watched, event)

    def _fit_items(self) -> None:
        """Make each result exactly as wide as the list (its text wraps) and as tall as that needs."""
        width = self.results.viewport().width()
        for i in range(self.results.count()):
            item = self.results.item(i)
            widget = self.results.itemWidget(item)
            if widget is not None:
                height = widget.layout().heightForWidth(width) if width > 0 else -1
                item.setSizeHint(QSize(width, height if height > 0 else widget.sizeHint().height()))

    def _on_failed(self, token: object, err: ErrorInfo) -> None:
        if token is self._request:
            self._request = None
            self._set_status(f"Search failed: {err.message}")

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))

    def _focus_results(self) -> None:
        if self.results.count():
            self.results.setFocus()
            self.results.setCurrentRow(max(0, self.results.currentRow()))

    def _activate_first(self) -> None:
        if self.results.count():
            self.results.setCurrentRow(0)
            self._on_activated(self.results.item(0))

    def _on_activated(self, item: QListWidgetItem) -> None:
        conversation_id, message_id = item.data(HitRole)
        self.sig_result_activated.emit(conversation_id, message_id)

    def result_texts(self) -> list[str]:
        """Each result's snippet as plain text (for tests and accessibility)."""
        return [" ".join(str(h.snippet).split()) for h in self.hits]
