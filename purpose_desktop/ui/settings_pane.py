"""SettingsPane: data folder, default team, auto-promotion, chat sources, generation, MCP tools, theme, and the
privacy panel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.services import PrivacyReport, SettingsSnapshot, TeamCatalog
from purpose_desktop.ui import theme
from purpose_desktop.ui.allowlist_section import AllowListSection
from purpose_desktop.ui.bridge import EngineBridge, ErrorInfo
from purpose_desktop.ui.chat.messages import Banner
from purpose_desktop.ui.generation import FORM_FIELDS, GenerationForm
from purpose_desktop.ui.learning_methods import LearningMethodsSection
from purpose_desktop.ui.mcp_section import McpToolsSection
from purpose_desktop.ui.ops import EngineOp
from purpose_desktop.ui.serve_section import ServerSection
from purpose_desktop.ui.widgets import BusyBar, PaneHeader
from purpose_desktop.ui.workspace.recent import RecentProjectsSection

THEME_KEY = "ui/theme"
#: Generation changes are saved this long after the last edit (typing a system prompt saves once).
GENERATION_SAVE_MS = 600

PROTECTION_LABELS = {
    "network_isolated": "Code that agents run cannot reach the network",
    "home_hidden": "Your home folder is hidden from that code",
    "fs_confined": "It can write only inside its own scratch folder",
    "processes_hidden": "It cannot see your other programs",
    "env_scrubbed": "Your environment variables (tokens, keys) are not passed on",
    "memory_limit": "Its memory is capped",
    "cpu_limit": "Its CPU time is capped",
    "file_size_limit": "The files it writes are size-capped",
    "process_limits": "It cannot start a flood of processes",
    "wall_clock_kill": "It is stopped after a time limit",
    "process_tree_kill": "Everything it started is stopped with it",
    "no_privilege_gain": "It cannot gain privileges",
}
THEME_CHOICES = (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))


def saved_theme(settings: QSettings) -> str:
    mode = str(settings.value(THEME_KEY, "system") or "system")
    return mode if mode in theme.MODES else "system"


def _section(title: str, text: str = "") -> tuple[QFrame, QVBoxLayout]:
    card = QFrame(objectName="card")
    layout = QVBoxLayout(card)
    layout.setContentsMargins(16, 14, 16, 14)
    layout.setSpacing(8)
    layout.addWidget(QLabel(title, objectName="cardTitle"))
    if text:
        label = QLabel(text, objectName="cardText")
        label.setWordWrap(True)
        layout.addWidget(label)
    return card, layout


class SettingsPane(QWidget):
    """Where things live, how learning behaves, how the app looks, and what protects this computer."""

    #: (text, timeout ms) a line for the status bar.
    sig_status = Signal(str, int)
    #: (theme mode) the person picked "system", "light" or "dark" (already applied).
    sig_theme_changed = Signal(str)

    def __init__(self, bridge: EngineBridge, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsPane")
        self._bridge = bridge
        self._qsettings = settings
        self._snapshot: SettingsSnapshot | None = None
        self._privacy_running = False
        self._syncing = False
        self._privacy_checked = False
        self._build()
        b = bridge
        b.sig_engine_started.connect(self._on_engine_started)

    # -- layout -----------------------------------------------------------------------------------
    def _build_backup_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.backup_button = QPushButton("Back up…", objectName="secondaryButton")
        self.backup_button.setToolTip("Save the whole data folder to one .zip file (safe while the app runs)")
        self.backup_button.clicked.connect(lambda: self.backup())
        self.restore_button = QPushButton("Restore…", objectName="secondaryButton")
        self.restore_button.setToolTip("Replace your data with a backup; you see what is replaced first")
        self.restore_button.clicked.connect(lambda: self.restore())
        self.backup_label = QLabel("", objectName="mutedText")
        self.backup_label.setWordWrap(True)
        row.addWidget(self.backup_button)
        row.addWidget(self.restore_button)
        row.addWidget(self.backup_label, 1)
        return row

    def backup(self, path: str | None = None) -> None:
        """Write a backup of the data folder (asks where unless ``path`` is given)."""
        if not path:
            from datetime import datetime

            name = f"purpose-backup-{datetime.now():%Y-%m-%d}.zip"
            path, _filter = QFileDialog.getSaveFileName(
                self, "Back up your data", str(Path.home() / name), "Backup (*.zip)"
            )
        if not path:
            return
        if not path.lower().endswith(".zip"):
            path += ".zip"
        self.backup_label.setText("Backing up…")
        EngineOp(self, lambda e: e.backups.backup(path), what="backing up").success(
            self._on_backed_up
        ).failure(self._on_backup_failed).run(self._bridge)

    def _on_backed_up(self, info) -> None:
        self.last_backup = info
        text = f"Backed up to {info.path} ({info.size_bytes / 1e6:.1f} MB): {info.describe()}."
        self.backup_label.setText(text)
        self.sig_status.emit(text, 8000)

    def _on_backup_failed(self, err: ErrorInfo) -> None:
        self.backup_label.setText("")
        self.banner.show_message(err.message, err.hint)

    def restore(self, path: str | None = None) -> None:
        """Pick a backup, show what it would replace, and restore only after the person confirms."""
        if not path:
            path, _filter = QFileDialog.getOpenFileName(
                self, "Restore a backup", str(Path.home()), "Backup (*.zip)"
            )
        if not path:
            return
        EngineOp(self, lambda e: e.backups.plan(path), what="reading a backup").success(
            lambda plan: self._confirm_restore(path, plan)
        ).failure(self._on_backup_failed).run(self._bridge)

    def _confirm_restore(self, path: str, plan) -> QMessageBox:
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Restore this backup?",
            "Replace your current data with this backup?",
            parent=self,
        )
        box.setObjectName("restoreConfirm")
        box.setInformativeText(plan.describe())
        self.restore_confirm_button = box.addButton("Replace my data", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)

        def done(_result) -> None:
            if box.clickedButton() is self.restore_confirm_button:
                self.backup_label.setText("Restoring…")
                EngineOp(self, lambda e: e.backups.restore(path), what="restoring a backup").success(
                    self._on_restored
                ).failure(self._on_backup_failed).run(self._bridge)
            else:
                self.sig_status.emit("Not restored; nothing was changed.", 4000)

        box.finished.connect(done)
        self.restore_box = box
        box.open()
        return box

    def _on_restored(self, result) -> None:
        plan, safety = result
        self.last_restore = result
        text = f"Restored the backup from {plan.backup.created_at[:10]}. Your previous data is kept in {safety.path}."
        self.backup_label.setText(text)
        self.sig_status.emit("Restored the backup. Restart Purpose Desktop to see it in every pane.", 10_000)
        box = QMessageBox(QMessageBox.Icon.Information, "Restored", text, parent=self)
        box.setInformativeText("Restart Purpose Desktop so every pane shows the restored data.")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.restored_box = box
        box.open()

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(
            PaneHeader("Settings", "Where your data lives, how learning behaves, and how the app looks.")
        )
        self.banner = Banner("error")
        outer.addWidget(self.banner)
        scroll = QScrollArea(objectName="settingsScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        canvas = QWidget(objectName="settingsCanvas")
        column = QVBoxLayout(canvas)
        column.setContentsMargins(20, 4, 20, 20)
        column.setSpacing(14)
        scroll.setWidget(canvas)
        outer.addWidget(scroll, 1)

        # Data
        card, box = _section(
            "Data", "Chats, runs, memories and the vault are kept in one folder on this computer."
        )
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(6)
        self.data_dir_label = QLabel("…", objectName="pathLabel")
        self.database_label = QLabel("…", objectName="mutedText")
        self.log_dir_label = QLabel("…", objectName="mutedText")
        for label in (self.data_dir_label, self.database_label, self.log_dir_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_data_button = QPushButton("Open folder", objectName="secondaryButton")
        self.open_data_button.clicked.connect(lambda: self._open(self._snapshot and self._snapshot.data_dir))
        self.open_logs_button = QPushButton("Open logs", objectName="secondaryButton")
        self.open_logs_button.clicked.connect(lambda: self._open(self._snapshot and self._snapshot.log_dir))
        grid.addWidget(QLabel("Folder"), 0, 0)
        grid.addWidget(self.data_dir_label, 0, 1)
        grid.addWidget(self.open_data_button, 0, 2)
        grid.addWidget(QLabel("Database"), 1, 0)
        grid.addWidget(self.database_label, 1, 1)
        grid.addWidget(QLabel("Logs"), 2, 0)
        grid.addWidget(self.log_dir_label, 2, 1)
        grid.addWidget(self.open_logs_button, 2, 2)
        grid.setColumnStretch(1, 1)
        box.addLayout(grid)
        box.addLayout(self._build_backup_row())
        column.addWidget(card)

        # Teams and learning
        card, box = _section("Teams and learning")
        row = QHBoxLayout()
        row.addWidget(QLabel("Default team"))
        self.team_combo = QComboBox()
        self.team_combo.setMinimumWidth(260)
        self.team_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.team_combo.setToolTip("The team the Team pane opens with")
        self.team_combo.currentIndexChanged.connect(self._on_team_chosen)
        row.addWidget(self.team_combo)
        row.addStretch(1)
        box.addLayout(row)
        self.auto_promote = QCheckBox("Promote a memory automatically when its replay test clearly helps")
        self.auto_promote.setToolTip(
            "Off: you approve every memory in Memory review. On: a memory whose A/B replay shows a clear "
            "gain (at least 1 point over 3 or more paired runs) is promoted without asking; you can still "
            "reject or archive it later."
        )
        self.auto_promote.toggled.connect(self._on_auto_promote)
        box.addWidget(self.auto_promote)
        note = QLabel(
            "Off by default: nothing the app learns reaches a prompt until you approve it.",
            objectName="mutedText",
        )
        note.setWordWrap(True)
        box.addWidget(note)
        self.learning_methods = LearningMethodsSection()
        self.learning_methods.sig_methods_off_changed.connect(self._on_methods_off)
        box.addWidget(self.learning_methods)
        column.addWidget(card)

        # Chat
        card, box = _section(
            "Chat", "What answers may draw on. The chips under each answer show what it actually used."
        )
        self.chat_memory = QCheckBox("Use the lessons you approved in chat answers")
        self.chat_memory.setToolTip("Only promoted memories; quarantined, rejected and archived ones never")
        self.chat_memory.toggled.connect(lambda on: self._save_chat("chat_uses_memory", on))
        box.addWidget(self.chat_memory)
        self.chat_vault = QCheckBox("Use your Vault in chat answers (they cite the passages)")
        self.chat_vault.setToolTip("Passages the safety scan flagged are withheld from the model")
        self.chat_vault.toggled.connect(lambda on: self._save_chat("chat_uses_vault", on))
        box.addWidget(self.chat_vault)
        row = QHBoxLayout()
        row.addWidget(QLabel("Vault passages per answer"))
        self.chat_k = QSpinBox(minimum=1, maximum=10)
        self.chat_k.setToolTip(
            "More passages give the model more to go on but leave less room for the answer"
        )
        self.chat_k.valueChanged.connect(lambda k: self._save_chat("chat_vault_k", k))
        row.addWidget(self.chat_k)
        row.addStretch(1)
        box.addLayout(row)
        column.addWidget(card)

        # Tools (MCP servers)
        self.tools_section = McpToolsSection(self._bridge)
        self.tools_section.sig_status.connect(self.sig_status)
        column.addWidget(self.tools_section)
        # Safety scan: the findings the person overruled
        self.allow_section = AllowListSection(self._bridge)
        self.allow_section.sig_status.connect(self.sig_status)
        column.addWidget(self.allow_section)
        # Projects: the recent project folders (Project ▸ Open Folder…)
        self.projects = RecentProjectsSection()
        self.projects.sig_forget_requested.connect(lambda rest: self._save_setting("recent_projects", rest))
        column.addWidget(self.projects)
        # Generation
        card, box = _section(
            "Generation",
            "How answers are sampled. A chat can set its own (Chat settings, Ctrl+Shift+P); "
            "a team sets its token budgets in the Team pane.",
        )
        self.generation = GenerationForm(with_context=True)
        self.generation.sig_changed.connect(self._on_generation_changed)
        box.addWidget(self.generation)
        column.addWidget(card)
        self._generation_pending: dict = {}
        self._generation_timer = QTimer(self, singleShot=True, interval=GENERATION_SAVE_MS)
        self._generation_timer.timeout.connect(self._save_generation)

        # Appearance
        card, box = _section("Appearance")
        row = QHBoxLayout()
        row.addWidget(QLabel("Theme"))
        self.theme_combo = QComboBox()
        for mode, label in THEME_CHOICES:
            self.theme_combo.addItem(label, mode)
        mode = saved_theme(self._qsettings)
        self.theme_combo.setCurrentIndex(next(i for i, (m, _) in enumerate(THEME_CHOICES) if m == mode))
        self.theme_combo.currentIndexChanged.connect(self._on_theme_chosen)
        row.addWidget(self.theme_combo)
        row.addStretch(1)
        box.addLayout(row)
        column.addWidget(card)

        # Server (the OpenAI-compatible API; off by default)
        self.server_section = ServerSection(self._bridge)
        column.addWidget(self.server_section)

        # Privacy
        card, box = _section(
            "Privacy",
            "Purpose Desktop makes no network connections unless you ask it to download a model. Models "
            "run on this computer, and your chats, "
            "runs, memories and documents never leave the data folder above. Nothing is uploaded, and "
            "there is no telemetry.",
        )
        box.addWidget(
            QLabel(
                "Protections for code that agents run, checked on this computer:", objectName="sectionTitle"
            )
        )
        self.network_label = QLabel("", objectName="mutedText")  # when the app last went online, and why
        self.network_label.setWordWrap(True)
        box.addWidget(self.network_label)
        self.privacy_busy = BusyBar()
        box.addWidget(self.privacy_busy)
        self.protections = QGridLayout()
        self.protections.setHorizontalSpacing(10)
        self.protections.setVerticalSpacing(4)
        box.addLayout(self.protections)
        self.privacy_summary = QLabel("", objectName="mutedText")
        self.privacy_summary.setWordWrap(True)
        box.addWidget(self.privacy_summary)
        self.allow_unprotected = QCheckBox(
            "Run agents' code even where a protection above is missing (not recommended)"
        )
        self.allow_unprotected.setToolTip(
            "Off: when the sandbox cannot isolate network, home folder and file system, code is not run and "
            "the critic says so. On: it runs anyway, with whatever protections this computer has."
        )
        self.allow_unprotected.toggled.connect(self._on_allow_unprotected)
        box.addWidget(self.allow_unprotected)
        row = QHBoxLayout()
        row.addStretch(1)
        self.recheck_button = QPushButton("Check again", objectName="secondaryButton")
        self.recheck_button.clicked.connect(self.check_privacy)
        row.addWidget(self.recheck_button)
        box.addLayout(row)
        column.addWidget(card)
        column.addStretch(1)

    # -- engine answers ---------------------------------------------------------------------------
    def _on_engine_started(self, _request_id: str) -> None:
        self.refresh()

    def refresh(self) -> None:
        EngineOp(self, lambda e: e.config.snapshot(), what="reading the settings").success(
            self._on_snapshot
        ).run(self._bridge)
        self._list_teams()
        self.tools_section.refresh()
        self.allow_section.refresh()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.flush_generation()  # leaving the pane saves what was just typed
        super().hideEvent(event)

    def _check_thinking(self) -> None:
        EngineOp(self, lambda e: e.chat_settings(None), what="reading the model's abilities").success(
            lambda r: self.generation.set_thinking_support(r["model_thinks"], r["thinking_switch"])
        ).run(self._bridge)

    def _list_teams(self) -> None:
        EngineOp(self, lambda e: e.teams.catalog(), what="listing teams").success(self._on_teams).run(
            self._bridge
        )

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        # The sandbox probe starts real processes: do it when someone looks, not at start-up.
        super().showEvent(event)
        if self._bridge.running:
            self._list_teams()  # teams saved or deleted in the Team pane since
            self.tools_section.refresh()  # "always allow" chosen in an approval prompt since
            self.allow_section.refresh()  # blocks overruled in Memory since
            self._check_thinking()  # the loaded model may have changed
        if not self._privacy_checked and self._bridge.running:
            self._privacy_checked = True
            self.check_privacy()

    def check_privacy(self) -> None:
        if self._privacy_running:
            return
        self._privacy_running = True
        self.recheck_button.setEnabled(False)
        EngineOp(self, lambda e: e.diagnostics.privacy(), what="checking the sandbox").success(
            self._on_privacy
        ).failure(self._on_privacy_failed).busy(self.privacy_busy, "Checking the sandbox…").run(self._bridge)

    def _on_snapshot(self, snap: SettingsSnapshot) -> None:
        self._snapshot = snap
        self.data_dir_label.setText(snap.data_dir)
        self.database_label.setText(snap.database)
        self.log_dir_label.setText(snap.log_dir)
        self._syncing = True
        try:
            self.auto_promote.setChecked(bool(snap.settings.get("auto_promote")))
            self.learning_methods.apply_settings(snap.settings)
            self.allow_unprotected.setChecked(bool(snap.settings.get("allow_unprotected_code")))
            self.chat_memory.setChecked(bool(snap.settings.get("chat_uses_memory", True)))
            self.chat_vault.setChecked(bool(snap.settings.get("chat_uses_vault", True)))
            self.chat_k.setValue(int(snap.settings.get("chat_vault_k") or 3))
            self.chat_k.setEnabled(self.chat_vault.isChecked())
            self._select_team(snap.settings.get("default_team"))
            self.projects.set_recent(list(snap.settings.get("recent_projects") or []))
            self.server_section.apply_settings(snap.settings)
            # Never overwrite what the person is still typing or has not saved yet.
            skip = set(self._generation_pending)
            if self.generation.system_prompt.hasFocus():
                skip.add("system_prompt")
            self.generation.set_values(
                {k: v for k, v in snap.settings.items() if k in FORM_FIELDS and k not in skip}
            )
        finally:
            self._syncing = False

    def _on_teams(self, catalog: TeamCatalog) -> None:
        chosen = self.team_combo.currentData()
        if self._snapshot is not None:
            chosen = self._snapshot.settings.get("default_team") or chosen
        self._syncing = True
        try:
            self.team_combo.clear()
            self.team_combo.addItem("None (start from a purpose)", None)
            for team in catalog.teams:
                self.team_combo.addItem(team.name, team.name)
            self._select_team(chosen)
        finally:
            self._syncing = False

    def _select_team(self, name) -> None:
        index = self.team_combo.findData(name) if name else 0
        self.team_combo.setCurrentIndex(max(0, index))

    def _on_privacy(self, report: PrivacyReport) -> None:
        self._privacy_running = False
        self.recheck_button.setEnabled(True)
        self.network_label.setText(report.last_online)
        self.network_label.setToolTip("\n".join(f"{e.at}  {e.reason}  {e.url}  {e.outcome}" for e in report.network))
        while self.protections.count():
            item = self.protections.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for row, p in enumerate(report.protections):
            mark = QLabel("✓" if p.active else "✕", objectName="privacyOk" if p.active else "privacyMissing")
            name = QLabel(PROTECTION_LABELS.get(p.name, p.name.replace("_", " ").capitalize()))
            how = QLabel(p.how if p.active else f"not active here — {p.how}", objectName="mutedText")
            how.setWordWrap(True)
            self.protections.addWidget(mark, row, 0, Qt.AlignmentFlag.AlignTop)
            self.protections.addWidget(name, row, 1, Qt.AlignmentFlag.AlignTop)
            self.protections.addWidget(how, row, 2, Qt.AlignmentFlag.AlignTop)
        self.protections.setColumnStretch(2, 1)
        active = sum(p.active for p in report.protections)
        leaving = " ".join(getattr(report, "leaves_computer", ()) or ())
        if report.error:
            self.privacy_summary.setText(report.error + (f"\n\n{leaving}" if leaving else ""))
        else:
            self.privacy_summary.setText(
                (f"{leaving}\n\n" if leaving else "")
                + f"{active} of {len(report.protections)} protections are active (sandbox: {report.backend}). "
                + (
                    ""
                    if active == len(report.protections)
                    else "Installing bubblewrap (the bwrap package) turns on the strongest isolation."
                )
            )

    def _on_privacy_failed(self, err: ErrorInfo) -> None:
        self._privacy_running = False
        self.recheck_button.setEnabled(True)
        self.privacy_summary.setText(f"{err.message} {err.hint}")

    # -- choices ----------------------------------------------------------------------------------
    def _save_setting(self, name: str, value) -> None:
        changes = {name: value}
        EngineOp(self, lambda e: e.config.update(changes), what="saving the settings").success(
            self._on_snapshot
        ).run(self._bridge)

    def _on_generation_changed(self, name: str) -> None:
        self._generation_pending[name] = self.generation.value(name)
        self._generation_timer.start()  # one save after the person pauses, not one per keystroke

    def _save_generation(self) -> None:
        changes, self._generation_pending = self._generation_pending, {}
        if not changes:
            return
        words = "Context length saved; it applies when a model is loaded next." if "n_ctx" in changes else (
            "Generation settings saved; new answers use them."
        )
        EngineOp(self, lambda e: e.config.update(changes), what="saving the generation settings").success(
            lambda snap: (self._on_snapshot(snap), self.sig_status.emit(words, 3000))
        ).run(self._bridge)

    def flush_generation(self) -> None:
        """Save pending generation changes now (the pane is closing or a test wants them)."""
        if self._generation_timer.isActive():
            self._generation_timer.stop()
            self._save_generation()

    def _on_team_chosen(self, _index: int) -> None:
        if self._syncing:
            return
        name = self.team_combo.currentData()
        self._save_setting("default_team", name)
        self.sig_status.emit(f"Default team: {name}." if name else "No default team.", 3000)

    def _on_methods_off(self, off: list) -> None:
        self._save_setting("learning_methods_off", off)
        self.sig_status.emit(
            f"Learning methods off: {', '.join(m.replace('_', ' ') for m in off)}." if off else "Every learning method is on.",
            4000,
        )

    def _on_auto_promote(self, on: bool) -> None:
        if self._syncing:
            return
        self._save_setting("auto_promote", on)
        self.sig_status.emit(
            "Memories that clearly help are now promoted automatically."
            if on
            else "Every memory now waits for your approval.",
            4000,
        )

    def _save_chat(self, name: str, value) -> None:
        if name == "chat_uses_vault":
            self.chat_k.setEnabled(bool(value))
        if self._syncing:
            return
        self._save_setting(name, value)
        words = {
            "chat_uses_memory": "Answers now use the lessons you approved."
            if value
            else "Answers no longer use your lessons.",
            "chat_uses_vault": "Answers now use your Vault."
            if value
            else "Answers no longer use your Vault.",
            "chat_vault_k": f"Up to {value} Vault passage{'s' if value != 1 else ''} per answer.",
        }
        self.sig_status.emit(words[name], 3000)

    def _on_allow_unprotected(self, on: bool) -> None:
        if self._syncing:
            return
        if on:
            answer = QMessageBox.warning(
                self,
                "Run code without full protection?",
                "Code written by the model would run with only the protections this computer provides; "
                "missing ones are marked ✕ above. It could read your files or reach the network.\n\n"
                "Allow it anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                self._syncing = True
                self.allow_unprotected.setChecked(False)
                self._syncing = False
                return
        self._save_setting("allow_unprotected_code", on)
        self.sig_status.emit(
            "Code now runs even where protections are missing." if on else "Unprotected code will not run.",
            4000,
        )

    def _on_theme_chosen(self, _index: int) -> None:
        mode = self.theme_combo.currentData()
        self._qsettings.setValue(THEME_KEY, mode)
        app = QApplication.instance()
        if app is not None:
            theme.apply_theme(app, mode)
        self.sig_theme_changed.emit(mode)

    @staticmethod
    def _open(path: str | None) -> None:
        if path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(path))
