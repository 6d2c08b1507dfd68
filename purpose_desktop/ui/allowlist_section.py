"""AllowListSection: Settings ▸ Safety scan — what the person overruled, and taking it back."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.ui.ops import EngineOp
from purpose_desktop.ui.widgets import local_time

ENTRY_ID = Qt.ItemDataRole.UserRole


class AllowListSection(QFrame):
    """The Safety scan card of Settings: every finding the person overruled, newest first, with Remove."""

    #: (text, timeout ms) a line for the status bar.
    sig_status = Signal(str, int)

    def __init__(self, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self._bridge = bridge
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(8)
        layout.addWidget(QLabel("Safety scan: what you allowed", objectName="cardTitle"))
        text = QLabel(
            "When you overrule a block in Memory (O), the scan stops blocking that finding in later lessons. "
            "Remove an entry to have it blocked again; lessons it already let through stay where they are.",
            objectName="cardText",
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        self.tree = QTreeWidget(objectName="allowList")
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Allowed", "Finding", "Your reason"])
        self.tree.setRootIsDecorated(False)
        self.tree.setMinimumHeight(90)
        self.tree.setMaximumHeight(220)
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        layout.addWidget(self.tree)
        self.empty = QLabel(
            "Nothing allowed. A block you overrule in Memory is listed here.", objectName="mutedText"
        )
        self.empty.setWordWrap(True)
        layout.addWidget(self.empty)
        row = QHBoxLayout()
        row.addStretch(1)
        self.remove_button = QPushButton("Remove", objectName="secondaryButton")
        self.remove_button.setToolTip("Block this finding again in later lessons (Delete)")
        row.addWidget(self.remove_button)
        layout.addLayout(row)
        self.remove_button.clicked.connect(self.remove_selected)
        shortcut = QShortcut(QKeySequence(Qt.Key.Key_Delete), self.tree)
        shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        shortcut.activated.connect(self.remove_selected)
        self.show_entries([])

    def refresh(self) -> None:
        EngineOp(self, lambda e: e.memories.allowlist(), what="reading the allow-list").success(
            self.show_entries
        ).run(self._bridge)

    def show_entries(self, entries) -> None:
        selected = self.selected_entry()
        self.tree.clear()
        for entry in entries:
            item = QTreeWidgetItem(
                [
                    local_time(entry.get("created_at")),
                    entry.get("description", ""),
                    entry.get("reason") or "",
                ]
            )
            item.setData(0, ENTRY_ID, entry.get("id"))
            item.setToolTip(1, entry.get("description", ""))
            item.setToolTip(2, entry.get("reason") or "")
            self.tree.addTopLevelItem(item)
            if entry.get("id") == selected:
                self.tree.setCurrentItem(item)
        for column in (0, 1):
            self.tree.resizeColumnToContents(column)
        self.tree.setVisible(bool(entries))
        self.empty.setVisible(not entries)
        self._update_buttons()

    def selected_entry(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, ENTRY_ID) if item is not None else None

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.selected_entry() is not None)

    def remove_selected(self) -> None:
        entry_id = self.selected_entry()
        item = self.tree.currentItem()
        if entry_id is None or item is None:
            return
        what = item.text(1)
        answer = QMessageBox.question(
            self,
            "Block this again?",
            f"{what}\n\nLater lessons with this finding will be blocked again. Lessons it already let through "
            "stay where they are.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return

        def removed(entries) -> None:
            self.show_entries(entries)
            self.sig_status.emit(f"Blocked again: {what}.", 4000)

        EngineOp(
            self,
            lambda e: (e.memories.disallow(entry_id), e.memories.allowlist())[1],
            what="removing an allow-list entry",
        ).success(removed).run(self._bridge)
