"""MemoryTransferActions: the Memory pane's Export… and Import… (JSONL; imports are scanned and held for review)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog


class MemoryTransferActions:
    """A mixin of MemoryReviewPane (it uses the pane's ``_op``, banner, tabs and ``refresh``)."""

    def export_memories(self, path: str | None = None) -> None:
        """Save every memory to a JSONL file (asks where unless ``path`` is given)."""
        if not path:
            path, _filter = QFileDialog.getSaveFileName(
                self, "Export memories", str(Path.home() / "memories.jsonl"), "JSON Lines (*.jsonl)"
            )
        if not path:
            return
        self._op(
            lambda e: e.memories.export(path),
            "exporting memories",
            lambda n: self.sig_status.emit(f"Exported {n} memor{'y' if n == 1 else 'ies'} to {path}", 8000),
        )

    def import_memories(self, path: str | None = None) -> None:
        """Import a JSONL export: every line is scanned and lands in review; problems are listed by line."""
        if not path:
            path, _filter = QFileDialog.getOpenFileName(
                self, "Import memories", str(Path.home()), "JSON Lines (*.jsonl);;All files (*)"
            )
        if not path:
            return
        self._op(lambda e: e.memories.import_file(path), "importing memories", self._on_imported)

    def _on_imported(self, report) -> None:
        self.last_import = report
        problems = report.problems()
        if problems:
            shown = problems[:8] + ([f"… and {len(problems) - 8} more"] if len(problems) > 8 else [])
            self.banner.show_message(f"Imported: {report.summary()}.", "\n".join(shown))
        else:
            self.sig_status.emit(f"Imported: {report.summary()}.", 8000)
        if report.imported:
            self._focus_id = report.imported[0]["id"]
            self.tabs.setCurrentIndex(0)
        self.refresh()
