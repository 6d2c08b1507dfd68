"""ProjectController: the Project menu (Open Folder… Ctrl+O, recent projects, close), the status-bar folder,
"Add Project to Vault" and the project's rules files offered as lessons (RulesDialog)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.services import ProjectInfo
from purpose_desktop.ui.bridge import EngineBridge, ErrorInfo
from purpose_desktop.ui.ops import EngineOp, show_error

RULES_REASON = "approved from the project's rules file"


class RulesDialog(QDialog):
    """The rules found in the project's rules files: each one scanned, new ones waiting for a decision.

    Tick the rules to keep and press Approve; Reject the ticked ones to never see them offered again.
    """

    sig_decided = Signal(str, list)  # action, memory ids

    def __init__(self, project: str, offers: list[dict], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Rules from {project}")
        self.resize(720, 420)
        layout = QVBoxLayout(self)
        waiting = [o for o in offers if o["outcome"] == "quarantined"]
        blocked = [o for o in offers if o["outcome"] == "rejected"]
        intro = (
            f"{len(offers)} rule{'s' if len(offers) != 1 else ''} found in the project's rules files. "
            f"{len(waiting)} new, waiting for you; {len(blocked)} blocked by the safety scan; "
            f"{len(offers) - len(waiting) - len(blocked)} decided before. Approved rules apply only in this project."
            if offers
            else "No rules found: the project has no AGENTS.md, CONVENTIONS.md, .cursorrules, .clinerules or "
            ".github/copilot-instructions.md with rules in it."
        )
        self.intro = QLabel(intro, wordWrap=True)
        layout.addWidget(self.intro)
        self.list = QListWidget()
        for o in offers:
            state = {"quarantined": "new", "rejected": "blocked by the scan"}.get(o["outcome"], o["status"])
            item = QListWidgetItem(f"[{state}] {o['text']}\n    {o['file']}:{o['line']}")
            item.setData(Qt.ItemDataRole.UserRole, o["memory_id"])
            if o["outcome"] == "quarantined":
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked)
            else:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                if o["outcome"] == "rejected" and o.get("reason"):
                    item.setToolTip(o["reason"])
            self.list.addItem(item)
        layout.addWidget(self.list, 1)
        buttons = QDialogButtonBox()
        self.approve_button = buttons.addButton("&Approve ticked", QDialogButtonBox.ButtonRole.AcceptRole)
        self.reject_button = buttons.addButton("&Reject ticked", QDialogButtonBox.ButtonRole.DestructiveRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.approve_button.clicked.connect(lambda: self._decide("approve"))
        self.reject_button.clicked.connect(lambda: self._decide("reject"))
        self.close_button.clicked.connect(self.reject)
        self.approve_button.setEnabled(bool(waiting))
        self.reject_button.setEnabled(bool(waiting))
        layout.addWidget(buttons)

    def ticked(self) -> list[str]:
        out = []
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable and item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def _decide(self, action: str) -> None:
        ids = self.ticked()
        if ids:
            self.sig_decided.emit(action, ids)
        self.accept()


class ProjectController(QObject):
    """Owns the Project menu and the attached folder's label; panes listen to ``sig_project_changed``."""

    sig_project_changed = Signal(object)  #: ProjectInfo, or None when the folder was closed
    sig_status = Signal(str, int)

    def __init__(self, window: QMainWindow, bridge: EngineBridge) -> None:
        super().__init__(window)
        self._window = window
        self._bridge = bridge
        self.info: ProjectInfo | None = None
        self.recent: list[str] = []
        self.rules_dialog: RulesDialog | None = None
        menu = self.menu = window.menuBar().addMenu("&Project")
        self.open_action = self._action("&Open Folder…", QKeySequence.StandardKey.Open, self.choose_folder)
        self.recent_menu = menu.addMenu("Open &Recent")
        self.close_action = self._action("&Close Folder", "", self.close_folder)
        self.vault_action = self._action("Add Project to &Vault", "", self.add_to_vault)
        self.rules_action = self._action("Offer Project &Rules as Lessons…", "", self.offer_rules)
        menu.addActions([self.open_action])
        menu.addMenu(self.recent_menu)
        menu.addActions([self.close_action])
        menu.addSeparator()
        menu.addActions([self.vault_action, self.rules_action])
        self.label = QLabel("No project folder", objectName="statusText")
        self.label.setToolTip(
            "Open a project folder with Ctrl+O: teams and chat then read it and propose changes"
        )
        window.statusBar().addPermanentWidget(self.label)
        bridge.sig_engine_started.connect(lambda _id: self.refresh_recent())
        self._update()

    def _action(self, text: str, shortcut, slot) -> QAction:
        action = QAction(text, self._window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self._window.addAction(action)
        action.triggered.connect(slot)
        return action

    # -- opening --------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        start = self.info.root if self.info else (self.recent[0] if self.recent else str(Path.home()))
        folder = QFileDialog.getExistingDirectory(self._window, "Open Project Folder", start)
        if folder:
            self.open_path(folder)

    def open_path(self, path: str) -> None:
        EngineOp(self._window, lambda e: e.workspace.open(path), what="opening the project folder").success(
            self._on_opened
        ).failure(self._failed).run(self._bridge)

    def close_folder(self) -> None:
        EngineOp(self._window, lambda e: e.workspace.close(), what="closing the project folder").success(
            lambda _r: self._set_info(None)
        ).run(self._bridge)

    def refresh_recent(self) -> None:
        EngineOp(self._window, lambda e: e.workspace.recent(), what="listing recent projects").success(
            self._on_recent
        ).run(self._bridge)

    def _on_opened(self, info: ProjectInfo) -> None:
        self._set_info(info)
        pending = f" · {info.pending} proposed change(s) waiting" if info.pending else ""
        rules = f" · rules: {', '.join(info.rules_files)}" if info.rules_files else ""
        self.sig_status.emit(
            f"Opened {info.name}: {info.files} files, {info.test_files} test files{rules}{pending}", 6000
        )
        self.refresh_recent()

    def _on_recent(self, recent: list[str]) -> None:
        self.recent = list(recent)
        self.recent_menu.clear()
        for path in self.recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))
        self.recent_menu.setEnabled(bool(self.recent))

    def _set_info(self, info: ProjectInfo | None) -> None:
        self.info = info
        self._update()
        self.sig_project_changed.emit(info)

    def _update(self) -> None:
        attached = self.info is not None
        self.label.setText(f"Project: {self.info.name}" if attached else "No project folder")
        if attached:
            self.label.setToolTip(
                f"{self.info.root}\nTeams and chat read this folder; every write is a proposal you approve."
            )
        for action in (self.close_action, self.vault_action, self.rules_action):
            action.setEnabled(attached)
        self.recent_menu.setEnabled(bool(self.recent))

    # -- one-click extras -----------------------------------------------------------------------
    def add_to_vault(self) -> None:
        """Index the project's files into the Vault (the Vault pane shows the progress)."""
        if self.info is None:
            return
        vault = getattr(self._window, "vault_pane", None)
        if vault is None:
            return
        show = getattr(self._window, "show_pane", None)
        if show is not None:
            show("vault")
        vault.add_paths([self.info.root])

    def offer_rules(self) -> None:
        if self.info is None:
            return
        name = self.info.name
        EngineOp(
            self._window, lambda e: e.workspace.offer_rules(), what="reading the project's rules"
        ).success(lambda offers: self._show_rules(name, offers)).failure(self._failed).run(self._bridge)

    def _show_rules(self, name: str, offers: list[dict]) -> None:
        self.rules_dialog = RulesDialog(name, offers, self._window)
        self.rules_dialog.sig_decided.connect(self._decide_rules)
        self.rules_dialog.open()

    def _decide_rules(self, action: str, ids: list[str]) -> None:
        reason = RULES_REASON if action == "approve" else "rejected from the project's rules file"
        EngineOp(
            self._window, lambda e: e.memories.decide(ids, action, reason), what="deciding rules"
        ).success(
            lambda _r: self.sig_status.emit(
                f"{'Approved' if action == 'approve' else 'Rejected'} {len(ids)} rule(s) for {self.info.name if self.info else 'the project'}.",
                5000,
            )
        ).failure(self._failed).run(self._bridge)

    def _failed(self, err: ErrorInfo) -> None:
        show_error(self._window, err)
