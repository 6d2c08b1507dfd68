"""CatalogPanel: the curated models to download, whether each fits this computer, and the download with progress.

The download runs on its own Python thread (never the engine thread: chat stays usable while a model
downloads); its progress, end and failure come back as queued signals. Pause keeps the ``.part`` file,
so Download resumes — also after a restart.
"""

from __future__ import annotations

import threading
from typing import Any

import shiboken6
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.models import download as dl
from purpose_desktop.engine.models.catalog import Catalog, CatalogEntry, load_catalog, recommend, speed_note
from purpose_desktop.engine.models.fit import human_bytes, memory_info
from purpose_desktop.ui.widgets import list_table

COLUMNS = ("Model", "Download", "Fit", "License", "Coding score", "Status")
_FIT_TEXT = {"fits": "✓ fits", "tight": "! tight", "too_big": "✕ too big", "unknown": "?"}
_FIT_COLOUR = {"fits": "#15803d", "tight": "#b45309", "too_big": "#b91c1c"}


def size_text(e: CatalogEntry) -> str:
    return ("≈ " if e.size_estimated else "") + human_bytes(e.download_size)


def score_text(e: CatalogEntry) -> str:
    s = next(iter(e.scores), None)
    return f"{s.benchmark} {s.value:g}" if s else "–"


class CatalogTableModel(QAbstractTableModel):
    """The catalog's entries with this computer's fit verdict and whether each is already downloaded."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.entries: list[CatalogEntry] = []
        self.total: int | None = None
        self.available: int | None = None
        self.recommended: str | None = None
        self.status: dict[str, str] = {}

    def set_catalog(self, catalog: Catalog, total: int | None, available: int | None) -> None:
        self.beginResetModel()
        self.entries = list(catalog.entries)
        self.total, self.available = total, available
        best = recommend(catalog, total, available)
        self.recommended = best.id if best else None
        self.endResetModel()
        self.refresh_status()

    def refresh_status(self) -> None:
        folder = dl.models_dir(create=False)
        for e in self.entries:
            if (folder / e.file).is_file():
                self.status[e.id] = "downloaded"
            elif (folder / (e.file + ".part")).is_file():
                self.status[e.id] = f"paused at {human_bytes((folder / (e.file + '.part')).stat().st_size)}"
            else:
                self.status.pop(e.id, None)
        if self.entries:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.entries) - 1, len(COLUMNS) - 1))

    def set_status(self, model_id: str, text: str | None) -> None:
        if text:
            self.status[model_id] = text
        else:
            self.status.pop(model_id, None)
        row = self.row_of(model_id)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 5), self.index(row, 5))

    def row_of(self, model_id: str) -> int:
        return next((i for i, e in enumerate(self.entries) if e.id == model_id), -1)

    def entry(self, row: int) -> CatalogEntry | None:
        return self.entries[row] if 0 <= row < len(self.entries) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        e = self.entry(index.row()) if index.isValid() else None
        if e is None:
            return None
        col = index.column()
        fit = e.fit(self.total, self.available)
        if role == Qt.ItemDataRole.DisplayRole:
            name = ("★ " if e.id == self.recommended else "") + e.name
            lic = e.license + (" · accept needed" if e.license_accept_required else "")
            return (name, size_text(e), _FIT_TEXT[fit.state], lic, score_text(e), self.status.get(e.id, ""))[
                col
            ]
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 1 and e.size_estimated:
                return "Estimated from the parameter count and quantisation; the server gives the exact size."
            if col == 2:
                return fit.why
            if col == 4 and e.scores:
                return "\n".join(f"{s.benchmark} {s.value:g} {s.unit} — {s.source}" for s in e.scores)
            if col == 4:
                return "No published coding score was confirmed for this model."
            if col == 5 and self.status.get(e.id):
                return self.status[e.id]  # the whole status when a narrow window elides it
            rec = "Recommended for this computer.\n" if e.id == self.recommended else ""
            return f"{rec}{e.repo}/{e.file} @ {e.revision}"
        if role == Qt.ItemDataRole.ForegroundRole and col == 2:
            return QColor(_FIT_COLOUR.get(fit.state, "#6b7280"))
        return None


class DownloadWorker(QObject):
    """Runs one ``download.pull`` on a Python thread; every signal arrives queued on the GUI thread."""

    sig_progress = Signal(object)  # DownloadProgress
    sig_finished = Signal(object)  # DownloadResult
    sig_failed = Signal(object)  # PurposeError
    sig_paused = Signal(object)  # DownloadCancelled

    def __init__(self, source: Any, accept_license: bool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.accept_license = accept_license
        self.cancel = CancelToken()
        self.thread = threading.Thread(target=self._run, name="model-download", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _emit(self, name: str, value: Any) -> None:
        # The window may close mid-download: its panel (and this object) are gone, the thread is not.
        if shiboken6.isValid(self):
            getattr(self, name).emit(value)
        else:
            self.cancel.set()

    def _run(self) -> None:
        try:
            result = dl.pull(
                self.source,
                accept_license=self.accept_license,
                cancel=self.cancel,
                on_progress=lambda p: self._emit("sig_progress", p),
            )
        except dl.DownloadCancelled as exc:
            self._emit("sig_paused", exc)
        except PurposeError as exc:
            self._emit("sig_failed", exc)
        except Exception as exc:  # a bug must still reach the person, not die in a thread
            err = PurposeError(f"The download failed: {exc}", "Try again; see the log for details.")
            self._emit("sig_failed", err)
        else:
            self._emit("sig_finished", result)


class CatalogPanel(QFrame):
    """Models to download: the list, the selected one's facts, Download / Pause / Discard, and progress."""

    #: path of a model that finished downloading (the Models pane lists it and offers to use it)
    sig_model_downloaded = Signal(str)
    #: (text, timeout ms) for the status bar
    sig_status = Signal(str, int)
    #: a download (or resume) began: the pane shows this panel
    sig_download_started = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("catalogPanel")
        self.worker: DownloadWorker | None = None
        self._worker_id: str | None = None
        self.last_error: str | None = None
        self._build()
        self.reload()

    def _build(self) -> None:
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 10, 0, 0)
        box.setSpacing(8)
        self.summary = QLabel("", objectName="mutedText")
        self.summary.setWordWrap(True)
        self.summary.setContentsMargins(6, 0, 6, 0)
        box.addWidget(self.summary)
        self.model = CatalogTableModel(self)
        # Names never elide (they differ only at the end: "… 1.5B Instruct", "… 3B Instruct"); the Status
        # column takes the spare width.
        self.table = list_table(
            self.model,
            name="catalogTable",
            accessible="Models to download",
            columns=len(COLUMNS),
            stretch=len(COLUMNS) - 1,
        )
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._update())
        self.table.doubleClicked.connect(lambda _i: self.download_selected())
        box.addWidget(self.table, 1)
        # The selected entry, as a card like the "On this computer" tab's: name, facts, download controls.
        self.card = QFrame(objectName="card")
        card = QVBoxLayout(self.card)
        card.setContentsMargins(14, 12, 14, 12)
        card.setSpacing(3)
        self.detail_title = QLabel("", objectName="cardTitle")
        card.addWidget(self.detail_title)
        self.detail = QLabel("", objectName="cardText")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        card.addWidget(self.detail)
        self.card.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        box.addWidget(self.card)
        row = QHBoxLayout()
        self.progress = QProgressBar(objectName="downloadProgress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        self.progress_text = QLabel("", objectName="busyText")
        row.addWidget(self.progress_text, 1)
        row.addWidget(self.progress, 1)
        self.discard_button = QPushButton("Discard partial", objectName="secondaryButton")
        self.discard_button.setToolTip("Delete the partly downloaded file")
        self.discard_button.clicked.connect(self.discard_selected)
        self.pause_button = QPushButton("Pause", objectName="secondaryButton")
        self.pause_button.setToolTip("Stop now; Download resumes where it stopped, even after a restart")
        self.pause_button.clicked.connect(self.pause)
        self.download_button = QPushButton("Download", objectName="primaryButton")
        self.download_button.clicked.connect(self.download_selected)
        row.addWidget(self.discard_button)
        row.addWidget(self.pause_button)
        row.addWidget(self.download_button)
        card.addSpacing(8)
        card.addLayout(row)

    # -- data -------------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the catalog and this computer's RAM (both local and quick) and select the recommendation."""
        try:
            catalog = load_catalog()
        except PurposeError as exc:
            self.summary.setText(f"The model catalog cannot be read: {exc.message}")
            self.table.setEnabled(False)
            return
        total, available = memory_info()
        self.model.set_catalog(catalog, total, available)
        best = self.model.recommended
        entry = catalog.get(best) if best else None
        name = entry.name if entry else None
        self.summary.setText(
            f"This computer: {human_bytes(total)} RAM, {human_bytes(available)} free. "
            + (
                f"Recommended: {name}, {speed_note(entry)}."
                if name
                else "None of these fits comfortably; the bundled model stays."
            )
            + " Downloads only when you press Download."
        )
        self.select(best or catalog.entries[0].id)

    def select(self, model_id: str) -> None:
        row = self.model.row_of(model_id)
        if row >= 0:
            self.table.selectRow(row)
        self._update()

    def selected(self) -> CatalogEntry | None:
        index = self.table.currentIndex()
        return self.model.entry(index.row()) if index.isValid() else None

    @property
    def downloading(self) -> bool:
        return self.worker is not None

    def _update(self) -> None:
        e = self.selected()
        busy = self.downloading
        status = self.model.status.get(e.id, "") if e else ""
        self.download_button.setEnabled(e is not None and not busy and status != "downloaded")
        self.download_button.setText("Resume" if status.startswith("paused") else "Download")
        self.pause_button.setVisible(busy)
        self.discard_button.setVisible(not busy and status.startswith("paused"))
        self.progress.setVisible(busy)
        if not busy:
            self.progress_text.setText(self.last_error or "")
        if e is None:
            self.detail_title.setText("")
            self.detail.setText("")
            return
        fit = e.fit(self.model.total, self.model.available)
        pin = (
            f"pinned revision {e.revision[:10]}, sha256 {e.sha256[:12]}…"
            if e.sha256
            else "checked against the hub's published sha256 at download time"
        )
        lic = f"License: {e.license}" + (
            " — you will be asked to accept it" if e.license_accept_required else ""
        )
        self.detail_title.setText(e.name)
        self.detail.setText(
            f"{e.repo}/{e.file} · {e.quantization} · {e.context_length:,}-token context · {pin}.\n"
            f"{fit.why.rstrip('.')}; {speed_note(e)}.\n{lic}. Template: {e.chat_template}"
        )

    # -- actions ----------------------------------------------------------------------------------
    def download_selected(self) -> None:
        e = self.selected()
        if e is not None:
            self.start_download(e.id)

    def start_download(self, model_id: str, *, accepted: bool | None = None) -> bool:
        """Start (or resume) the download of a catalog entry; asks for a license accept when it needs one.

        ``accepted`` answers the license question without the dialog (tests, the first-run guide's own dialog).
        """
        e = next((x for x in self.model.entries if x.id == model_id), None)
        if e is None or self.downloading:
            return False
        self.select(model_id)
        if e.fit(self.model.total, self.model.available).state == "too_big" and accepted is None:
            answer = QMessageBox.question(
                self,
                "Download a model that may not fit?",
                f"{e.name} needs more RAM than this computer has. Download it anyway?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        if e.license_accept_required:
            if accepted is None:
                accepted = self.ask_license(e)
            if not accepted:
                self.sig_status.emit(f"{e.name} was not downloaded: its license was not accepted.", 6000)
                return False
        self.last_error = None
        self.worker = DownloadWorker(e.id, accept_license=bool(accepted), parent=self)
        self._worker_id = e.id
        self.worker.sig_progress.connect(self._on_progress)
        self.worker.sig_finished.connect(self._on_finished)
        self.worker.sig_failed.connect(self._on_failed)
        self.worker.sig_paused.connect(self._on_paused)
        token = self.worker.cancel
        self.destroyed.connect(lambda *_: token.set())  # closing the window pauses (the .part is kept)
        self.progress.setValue(0)
        self.progress_text.setText(f"Connecting for {e.name}…")
        self.model.set_status(e.id, "connecting…")
        self.worker.start()
        self._update()
        self.sig_download_started.emit()
        return True

    def ask_license(self, e: CatalogEntry) -> bool:
        box = QMessageBox(self)
        box.setWindowTitle(f"{e.name}: license")
        box.setIcon(QMessageBox.Icon.Question)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(
            f"<b>{e.name}</b> is under the <b>{e.license}</b> license, which sets conditions on how you "
            f"may use it.<br><br>{e.license_note or ''}<br>Read it: <a href='{e.license_url}'>{e.license_url}</a>"
        )
        accept = box.addButton("Accept and download", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is accept

    def pause(self) -> None:
        if self.worker is not None:
            self.worker.cancel.set()
            self.progress_text.setText("Pausing…")

    def discard_selected(self) -> None:
        e = self.selected()
        if e is None or self.downloading:
            return
        answer = QMessageBox.question(
            self,
            "Discard the partial download?",
            f"Delete the partly downloaded {e.file}? Resuming will start over.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            dl.discard_partial(e.id)
            self.model.refresh_status()
            self._update()

    # -- worker answers (GUI thread) ---------------------------------------------------------------
    def _on_progress(self, p: dl.DownloadProgress) -> None:
        if p.fraction is not None:
            self.progress.setValue(int(p.fraction * 1000))
        self.progress_text.setText(p.line())
        if self._worker_id and p.total:
            self.model.set_status(self._worker_id, f"{100 * p.done / p.total:.0f}%")

    def _finish(self) -> str | None:
        model_id = self._worker_id
        if self.worker is not None:
            self.worker.thread.join(5)
            self.worker.deleteLater()
        self.worker, self._worker_id = None, None
        self.model.refresh_status()
        return model_id

    def _on_finished(self, result: dl.DownloadResult) -> None:
        self._finish()
        self.last_error = None
        self._update()
        self.progress_text.setText(f"Saved · {result.verified_text} · GGUF header valid.")
        self.sig_status.emit(f"Downloaded {result.path}.", 6000)
        self.sig_model_downloaded.emit(result.path)

    def _on_failed(self, exc: PurposeError) -> None:
        self._finish()
        self.last_error = f"Download failed: {exc.message}" + (f" {exc.hint}" if exc.hint else "")
        self._update()

    def _on_paused(self, exc: dl.DownloadCancelled) -> None:
        self._finish()
        self.last_error = None
        self._update()
        self.progress_text.setText("Paused. Press Resume to continue where it stopped.")
