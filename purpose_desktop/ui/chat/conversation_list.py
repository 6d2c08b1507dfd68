"""The chat list: ConversationListModel (newest first, inline rename) and the view with its keys and menu."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QAction, QFont, QFontMetrics, QKeyEvent, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from purpose_desktop.ui import theme
from purpose_desktop.ui.bridge import Conversation

#: Role holding a row's conversation id.
IdRole = Qt.ItemDataRole.UserRole + 1
#: Role holding the muted second line ("Today 14:03 · 4 messages").
SubtitleRole = Qt.ItemDataRole.UserRole + 2


def _when(iso: str) -> str:
    """A short local time for tooltips ("2024-05-01 14:03")."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def relative_time(iso: str, now: datetime | None = None) -> str:
    """ "14:03" today, "Yesterday", a weekday within a week, else "12 May" (or "12 May 2023")."""
    try:
        then = datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return ""
    now = now or datetime.now().astimezone()
    days = (now.date() - then.date()).days
    if days <= 0:
        return then.strftime("%H:%M")
    if days == 1:
        return "Yesterday"
    if days < 7:
        return then.strftime("%A")
    return f"{then.day} {then.strftime('%b')}" + (f" {then.year}" if then.year != now.year else "")


class ConversationListModel(QAbstractListModel):
    """Conversations newest activity first; editing a title asks for a rename instead of changing data."""

    #: (conversation id, new title) the person finished editing a title.
    sig_rename_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Conversation] = []

    # -- Qt model API -----------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        conv = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return conv.title
        if role == Qt.ItemDataRole.ToolTipRole:
            count = conv.message_count
            return f"{conv.title}\n{count} message{'s' if count != 1 else ''} · last active {_when(conv.updated_at)}"
        if role == IdRole:
            return conv.id
        if role == SubtitleRole:
            count = conv.message_count
            return f"{relative_time(conv.updated_at)}  ·  {count} message{'s' if count != 1 else ''}"
        return None

    def flags(self, index):
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() else base

    def setData(self, index, value, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        title = " ".join(str(value).split())
        conv = self._rows[index.row()]
        if not title or title == conv.title:
            return False
        # Show the new title at once; the store's answer (sig_conversation_renamed) replaces the row.
        self._rows[index.row()] = _with_title(conv, title)
        self.dataChanged.emit(index, index)
        self.sig_rename_requested.emit(conv.id, title)
        return True

    # -- updates from the engine --------------------------------------------------------------------
    def set_conversations(self, conversations: list[Conversation]) -> None:
        self.beginResetModel()
        self._rows = sorted(conversations, key=lambda c: c.updated_at, reverse=True)
        self.endResetModel()

    def conversations(self) -> list[Conversation]:
        return list(self._rows)

    def row_of(self, conversation_id: str | None) -> int:
        for row, conv in enumerate(self._rows):
            if conv.id == conversation_id:
                return row
        return -1

    def get(self, conversation_id: str | None) -> Conversation | None:
        row = self.row_of(conversation_id)
        return self._rows[row] if row >= 0 else None

    def upsert(self, conv: Conversation) -> int:
        """Insert or replace ``conv`` at its place by activity, moving (not re-inserting) an existing row so
        the view keeps its selection; returns the row."""
        row = self.row_of(conv.id)
        others = [c for c in self._rows if c.id != conv.id]
        target = next((i for i, c in enumerate(others) if c.updated_at <= conv.updated_at), len(others))
        if row < 0:
            self.beginInsertRows(QModelIndex(), target, target)
            self._rows.insert(target, conv)
            self.endInsertRows()
            return target
        if target != row:
            destination = target + 1 if target > row else target
            self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), destination)
            self._rows = others[:target] + [conv] + others[target:]
            self.endMoveRows()
        else:
            self._rows[row] = conv
        index = self.index(target)
        self.dataChanged.emit(index, index)
        return target

    def remove(self, conversation_id: str) -> Conversation | None:
        row = self.row_of(conversation_id)
        if row < 0:
            return None
        self.beginRemoveRows(QModelIndex(), row, row)
        conv = self._rows.pop(row)
        self.endRemoveRows()
        return conv


def _with_title(conv: Conversation, title: str) -> Conversation:
    return replace(conv, title=title)


class ConversationDelegate(QStyledItemDelegate):
    """Two lines per chat: the title, then a muted "when · how many messages"; always as wide as the list."""

    PAD_X = 10
    PAD_Y = 7
    GAP = 2

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont]:
        title = QFont(option.font)
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() - 1.5))
        return title, small

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:  # noqa: N802 - Qt override
        title, small = self._fonts(option)
        height = QFontMetrics(title).height() + QFontMetrics(small).height() + self.GAP + 2 * self.PAD_Y
        # Width 0: the row spans the list, and long titles are elided instead of scrolling sideways.
        return QSize(0, height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget else None
        opt.text = ""
        if style is not None:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, widget)
        title_font, small_font = self._fonts(option)
        rect = option.rect.adjusted(self.PAD_X, self.PAD_Y, -self.PAD_X, -self.PAD_Y)
        painter.save()
        painter.setFont(title_font)
        fm = painter.fontMetrics()
        title_rect = QRect(rect.left(), rect.top(), rect.width(), fm.height())
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setPen(theme.color("selected_text") if selected else theme.color("text"))
        painter.drawText(
            title_rect,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            fm.elidedText(
                str(index.data(Qt.ItemDataRole.DisplayRole) or ""), Qt.TextElideMode.ElideRight, rect.width()
            ),
        )
        painter.setFont(small_font)
        sfm = painter.fontMetrics()
        sub_rect = QRect(rect.left(), title_rect.bottom() + 1 + self.GAP, rect.width(), sfm.height())
        painter.setPen(theme.color("muted"))
        painter.drawText(
            sub_rect,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            sfm.elidedText(str(index.data(SubtitleRole) or ""), Qt.TextElideMode.ElideRight, rect.width()),
        )
        painter.restore()

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem, index) -> None:  # noqa: N802
        # Edit the title in place, on the first line.
        title_font, _ = self._fonts(option)
        height = QFontMetrics(title_font).height() + 8
        rect = option.rect.adjusted(self.PAD_X - 4, self.PAD_Y - 4, -self.PAD_X + 4, 0)
        rect.setHeight(height)
        editor.setGeometry(rect)


class ConversationListView(QListView):
    """The chat list: F2 / double-click renames, Del deletes, right-click offers both."""

    #: (conversation id) the person asked to delete this chat.
    sig_delete_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversationList")
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setItemDelegate(ConversationDelegate(self))
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)
        self.setMouseTracking(True)

    def current_id(self) -> str | None:
        index = self.currentIndex()
        return index.data(IdRole) if index.isValid() else None

    def rename_current(self) -> None:
        if self.currentIndex().isValid():
            self.edit(self.currentIndex())

    def delete_current(self) -> None:
        conversation_id = self.current_id()
        if conversation_id:
            self.sig_delete_requested.emit(conversation_id)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if self.state() != QAbstractItemView.State.EditingState:
            if event.key() == Qt.Key.Key_F2:
                self.rename_current()
                return
            if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and not event.modifiers():
                self.delete_current()
                return
        super().keyPressEvent(event)

    def _show_menu(self, pos) -> None:
        index = self.indexAt(pos)
        if not index.isValid():
            return
        self.setCurrentIndex(index)
        menu = QMenu(self)
        rename = QAction("Rename", menu)
        rename.setShortcut(QKeySequence(Qt.Key.Key_F2))
        rename.triggered.connect(self.rename_current)
        delete = QAction("Delete", menu)
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.triggered.connect(self.delete_current)
        menu.addAction(rename)
        menu.addSeparator()
        menu.addAction(delete)
        menu.popup(self.viewport().mapToGlobal(pos))
