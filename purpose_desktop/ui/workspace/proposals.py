"""ProposalsPanel: a run's or a chat reply's proposed file changes, one diff per file, applied or rejected here.

Nothing is written until the person presses Apply; after an apply the project's tests run in the sandbox
and their result shows under the changes (a refused sandbox reads "not run", never "failed").
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.ui.bridge import EngineBridge, ErrorInfo
from purpose_desktop.ui.ops import EngineOp
from purpose_desktop.ui.widgets import Badge, BusyBar
from purpose_desktop.ui.workspace.diff_view import DiffView

_STATE = {"proposed": "running", "applied": "good", "rejected": "poor", "stale": "fair", "superseded": "none"}
CHECK_STATES = {"passed": "good", "failed": "poor", "not run": "fair", "no tests": "none"}


def checks_text(checks: dict | None) -> str:
    """One line for the project's test result after an apply, saying what grounds it."""
    if not checks:
        return ""
    status = checks.get("status", "not run")
    if status in ("passed", "failed"):
        where = f" · sandbox: {checks['backend']}" if checks.get("backend") else ""
        return f"Project tests {status}: {checks.get('passed', 0)} passed, {checks.get('failed', 0)} failed{where}"
    reason = checks.get("reason") or ""
    if status == "no tests":
        return "No project tests to run" + (f" ({reason})" if reason else "")
    return f"Project tests {status}" + (f" — {reason}" if reason else "")


class ProposalCard(QFrame):
    """One file's proposed change: path, size of the change, status, Apply / Reject, and the diff."""

    sig_apply_requested = Signal(str)
    sig_reject_requested = Signal(str)

    def __init__(self, proposal: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.proposal = proposal
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        head = QHBoxLayout()
        self.path_label = QLabel(proposal["path"], objectName="cardTitle")
        self.path_label.setMinimumWidth(40)
        self.path_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.path_label.setToolTip(proposal["path"])
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        change = (
            "new file" if proposal.get("before") is None else f"+{proposal['added']} −{proposal['removed']}"
        )
        self.change_label = QLabel(change, objectName="cardText")
        self.status_badge = Badge()
        self.apply_button = QPushButton("Apply", objectName="primaryButton")
        self.apply_button.setToolTip("Write this change to the file, then run the project's tests")
        self.reject_button = QPushButton("Reject", objectName="secondaryButton")
        self.reject_button.setToolTip("Discard this change; the file is not touched")
        for b in (self.apply_button, self.reject_button):
            b.setCursor(Qt.CursorShape.PointingHandCursor)
        self.apply_button.clicked.connect(lambda: self.sig_apply_requested.emit(self.proposal["id"]))
        self.reject_button.clicked.connect(lambda: self.sig_reject_requested.emit(self.proposal["id"]))
        self.path_label.setWordWrap(True)
        layout.addWidget(self.path_label)
        head.addWidget(self.change_label)
        head.addWidget(self.status_badge)
        head.addStretch(1)
        head.addWidget(self.reject_button)
        head.addWidget(self.apply_button)
        layout.addLayout(head)
        self.reason_label = QLabel("", objectName="cardText")
        self.reason_label.setWordWrap(True)
        layout.addWidget(self.reason_label)
        self.diff_view = DiffView(proposal.get("diff", ""), proposal["path"])
        layout.addWidget(self.diff_view)
        self.set_proposal(proposal)

    def set_proposal(self, proposal: dict) -> None:
        self.proposal = proposal
        status = proposal.get("status", "proposed")
        self.status_badge.set_state(_STATE.get(status, "none"), status)
        open_ = status == "proposed"
        self.apply_button.setVisible(open_)
        self.reject_button.setVisible(open_)
        reason = proposal.get("reason") or ""
        self.reason_label.setText(reason if status in ("stale", "superseded") else "")
        self.reason_label.setVisible(bool(self.reason_label.text()))


class ProposalsPanel(QFrame):
    """The proposed changes of one run (Team pane) or one reply (chat), with their diffs and decisions."""

    #: (applied ids, checks dict or None) after an apply; the list of rejected ids after a reject.
    sig_applied = Signal(list, object)
    sig_rejected = Signal(list)
    sig_status = Signal(str, int)

    def __init__(
        self, bridge: EngineBridge, parent: QWidget | None = None, *, scrolling: bool = True
    ) -> None:
        """``scrolling``: the cards scroll inside the panel (chat); False when the panel sits in a scrolling column."""
        super().__init__(parent)
        self.setObjectName("proposalsPanel")
        self._bridge = bridge
        self._owner: tuple[str, str] | None = None  # ("run" | "message", id)
        self.cards: list[ProposalCard] = []
        self.refused: list[dict] = []
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24 if scrolling else 0, 6, 24 if scrolling else 0, 6)
        outer.setSpacing(6)
        head = QHBoxLayout()
        self.title = QLabel("", objectName="sectionTitle")
        self.title.setWordWrap(True)
        self.title.setMinimumWidth(80)
        self.apply_all_button = QPushButton("&Apply all", objectName="primaryButton")
        self.apply_all_button.setToolTip(
            "Write every proposed change shown here, then run the project's tests"
        )
        self.reject_all_button = QPushButton("Re&ject all", objectName="secondaryButton")
        self.reject_all_button.setToolTip("Discard every proposed change shown here; no file is touched")
        self.apply_all_button.clicked.connect(self.apply_all)
        self.reject_all_button.clicked.connect(self.reject_all)
        head.addWidget(self.title, 1)
        head.addWidget(self.reject_all_button)
        head.addWidget(self.apply_all_button)
        outer.addLayout(head)
        self.note = QLabel("", objectName="cardText")
        self.note.setWordWrap(True)
        outer.addWidget(self.note)
        body = QWidget()
        self.cards_layout = QVBoxLayout(body)
        self.cards_layout.setContentsMargins(0, 0, 0, 0)
        self.cards_layout.setSpacing(8)
        self.cards_layout.addStretch(1)
        self.scroll: QScrollArea | None = None
        if scrolling:
            self.scroll = QScrollArea()
            self.scroll.setWidgetResizable(True)
            self.scroll.setFrameShape(QFrame.Shape.NoFrame)
            self.scroll.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            self.scroll.setWidget(body)
            self.scroll.setMinimumHeight(160)
            self.scroll.setMaximumHeight(380)
            outer.addWidget(self.scroll)
        else:
            outer.addWidget(body)
        self.checks_badge = Badge()
        self.checks_badge.setWordWrap(True)
        self.checks_badge.hide()
        self.checks_badge.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        outer.addWidget(self.checks_badge)
        self.busy = BusyBar()
        outer.addWidget(self.busy)
        self.hide()

    # -- loading ------------------------------------------------------------------------------------
    def load_run(self, run_id: str) -> None:
        """Show ``run_id``'s proposals (hidden when it proposed none)."""
        self.refused = []
        self._load(("run", run_id), lambda e: e.workspace.proposals(run_id=run_id))

    def load_message(self, message_id: str, refused: list | tuple = ()) -> None:
        """Show a chat reply's proposals, and the changes it asked for that were refused (and why)."""
        self.refused = list(refused)
        self._load(("message", message_id), lambda e: e.workspace.proposals(message_id=message_id))

    def clear(self) -> None:
        self._owner = None
        self.refused = []
        self.set_proposals([])

    def _load(self, owner: tuple[str, str], fn) -> None:
        self._owner = owner

        def shown(proposals: list) -> None:
            if self._owner == owner:
                self.set_proposals(proposals)

        EngineOp(self, fn, what="reading proposed changes").success(shown).failure(self._failed).run(
            self._bridge
        )

    def set_proposals(self, proposals: list[dict]) -> None:
        for card in self.cards:
            card.setParent(None)
            card.deleteLater()
        self.cards = []
        visible = [p for p in proposals if p.get("status") != "superseded"]
        for p in visible:
            card = ProposalCard(p)
            card.sig_apply_requested.connect(lambda pid: self.apply([pid]))
            card.sig_reject_requested.connect(lambda pid: self.reject([pid]))
            self.cards_layout.insertWidget(self.cards_layout.count() - 1, card)
            self.cards.append(card)
        self.checks_badge.hide()
        last_checks = next((p.get("checks") for p in reversed(visible) if p.get("checks")), None)
        if last_checks:
            self._show_checks(last_checks)
        self._update_header()
        self.setVisible(bool(visible) or bool(self.refused))

    def pending_ids(self) -> list[str]:
        return [c.proposal["id"] for c in self.cards if c.proposal.get("status") == "proposed"]

    # -- decisions ----------------------------------------------------------------------------------
    def apply_all(self) -> None:
        self.apply(self.pending_ids())

    def reject_all(self) -> None:
        self.reject(self.pending_ids())

    def apply(self, ids: list[str]) -> None:
        if not ids:
            return
        self._set_busy(True, "Applying and running the project's tests…")
        EngineOp(self, lambda e: e.workspace.apply(ids), what="applying changes").success(
            self._on_applied
        ).failure(self._failed).run(self._bridge)

    def reject(self, ids: list[str]) -> None:
        if not ids:
            return
        self._set_busy(True, "Rejecting…")
        EngineOp(self, lambda e: e.workspace.reject(ids), what="rejecting changes").success(
            self._on_rejected
        ).failure(self._failed).run(self._bridge)

    def _on_applied(self, report: dict) -> None:
        self._set_busy(False)
        for p in report["applied"] + report["stale"]:
            self._update_card(p)
        self._show_checks(report.get("checks"))
        self._update_header()
        n, stale = len(report["applied"]), len(report["stale"])
        msg = f"Applied {n} change{'s' if n != 1 else ''}."
        if stale:
            msg += f" {stale} not applied: the file changed since it was proposed."
        self.sig_status.emit(msg, 5000)
        self.sig_applied.emit([p["id"] for p in report["applied"]], report.get("checks"))

    def _on_rejected(self, proposals: list) -> None:
        self._set_busy(False)
        for p in proposals:
            self._update_card(p)
        self._update_header()
        self.sig_status.emit(
            f"Rejected {len(proposals)} change{'s' if len(proposals) != 1 else ''}; no file was touched.",
            4000,
        )
        self.sig_rejected.emit([p["id"] for p in proposals])

    def _failed(self, err: ErrorInfo) -> None:
        self._set_busy(False)
        self.note.setText(f"{err.message} {err.hint}".strip())
        self.sig_status.emit(err.message, 6000)

    # -- helpers ------------------------------------------------------------------------------------
    def _update_card(self, proposal: dict) -> None:
        for card in self.cards:
            if card.proposal["id"] == proposal["id"]:
                card.set_proposal(proposal)

    def _show_checks(self, checks: dict | None) -> None:
        text = checks_text(checks)
        self.checks_badge.setVisible(bool(text))
        if text:
            self.checks_badge.set_state(CHECK_STATES.get(checks.get("status", ""), "none"), text)
            self.checks_badge.setToolTip((checks.get("output") or "")[-2000:])

    def _update_header(self) -> None:
        pending = len(self.pending_ids())
        total = len(self.cards)
        if pending:
            self.title.setText(
                f"Proposed changes — {pending} of {total} file{'s' if total != 1 else ''} waiting for you"
            )
        else:
            self.title.setText(f"Proposed changes — all {total} decided" if total else "Proposed changes")
        self.apply_all_button.setEnabled(pending > 0)
        self.reject_all_button.setEnabled(pending > 0)
        refused = "; ".join(f"{r['path']}: {r['reason']}" for r in self.refused)
        self.note.setText(
            ("Nothing is written until you apply a change." if pending else "")
            + (f" Refused: {refused}" if refused else "")
        )
        self.note.setVisible(bool(self.note.text()))

    def _set_busy(self, busy: bool, text: str = "") -> None:
        for b in (self.apply_all_button, self.reject_all_button, *(c.apply_button for c in self.cards)):
            b.setEnabled(not busy)
        if busy:
            self.busy.start(text)
        else:
            self.busy.stop()
            self._update_header()
            for c in self.cards:
                c.apply_button.setEnabled(True)
