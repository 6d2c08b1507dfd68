"""MemoryTableModel: the Memory pane's table — one row per memory (text, kind, evidence, use)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QWidget

from purpose_desktop.ui import theme
from purpose_desktop.ui.memory.detail import STATUS_LABELS, decided, kind_label, shown_delta, verdict_word
from purpose_desktop.ui.memory.lesson_dialog import describe_scope

COLUMNS = ("Memory", "Kind", "Evidence", "Used")


class MemoryTableModel(QAbstractTableModel):
    """The memories the filters let through, newest change first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def set_memories(self, memories: list) -> None:
        self.beginResetModel()
        self._rows = list(memories)
        self.endResetModel()

    def memory(self, row: int):
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, memory_id: str) -> int:
        return next((i for i, m in enumerate(self._rows) if m.id == memory_id), -1)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        m = self.memory(index.row()) if index.isValid() else None
        if m is None:
            return None
        col = index.column()
        verdict = (m.evidence or {}).get("verdict") if m.evidence else None
        tone = verdict if decided(m.evidence) else None
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return " ".join(m.text.split())
            if col == 1:
                return kind_label(m.kind)
            if col == 2:
                if m.scan.get("blocked"):
                    return "blocked by scan"
                if not verdict:
                    return "not tested"
                delta = shown_delta(m.evidence)
                return verdict_word(m.evidence) + (f" ({delta:+.1f})" if delta is not None else "")
            if col == 3:
                return f"{m.retrieved}× · {m.utility:.2f}" if m.retrieved else "–"
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{m.text}\n\n{STATUS_LABELS.get(m.status, m.status)} · {kind_label(m.kind)}\n"
                f"Applies to {describe_scope(m.scope.to_dict())}"
            )
        if role == Qt.ItemDataRole.ForegroundRole and col == 2:
            return theme.color({"helps": "good", "hurts": "poor", "neutral": "fair"}.get(tone or "", "muted"))
        return None
