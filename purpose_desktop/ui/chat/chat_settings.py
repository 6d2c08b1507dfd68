"""A chat's own generation settings: the "Chat settings" button above the messages and the dialog it opens."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QToolButton, QVBoxLayout, QWidget

from purpose_desktop.engine.settings import CHAT_OVERRIDE_FIELDS
from purpose_desktop.ui.generation import GenerationForm
from purpose_desktop.ui.ops import EngineOp

SHORTCUT = "Ctrl+Shift+P"


def differences(values: dict, defaults: dict) -> dict:
    """The values that differ from the app's settings: what the chat stores as its own."""
    return {k: v for k, v in values.items() if k in CHAT_OVERRIDE_FIELDS and v != defaults.get(k)}


class ChatSettingsDialog(QDialog):
    """Temperature, top-p, max tokens, seed, thinking and system prompt for one chat (opened with ``open()``)."""

    #: (overrides) the person saved; ``{}`` means "use the app's settings".
    sig_saved = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatSettingsDialog")
        self.setWindowTitle("Settings for this chat")
        self.setMinimumWidth(460)
        layout = QVBoxLayout(self)
        self.intro = QLabel(
            "These apply to this chat only. Anything left as in Settings → Generation follows it there.",
            objectName="mutedText",
        )
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        self.form = GenerationForm(with_context=False, parent=self)
        layout.addWidget(self.form)
        buttons = QDialogButtonBox(self)
        self.reset_button = buttons.addButton("Use app settings", QDialogButtonBox.ButtonRole.ResetRole)
        self.reset_button.setToolTip("Forget this chat's own settings")
        self.save_button = buttons.addButton(QDialogButtonBox.StandardButton.Save)
        self.save_button.setObjectName("primaryButton")
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        self.reset_button.clicked.connect(self._reset)
        layout.addWidget(buttons)
        self._defaults: dict = {}

    def show_report(self, report: dict) -> None:
        """Fill the form from the engine's ``chat_settings`` report (defaults, overrides, model abilities)."""
        self._defaults = dict(report["defaults"])
        self.form.set_values({**report["defaults"], **report["overrides"]})
        self.form.set_thinking_support(report.get("model_thinks", False), report.get("thinking_switch", False))
        custom = sorted(report["overrides"])
        self.intro.setText(
            "These apply to this chat only. Anything left as in Settings → Generation follows it there."
            + (f"\nThis chat sets its own: {', '.join(n.replace('_', ' ') for n in custom)}." if custom else "")
        )

    def overrides(self) -> dict:
        return differences(self.form.values(CHAT_OVERRIDE_FIELDS), self._defaults)

    def _save(self) -> None:
        self.sig_saved.emit(self.overrides())
        self.accept()

    def _reset(self) -> None:
        self.sig_saved.emit({})
        self.accept()


class ChatSettingsButton(QToolButton):
    """"Chat settings" (with "· custom" when the chat has its own); a new chat keeps them until it is created.

    ``current_id`` says which chat is open (None: a new, unsaved one).
    """

    #: (text, timeout ms) a status-bar line.
    sig_status = Signal(str, int)

    def __init__(self, bridge, current_id: Callable[[], str | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatSettingsButton")
        self.setAutoRaise(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"Temperature, length, seed and system prompt for this chat ({SHORTCUT})")
        self._bridge = bridge
        self._current_id = current_id
        #: A new chat's settings, sent with its first message (ChatRequest.chat_settings).
        self.pending: dict = {}
        self._saved: dict[str, dict] = {}  # chats whose settings were saved here since the list was read
        self.dialog: ChatSettingsDialog | None = None
        self.clicked.connect(self.open_dialog)
        self.show_overrides({})

    def show_overrides(self, overrides: dict) -> None:
        self.setText("⚙ Chat settings · custom" if overrides else "⚙ Chat settings")
        self.setProperty("custom", bool(overrides))

    def chat_changed(self, conversation) -> None:
        """A chat was opened (or a new one started: None); show whether it has its own settings."""
        if conversation is None:
            self.pending = {}
            self.show_overrides({})
            return
        saved = self._saved.get(conversation.id)
        self.show_overrides(saved if saved is not None else getattr(conversation, "settings", None) or {})

    def take_pending(self) -> dict | None:
        """The new chat's settings for its first message (then forgotten here: the chat stores them)."""
        pending, self.pending = self.pending, {}
        return pending or None

    def open_dialog(self) -> None:
        cid = self._current_id()
        pending = dict(self.pending)

        def show(report: dict) -> None:
            if cid is None:
                report = {**report, "overrides": pending}
            if self.dialog is None:
                self.dialog = ChatSettingsDialog(self.window())
                self.dialog.sig_saved.connect(self._save)
            self.dialog.show_report(report)
            self.dialog.open()

        EngineOp(self, lambda e: e.chat_settings(cid), what="reading this chat's settings").success(show).run(
            self._bridge
        )

    def _save(self, overrides: dict) -> None:
        cid = self._current_id()
        if cid is None:
            self.pending = dict(overrides)
            self.show_overrides(overrides)
            self.sig_status.emit("This new chat will use these settings.", 3000)
            return
        EngineOp(self, lambda e: e.set_chat_settings(cid, overrides), what="saving this chat's settings").success(
            lambda report: (
                self._saved.__setitem__(cid, report["overrides"]),
                self.show_overrides(report["overrides"]),
                self.sig_status.emit(
                    "This chat now uses its own settings." if report["overrides"] else "This chat uses the app's settings.",
                    3000,
                ),
            )
        ).run(self._bridge)
