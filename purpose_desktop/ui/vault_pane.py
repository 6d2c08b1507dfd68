"""VaultPane: folders and files as searchable knowledge — sources with counts, indexing progress, ranked search."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFontDatabase, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.ui.bridge import EngineBridge, ErrorInfo
from purpose_desktop.ui.bridge.vault_worker import MIN_COSINE
from purpose_desktop.ui.chat.messages import Banner
from purpose_desktop.ui.ops import EngineOp
from purpose_desktop.ui.source_viewer import SourceViewer, show_source
from purpose_desktop.ui.widgets import Badge, BusyBar, EmptyState, PaneHeader, human_duration, repolish

#: Typing pauses this long (ms) before a search runs.
SEARCH_DELAY_MS = 250
STATUS_WORDS = {"ready": "ready", "indexing": "indexing", "incomplete": "not finished", "failed": "failed"}


def progress_text(p) -> str:
    """ "Reading 12 of 40 files" / "Embedding 350 of 900 chunks · 45 chunks/s · about 12 s left"."""
    if p.phase == "reading":
        return f"Reading {p.files_done:,} of {p.files_total:,} files" + (
            f" · {p.current}" if p.current else ""
        )
    if p.phase == "embedding":
        parts = [f"Embedding {p.chunks_done:,} of {p.chunks_total:,} chunks"]
        if p.chunks_per_s:
            parts.append(f"{p.chunks_per_s:,.0f} chunks/s")
        if p.eta_s is not None and p.chunks_done < p.chunks_total:
            parts.append(f"about {human_duration(p.eta_s)} left")
        return " · ".join(parts)
    return "Finishing…"


def highlighted(snippet: str, matches, mono: str = "") -> str:
    """The snippet as HTML (whitespace kept) with the matched spans in bold on a soft background."""
    out, last = [], 0
    for start, end in sorted(matches or []):
        if start < last or end > len(snippet):
            continue
        out.append(html.escape(snippet[last:start]))
        out.append(
            f'<span style="background-color:#fde68a; color:#111827;"><b>{html.escape(snippet[start:end])}</b></span>'
        )
        last = end
    out.append(html.escape(snippet[last:]))
    font = f"font-family:'{mono}';" if mono else ""
    return f'<div style="white-space:pre-wrap;{font}">' + "".join(out) + "</div>"


class ElidedLabel(QLabel):
    """One line of text that shrinks with its row and ends in "…", so it never widens (or clips) a card."""

    def __init__(self, text: str, parent: QWidget | None = None, **kwargs) -> None:
        super().__init__(parent, **kwargs)
        self.full_text = text
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(0)
        self.setText(text)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        elided = self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight, self.width())
        if elided != self.text():
            self.setText(elided)


class HitCard(QFrame):
    """One search result: citation (click opens the file), score, snippet with matches; flagged ones marked."""

    def __init__(self, hit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hitCard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.hit = hit
        self.setProperty("flagged", "true" if hit.flagged else "false")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 10)
        layout.setSpacing(4)
        head = QHBoxLayout()
        head.setSpacing(12)  # a long title must not run into the score on its right
        cite = QPushButton(hit.citation, objectName="linkButton")
        cite.setToolTip(f"Show {hit.path} at lines {hit.start_line}–{hit.end_line}")
        cite.setCursor(Qt.CursorShape.PointingHandCursor)
        cite.clicked.connect(self.open_source)
        head.addWidget(cite)
        if hit.title:
            title = ElidedLabel(hit.title, objectName="mutedText")
            title.setToolTip(hit.title)
            head.addWidget(title, 1)
        else:
            head.addStretch(1)
        if hit.flagged:
            badge = Badge("flagged", "flagged")
            reasons = (
                "; ".join(str(f.get("message") or f.get("category") or f) for f in hit.findings)
                or "safety scan"
            )
            badge.setToolTip(
                f"The safety scan flagged this passage ({reasons}). It is shown to you, never to a model."
            )
            head.addWidget(badge)
        relevance = QLabel(_relevance(hit), objectName="mutedText")
        head.addWidget(relevance)
        layout.addLayout(head)
        snippet = QLabel(objectName="hitSnippet")
        snippet.setTextFormat(Qt.TextFormat.RichText)
        code = hit.kind in ("function", "class", "module", "block")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family() if code else ""
        snippet.setText(highlighted(hit.snippet, hit.matches, mono))
        snippet.setWordWrap(True)
        snippet.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(snippet)
        if hit.flagged:
            note = QLabel(_flag_note(hit.findings), objectName="mutedText")
            note.setWordWrap(True)
            layout.addWidget(note)
        elif unread := hit.unread_languages:
            note = QLabel(
                f"⚠ Partly in {' and '.join(unread)}, which the safety scan cannot read: chat gives it to the "
                "model only as quoted data.",
                objectName="mutedText",
            )
            note.setWordWrap(True)
            layout.addWidget(note)
        repolish(self)

    def open_source(self) -> SourceViewer:
        """Show the cited passage in a SourceViewer, scrolled to its lines and highlighted."""
        self.viewer = show_source(self, self.hit)
        return self.viewer


def _flag_note(findings: list) -> str:
    """Why a passage is withheld: the first blocking finding's category, its rule or confidence, the words."""
    first = next((f for f in findings if isinstance(f, dict) and f.get("blocking")), None)
    if first is None:
        return "Flagged by the safety scan: kept out of every prompt."
    category = str(first.get("category") or "injection").replace("_", " ")
    if first.get("rule") == "learned_detector" and isinstance(first.get("confidence"), int | float):
        basis = f"learned detector, {first['confidence']:.0%} confident"
    else:
        basis = f"rule {first.get('rule', '?')}"
    excerpt = str(first.get("excerpt") or "")
    return f"Flagged by the safety scan as {category} ({basis}): “{excerpt}”. Kept out of every prompt."


def _relevance(hit) -> str:
    parts = []
    if hit.cosine is not None:
        parts.append(f"meaning {hit.cosine:.2f}")
    if hit.bm25:
        parts.append("words ✓")
    return " · ".join(parts)


class VaultPane(QWidget):
    """Point the app at your project folders and notes; search them; agents and chat cite what they use."""

    #: (text, timeout ms) for the status bar.
    sig_status = Signal(str, int)

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("vaultPane")
        self._bridge = bridge
        self._index_request = None
        self._query_request: object | None = None  # the latest search; older answers are ignored
        self._sources: list = []
        self._started = False
        self._search_timer = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.search)
        self._build()
        b = bridge
        b.sig_vault_index_progressed.connect(self._on_progress)
        b.sig_vault_index_finished.connect(lambda rid, rep: self._on_index_ended(rid, rep, False))
        b.sig_vault_index_cancelled.connect(lambda rid, rep: self._on_index_ended(rid, rep, True))
        b.sig_vault_index_failed.connect(self._on_index_failed)

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 12)
        layout.setSpacing(8)
        header = PaneHeader(
            "Vault",
            "Your project folders and notes as searchable knowledge. Indexed on this computer; agents cite what they use.",
        )
        self.add_folder_button = header.add_button("Add folder…", "Index a folder of code or notes")
        self.add_folder_button.clicked.connect(self.choose_folder)
        self.add_files_button = header.add_button("Add files…", "Index some files")
        self.add_files_button.clicked.connect(self.choose_files)
        layout.addWidget(header)
        self.banner = Banner("error")
        layout.addWidget(self.banner)
        self.info_banner = Banner("info")
        layout.addWidget(self.info_banner)
        progress = QHBoxLayout()
        progress.setContentsMargins(20, 0, 20, 0)
        self.progress = BusyBar(cancellable=True)
        self.progress.sig_cancel_requested.connect(self.cancel_indexing)
        progress.addWidget(self.progress)
        layout.addLayout(progress)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, objectName="vaultSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(20, 0, 10, 0)
        lv.setSpacing(6)
        lv.addWidget(QLabel("Sources", objectName="sectionTitle"))
        self.source_list = QListWidget(objectName="paneList")
        self.source_list.setAccessibleName("Sources")
        self.source_list.setIconSize(QSize(0, 0))
        self.source_list.setSpacing(2)
        self.source_list.currentRowChanged.connect(lambda _r: self._update_buttons())
        remove = QAction("Remove source", self.source_list)
        remove.setShortcut(QKeySequence(Qt.Key.Key_Delete))
        remove.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        remove.triggered.connect(self.remove_selected)
        self.source_list.addAction(remove)
        lv.addWidget(self.source_list, 1)
        row = QHBoxLayout()
        self.refresh_button = QPushButton("Re-index", objectName="secondaryButton")
        self.refresh_button.setToolTip("Read the selected source again; only changed files are embedded")
        self.refresh_button.clicked.connect(self.reindex_selected)
        self.remove_button = QPushButton("Remove…", objectName="dangerButton")
        self.remove_button.setToolTip("Remove the selected source and its passages (Delete)")
        self.remove_button.clicked.connect(self.remove_selected)
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        row.addWidget(self.remove_button)
        lv.addLayout(row)
        self.splitter.addWidget(left)

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(10, 0, 20, 0)
        rv.setSpacing(6)
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText(
            "Search the vault — a question, a function name, an error message…"
        )
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        self.search_edit.returnPressed.connect(self.search)
        rv.addWidget(self.search_edit)
        self.result_info = QLabel("", objectName="mutedText")
        rv.addWidget(self.result_info)
        self.results = QScrollArea(objectName="timeline")
        self.results.setWidgetResizable(True)
        self.results.setFrameShape(QFrame.Shape.NoFrame)
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        canvas = QWidget(objectName="timelineCanvas")
        self._results_layout = QVBoxLayout(canvas)
        self._results_layout.setContentsMargins(0, 0, 4, 0)
        self._results_layout.setSpacing(8)
        self._results_layout.addStretch(1)
        self.results.setWidget(canvas)
        rv.addWidget(self.results, 1)
        self.splitter.addWidget(right)
        self.splitter.setSizes([380, 720])
        self.empty = EmptyState(
            "Your vault is empty",
            "Add a project folder or your notes. Text, Markdown, reStructuredText, source code and PDFs are "
            "indexed here, on this computer; binary and huge files are skipped with a reason.",
            "Add folder…",
        )
        self.empty.sig_action_triggered.connect(self.choose_folder)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.empty, 1)
        self.splitter.hide()
        self._update_buttons()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        # The vault thread starts when someone first looks, not at start-up.
        super().showEvent(event)
        if not self._started and self._bridge.running:
            self._started = True
            self.refresh()

    # -- actions ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        EngineOp(self, lambda v: v.sources(), owner="vault", what="listing vault sources").success(
            self._on_sources
        ).run(self._bridge)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder to the vault", str(Path.home()))
        if folder:
            self.add_paths([folder])

    def choose_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add files to the vault", str(Path.home()))
        if files:
            self.add_paths(files)

    def add_paths(self, paths) -> None:
        if self._index_request is not None:
            self.sig_status.emit("Indexing is already running — wait for it or press Cancel.", 4000)
            return
        self.banner.dismiss()
        self.info_banner.dismiss()
        self._index_request = self._bridge.index_paths(paths)
        names = ", ".join(Path(p).name or str(p) for p in paths[:3]) + (" …" if len(paths) > 3 else "")
        self.progress.start(f"Indexing {names}…")
        self._update_buttons()

    def cancel_indexing(self) -> None:
        if self._index_request is not None:
            self._bridge.stop(self._index_request)
            self.progress.cancel_button.setEnabled(False)
            self.progress.label.setText("Stopping after the current file…")

    def selected_source(self):
        row = self.source_list.currentRow()
        return self._sources[row] if 0 <= row < len(self._sources) else None

    def reindex_selected(self) -> None:
        source = self.selected_source()
        if source is not None and source.kind in ("directory", "file"):
            self.add_paths([source.path])

    def remove_selected(self, confirm: bool = True) -> None:
        source = self.selected_source()
        if source is None:
            return
        if confirm:
            box = QMessageBox(
                QMessageBox.Icon.Question,
                "Remove source",
                f"Remove “{source.name}” from the vault?",
                QMessageBox.StandardButton.Cancel,
                self,
            )
            box.setInformativeText(
                f"Its {source.chunks:,} passages are deleted from the vault. The files on disk are not touched; "
                "you can add the folder again later."
            )
            remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)
            box.exec()
            if box.clickedButton() is not remove:
                return
        source_id = source.id
        EngineOp(
            self, lambda v: v.remove_source(source_id), owner="vault", what="removing a vault source"
        ).success(self._on_removed).run(self._bridge)

    def search(self) -> None:
        self._search_timer.stop()
        text = self.search_edit.text().strip()
        if not text:
            self._show_hits([], "")
            return
        token = self._query_request = object()
        # Like the agents' tool: passages found by meaning alone must be at least MIN_COSINE close.
        EngineOp(
            self,
            lambda v: v.query(text, 10, include_flagged=True, min_cosine=MIN_COSINE),
            owner="vault",
            what="searching the vault",
        ).success(lambda hits: self._on_hits(token, text, hits)).failure(
            lambda err: self._on_query_failed(token, err)
        ).run(self._bridge)

    # -- answers ----------------------------------------------------------------------------------
    def _on_sources(self, sources: list) -> None:
        selected = self.selected_source()
        self._sources = list(sources)
        self.source_list.clear()
        for s in sources:
            item = QListWidgetItem(self._source_text(s))
            item.setToolTip(f"{s.path}\n{s.error or ''}".strip())
            self.source_list.addItem(item)
        has = bool(sources)
        self.splitter.setVisible(has)
        self.empty.setVisible(not has)
        if selected is not None:
            row = next((i for i, s in enumerate(sources) if s.id == selected.id), 0)
            self.source_list.setCurrentRow(row)
        elif has:
            self.source_list.setCurrentRow(0)
        self._update_buttons()

    @staticmethod
    def _source_text(s) -> str:
        status = STATUS_WORDS.get(s.status, s.status)
        counts = f"{s.files:,} file{'' if s.files == 1 else 's'} · {s.chunks:,} passage{'' if s.chunks == 1 else 's'}"
        if s.skipped:
            counts += f" · {s.skipped:,} skipped"
        if s.flagged:
            counts += f" · {s.flagged:,} flagged"
        return f"{s.name}    [{status}]\n{counts}"

    def _on_progress(self, request_id: str, p) -> None:
        if self._index_request is None or request_id != self._index_request.id:
            return
        self.progress.set_progress(p.fraction, progress_text(p))

    def _on_index_ended(self, request_id: str, report, cancelled: bool) -> None:
        if self._index_request is None or request_id != self._index_request.id:
            return
        self._index_request = None
        self.progress.stop()
        if cancelled:
            self.info_banner.show_message(
                "Indexing stopped.",
                "What was finished is kept; add the same folder again to carry on from there.",
                timeout_ms=10_000,
            )
        elif report is not None:
            changed = report.files_new + report.files_changed
            text = (
                f"Indexed {changed:,} new or changed file{'s' if changed != 1 else ''} "
                f"({report.chunks_added:,} passages) in {human_duration(report.elapsed_s)}"
            )
            if report.files_unchanged:
                text += f"; {report.files_unchanged:,} unchanged"
            if report.skipped:
                text += f"; {len(report.skipped):,} skipped"
            self.sig_status.emit(text + ".", 6000)
            if report.skipped:
                reasons = "\n".join(f"{Path(p).name}: {r}" for p, r in report.skipped[:5])
                self.info_banner.show_message(
                    f"{len(report.skipped):,} file(s) were skipped.", reasons, timeout_ms=15_000
                )
        self.refresh()
        if self.search_edit.text().strip():
            self.search()
        self._update_buttons()

    def _on_index_failed(self, request_id: str, err: ErrorInfo) -> None:
        if self._index_request is None or request_id != self._index_request.id:
            return
        self._index_request = None
        self.progress.stop()
        self.banner.show_message(err.message, err.hint)
        self.refresh()
        self._update_buttons()

    def _on_hits(self, token: object, text: str, hits: list) -> None:
        if token is not self._query_request:
            return
        self._query_request = None
        self._show_hits(hits, text)

    def _show_hits(self, hits: list, text: str) -> None:
        while self._results_layout.count() > 1:
            item = self._results_layout.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for hit in hits:
            self._results_layout.insertWidget(self._results_layout.count() - 1, HitCard(hit))
        if not text:
            self.result_info.setText("")
        elif hits:
            flagged = sum(h.flagged for h in hits)
            self.result_info.setText(
                f"{len(hits)} passage{'s' if len(hits) != 1 else ''} for “{text}”, best first"
                + (f" · {flagged} flagged" if flagged else "")
            )
        else:
            self.result_info.setText(
                f"Nothing in the vault matches “{text}”. Try other words or an exact name."
            )

    def hit_cards(self) -> list[HitCard]:
        return [
            w
            for i in range(self._results_layout.count())
            if isinstance(w := self._results_layout.itemAt(i).widget(), HitCard)
        ]

    def _on_removed(self, info) -> None:
        self.sig_status.emit(f"Removed “{info.name}” from the vault; its files are untouched.", 5000)
        self.refresh()
        if self.search_edit.text().strip():
            self.search()

    def _on_query_failed(self, token: object, err: ErrorInfo) -> None:
        if token is self._query_request:
            self._query_request = None
        self.banner.show_message(err.message, err.hint)

    def _update_buttons(self) -> None:
        source = self.selected_source()
        busy = self._index_request is not None
        self.remove_button.setEnabled(source is not None)
        self.refresh_button.setEnabled(
            source is not None and not busy and source.kind in ("directory", "file")
        )
        self.add_folder_button.setEnabled(not busy)
        self.add_files_button.setEnabled(not busy)
