"""MainWindow: navigation rail + pane stack, status bar (model, load progress, reply speed), shortcuts, geometry."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine import paths
from purpose_desktop.ui.bridge import EngineBridge, ErrorInfo, ModelSummary, ReplyResult
from purpose_desktop.ui.chat.pane import ChatPane
from purpose_desktop.ui.memory.pane import MemoryReviewPane
from purpose_desktop.ui.models_pane import ModelsPane
from purpose_desktop.ui.runs_pane import RunsPane
from purpose_desktop.ui.settings_pane import SettingsPane
from purpose_desktop.ui.team.pane import TeamPane
from purpose_desktop.ui.theme import icon
from purpose_desktop.ui.vault_pane import VaultPane
from purpose_desktop.ui.workspace import ProjectController

APP_TITLE = "Purpose Desktop"
#: Quick loads never flash a progress bar (the Anki rule).
PROGRESS_DELAY_MS = 500


def default_settings() -> QSettings:
    """Window state in the platform's usual place; beside the data when PURPOSE_DESKTOP_HOME is set (portable
    installs, tests), so such a run never touches the person's own settings."""
    home = os.environ.get(paths.HOME_ENV)
    if home:
        return QSettings(str(Path(home).expanduser() / "ui-settings.ini"), QSettings.Format.IniFormat)
    return QSettings("PurposeDesktop", APP_TITLE)


class NavigationRail(QFrame):
    """A narrow column of pane buttons (icon over label); exactly one is checked."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("navRail")
        self.setFixedWidth(76)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(8, 12, 8, 12)
        self._layout.setSpacing(6)
        logo = QLabel(objectName="navLogo")
        logo.setPixmap(icon("app").pixmap(QSize(32, 32)))
        logo.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        logo.setToolTip(APP_TITLE)
        self._layout.addWidget(logo)
        self._layout.addSpacing(10)
        self._layout.addStretch(1)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self._top = 0

    def add_button(
        self, key: str, label: str, button_icon: QIcon, tooltip: str, bottom: bool = False
    ) -> QToolButton:
        button = QToolButton(self, objectName=f"nav_{key}")
        button.setText(label)
        button.setIcon(button_icon)
        button.setIconSize(QSize(22, 22))
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        button.setCheckable(True)
        button.setToolTip(tooltip)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.group.addButton(button)
        if bottom:
            self._layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        else:
            # logo, spacing, the top buttons so far, then the stretch
            self._layout.insertWidget(2 + self._top, button, 0, Qt.AlignmentFlag.AlignHCenter)
            self._top += 1
        return button

    def set_badge(self, button: QToolButton, count: int) -> None:
        """A red count in the button's top-right corner (hidden at 0)."""
        badge = button.findChild(QLabel, "navBadge")
        if badge is None:
            badge = QLabel(button, objectName="navBadge")
            badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        badge.setText(str(count) if count < 100 else "99+")
        badge.adjustSize()
        badge.setFixedHeight(16)
        badge.setMinimumWidth(16)
        badge.move(button.width() - badge.width() - 2, 2)
        badge.setVisible(count > 0)
        badge.raise_()


class MainWindow(QMainWindow):
    """The one window: pick a pane on the rail; chat lives in the Chat pane."""

    def __init__(
        self, bridge: EngineBridge, settings: QSettings | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.settings = settings if settings is not None else default_settings()
        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(icon("app"))
        self.setMinimumSize(720, 480)
        self._panes: dict[str, QWidget] = {}
        self._nav_buttons: dict[str, QToolButton] = {}

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.rail = NavigationRail()
        self.stack = QStackedWidget()
        row.addWidget(self.rail)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.chat_pane = ChatPane(bridge)
        self.add_pane("chat", "Chat", icon("chat"), self.chat_pane, shortcut="Ctrl+1")
        self.chat_pane.sig_status.connect(self.statusBar().showMessage)
        self.chat_pane.sig_title_changed.connect(self._on_title_changed)
        self.chat_pane.sig_streaming_changed.connect(self._on_streaming_changed)
        self.chat_pane.sig_memory_open_requested.connect(self.open_memory)
        self._add_panes()

        self._build_status_bar()
        self._build_actions()
        self.project = ProjectController(self, bridge)  # the Project menu: Open Folder… (Ctrl+O), recent
        self.project.sig_status.connect(self.statusBar().showMessage)
        self.settings_pane.projects.sig_open_requested.connect(self.project.open_path)
        self.project.sig_project_changed.connect(lambda _info: self.settings_pane.refresh())
        self.project.sig_project_changed.connect(self.team_pane.set_project)
        # An applied change records the project's test result on its run: the Runs pane shows it afresh.
        self.team_pane.proposals_panel.sig_applied.connect(lambda *_a: self.runs_pane.reload_run())
        self._connect_bridge()
        self._restore_state()

    # -- panes ------------------------------------------------------------------------------------
    def _add_panes(self) -> None:
        bridge, status = self.bridge, self.statusBar().showMessage
        self.team_pane = TeamPane(bridge)
        self.runs_pane = RunsPane(bridge)
        self.memory_pane = MemoryReviewPane(bridge)
        self.vault_pane = VaultPane(bridge)
        self.models_pane = ModelsPane(bridge)
        self.settings_pane = SettingsPane(bridge, self.settings)
        panes = (
            ("team", "Team", self.team_pane, "Ctrl+2"),
            ("runs", "Runs", self.runs_pane, "Ctrl+3"),
            ("memory", "Memory", self.memory_pane, "Ctrl+4"),
            ("vault", "Vault", self.vault_pane, "Ctrl+5"),
            ("models", "Models", self.models_pane, "Ctrl+6"),
        )
        for key, label, pane, shortcut in panes:
            self.add_pane(key, label, icon(key), pane, shortcut=shortcut)
            pane.sig_status.connect(status)
        self.add_pane(
            "settings", "Settings", icon("settings"), self.settings_pane, shortcut="Ctrl+,", bottom=True
        )
        self.settings_pane.sig_status.connect(status)
        self.settings_pane.sig_theme_changed.connect(self._on_theme_changed)
        # Panes point at each other: a run's memory, a memory's run.
        self.runs_pane.sig_memory_open_requested.connect(self.open_memory)
        self.runs_pane.sig_team_requested.connect(lambda: self.show_pane("team"))
        self.memory_pane.sig_run_open_requested.connect(self.open_run)
        self.memory_pane.sig_review_count_changed.connect(
            lambda n: self.rail.set_badge(self._nav_buttons["memory"], n)
        )

    def open_memory(self, memory_id: str) -> None:
        self.show_pane("memory")
        self.memory_pane.show_memory(memory_id)

    def open_run(self, run_id: str) -> None:
        self.show_pane("runs")
        self.runs_pane.select_run(run_id)

    def _on_theme_changed(self, _mode: str) -> None:
        for key, button in self._nav_buttons.items():
            button.setIcon(icon(key))

    def add_pane(
        self,
        key: str,
        label: str,
        pane_icon: QIcon,
        widget: QWidget,
        shortcut: str | None = None,
        bottom: bool = False,
    ) -> None:
        """Add a pane with its rail button; ``shortcut`` shows it from anywhere in the window."""
        tooltip = f"{label} ({shortcut})" if shortcut else label
        button = self.rail.add_button(key, label, pane_icon, tooltip, bottom=bottom)
        self.stack.addWidget(widget)
        self._panes[key] = widget
        self._nav_buttons[key] = button
        button.clicked.connect(lambda _=False, k=key: self.show_pane(k))
        if shortcut:
            action = QAction(f"Show {label}", self)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(lambda _=False, k=key: self.show_pane(k))
            self.addAction(action)
        if len(self._panes) == 1:
            self.show_pane(key)

    def show_pane(self, key: str) -> None:
        self.stack.setCurrentWidget(self._panes[key])
        self._nav_buttons[key].setChecked(True)

    def current_pane(self) -> str:
        widget = self.stack.currentWidget()
        return next(k for k, w in self._panes.items() if w is widget)

    # -- status bar -------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(False)
        self.load_progress = QProgressBar(objectName="loadProgress")
        self.load_progress.setRange(0, 0)  # llama.cpp gives no load percentage: a busy bar
        self.load_progress.setTextVisible(False)
        self.load_progress.hide()
        self.reply_stats = QLabel("", objectName="replyStats")
        self.reply_stats.setToolTip("Time from Send to the first token, and generation speed, of the last reply")
        self.model_status = QLabel("", objectName="modelStatus")
        bar.addPermanentWidget(self.reply_stats)
        bar.addPermanentWidget(self.load_progress)
        bar.addPermanentWidget(self.model_status)
        self._progress_timer = QTimer(self, singleShot=True, interval=PROGRESS_DELAY_MS)
        self._progress_timer.timeout.connect(self._show_progress)
        self._set_model_status("loading", "Loading model…")
        self._progress_timer.start()

    def _set_model_status(self, state: str, text: str, tooltip: str = "") -> None:
        self.model_status.setText(("●  " if state == "ready" else "") + text)
        self.model_status.setToolTip(tooltip)
        self.model_status.setProperty("state", state)
        self.model_status.style().unpolish(self.model_status)
        self.model_status.style().polish(self.model_status)

    def _show_progress(self) -> None:
        if self.model_status.property("state") == "loading":
            self.load_progress.show()

    def _on_load_progress(self, _request_id: str, text: str) -> None:
        self._set_model_status("loading", text)
        if not self._progress_timer.isActive() and not self.load_progress.isVisible():
            self._progress_timer.start()

    def _on_model_loaded(self, _request_id: str, summary: ModelSummary) -> None:
        self._progress_timer.stop()
        self.load_progress.hide()
        # File names usually carry size and quantization already ("SmolLM2-135M-Instruct.Q4_1").
        extra = [
            x
            for x in (summary.size_label, summary.quantization)
            if x and x.lower() not in summary.name.lower()
        ]
        text = summary.name + (f"  ({' · '.join(extra)})" if extra else "")
        tip = [summary.path]
        remote = getattr(summary, "remote_host", None)
        if remote:  # say plainly that prompts leave this computer, and to where
            text += f"  —  text goes to {remote}"
            tip.append(f"Text you send leaves this computer: it goes to {remote}.")
        if summary.context_length:
            tip.append(f"Context: {summary.context_length:,} tokens")
        tip.append("GPU offload: on" if summary.gpu_offload else "Runs on the CPU")
        tip.append(f"Loaded in {summary.load_s:.2f} s")
        self._set_model_status("ready", text, "\n".join(tip))
        if summary.note:
            tip.append(summary.note)
            self.statusBar().showMessage(summary.note, 10_000)
        else:
            self.statusBar().showMessage(f"{summary.name} is ready.", 3000)
        self.model_status.setToolTip("\n".join(tip))

    def _on_model_failed(self, _request_id: str, err: ErrorInfo) -> None:
        self._progress_timer.stop()
        self.load_progress.hide()
        self._set_model_status("failed", "No model loaded", err.message)

    def _on_reply_stats(self, _request_id: str, result: ReplyResult) -> None:
        parts = []
        if result.ttft_ms is not None:
            parts.append(f"first token {result.ttft_ms:,.0f} ms")
        if result.tokens_per_s:
            parts.append(f"{result.tokens_per_s:,.1f} tok/s")
        n = result.assistant.meta.get("n_tokens")
        if n is not None:
            parts.append(f"{n:,} tokens")
        self.reply_stats.setText("  ·  ".join(parts))

    # -- actions ----------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        def add(text: str, shortcut: QKeySequence | str, slot, enabled: bool = True) -> QAction:
            action = QAction(text, self)
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            action.setEnabled(enabled)
            self.addAction(action)
            return action

        def in_chat(slot):
            def run() -> None:
                self.show_pane("chat")
                slot()

            return run

        pane = self.chat_pane
        self.new_chat_action = add("New chat", "Ctrl+N", self._new_chat)
        self.search_action = add("Search chats…", "Ctrl+Shift+F", in_chat(pane.focus_search))
        self.export_action = add("Export chat…", "Ctrl+Shift+E", in_chat(pane.export_current))
        self.focus_input_action = add("Focus the message box", "Ctrl+L", pane.focus_input)
        self.copy_reply_action = add("Copy the last reply", "Ctrl+Shift+C", in_chat(pane.copy_last_reply))
        self.edit_last_action = add("Edit your last message", "Ctrl+Shift+Up", in_chat(pane.edit_last))
        self.regenerate_action = add("Regenerate the reply", "Ctrl+Shift+R", in_chat(pane.regenerate))
        self.mark_wrong_action = add("This reply was wrong…", "Ctrl+Shift+X", in_chat(pane.mark_wrong))
        self.mark_good_action = add("This reply was good", "Ctrl+Shift+G", in_chat(pane.mark_good))
        self.teach_reply_action = add(
            "Teach from the last reply…", "Ctrl+Shift+T", in_chat(pane.teach_from_answer)
        )
        # Enabled only while a reply streams, so Esc still cancels a rename or closes a menu otherwise.
        self.stop_action = add("Stop the reply", "Esc", pane.stop, enabled=False)
        self.quit_action = add("Quit", QKeySequence.StandardKey.Quit, self.close)
        if self.quit_action.shortcut() != QKeySequence("Ctrl+Q"):
            self.quit_action.setShortcuts([self.quit_action.shortcut(), QKeySequence("Ctrl+Q")])

        menu = self.menuBar().addMenu("&Chat")
        groups = (
            (self.new_chat_action, self.search_action, self.export_action),
            (self.copy_reply_action, self.edit_last_action, self.regenerate_action, self.mark_wrong_action),
            (self.mark_good_action, self.teach_reply_action),
            (self.stop_action, self.focus_input_action),
            (self.quit_action,),
        )
        for i, group in enumerate(groups):
            if i:
                menu.addSeparator()
            menu.addActions(list(group))
        self.chat_menu = menu

    def _new_chat(self) -> None:
        self.show_pane("chat")
        self.chat_pane.new_chat()

    def _on_streaming_changed(self, streaming: bool) -> None:
        self.stop_action.setEnabled(streaming)
        for action in (self.regenerate_action, self.edit_last_action):
            action.setEnabled(not streaming)
        if streaming:
            self.reply_stats.setText("")  # the last reply's numbers would read as this one's

    def _on_title_changed(self, title: str) -> None:
        self.setWindowTitle(f"{title} — {APP_TITLE}" if title else APP_TITLE)

    def _connect_bridge(self) -> None:
        b = self.bridge
        b.sig_model_load_progress.connect(self._on_load_progress)
        b.sig_model_loaded.connect(self._on_model_loaded)
        b.sig_model_load_failed.connect(self._on_model_failed)
        b.sig_engine_start_failed.connect(self._on_model_failed)
        b.sig_reply_finished.connect(self._on_reply_stats)
        b.sig_reply_cancelled.connect(self._on_reply_stats)

    # -- geometry ---------------------------------------------------------------------------------
    def _restore_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1180, 760)
        splitter = self.settings.value("chat/splitter")
        if splitter is not None:
            self.chat_pane.splitter.restoreState(splitter)

    def save_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("chat/splitter", self.chat_pane.splitter.saveState())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        # Stop a reply now so its partial text is stored as "cancelled"; the app's aboutToQuit handler
        # then closes the engine (bridge.shutdown) after the last window is gone.
        self.save_state()
        self.bridge.stop_all()
        event.accept()
