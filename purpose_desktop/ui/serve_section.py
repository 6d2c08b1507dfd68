"""ServerSection (Settings → Server): start/stop the app's OpenAI-compatible server, its port, key, grounding
toggle and live request log. ServeController runs it with the app's own model: every request is handed to
the engine thread (the bridge's worker owns the model), one at a time, between the person's own chats.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.serve import (
    ModelCatalog,
    ModelOwner,
    RequestRecord,
    ServeOptions,
    create_app,
    start_server,
)
from purpose_desktop.engine.serve.owner import JobCancelled
from purpose_desktop.ui.bridge import EngineBridge
from purpose_desktop.ui.ops import EngineOp

HOST = "127.0.0.1"  # the app serves this computer only; --host beyond loopback is a CLI decision
LOG_LINES = 500


class ServeController(QObject):
    """Owns the running server (uvicorn thread + fair-queue owner) while the person has it on."""

    #: (RequestRecord) one request was answered (emitted from the server thread, delivered queued).
    sig_request_logged = Signal(object)
    #: (url or "") the server started ("" when it stopped).
    sig_state_changed = Signal(str)

    def __init__(self, bridge: EngineBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._handle = None
        self._owner: ModelOwner | None = None
        self._engine: Any = None  # recorded by the first job; only its ``model`` attribute is read here
        self._stopping = threading.Event()
        self.options = ServeOptions()

    @property
    def running(self) -> bool:
        return self._handle is not None

    @property
    def url(self) -> str:
        return self._handle.url if self._handle is not None else ""

    @property
    def owner(self) -> ModelOwner | None:
        return self._owner

    def _handoff(self, fn):
        """Run ``fn(engine)`` on the engine thread (queued after whatever chat it is doing) and wait."""
        box: dict[str, Any] = {}
        done = threading.Event()

        def run(engine):
            self._engine = engine
            try:
                box["result"] = fn(engine)
            except BaseException as exc:  # handed back to the server thread, not to the GUI
                box["error"] = exc
            finally:
                done.set()

        self._bridge.call(run, what="answering a server request")
        while not done.wait(0.2):
            if self._stopping.is_set():
                raise JobCancelled()
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def start(self, port: int, api_key: str | None, grounding: bool) -> str:
        """Listen on 127.0.0.1:``port``; PurposeError says why not (e.g. the port is taken)."""
        if self._handle is not None:
            return self.url
        self._stopping.clear()
        self.options = ServeOptions(
            api_key=api_key or None, grounding=grounding, on_request=self.sig_request_logged.emit
        )
        owner = ModelOwner(handoff=self._handoff)
        owner.start()
        catalog = ModelCatalog(lambda: getattr(self._engine, "model", None), switch=False)
        try:
            self._handle = start_server(create_app(owner, catalog, self.options), HOST, port, owner=owner)
        except BaseException:
            owner.stop()
            raise
        self._owner = owner
        owner.submit(
            "app", lambda engine: None, label="attach"
        )  # learn the engine now, not on the first request
        self.sig_state_changed.emit(self._handle.url)
        return self._handle.url

    def stop(self) -> None:
        """Stop listening, cancel what is queued or generating, and end the server's threads."""
        handle, self._handle, self._owner = self._handle, None, None
        if handle is None:
            return
        self._stopping.set()
        handle.stop()
        self.sig_state_changed.emit("")


class ServerSection(QFrame):
    """The Settings card: off by default; port, key, "answer with approved lessons and Vault", request log."""

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="card")
        self._bridge = bridge
        self.controller = ServeController(bridge, self)
        self.controller.sig_request_logged.connect(self._on_request)
        self._syncing = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(8)
        layout.addWidget(QLabel("Server", objectName="cardTitle"))
        about = QLabel(
            "Let editors and scripts on this computer (Continue, Aider, the openai library) use your chat "
            "model through an OpenAI-compatible API at http://127.0.0.1:PORT/v1. Requests take turns with "
            "your own chats on the same model. Off until you start it; only this computer can connect.",
            objectName="cardText",
        )
        about.setWordWrap(True)
        layout.addWidget(about)
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1024, 65535)
        self.port_spin.setValue(8765)
        self.port_spin.setMaximumWidth(140)
        self.port_spin.valueChanged.connect(lambda v: self._save("serve_port", v))
        key_row = QHBoxLayout()
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("optional on this computer")
        self.key_edit.setAccessibleName("API key")
        self.key_edit.editingFinished.connect(
            lambda: self._save("serve_api_key", self.key_edit.text().strip() or None)
        )
        self.generate_button = QPushButton("Generate", objectName="secondaryButton")
        self.generate_button.setToolTip("Make a new random key")
        self.generate_button.clicked.connect(self.generate_key)
        self.copy_button = QPushButton("Copy", objectName="secondaryButton")
        self.copy_button.setToolTip("Copy the key to the clipboard (it is never shown in the log)")
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.key_edit.text()))
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.generate_button)
        key_row.addWidget(self.copy_button)
        form.addRow("Port", self.port_spin)
        form.addRow("API key", key_row)
        layout.addLayout(form)
        self.grounding = QCheckBox("Answer with approved lessons and Vault")
        self.grounding.setChecked(True)
        self.grounding.setToolTip(
            "On: answers use the lessons you approved and cite your Vault, as chat does; flagged excerpts are "
            "withheld. Each response lists the sources in its purpose_desktop field."
        )
        self.grounding.toggled.connect(self._on_grounding)
        layout.addWidget(self.grounding)
        row = QHBoxLayout()
        self.status = QLabel("Off", objectName="mutedText")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.status, 1)
        self.start_button = QPushButton("Start server", objectName="primaryButton")
        self.start_button.clicked.connect(self.toggle)
        row.addWidget(self.start_button)
        layout.addLayout(row)
        layout.addWidget(QLabel("Requests", objectName="sectionTitle"))
        self.log = QPlainTextEdit(objectName="serveLog")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setPlaceholderText("Requests appear here while the server runs (no message text, no keys).")
        self.log.setMinimumHeight(110)
        self.log.setAccessibleName("Server request log")
        layout.addWidget(self.log)

    # -- settings ---------------------------------------------------------------------------------
    def apply_settings(self, settings: dict) -> None:
        """Show the saved port, key and grounding choice (from the settings snapshot)."""
        self._syncing = True
        try:
            self.port_spin.setValue(int(settings.get("serve_port") or 8765))
            self.key_edit.setText(settings.get("serve_api_key") or "")
            self.grounding.setChecked(bool(settings.get("serve_grounding", True)))
        finally:
            self._syncing = False

    def _save(self, name: str, value) -> None:
        if self._syncing:
            return
        EngineOp(self, lambda e: e.config.update({name: value}), what="saving the server settings").run(
            self._bridge
        )

    def generate_key(self) -> None:
        self.key_edit.setText(secrets.token_urlsafe(24))
        self._save("serve_api_key", self.key_edit.text())

    def _on_grounding(self, on: bool) -> None:
        self.controller.options.grounding = on  # a running server uses it from the next request
        self._save("serve_grounding", on)

    # -- start / stop -----------------------------------------------------------------------------
    def toggle(self) -> None:
        if self.controller.running:
            self.stop()
        else:
            self.start()

    def start(self) -> None:
        try:
            url = self.controller.start(
                self.port_spin.value(), self.key_edit.text().strip() or None, self.grounding.isChecked()
            )
        except PurposeError as exc:
            self.status.setText(f"Not started: {exc.message} {exc.hint}")
            return
        key = "key required" if self.key_edit.text().strip() else "no key (this computer only)"
        self.status.setText(f"Serving at {url} — {key}")
        self.start_button.setText("Stop server")
        self.port_spin.setEnabled(False)
        self.key_edit.setEnabled(False)
        self.generate_button.setEnabled(False)

    def stop(self) -> None:
        self.controller.stop()
        self.status.setText("Off")
        self.start_button.setText("Start server")
        self.port_spin.setEnabled(True)
        self.key_edit.setEnabled(True)
        self.generate_button.setEnabled(True)

    @Slot(object)
    def _on_request(self, rec: RequestRecord) -> None:
        when = time.strftime("%H:%M:%S", time.localtime(rec.at))
        parts = [when, rec.client, f"{rec.method} {rec.path}", str(rec.status)]
        if rec.model:
            parts.append(rec.model)
        if rec.tokens:
            parts.append(f"{rec.tokens} tok")
        parts.append(f"{rec.ms:.0f} ms")
        if rec.outcome:
            parts.append(rec.outcome)
        self.log.appendPlainText("  ".join(parts))
