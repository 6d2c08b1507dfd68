"""SourceViewer: a cited source opened read-only at the cited lines (line numbers, highlight, copy citation)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QRect, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QFontDatabase,
    QGuiApplication,
    QPainter,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.ui import theme

#: Bigger files are not read into the viewer (it would stall the window); they open in the default app.
MAX_BYTES = 4 * 1024 * 1024
#: Light highlight for the cited lines (the dark theme maps it, see theme.DARK).
CITED_BACKGROUND = "#fef3c7"
REINDEX_HINT = "If it moved or changed, re-index its folder in the Vault pane so citations point at it again."


@dataclass(frozen=True)
class SourceText:
    """What reading a source gave: its text, or why there is none (``problem``, ``hint``)."""

    text: str | None
    problem: str = ""
    hint: str = ""


def read_source(path: str | Path, max_bytes: int = MAX_BYTES) -> SourceText:
    """Read ``path`` as text for the viewer; never raises (a missing, huge or binary file says so)."""
    p = Path(path)
    name = p.name or str(p)
    if p.suffix.lower() == ".pdf":
        return SourceText(None, f"{name} is a PDF.", "Open it in the default app to see the cited page.")
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise IsADirectoryError(str(p))
    except FileNotFoundError:
        return SourceText(None, f"{name} is no longer at {p.parent}.", REINDEX_HINT)
    except OSError as exc:
        return SourceText(None, f"{name} cannot be read: {exc.strerror or exc}.", REINDEX_HINT)
    if size > max_bytes:
        mb = size / (1024 * 1024)
        return SourceText(
            None,
            f"{name} is {mb:,.1f} MB — too big to show here.",
            "Open it in the default app; the cited lines are given in the title.",
        )
    try:
        data = p.read_bytes()
    except OSError as exc:
        return SourceText(None, f"{name} cannot be read: {exc.strerror or exc}.", REINDEX_HINT)
    if b"\x00" in data[:8192]:
        return SourceText(None, f"{name} is not a text file.", "Open it in the default app.")
    return SourceText(data.decode("utf-8", errors="replace"))


class _LineNumbers(QWidget):
    """The gutter beside the text: one number per line, the cited ones emphasised."""

    def __init__(self, view: CodeView) -> None:
        super().__init__(view)
        self._view = view

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(self._view.gutter_width(), 0)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._view.paint_gutter(self, event)


class CodeView(QPlainTextEdit):
    """Read-only, fixed-width text with line numbers and a highlighted line range."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourceText")
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self._range = (0, 0)
        self._gutter = _LineNumbers(self)
        self.blockCountChanged.connect(self._update_margins)
        self.updateRequest.connect(self._on_update_request)
        self._update_margins()

    def gutter_width(self) -> int:
        digits = len(str(max(1, self.blockCount())))
        return 16 + self.fontMetrics().horizontalAdvance("9") * max(3, digits)

    def _update_margins(self, *_args) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _on_update_request(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        r = self.contentsRect()
        self._gutter.setGeometry(QRect(r.left(), r.top(), self.gutter_width(), r.height()))

    def paint_gutter(self, gutter: QWidget, event) -> None:
        painter = QPainter(gutter)
        painter.fillRect(event.rect(), theme.color("#f6f8fa"))
        block = self.firstVisibleBlock()
        number = block.blockNumber()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        bottom = top + round(self.blockBoundingRect(block).height())
        height = self.fontMetrics().height()
        first, last = self._range
        while block.isValid() and top <= event.rect().bottom():
            if block.isVisible() and bottom >= event.rect().top():
                cited = first <= number + 1 <= last
                painter.setPen(theme.color("text") if cited else theme.color("muted"))
                font = painter.font()
                font.setBold(cited)
                painter.setFont(font)
                painter.drawText(
                    0, top, gutter.width() - 8, height, int(Qt.AlignmentFlag.AlignRight), str(number + 1)
                )
            block = block.next()
            top = bottom
            bottom = top + round(self.blockBoundingRect(block).height())
            number += 1

    def highlight_lines(self, first: int, last: int) -> None:
        """Give lines ``first``..``last`` (1-based, inclusive) a full-width background."""
        self._range = (first, last)
        selections = []
        colour = QColor(theme.color(CITED_BACKGROUND))
        for line in range(first, last + 1):
            block = self.document().findBlockByNumber(line - 1)
            if not block.isValid():
                break
            sel = QTextEdit.ExtraSelection()
            sel.format.setBackground(colour)
            sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            sel.cursor = QTextCursor(block)
            selections.append(sel)
        self.setExtraSelections(selections)
        self._gutter.update()

    def highlighted_lines(self) -> list[int]:
        """The 1-based numbers of the highlighted lines."""
        return [s.cursor.blockNumber() + 1 for s in self.extraSelections()]

    def scroll_to_line(self, line: int) -> None:
        """Put ``line`` near the top third of the view, so the cited lines and what follows are visible."""
        block = self.document().findBlockByNumber(max(0, line - 1))
        if not block.isValid():
            return
        self.setTextCursor(QTextCursor(block))
        visible = max(1, self.viewport().height() // max(1, self.fontMetrics().lineSpacing()))
        self.verticalScrollBar().setValue(max(0, line - 1 - visible // 4))

    def visible_lines(self) -> range:
        """The 1-based lines currently on screen."""
        first = self.firstVisibleBlock().blockNumber() + 1
        rows = self.viewport().height() // max(1, self.fontMetrics().lineSpacing())
        return range(first, first + rows)


class SourceViewer(QDialog):
    """A cited source shown at the cited lines; Open in default app, Copy citation, Close (Esc)."""

    def __init__(
        self,
        path: str | Path,
        start_line: int = 1,
        end_line: int | None = None,
        *,
        rel_path: str = "",
        page: int | None = None,
        title: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sourceViewer")
        self.path = Path(path)
        self.start_line = max(1, int(start_line or 1))
        self.end_line = max(self.start_line, int(end_line or self.start_line))
        self.rel_path = rel_path or self.path.name
        self.page = page
        self.citation = f"{self.rel_path}:{self.start_line}-{self.end_line}"
        where = f"lines {self.start_line}–{self.end_line}"
        if page:
            where = f"page {page}, {where}"
        self.setWindowTitle(f"{self.rel_path} ({where})")
        self.resize(820, 600)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        head = QHBoxLayout()
        self.title_label = QLabel(self.rel_path, objectName="sourceTitle")
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where_label = QLabel(where + (f" · {title}" if title else ""), objectName="mutedText")
        head.addWidget(self.title_label)
        head.addWidget(self.where_label, 1)
        layout.addLayout(head)
        self.path_label = QLabel(str(self.path), objectName="mutedText")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.path_label)

        self.problem_label = QLabel("", objectName="sourceProblem")
        self.problem_label.setWordWrap(True)
        self.hint_label = QLabel("", objectName="mutedText")
        self.hint_label.setWordWrap(True)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.hint_label)
        self.view = CodeView(self)
        layout.addWidget(self.view, 1)

        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open in default app", objectName="secondaryButton")
        self.open_button.clicked.connect(self.open_externally)
        self.copy_button = QPushButton("Copy citation", objectName="secondaryButton")
        self.copy_button.setToolTip(f"Copy “{self.citation}”")
        self.copy_button.clicked.connect(self.copy_citation)
        self.close_button = QPushButton("Close", objectName="primaryButton")
        self.close_button.setToolTip("Close (Esc)")
        self.close_button.clicked.connect(self.reject)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self._copied_timer = QTimer(self, singleShot=True, interval=1500)
        self._copied_timer.timeout.connect(lambda: self.copy_button.setText("Copy citation"))
        self._load()

    @property
    def problem(self) -> str:
        return self.problem_label.text()

    def _load(self) -> None:
        source = read_source(self.path)
        self.problem_label.setText(source.problem)
        self.hint_label.setText(source.hint)
        self.problem_label.setVisible(bool(source.problem))
        self.hint_label.setVisible(bool(source.hint))
        self.view.setVisible(source.text is not None)
        self.open_button.setEnabled(self.path.exists())
        if source.text is None:
            self.view.clear()
            self.close_button.setFocus()
            return
        self.view.setPlainText(source.text)
        self.view.highlight_lines(self.start_line, self.end_line)
        self.view.setFocus()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        # The viewport has its real height only once shown.
        # (bound to the view, so a viewer closed at once never scrolls a deleted widget)
        QTimer.singleShot(0, self.view, lambda: self.view.scroll_to_line(self.start_line))

    def open_externally(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path)))

    def copy_citation(self) -> None:
        QGuiApplication.clipboard().setText(self.citation)
        self.copy_button.setText("Copied ✓")
        self._copied_timer.start()


def show_source(parent: QWidget | None, item: dict | object) -> SourceViewer:
    """Open a non-blocking SourceViewer for a citation (a vault hit, or a ``meta["context"]["vault"]`` dict)."""

    def get(key: str, default=None):
        return item.get(key, default) if isinstance(item, dict) else getattr(item, key, default)

    viewer = SourceViewer(
        get("path", ""),
        get("start_line", 1) or 1,
        get("end_line", None),
        rel_path=get("rel_path", "") or "",
        page=get("page", None),
        title=get("title", "") or "",
        parent=parent.window() if parent is not None else None,
    )
    viewer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    viewer.setModal(False)
    viewer.show()
    return viewer
