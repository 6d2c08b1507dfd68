"""RecentProjectsSection: the Settings card listing recently opened project folders, to reopen or forget."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget


class RecentProjectsSection(QFrame):
    """A card: the recent project folders (newest first), Open and Forget."""

    #: (folder) the person wants this project opened (the main window's ProjectController opens it).
    sig_open_requested = Signal(str)
    #: (the list without the forgotten folder) to save as the ``recent_projects`` setting.
    sig_forget_requested = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(8)
        layout.addWidget(QLabel("Projects", objectName="cardTitle"))
        text = QLabel(
            "Folders you opened with Project ▸ Open Folder… (Ctrl+O). Teams and chat read the open one and "
            "propose changes you apply or reject; nothing outside it is read or written.",
            objectName="cardText",
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        self.list = QListWidget()
        self.list.setMaximumHeight(120)
        self.list.itemDoubleClicked.connect(lambda item: self.sig_open_requested.emit(item.text()))
        self.list.currentRowChanged.connect(lambda _row: self._update())
        layout.addWidget(self.list)
        row = QHBoxLayout()
        self.empty = QLabel("No project opened yet.", objectName="mutedText")
        self.open_button = QPushButton("Open", objectName="secondaryButton")
        self.forget_button = QPushButton("Forget", objectName="secondaryButton")
        self.forget_button.setToolTip("Remove it from this list (the folder itself is not touched)")
        self.open_button.clicked.connect(self._open)
        self.forget_button.clicked.connect(self._forget)
        row.addWidget(self.empty)
        row.addStretch(1)
        row.addWidget(self.forget_button)
        row.addWidget(self.open_button)
        layout.addLayout(row)
        self._update()

    def set_recent(self, folders: list[str]) -> None:
        current = self.list.currentItem().text() if self.list.currentItem() else None
        self.list.clear()
        self.list.addItems(list(folders))
        matches = self.list.findItems(current, Qt.MatchFlag.MatchExactly) if current else []
        self.list.setCurrentItem(matches[0] if matches else self.list.item(0))
        self._update()

    def folders(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _open(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.sig_open_requested.emit(item.text())

    def _forget(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.sig_forget_requested.emit([f for f in self.folders() if f != item.text()])

    def _update(self) -> None:
        has = self.list.count() > 0
        self.list.setVisible(has)
        self.empty.setVisible(not has)
        chosen = self.list.currentItem() is not None
        self.open_button.setEnabled(chosen)
        self.forget_button.setEnabled(chosen)
