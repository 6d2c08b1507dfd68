"""TeamPane: purpose → proposed team → edit roles (instructions, tools, model) → save/load/duplicate → run it live."""

from __future__ import annotations

import copy
import uuid

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.services import TeamCatalog
from purpose_desktop.ui.bridge import EngineBridge, ErrorInfo
from purpose_desktop.ui.chat.messages import Banner
from purpose_desktop.ui.ops import EngineOp
from purpose_desktop.ui.team.budgets import TokenBudgets
from purpose_desktop.ui.team.contract_editor import ContractEditor
from purpose_desktop.ui.team.contract_wiring import ContractWiring
from purpose_desktop.ui.team.prompt_opt import PromptOptimiser
from purpose_desktop.ui.team.role_editor import RoleEditor
from purpose_desktop.ui.team.run import RunPanel
from purpose_desktop.ui.tool_approval import install_tool_approvals
from purpose_desktop.ui.widgets import BusyBar, EmptyState, PaneHeader
from purpose_desktop.ui.workspace import ProposalsPanel

UNDO_MS = 10_000
# The budgets' on/off switches and their defaults (an older spec without the key has the default).
_SWITCHES = {"stop_at_first_pass": True, "tester_assert_lines": False}


class TeamPane(QWidget):
    """Build a team for a purpose, keep it, and run tasks on it while watching each step."""

    #: (text, timeout ms) for the status bar.
    sig_status = Signal(str, int)

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("teamPane")
        self._bridge = bridge
        self._project = None  # the open project folder (ProjectInfo), set by the main window
        self._spec: dict | None = None
        self._dirty = False
        self._catalog: TeamCatalog | None = None
        self._opening: str | None = None  # the saved team being loaded (a second click waits for it)
        self._run_request = None
        self._deleted: dict | None = None
        self._default_team: str | None = None
        self._opened_default = False
        self._build()
        b = bridge
        b.sig_engine_started.connect(lambda _id: self._on_engine_started())
        b.sig_run_event_received.connect(self.run_panel.on_event)
        b.sig_team_run_finished.connect(lambda rid, res: self._on_run_ended(rid, res, "complete"))
        b.sig_team_run_cancelled.connect(lambda rid, res: self._on_run_ended(rid, res, "cancelled"))
        b.sig_team_run_failed.connect(self._on_run_failed)
        install_tool_approvals(b, self)

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 12)
        outer.setSpacing(6)
        header = PaneHeader(
            "Team",
            "Say what the team is for; it proposes roles you can edit. Run a task and watch each step, "
            "scored by the critic.",
        )
        self.new_button = header.add_button("New team", "Start over from a purpose (Ctrl+N in this pane)")
        self.new_button.clicked.connect(self.new_team)
        outer.addWidget(header)
        self.banner = Banner("error")
        outer.addWidget(self.banner)
        self.undo_banner = Banner("info")
        outer.addWidget(self.undo_banner)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, objectName="teamSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)

        # Saved teams (wide enough for a team's name without a horizontal scroll bar)
        left = QWidget()
        left.setMinimumWidth(180)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(20, 0, 10, 0)
        lv.setSpacing(6)
        lv.addWidget(QLabel("Saved teams", objectName="sectionTitle"), 0, Qt.AlignmentFlag.AlignTop)
        self.team_list = QListWidget(objectName="paneList")
        self.team_list.setAccessibleName("Saved teams")
        self.team_list.currentItemChanged.connect(
            lambda item, _prev: item is not None and self.open_team(item.data(Qt.ItemDataRole.UserRole))
        )
        self.team_list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.team_list.customContextMenuRequested.connect(self._team_menu)
        delete = QAction("Delete team", self.team_list)
        delete.setShortcut(QKeySequence(Qt.Key.Key_Delete))
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self.delete_current)
        self.team_list.addAction(delete)
        lv.addWidget(self.team_list, 1)
        self.no_teams = QLabel("No saved teams yet. Propose one, then press Save.", objectName="mutedText")
        self.no_teams.setWordWrap(True)
        lv.addWidget(self.no_teams)
        lv.addStretch(0)
        self.splitter.addWidget(left)

        # Editor
        middle = QWidget()
        mv = QVBoxLayout(middle)
        mv.setContentsMargins(10, 0, 10, 0)
        mv.setSpacing(6)
        mv.addWidget(QLabel("Purpose", objectName="sectionTitle"))
        row = QHBoxLayout()
        self.purpose_edit = QLineEdit()
        self.purpose_edit.setPlaceholderText("What is this team for? e.g. Help me write Python code")
        self.purpose_edit.returnPressed.connect(self.propose)
        self.propose_button = QPushButton("Propose team", objectName="primaryButton")
        self.propose_button.setToolTip("Suggest roles for this purpose (Enter)")
        self.propose_button.clicked.connect(self.propose)
        row.addWidget(self.purpose_edit, 1)
        row.addWidget(self.propose_button)
        mv.addLayout(row)
        self.busy = BusyBar()
        mv.addWidget(self.busy)

        self.editor = QWidget()
        ev = QVBoxLayout(self.editor)
        ev.setContentsMargins(0, 6, 0, 0)
        ev.setSpacing(6)
        name_row = QHBoxLayout()
        name_row.addWidget(QLabel("Name", objectName="sectionTitle"))
        self.name_edit = QLineEdit()
        self.name_edit.textEdited.connect(self._on_name_edited)
        self.dirty_label = QLabel("", objectName="mutedText")
        name_row.addWidget(self.name_edit, 1)
        name_row.addWidget(self.dirty_label)
        ev.addLayout(name_row)
        roles_row = QHBoxLayout()
        roles_row.addWidget(QLabel("Roles, in order", objectName="sectionTitle"))
        roles_row.addStretch(1)
        self.add_role_button = QToolButton(objectName="linkButton")
        self.add_role_button.setText("+ Add role")
        self.add_role_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.add_role_menu = QMenu(self.add_role_button)
        self.add_role_button.setMenu(self.add_role_menu)
        self.up_button = QToolButton(text="↑", toolTip="Move the role earlier (Alt+Up)")
        self.up_button.clicked.connect(lambda: self.move_role(-1))
        self.down_button = QToolButton(text="↓", toolTip="Move the role later (Alt+Down)")
        self.down_button.clicked.connect(lambda: self.move_role(1))
        self.remove_role_button = QToolButton(text="✕", toolTip="Remove the role (Delete)")
        self.remove_role_button.clicked.connect(self.remove_role)
        self.propose_prompt_button = QToolButton(text="✦")  # wired by PromptOptimiser.install
        for w in (
            self.propose_prompt_button,
            self.add_role_button,
            self.up_button,
            self.down_button,
            self.remove_role_button,
        ):
            w.setCursor(Qt.CursorShape.PointingHandCursor)
            roles_row.addWidget(w)
        ev.addLayout(roles_row)
        self.role_list = QListWidget(objectName="paneList")
        self.role_list.setAccessibleName("Roles")
        self.role_list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.role_list.setMaximumHeight(150)
        self.role_list.currentRowChanged.connect(self._on_role_selected)
        self.role_list.model().rowsMoved.connect(self._on_rows_dragged)
        for keys, slot in (
            ("Alt+Up", lambda: self.move_role(-1)),
            ("Alt+Down", lambda: self.move_role(1)),
            (Qt.Key.Key_Delete, self.remove_role),
        ):
            action = QAction(self.role_list)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.triggered.connect(slot)
            self.role_list.addAction(action)
        ev.addWidget(self.role_list)
        self.role_editor = RoleEditor()
        self.role_editor.sig_changed.connect(self._on_role_changed)
        ev.addWidget(self.role_editor, 1)
        self.prompt_opt = PromptOptimiser(self)  # "Propose prompt improvements…": progress row, dialog
        ev.addWidget(self.prompt_opt)
        self.contract_editor = ContractEditor()
        self._contract = ContractWiring(self)
        ev.addWidget(self.contract_editor)
        self.budgets = TokenBudgets()
        self.step_tokens_spin = self.budgets.step_tokens_spin
        self.role_tokens_spin = self.budgets.role_tokens_spin
        self.budgets.sig_changed.connect(self._on_budget_changed)
        ev.addWidget(self.budgets)
        buttons = QHBoxLayout()
        self.delete_button = QPushButton("Delete", objectName="dangerButton")
        self.delete_button.clicked.connect(self.delete_current)
        self.duplicate_button = QPushButton("Duplicate", objectName="secondaryButton")
        self.duplicate_button.clicked.connect(self.duplicate)
        self.save_button = QPushButton("Save", objectName="primaryButton")
        self.save_button.setToolTip("Save the team (Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        buttons.addWidget(self.duplicate_button)
        buttons.addWidget(self.save_button)
        ev.addLayout(buttons)
        save = QAction("Save team", self)
        save.setShortcut(QKeySequence.StandardKey.Save)
        save.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        save.triggered.connect(self.save)
        self.addAction(save)
        self.prompt_opt.install()  # its button, Ctrl+Shift+I and the roles' right-click menu
        mv.addWidget(self.editor, 1)
        self.editor_empty = EmptyState(
            "Start with a purpose",
            "Type what you want help with above — for example “Help me write Python code” — and press "
            "Enter. You can then edit, reorder, add or remove roles.",
        )
        mv.addWidget(self.editor_empty, 1)
        self.splitter.addWidget(middle)

        self.run_panel = RunPanel()
        self.run_panel.sig_run_requested.connect(self.run_task)
        self.run_panel.sig_stop_requested.connect(self.stop_run)
        self.run_panel.sig_status.connect(self.sig_status)
        self.run_panel.sig_tests_kept.connect(self.keep_tests)
        self.splitter.addWidget(self.run_panel)
        # A run's proposed file changes (when a project folder is open), under its answer.
        self.proposals_panel = ProposalsPanel(self._bridge, scrolling=False)
        self.proposals_panel.sig_status.connect(self.sig_status)
        self.run_panel.add_below_answer(self.proposals_panel)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setStretchFactor(2, 3)
        self.splitter.setSizes([210, 420, 560])
        outer.addWidget(self.splitter, 1)
        self._show_spec()

    # -- public actions ---------------------------------------------------------------------------
    @property
    def spec(self) -> dict | None:
        return self._spec

    @property
    def dirty(self) -> bool:
        return self._dirty

    def refresh(self) -> None:
        EngineOp(self, lambda e: e.teams.catalog(), what="listing teams").success(self._on_catalog).run(
            self._bridge
        )

    def _on_engine_started(self) -> None:
        self.refresh()
        EngineOp(self, lambda e: e.config.snapshot(), what="reading the settings").success(
            self._on_settings
        ).run(self._bridge)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._bridge.running:
            self.refresh()  # teams saved elsewhere (and the default team) are current when the pane shows

    def new_team(self) -> None:
        if not self._confirm_discard():
            return
        self._spec = None
        self._dirty = False
        self.purpose_edit.clear()
        self.team_list.clearSelection()
        self._show_spec()
        self.purpose_edit.setFocus()

    def propose(self) -> None:
        text = self.purpose_edit.text().strip()
        if not text:
            self.sig_status.emit("Type what the team is for first.", 3000)
            return
        if not self._confirm_discard():
            return
        self.banner.dismiss()
        EngineOp(self, lambda e: e.teams.propose(text), what="proposing a team").success(
            self._on_proposed
        ).failure(self._on_failed).busy(self.busy, "Choosing roles…").run(self._bridge)
        self.propose_button.setEnabled(False)

    def open_team(self, team_id: str) -> None:
        if self._spec is not None and self._spec.get("id") == team_id:
            return
        if team_id == self._opening:
            return
        if not self._confirm_discard():
            self._select_saved(self._spec.get("id") if self._spec else None)
            return
        self._opening = team_id

        def loaded(spec: dict) -> None:
            self._opening = None
            self._on_loaded(spec)

        def failed(err: ErrorInfo) -> None:
            self._opening = None
            self._on_failed(err)

        EngineOp(self, lambda e: e.teams.load(team_id), what="loading a team").success(loaded).failure(
            failed
        ).run(self._bridge)

    def save(self) -> None:
        if self._spec is None:
            return
        self._spec["name"] = self.name_edit.text().strip()
        if not self._spec["name"]:
            self.banner.show_message("The team needs a name.", "Type a name, then save again.")
            self.name_edit.setFocus()
            return
        self._save(copy.deepcopy(self._spec), "save")

    def duplicate(self) -> None:
        if self._spec is None:
            return
        dup = copy.deepcopy(self._spec)
        taken = {t.name for t in self._catalog.teams} if self._catalog else set()
        base = f"{dup['name']} copy"
        name, n = base, 2
        while name in taken:
            name, n = f"{base} {n}", n + 1
        dup.update(id=uuid.uuid4().hex, name=name)
        self._spec, self._dirty = dup, False
        self._show_spec()
        self._save(copy.deepcopy(dup), "save")

    def delete_current(self) -> None:
        spec = self._spec
        saved = (
            spec is not None
            and self._catalog is not None
            and any(t.id == spec["id"] for t in self._catalog.teams)
        )
        if not saved:
            return
        self._deleted = copy.deepcopy(spec)
        team_id = spec["id"]
        EngineOp(self, lambda e: e.teams.delete(team_id), what="deleting a team").success(
            self._on_deleted
        ).failure(self._on_delete_failed).run(self._bridge)

    def undo_delete(self) -> None:
        spec, self._deleted = self._deleted, None
        if spec is None:
            return
        self.undo_banner.dismiss()
        self._spec, self._dirty = spec, False
        self._show_spec()
        self._save(copy.deepcopy(spec), "restore")

    def _save(self, spec: dict, what: str) -> None:
        EngineOp(self, lambda e: e.teams.save(spec), what="saving a team").success(
            lambda saved: self._on_saved(saved, what)
        ).failure(self._on_failed).run(self._bridge)

    def add_role(self, name: str) -> None:
        if self._spec is None or self._catalog is None:
            return
        template = copy.deepcopy(self._catalog.role_templates.get(name)) or {
            "name": name,
            "title": name.replace("_", " ").title(),
            "instructions": "",
            "tools": [],
            "model": None,
            "kind": "text",
        }
        taken = {r["name"] for r in self._spec["roles"]}
        base, n = template["name"], 2
        while template["name"] in taken:
            template["name"], n = f"{base}_{n}", n + 1
            template["title"] = f"{template['title'].split(' (')[0]} ({n - 1})"
        self._spec["roles"].append(template)
        self._mark_dirty()
        self._fill_roles(select=len(self._spec["roles"]) - 1)

    def remove_role(self) -> None:
        row = self.role_list.currentRow()
        if self._spec is None or row < 0:
            return
        if len(self._spec["roles"]) == 1:
            self.sig_status.emit("A team needs at least one role.", 3000)
            return
        removed = self._spec["roles"].pop(row)
        self._mark_dirty()
        self._fill_roles(select=min(row, len(self._spec["roles"]) - 1))
        self.sig_status.emit(
            f"Removed {removed['title']}. Add it back from “+ Add role” if you change your mind.", 4000
        )

    def move_role(self, delta: int) -> None:
        row = self.role_list.currentRow()
        if self._spec is None or row < 0:
            return
        target = row + delta
        roles = self._spec["roles"]
        if not 0 <= target < len(roles):
            return
        roles[row], roles[target] = roles[target], roles[row]
        self._mark_dirty()
        self._fill_roles(select=target)

    def run_task(self, task: str, tests: str, mode: str) -> None:
        if self._spec is None:
            self.banner.show_message(
                "There is no team yet.", "Propose one from a purpose, or pick a saved team."
            )
            return
        self._spec["name"] = self.name_edit.text().strip() or self._spec["name"]
        self.proposals_panel.clear()
        if self._project is not None and not any("files" in r.get("tools", []) for r in self._spec["roles"]):
            self.sig_status.emit(
                f"No role has “Read/write files”, so this run will not see {self._project.name}.", 6000
            )
        self._run_request = self._bridge.run_team(copy.deepcopy(self._spec), task, tests or None, mode)
        self.run_panel.set_role_titles({r["name"]: r["title"] for r in self._spec["roles"]})
        self.run_panel.start(self._run_request)

    def reload_spec(self, spec: dict) -> None:
        """Show ``spec`` as saved (after a proposal was applied or undone), keeping the selected role."""
        row = self.role_list.currentRow()
        self._spec, self._dirty = spec, False
        self._show_spec()
        self._fill_roles(select=max(0, row))

    def set_project(self, info) -> None:
        """The open project folder (a ProjectInfo), or None; roles with the files tool work in it."""
        self._project = info
    def keep_tests(self, name: str, task: str, tests: str) -> None:
        """Add a run's kept tests to the evaluation suite (same name: replaced)."""
        EngineOp(
            self, lambda e: e.evals.keep(name, task, tests, source="kept"), what="keeping tests"
        ).success(
            lambda row: self.sig_status.emit(
                f"Kept the tests of “{row['name']}” in the evaluation suite (Runs → Evaluate).", 5000
            )
        ).run(self._bridge)

    def stop_run(self) -> None:
        if self._run_request is not None:
            self._bridge.stop(self._run_request)

    # -- engine answers ---------------------------------------------------------------------------
    def _on_catalog(self, catalog: TeamCatalog) -> None:
        self._catalog = catalog
        # Refilling the list must not "open" whichever team Qt makes current along the way.
        self.team_list.blockSignals(True)
        self.team_list.clear()
        for team in catalog.teams:
            item = QListWidgetItem(team.name)
            item.setData(Qt.ItemDataRole.UserRole, team.id)
            item.setToolTip(f"{team.purpose}\nRoles: {', '.join(team.roles)}")
            self.team_list.addItem(item)
        self.team_list.blockSignals(False)
        self.team_list.setVisible(bool(catalog.teams))
        self.no_teams.setVisible(not catalog.teams)
        self.add_role_menu.clear()
        for name, role in catalog.role_templates.items():
            action = self.add_role_menu.addAction(role.get("title", name))
            action.triggered.connect(lambda _=False, n=name: self.add_role(n))
        self.add_role_menu.addSeparator()
        custom = self.add_role_menu.addAction("Custom role")
        custom.triggered.connect(lambda: self.add_role("custom"))
        self.role_editor.set_models(catalog.models)
        self.role_editor.set_mcp_tools(catalog.mcp_tools)
        self._select_saved(self._spec.get("id") if self._spec else None)
        self._maybe_open_default()

    def _on_settings(self, snapshot) -> None:
        self._default_team = snapshot.settings.get("default_team")
        self._maybe_open_default()

    def _maybe_open_default(self) -> None:
        if self._opened_default or self._spec is not None or not self._default_team or self._catalog is None:
            return
        team = next((t for t in self._catalog.teams if t.name == self._default_team), None)
        if team is not None:
            self._opened_default = True
            self.open_team(team.id)

    def _on_proposed(self, spec: dict) -> None:
        self.propose_button.setEnabled(True)
        self._spec, self._dirty = spec, True
        self._show_spec()
        how = spec.get("chosen_by", "")
        why = (
            "by the model"
            if how == "model"
            else "from the words in your purpose"
            if how.startswith("rule")
            else ""
        )
        self.sig_status.emit(
            f"Proposed {len(spec['roles'])} roles {why}. Edit them, then Save.".replace("  ", " "), 5000
        )

    def _on_loaded(self, spec: dict) -> None:
        self._spec, self._dirty = spec, False
        self._show_spec()

    def _on_saved(self, spec: dict, what: str) -> None:
        if self._spec is not None and self._spec.get("id") == spec.get("id"):
            self._spec, self._dirty = spec, False
            self._show_spec(load_contract=False)
            self._contract.show_state(spec.get("contract_state") or {})
        self.sig_status.emit(
            {"restore": f"Restored “{spec['name']}”.", "save": f"Saved “{spec['name']}”."}.get(what, ""), 3000
        )
        self.refresh()

    def _on_deleted(self, team_id: str) -> None:
        name = self._deleted["name"] if self._deleted else "the team"
        if self._spec is not None and self._spec.get("id") == team_id:
            self._spec, self._dirty = None, False
            self._show_spec()
        self.undo_banner.show_message(
            f"Deleted “{name}”.", "", actions=[("Undo", self.undo_delete)], timeout_ms=UNDO_MS
        )
        self.refresh()

    def _on_run_ended(self, request_id: str, result, status: str) -> None:
        if self._run_request is not None and request_id == self._run_request.id:
            self._run_request = None
        self.run_panel.finish(request_id, result, status)
        if getattr(result, "proposals", None):
            self.proposals_panel.load_run(result.run_id)

    def _on_run_failed(self, request_id: str, err: ErrorInfo) -> None:
        if self._run_request is not None and request_id == self._run_request.id:
            self._run_request = None
        self.run_panel.fail(request_id, err)

    def _on_delete_failed(self, err: ErrorInfo) -> None:
        self._deleted = None
        self._on_failed(err)

    def _on_failed(self, err: ErrorInfo) -> None:
        self.propose_button.setEnabled(True)
        self.banner.show_message(err.message, err.hint)

    # -- helpers ----------------------------------------------------------------------------------
    def _confirm_discard(self) -> bool:
        if not self._dirty or self._spec is None:
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved team",
            f"Save the changes to “{self._spec.get('name', 'this team')}” first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Save:
            self.save()
            return True
        return answer == QMessageBox.StandardButton.Discard

    def _on_budget_changed(self, key: str, value: int) -> None:
        if key in _SWITCHES:
            value = bool(value)
        if self._spec is None or self._spec.get(key, _SWITCHES.get(key)) == value:
            return
        self._spec[key] = value
        self._mark_dirty()

    def _show_spec(self, load_contract: bool = True) -> None:
        spec = self._spec
        self.editor.setVisible(spec is not None)
        self.editor_empty.setVisible(spec is None)
        if spec is None:
            self.role_editor.set_role(None)
            self._update_dirty()
            return
        if spec.get("purpose") and self.purpose_edit.text().strip() != spec["purpose"]:
            self.purpose_edit.setText(spec["purpose"])
        self.name_edit.setText(spec.get("name", ""))
        self.budgets.show_spec(spec)
        self._fill_roles(select=0)
        if load_contract:
            self._contract.load()
        self._select_saved(spec.get("id"))
        self._update_dirty()

    def _fill_roles(self, select: int = 0) -> None:
        self.role_list.blockSignals(True)
        self.role_list.clear()
        for i, role in enumerate(self._spec["roles"] if self._spec else []):
            item = QListWidgetItem(self._role_text(i, role))
            item.setToolTip(role.get("instructions", ""))
            self.role_list.addItem(item)
        self.role_list.blockSignals(False)
        if self.role_list.count():
            self.role_list.setCurrentRow(max(0, min(select, self.role_list.count() - 1)))
            self._on_role_selected(self.role_list.currentRow())

    @staticmethod
    def _role_text(i: int, role: dict) -> str:
        tools = ", ".join(role.get("tools") or []) or "no tools"
        return f"{i + 1}.  {role.get('title', role.get('name', '?'))}   ·   {tools}"

    def _on_role_selected(self, row: int) -> None:
        roles = self._spec["roles"] if self._spec else []
        self.role_editor.set_role(roles[row] if 0 <= row < len(roles) else None)
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < len(roles) - 1)
        self.remove_role_button.setEnabled(len(roles) > 1)

    def _on_rows_dragged(self, *_args) -> None:
        # The list reordered itself; rebuild the spec's order from the items' original positions.
        if self._spec is None:
            return
        by_text = {self._role_text(i, r): r for i, r in enumerate(self._spec["roles"])}
        order = [by_text.get(self.role_list.item(i).text()) for i in range(self.role_list.count())]
        if None in order or len(order) != len(self._spec["roles"]):
            return
        self._spec["roles"] = order
        self._mark_dirty()
        self._fill_roles(select=self.role_list.currentRow())

    def _on_role_changed(self) -> None:
        row = self.role_list.currentRow()
        if self._spec is not None and 0 <= row < len(self._spec["roles"]):
            self.role_list.item(row).setText(self._role_text(row, self._spec["roles"][row]))
        self._mark_dirty()

    def _on_name_edited(self, text: str) -> None:
        if self._spec is not None:
            self._spec["name"] = text.strip()
            self._mark_dirty()

    def _mark_dirty(self) -> None:
        self._dirty = True
        self._update_dirty()

    def _update_dirty(self) -> None:
        self.dirty_label.setText("● unsaved" if self._dirty else "")
        saved = (
            self._spec is not None
            and self._catalog is not None
            and any(t.id == self._spec["id"] for t in self._catalog.teams)
        )
        self.delete_button.setEnabled(saved)
        self.duplicate_button.setEnabled(self._spec is not None)
        self.save_button.setEnabled(self._spec is not None)

    def _select_saved(self, team_id: str | None) -> None:
        self.team_list.blockSignals(True)
        self.team_list.clearSelection()
        for i in range(self.team_list.count()):
            item = self.team_list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == team_id:
                self.team_list.setCurrentItem(item)
        self.team_list.blockSignals(False)
        self._update_dirty()

    def _team_menu(self, pos) -> None:
        item = self.team_list.itemAt(pos)
        if item is None:
            return
        self.open_team(item.data(Qt.ItemDataRole.UserRole))
        menu = QMenu(self)
        menu.addAction("Duplicate", self.duplicate)
        menu.addSeparator()
        menu.addAction("Delete", self.delete_current)
        menu.popup(self.team_list.viewport().mapToGlobal(pos))
