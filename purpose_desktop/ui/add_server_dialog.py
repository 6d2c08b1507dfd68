"""AddServerDialog: the address (+ optional name and key) of an OpenAI-compatible server to use its models."""

from __future__ import annotations

from urllib.parse import urlsplit

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.models.backends import is_loopback_host, parse_endpoint_spec


class AddServerDialog(QDialog):
    """Asks for a base URL, a name and a key; ``values()`` gives them once accepted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a model server")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Use the models of an OpenAI-compatible server — llama.cpp's llama-server, vLLM, Ollama, LM Studio, "
            "or another Purpose Desktop's serve — for chat, teams and single roles."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("http://192.168.1.20:8080/v1")
        self.url_edit.setAccessibleName("Server address")
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("e.g. GPU box (default: its host)")
        self.key_edit = QLineEdit()
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("only if the server asks for one")
        form.addRow("Address", self.url_edit)
        form.addRow("Name", self.name_edit)
        form.addRow("API key", self.key_edit)
        layout.addLayout(form)
        self.note = QLabel("", objectName="mutedText")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add server")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.url_edit.textChanged.connect(self._update)
        self._update()

    def host(self) -> str | None:
        """The host the address names, or None while it is not a valid address."""
        try:
            base_url, _ = parse_endpoint_spec(self.url_edit.text())
        except ModelError:
            return None
        return urlsplit(base_url).hostname

    def remote(self) -> bool:
        host = self.host()
        return bool(host) and not is_loopback_host(host)

    def _update(self) -> None:
        host = self.host() if self.url_edit.text().strip() else None
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(host))
        if not self.url_edit.text().strip():
            self.note.setText("The key is kept in your settings file, readable only by you.")
        elif host is None:
            self.note.setText("That is not a server address: use http://HOST:PORT/v1.")
        elif self.remote():
            self.note.setText(
                f"{host} is another computer: what you send to its models will leave this computer. "
                "You will be asked to confirm."
            )
        else:
            self.note.setText("A server on this computer: nothing leaves it.")

    def values(self) -> tuple[str, str | None, str | None]:
        return (
            self.url_edit.text().strip(),
            self.name_edit.text().strip() or None,
            self.key_edit.text().strip() or None,
        )


def confirm_remote(parent: QWidget, host: str) -> bool:
    """Ask the person whether text may go to ``host``; True only on an explicit yes."""
    answer = QMessageBox.warning(
        parent,
        "Send text to another computer?",
        f"Everything you send to models on {host} — your messages, the lessons and Vault excerpts that "
        f"ground them, and team tasks — will leave this computer and go to {host}.\n\n"
        "Allow this server?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes
