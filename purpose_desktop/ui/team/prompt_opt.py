"""Role-prompt proposals in the Team pane: propose (progress, Cancel), review the diff and the suite's numbers, Apply, Undo.

``PromptOptimiser`` is the pane's side: it asks ``engine.prompts.propose`` for the selected role of the saved
team through an EngineOp, shows the suite's progress, then opens ``PromptProposalDialog``. Apply happens only
when the person presses it — with an explicit confirmation when the suite did not do better — and one Undo
restores the instructions it replaced.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.ui import theme
from purpose_desktop.ui.ops import EngineOp
from purpose_desktop.ui.widgets import Badge, BusyBar, LatestProgress

if TYPE_CHECKING:
    from purpose_desktop.ui.team.pane import TeamPane

POLL_MS = 150
SHORTCUT = "Ctrl+Shift+I"
UNDO_MS = 30_000


#: Row colours per theme: (added, removed, hunk header, muted text) — the workspace diff's palette.
_COLOURS = {
    "light": ("#e6ffec", "#ffebe9", "#ddf4ff", "#8c959f"),
    "dark": ("#12261e", "#301b1e", "#161f2e", "#6e7681"),
}


def prose_diff_html(diff: str) -> str:
    """Qt rich text for a diff of instructions (prose): a paragraph per line, wrapped, added green, removed red."""
    added, removed, _hunk, muted = _COLOURS["dark" if theme.current() == "dark" else "light"]
    rows = []
    for line in diff.splitlines():
        if line.startswith(("--- ", "+++ ", "@@")):
            continue
        sign, body = (line[:1] or " "), line[1:]
        bg = {"+": f"background-color:{added};", "-": f"background-color:{removed};"}.get(sign, "")
        rows.append(
            f'<p style="margin:0; padding:1px; {bg}"><span style="color:{muted}">{html.escape(sign)}&nbsp;</span>'
            f"{_indented(body)}</p>"
        )
    return "".join(rows) or f'<p style="color:{muted}">No change.</p>'


def _indented(text: str) -> str:
    """A line as rich text that wraps but keeps its indentation (code in an example)."""
    stripped = text.lstrip(" ")
    return "&nbsp;" * (len(text) - len(stripped)) + html.escape(stripped) if text.strip() else "&nbsp;"


def rate_text(r: dict) -> str:
    if not r or r.get("pass_rate") is None:
        return "–"
    return f"{r['n_passed']}/{r['n_tasks']} passed ({r['pass_rate'] * 100:.0f}%)"


class PromptProposalDialog(QDialog):
    """The proposal: verdict, suite results before/after per task, what produced it, and the instruction diff."""

    #: the person pressed Apply (and confirmed, when the suite did not do better).
    sig_apply_requested = Signal()
    #: the person dismissed the proposal (kept in the history as dismissed).
    sig_dismiss_requested = Signal()

    def __init__(self, proposal: dict, role_title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.proposal = proposal
        self.setObjectName("promptProposalDialog")
        self.setWindowTitle(f"Proposed instructions for the {role_title}")
        self.resize(820, 720)
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        title = QLabel(f"Proposed instructions for the {role_title} of “{proposal['team_name']}”")
        title.setObjectName("sectionTitle")
        layout.addWidget(title)

        before, after = proposal["before"], proposal["after"]
        head = QHBoxLayout()
        self.verdict_badge = Badge(
            "Recommended" if proposal["recommended"] else "Not better",
            "good" if proposal["recommended"] else "poor",
        )
        head.addWidget(self.verdict_badge)
        self.rates_label = QLabel(f"Evaluation suite: {rate_text(before)}  →  {rate_text(after)}")
        self.rates_label.setObjectName("sectionTitle")
        head.addWidget(self.rates_label, 1)
        layout.addLayout(head)
        self.warning = QLabel(
            "The suite did not do better with these instructions. Apply them only if you have another reason "
            "to; you will be asked to confirm."
        )
        self.warning.setWordWrap(True)
        self.warning.setObjectName("mutedText")
        self.warning.setVisible(not proposal["recommended"])
        layout.addWidget(self.warning)

        self.table = QTableWidget(0, 3, objectName="proposalResults")
        self.table.setHorizontalHeaderLabels(["Suite task", "Instructions now", "Proposed"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        after_by = {r["name"]: r for r in after.get("results", [])}
        for r in before.get("results", []):
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem(r["name"]))
            for col, res in ((1, r), (2, after_by.get(r["name"], {}))):
                self.table.setItem(row, col, QTableWidgetItem(_task_cell(res)))
        self.table.resizeRowsToContents()
        rows_height = self.table.verticalHeader().length() + self.table.horizontalHeader().sizeHint().height()
        self.table.setFixedHeight(min(240, rows_height + 2 * self.table.frameWidth() + 2))
        layout.addWidget(self.table)

        layout.addWidget(QLabel("What produced this", objectName="sectionTitle"))
        why = proposal["explanation"]
        if proposal.get("excluded"):
            why += "\n\nLeft out:\n" + "\n".join(
                f"• “{e['task'][:70]}” — {e['reason']}" for e in proposal["excluded"][:6]
            )
        self.explanation = QLabel(why)
        self.explanation.setWordWrap(True)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.explanation)

        layout.addWidget(QLabel("Change to the instructions", objectName="sectionTitle"))
        self.diff_view = QTextBrowser(objectName="diffView")
        self.diff_view.setHtml(prose_diff_html(proposal["diff"]))
        self.diff_view.setAccessibleName("Instruction diff")
        layout.addWidget(self.diff_view, 1)

        buttons = QDialogButtonBox()
        self.dismiss_button = buttons.addButton("Dismiss", QDialogButtonBox.ButtonRole.DestructiveRole)
        self.dismiss_button.setToolTip("Keep the instructions as they are; the proposal stays in the history")
        self.close_button = buttons.addButton("Close", QDialogButtonBox.ButtonRole.RejectRole)
        self.apply_button = buttons.addButton("Apply", QDialogButtonBox.ButtonRole.AcceptRole)
        self.apply_button.setObjectName("primaryButton" if proposal["recommended"] else "secondaryButton")
        self.apply_button.setToolTip("Put these instructions into the saved team (one Undo restores them)")
        self.apply_button.clicked.connect(self.apply)
        self.dismiss_button.clicked.connect(self._dismiss)
        self.close_button.clicked.connect(self.reject)
        layout.addWidget(buttons)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        # Enter applies only a recommended proposal; otherwise it closes (set once shown: QDialog picks its own).
        recommended = self.proposal["recommended"]
        self.apply_button.setAutoDefault(recommended)
        self.apply_button.setDefault(recommended)
        self.close_button.setDefault(not recommended)

    def confirm_not_better(self) -> bool:
        """Ask before applying instructions that did not do better (the default answer is No)."""
        b, a = self.proposal["before"], self.proposal["after"]
        answer = QMessageBox.warning(
            self,
            "Apply instructions that did not do better?",
            f"On the evaluation suite the proposed instructions scored {rate_text(a)}, against {rate_text(b)} "
            "with the instructions now. Apply them anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def apply(self) -> None:
        if not self.proposal["recommended"] and not self.confirm_not_better():
            return
        self.sig_apply_requested.emit()
        self.accept()

    def _dismiss(self) -> None:
        self.sig_dismiss_requested.emit()
        self.reject()


def _task_cell(r: dict) -> str:
    if not r:
        return "–"
    tests = r.get("tests") or {}
    if tests.get("refused"):
        return "not run (sandbox refused)"
    if r.get("passed"):
        return f"passed ({tests.get('passed', 0)} tests)"
    total = int(tests.get("passed") or 0) + int(tests.get("failed") or 0)
    return f"failed ({tests.get('failed', 0)} of {total} tests)" if total else "failed (no code to test)"


class PromptOptimiser(QWidget):
    """The pane's "Propose prompt improvements…" action: progress row with Cancel, then the dialog, Apply, Undo."""

    def __init__(self, pane: TeamPane) -> None:
        super().__init__(pane)
        self._pane = pane
        self._cancel: CancelToken | None = None
        self._progress = LatestProgress()
        self.dialog: PromptProposalDialog | None = None
        self._applied: dict | None = None  # the proposal an Undo would revert
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.busy = BusyBar(cancellable=True)
        self.busy.sig_cancel_requested.connect(self.cancel)
        layout.addWidget(self.busy)
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self._poll)
        self.hide()  # takes no room in the pane until a proposal is being scored

    def install(self) -> None:
        """Wire the pane's ✦ button, the pane-wide shortcut and the roles' right-click menu to ``propose``."""
        pane = self._pane
        button = pane.propose_prompt_button
        button.setAccessibleName("Propose prompt improvements…")
        button.setToolTip(
            "Propose prompt improvements for the selected role: examples from its passing runs, scored on "
            f"the evaluation suite before and after; nothing changes until you apply ({SHORTCUT})"
        )
        button.clicked.connect(self.propose)
        action = QAction("Propose prompt improvements…", pane)
        action.setShortcut(QKeySequence(SHORTCUT))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(self.propose)
        pane.addAction(action)
        pane.role_list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        pane.role_list.customContextMenuRequested.connect(self._role_menu)

    def _role_menu(self, pos) -> None:
        roles = self._pane.role_list
        if roles.itemAt(pos) is None:
            return
        menu = QMenu(self._pane)
        menu.addAction(f"Propose prompt improvements…\t{SHORTCUT}", self.propose)
        menu.popup(roles.viewport().mapToGlobal(pos))

    @property
    def running(self) -> bool:
        return self._cancel is not None

    def propose(self) -> None:
        pane = self._pane
        row = pane.role_list.currentRow()
        spec = pane.spec
        if self.running or spec is None or not 0 <= row < len(spec["roles"]):
            return
        saved = pane._catalog is not None and any(t.id == spec["id"] for t in pane._catalog.teams)
        if not saved or pane.dirty:
            pane.banner.show_message(
                "Save the team first.",
                "A proposal is scored on the saved team and changes it only when you apply it; press Save (Ctrl+S).",
            )
            return
        role = spec["roles"][row]
        self._role_title = role.get("title") or role["name"]
        self._cancel = token = CancelToken()
        progress, team_id, name = self._progress, spec["id"], role["name"]
        pane.banner.dismiss()
        pane.propose_prompt_button.setEnabled(False)
        self.show()
        self._timer.start()
        EngineOp(
            pane,
            lambda e: e.prompts.propose(team_id, name, progress=progress.put, cancel=token),
            what="proposing role instructions",
        ).success(self._on_proposed).failure(self._on_failed).busy(
            self.busy, f"Finding passing answers of the {self._role_title}…"
        ).run(pane._bridge)

    def cancel(self) -> None:
        if self._cancel is not None and not self._cancel.is_set():
            self._cancel.set()
            self.busy.label.setText("Cancelling after the current task…")
            self.busy.cancel_button.setEnabled(False)

    def _poll(self) -> None:
        p = self._progress.take()
        if p is None or (self._cancel is not None and self._cancel.is_set()):
            return
        what = "instructions now" if p["phase"] == "before" else f"examples {p['candidate']}/{p['of']}"
        if p["name"]:
            self.busy.set_progress(
                p["done"] / max(1, p["total"]), f"Suite {p['done'] + 1}/{p['total']} · {what}"
            )
            self.busy.label.setToolTip(
                f"Scoring the {what} on the evaluation suite, task “{p['name']}” (evaluation mode: nothing learned)"
            )

    def _end(self) -> None:
        self.hide()
        self._timer.stop()
        self._cancel = None
        self._pane.propose_prompt_button.setEnabled(True)

    def _on_failed(self, err) -> None:
        self._end()
        self._pane.banner.show_message(err.message, err.hint)

    def _on_proposed(self, proposal) -> None:
        self._end()
        p = proposal.to_dict()
        if p["status"] == "cancelled":
            self._pane.sig_status.emit("Cancelled: nothing was proposed and nothing changed.", 5000)
            return
        self.show_proposal(p)

    def show_proposal(self, p: dict) -> PromptProposalDialog:
        self.dialog = dialog = PromptProposalDialog(p, getattr(self, "_role_title", p["role"]), self._pane)
        dialog.sig_apply_requested.connect(lambda: self.apply(p))
        dialog.sig_dismiss_requested.connect(lambda: self.dismiss(p))
        dialog.open()
        return dialog

    def apply(self, p: dict) -> None:
        pane = self._pane
        confirmed = not p["recommended"]  # the dialog asked; the engine refuses without it
        EngineOp(
            pane, lambda e: e.prompts.apply(p["id"], confirm_not_better=confirmed), what="applying"
        ).success(lambda spec: self._on_applied(p, spec)).failure(self._on_failed).run(pane._bridge)

    def dismiss(self, p: dict) -> None:
        EngineOp(self._pane, lambda e: e.prompts.dismiss(p["id"]), what="dismissing a proposal").success(
            lambda _r: self._pane.sig_status.emit("Dismissed; the instructions are unchanged.", 4000)
        ).run(self._pane._bridge)

    def undo(self) -> None:
        p, self._applied = self._applied, None
        if p is None:
            return
        pane = self._pane
        EngineOp(pane, lambda e: e.prompts.undo(p["id"]), what="undoing").success(
            lambda spec: self._on_undone(p, spec)
        ).failure(self._on_failed).run(pane._bridge)

    def _on_applied(self, p: dict, spec: dict) -> None:
        self._applied = p
        self._pane.reload_spec(spec)
        self._pane.undo_banner.show_message(
            f"Applied the proposed instructions to the {self._role_title_of(p, spec)}.",
            "Undo restores the instructions they replaced.",
            actions=[("Undo", self.undo)],
            timeout_ms=UNDO_MS,
        )

    def _on_undone(self, p: dict, spec: dict) -> None:
        self._pane.reload_spec(spec)
        self._pane.sig_status.emit(
            f"Restored the {self._role_title_of(p, spec)}'s previous instructions.", 5000
        )

    @staticmethod
    def _role_title_of(p: dict, spec: dict) -> str:
        role = next((r for r in spec["roles"] if r["name"] == p["role"]), None)
        return (role or {}).get("title") or p["role"]
