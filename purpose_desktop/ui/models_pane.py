"""ModelsPane: the GGUF models on this computer, whether each fits in RAM, the chat model, and its load settings."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.models.fit import judge_fit
from purpose_desktop.engine.services import ModelRow, ModelsReport
from purpose_desktop.ui.add_server_dialog import AddServerDialog, confirm_remote
from purpose_desktop.ui.bridge import EngineBridge, ErrorInfo, ModelSummary
from purpose_desktop.ui.catalog_panel import CatalogPanel
from purpose_desktop.ui.chat.messages import Banner
from purpose_desktop.ui.ops import EngineOp
from purpose_desktop.ui.widgets import BusyBar, EmptyState, PaneHeader, human_bytes, list_table

COLUMNS = ("Model", "Architecture", "Parameters", "Quantisation", "Context", "File size", "RAM needed")


def fit(row: ModelRow, total: int | None, available: int | None) -> tuple[str, str]:
    """("fits" | "tight" | "too_big" | "unknown", a sentence saying why) for one model on this computer."""
    verdict = judge_fit(row.ram_bytes, row.ram_context, total, available)
    return verdict.state, verdict.why


class ModelsTableModel(QAbstractTableModel):
    """The discovered models, one row each; the loaded one is bold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ModelRow] = []
        self._total: int | None = None
        self._available: int | None = None
        self.loaded_path: str | None = None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def set_report(self, report: ModelsReport) -> None:
        self.beginResetModel()
        self._rows = list(report.models)
        self._total, self._available = report.total_ram, report.available_ram
        self.endResetModel()

    def set_loaded(self, path: str | None) -> None:
        self.loaded_path = path
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1))

    def row(self, r: int) -> ModelRow | None:
        return self._rows[r] if 0 <= r < len(self._rows) else None

    def rows(self) -> list[ModelRow]:
        return list(self._rows)

    def row_of(self, model_id: str) -> int:
        return next((i for i, m in enumerate(self._rows) if m.id == model_id), -1)

    def is_loaded(self, m: ModelRow) -> bool:
        return bool(self.loaded_path) and _same_file(m.path, self.loaded_path)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        m = self.row(index.row()) if index.isValid() else None
        if m is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return m.name + ("   ● in use" if self.is_loaded(m) else "")
            if m.error:
                return "can't be used" if col == 1 else ""
            ctx = f"{m.context_length:,}" if m.context_length else "–"
            return (
                None,
                m.architecture or "–",
                m.size_label or "–",
                m.quantization or "–",
                ctx,
                human_bytes(m.file_size) if m.source != "server" else "–",
                self._ram_text(m),
            )[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            if m.error:
                return f"{m.path}\n\n{m.error}"
            if col == 6:
                return fit(m, self._total, self._available)[1]
            return f"{m.path}\nFound in: {_SOURCES.get(m.source, m.source)}"
        if role == Qt.ItemDataRole.ForegroundRole:
            if m.error:
                return QColor("#b91c1c")
            if col == 6:
                state = fit(m, self._total, self._available)[0]
                return QColor(
                    {"fits": "#15803d", "tight": "#b45309", "too_big": "#b91c1c"}.get(state, "#6b7280")
                )
        if role == Qt.ItemDataRole.FontRole and col == 0 and self.is_loaded(m):
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (4, 5, 6):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _ram_text(self, m: ModelRow) -> str:
        state, _ = fit(m, self._total, self._available)
        mark = {"fits": "✓ ", "tight": "! ", "too_big": "✕ "}.get(state, "")
        return mark + human_bytes(m.ram_bytes) if m.ram_bytes else "–"


_SOURCES = {
    "server": "an OpenAI-compatible server you added",
    "bundled": "bundled with Purpose Desktop",
    "added": "added by you",
    "folder": "a folder you added",
    "lmstudio": "LM Studio",
    "ollama": "Ollama",
    "gpt4all": "GPT4All",
    "huggingface": "the Hugging Face cache",
    "downloaded": "downloaded by Purpose Desktop",
}


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


class ModelsPane(QWidget):
    """Pick the chat model, add GGUF files, see what fits, and set how the model is loaded."""

    #: (text, timeout ms) a line for the status bar.
    sig_status = Signal(str, int)

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPane")
        self._bridge = bridge
        self._report: ModelsReport | None = None
        self._load_request: str | None = None
        self._loading_name = ""
        self._reload_after_save = False
        self._build()
        b = bridge
        b.sig_model_loaded.connect(self._on_model_loaded)
        b.sig_model_load_failed.connect(self._on_model_failed)
        b.sig_engine_started.connect(lambda _id: self.refresh())

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 12)
        layout.setSpacing(8)
        header = PaneHeader(
            "Models",
            "GGUF models on this computer — bundled, added by you, downloaded here, or found in LM Studio, "
            "Ollama, GPT4All and the Hugging Face cache. Everything runs locally.",
        )
        self.add_button = header.add_button("Add model…", "Pick a .gguf file on this computer")
        self.add_button.clicked.connect(self.choose_file)
        self.add_server_button = header.add_button(
            "Add server…", "Use the models of an OpenAI-compatible server (llama-server, vLLM, Ollama)"
        )
        self.add_server_button.clicked.connect(self.choose_server)
        self.refresh_button = header.add_button("Refresh", "Look for new model files")
        self.refresh_button.clicked.connect(self.refresh)
        layout.addWidget(header)

        self.banner = Banner("error")
        layout.addWidget(self.banner)
        body = QVBoxLayout()
        body.setContentsMargins(20, 0, 20, 0)
        body.setSpacing(10)
        self.busy = BusyBar()
        body.addWidget(self.busy)

        self.model = ModelsTableModel(self)
        self.table = list_table(self.model, name="modelsTable", accessible="Models", columns=len(COLUMNS))
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._update_detail())
        self.table.doubleClicked.connect(lambda _i: self.use_selected())
        use = QAction("Use for chat", self.table)
        use.setShortcuts([QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)])
        use.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        use.triggered.connect(self.use_selected)
        self.table.addAction(use)
        self.empty = EmptyState(
            "No models found yet",
            "Add a .gguf file you downloaded, or install a model with LM Studio, Ollama or GPT4All "
            "and press Refresh.",
            "Add model…",
        )
        self.empty.sig_action_triggered.connect(self.choose_file)
        self.empty.hide()
        # Two tabs: the models on this computer (with load settings) and the catalog to download from.
        self.tabs = QTabWidget(objectName="modelsTabs")
        local = QWidget()
        local_box = QVBoxLayout(local)
        local_box.setContentsMargins(0, 10, 0, 0)
        local_box.setSpacing(10)
        self.tabs.addTab(local, "On this computer")
        self.catalog = CatalogPanel()  # models to download, with a fit verdict and a recommendation
        self.catalog.sig_status.connect(self.sig_status)
        self.catalog.sig_model_downloaded.connect(self._on_downloaded)
        self.catalog.sig_download_started.connect(self.show_catalog)
        self.tabs.addTab(self.catalog, "Get a model")
        body.addWidget(self.tabs, 1)
        local_box.addWidget(self.table, 3)
        local_box.addWidget(self.empty, 3)

        # The selected model: what it is, what it needs, and the buttons for it.
        self.detail = QFrame(objectName="card")
        detail = QHBoxLayout(self.detail)
        detail.setContentsMargins(14, 12, 14, 12)
        detail.setSpacing(14)
        texts = QVBoxLayout()
        texts.setSpacing(3)
        self.detail_title = QLabel("", objectName="cardTitle")
        self.detail_text = QLabel("", objectName="cardText")
        self.detail_text.setWordWrap(True)
        self.detail_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        texts.addWidget(self.detail_title)
        texts.addWidget(self.detail_text)
        detail.addLayout(texts, 1)
        self.use_button = QPushButton("Use for chat", objectName="primaryButton")
        self.use_button.setToolTip("Load this model and make it the chat model (Enter)")
        self.use_button.clicked.connect(self.use_selected)
        self.forget_button = QPushButton("Remove from list", objectName="secondaryButton")
        self.forget_button.setToolTip("Forget this added model; the file stays where it is")
        self.forget_button.clicked.connect(self.forget_selected)
        detail.addWidget(self.forget_button, 0, Qt.AlignmentFlag.AlignVCenter)
        detail.addWidget(self.use_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.detail.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)  # never clipped in the tab
        local_box.addWidget(self.detail)

        # How the model is loaded.
        self.load_box = QFrame(objectName="card")
        load = QVBoxLayout(self.load_box)
        load.setContentsMargins(14, 12, 14, 12)
        load.setSpacing(8)
        load.addWidget(QLabel("Load settings", objectName="cardTitle"))
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(6)
        self.ctx_spin = QSpinBox()
        self.ctx_spin.setRange(0, 131072)
        self.ctx_spin.setSingleStep(1024)
        self.ctx_spin.setSpecialValueText("Automatic")
        self.ctx_spin.setSuffix(" tokens")
        self.ctx_spin.setToolTip("How much text the model keeps in mind. More needs more RAM.")
        self.threads_spin = QSpinBox()
        self.threads_spin.setRange(0, 256)
        self.threads_spin.setSpecialValueText(f"Automatic ({os.cpu_count() or 4} cores)")
        self.gpu_spin = QSpinBox()
        self.gpu_spin.setRange(-1, 999)
        self.gpu_spin.setSpecialValueText("Automatic (all layers)")
        self.gpu_spin.setToolTip("Layers to run on the GPU; 0 keeps the model on the CPU")
        self.gpu_note = QLabel("", objectName="mutedText")
        self.gpu_note.setWordWrap(True)
        for spin in (self.ctx_spin, self.threads_spin, self.gpu_spin):
            spin.setMinimumWidth(240)
            spin.setMaximumWidth(320)
        form.addRow("Context length", self.ctx_spin)
        form.addRow("CPU threads", self.threads_spin)
        form.addRow("GPU layers", self.gpu_spin)
        load.addLayout(form)
        load.addWidget(self.gpu_note)
        row = QHBoxLayout()
        row.addStretch(1)
        self.apply_button = QPushButton("Apply and reload", objectName="secondaryButton")
        self.apply_button.setToolTip("Save these settings and load the chat model again with them")
        self.apply_button.clicked.connect(self.apply_load_settings)
        row.addWidget(self.apply_button)
        load.addLayout(row)
        local_box.addWidget(self.load_box)
        layout.addLayout(body, 1)
        self._update_detail()

    # -- actions ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        self._op(lambda e: e.model_files.scan(), "finding models", self._on_report)
        self.busy.start("Looking for models…")

    def _op(self, fn, what: str, done) -> None:
        """A one-shot request; the busy bar is shared with model loads, so the pane stops it itself."""
        EngineOp(self, fn, what=what).success(done).failure(self._on_failed).run(self._bridge)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Add a GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.add_file(path)

    def add_file(self, path: str) -> None:
        self.banner.dismiss()
        self._op(lambda e: e.model_files.add(path), "adding a model", self._on_added)
        self.busy.start(f"Reading {Path(path).name}…")

    def choose_server(self) -> None:
        dialog = AddServerDialog(self)
        if dialog.exec() != AddServerDialog.DialogCode.Accepted:
            return
        url, name, key = dialog.values()
        allow = False
        if dialog.remote():
            if not confirm_remote(self, dialog.host() or url):
                self.sig_status.emit("The server was not added.", 4000)
                return
            allow = True
        self.add_server(url, name, key, allow_remote=allow)

    def add_server(self, url: str, name: str | None, key: str | None, *, allow_remote: bool = False) -> None:
        """Check the server lists its models, remember it (key in settings.json, 0600), and show its models."""
        self.banner.dismiss()

        def add(engine):
            row = engine.servers.add(url, name=name, api_key=key, allow_remote=allow_remote)
            return row, engine.model_files.scan()

        def added(result) -> None:
            row, report = result
            self._on_report(report)
            if row.models:
                self.select(row.spec(row.models[0]))
            where = f" Text sent to them goes to {row.host}." if row.remote else ""
            self.sig_status.emit(f"Added {row.name}: {len(row.models)} model(s).{where}", 8000)

        self._op(add, "adding a server", added)
        self.busy.start(f"Asking {url} for its models…")

    def selected(self) -> ModelRow | None:
        index = self.table.currentIndex()
        return self.model.row(index.row()) if index.isValid() else None

    def select(self, model_id: str) -> None:
        row = self.model.row_of(model_id)
        if row >= 0:
            self.table.selectRow(row)

    def use_selected(self) -> None:
        m = self.selected()
        if m is None or m.error or self.model.is_loaded(m):
            return
        self.banner.dismiss()
        spec = None if m.source == "bundled" else m.path
        self._loading_name = m.name
        self._load_request = self._bridge.load_model(spec, remember=True).id
        self.busy.start(f"Loading {m.name}…")
        self._update_detail()

    def forget_selected(self) -> None:
        m = self.selected()
        if m is not None and m.source == "server" and m.server:
            name = m.server
            self._op(
                lambda e: (e.servers.remove(name), e.model_files.scan())[1],
                "removing a server",
                self._on_report,
            )
            self.sig_status.emit(f"Server {name} and its key are forgotten.", 5000)
            return
        if m is None or m.source not in ("added", "folder"):
            return
        forgotten = m.path
        self._op(lambda e: e.model_files.forget(forgotten), "removing a model", self._on_report)
        self.sig_status.emit(f"{m.name} is off the list; the file was not touched.", 5000)

    def apply_load_settings(self) -> None:
        gpu = self.gpu_spin.value()
        changes = {
            "n_ctx": self.ctx_spin.value() or None,
            "n_threads": self.threads_spin.value() or None,
            "n_gpu_layers": None if gpu < 0 else gpu,
        }
        self._op(lambda e: e.config.update(changes), "saving the settings", self._on_settings_saved)
        self._reload_after_save = True
        self.busy.start("Saving…")

    # -- engine answers ---------------------------------------------------------------------------
    def _on_report(self, report: ModelsReport) -> None:
        if self._load_request is None:
            self.busy.stop()
        current = self.selected()
        self._report = report
        self.model.set_report(report)
        has = bool(report.models)
        self.table.setVisible(has)
        self.empty.setVisible(not has)
        self.ctx_spin.setValue(report.n_ctx or 0)
        self.threads_spin.setValue(report.n_threads or 0)
        self.gpu_spin.setValue(-1 if report.n_gpu_layers is None else report.n_gpu_layers)
        self.gpu_spin.setEnabled(report.gpu_offload)
        self.gpu_note.setText(
            report.gpu_note
            or (
                "GPU offload is available."
                if report.gpu_offload
                else "This build of llama.cpp runs on the CPU only, so GPU layers do not apply."
            )
        )
        target = current.id if current else None
        if target and self.model.row_of(target) >= 0:
            self.select(target)
        elif has:
            loaded = next((m for m in report.models if self.model.is_loaded(m)), report.models[0])
            self.select(loaded.id)
        self._update_detail()

    def show_catalog(self) -> None:
        """Bring the “Get a model” tab forward (the first-run guide and a started download do)."""
        self.tabs.setCurrentWidget(self.catalog)

    def _on_downloaded(self, path: str) -> None:
        """A catalog download finished: list it and select it, ready for “Use for chat”."""

        def done(report: ModelsReport) -> None:
            self._on_report(report)
            row = next((m for m in report.models if _same_file(m.path, path)), None)
            if row is not None:
                self.tabs.setCurrentIndex(0)
                self.select(row.id)
                self._update_detail()

        self._op(lambda e: e.model_files.scan(), "finding models", done)

    def _on_added(self, report: ModelsReport) -> None:
        self._on_report(report)
        if report.added_id:
            self.select(report.added_id)
            m = self.selected()
            self.sig_status.emit(
                f"Added {m.name if m else 'the model'}. Press “Use for chat” to load it.", 6000
            )

    def _on_settings_saved(self, _snapshot) -> None:
        if self._reload_after_save:
            self._reload_after_save = False
            self._loading_name = "the chat model"
            self._load_request = self._bridge.load_model(None).id
            self.busy.start("Reloading the chat model with the new settings…")
            self.refresh()

    def _on_model_loaded(self, request_id: str, summary: ModelSummary) -> None:
        self.model.set_loaded(summary.path)
        if request_id == self._load_request:
            self._load_request = None
            self.busy.stop()
            self.sig_status.emit(f"{summary.name} is now the chat model.", 5000)
            self.refresh()
        self._update_detail()

    def _on_model_failed(self, request_id: str, err: ErrorInfo) -> None:
        if request_id != self._load_request:
            return
        self._load_request = None
        self.busy.stop()
        self.banner.show_message(
            f"{self._loading_name} could not be loaded. {err.message}",
            err.hint or "The previous model is still in use.",
            actions=[("Use the bundled model", self._use_bundled)],
        )
        self._update_detail()

    def _use_bundled(self) -> None:
        self._loading_name = "The bundled model"
        self._load_request = self._bridge.load_model(None, remember=True).id
        self.busy.start("Loading the bundled model…")

    def _on_failed(self, err: ErrorInfo) -> None:
        self.busy.stop()
        self.banner.show_message(err.message, err.hint)

    # -- detail -----------------------------------------------------------------------------------
    def _update_detail(self) -> None:
        m = self.selected()
        self.detail.setVisible(m is not None)
        if m is None:
            return
        loaded = self.model.is_loaded(m)
        self.detail_title.setText(m.name + ("  —  in use for chat" if loaded else ""))
        lines = [m.path]
        if m.source == "server":
            lines.append(f"Served by {m.server}: {m.architecture}.")
            if m.error:
                lines.append(f"Can't be reached: {m.error}")
            else:
                lines.append("Use it for chat here, or pick it as a role's model in the Team builder.")
            self.detail_text.setText("\n".join(lines))
            busy = self._load_request is not None
            self.use_button.setEnabled(not m.error and not loaded and not busy)
            self.use_button.setText("In use" if loaded else "Use for chat")
            self.forget_button.setVisible(True)
            self.forget_button.setText("Remove server")
            return
        if m.error:
            lines.append(f"Can't be used: {m.error}")
        else:
            facts = [
                m.architecture,
                f"{m.size_label} parameters" if m.size_label else None,
                m.quantization,
                f"{m.context_length:,}-token context" if m.context_length else None,
                human_bytes(m.file_size),
            ]
            lines.append(" · ".join(f for f in facts if f))
            if self._report is not None:
                lines.append(fit(m, self._report.total_ram, self._report.available_ram)[1])
            if not m.has_chat_template:
                lines.append(
                    "This file has no chat template, so a standard format is used; replies may be poor "
                    "(it may be a base model rather than an instruct model)."
                )
        self.detail_text.setText("\n".join(lines))
        busy = self._load_request is not None
        self.use_button.setEnabled(not m.error and not loaded and not busy)
        self.use_button.setText("In use" if loaded else "Use for chat")
        self.forget_button.setVisible(m.source in ("added", "folder", "server"))
        self.forget_button.setText("Remove server" if m.source == "server" else "Remove from list")
