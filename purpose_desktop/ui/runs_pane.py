"""RunsPane: past runs (task, team, mode, score, duration), one run's step timeline, and the learning curve
(the evaluation suite's pass rate per evaluation, see ui/evaluation.py)."""

from __future__ import annotations

import html

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.grounding import is_grounded
from purpose_desktop.ui import theme
from purpose_desktop.ui.bridge import EngineBridge
from purpose_desktop.ui.chat.messages import Banner, MessageWidget
from purpose_desktop.ui.evaluation import EvaluationCard
from purpose_desktop.ui.ops import EngineOp
from purpose_desktop.ui.source_viewer import show_source
from purpose_desktop.ui.widgets import (
    GROUNDING_SHORT,
    Badge,
    EmptyState,
    GroundingBadge,
    PaneHeader,
    grounding_state,
    grounding_tooltip,
    human_duration,
    list_table,
    local_time,
    score_state,
    score_text,
    seconds_between,
)
from purpose_desktop.ui.workspace.proposals import CHECK_STATES, checks_text

COLUMNS = ("When", "Task", "Team", "Mode", "Score", "Grounding", "Time")
SCORE_COL, GROUNDING_COL, TIME_COL = 4, 5, 6
MODE_LABELS = {"train": "learn", "eval": "evaluate", "validation": "replay"}


def run_tests(run: dict) -> dict | None:
    """The checks behind the run's score: the last step grounded the same way that ran any (None without steps)."""
    grounded_by = run.get("grounded_by")
    for step in reversed(run.get("steps") or []):
        if step.get("grounded_by") == grounded_by and step.get("tests"):
            return step["tests"]
    return None


def grounding_cell(grounded_by: str | None) -> str:
    """The runs table's few words: "given tests", "not grounded", "not recorded"."""
    return GROUNDING_SHORT.get(grounded_by or "", "not recorded")


class RunsTableModel(QAbstractTableModel):
    """Runs newest first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[dict] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def set_runs(self, runs: list[dict]) -> None:
        self.beginResetModel()
        self._rows = list(runs)
        self.endResetModel()

    def run(self, row: int) -> dict | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, run_id: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r["id"] == run_id), -1)

    def data(self, index, role: int = Qt.ItemDataRole.DisplayRole):
        r = self.run(index.row()) if index.isValid() else None
        if r is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                local_time(r.get("started_at"), "%d %b %H:%M"),
                " ".join((r.get("task") or "").split()),
                r.get("team") or "–",
                MODE_LABELS.get(r.get("mode"), r.get("mode") or ""),
                score_text(r.get("score"))
                + ("" if r.get("status") == "complete" else f" · {r.get('status')}"),
                grounding_cell(r.get("grounded_by")),
                human_duration(seconds_between(r.get("started_at"), r.get("finished_at"))),
            )[col]
        if role == Qt.ItemDataRole.ToolTipRole and col == 1:
            return r.get("task")
        if role == Qt.ItemDataRole.ToolTipRole and col in (SCORE_COL, GROUNDING_COL):
            return grounding_tooltip(r.get("grounded_by"))
        if role == Qt.ItemDataRole.ForegroundRole and col == SCORE_COL:
            return theme.color(
                {"good": "good", "fair": "fair", "poor": "poor"}.get(score_state(r.get("score")), "muted")
            )
        if role == Qt.ItemDataRole.ForegroundRole and col == GROUNDING_COL:
            return theme.color("accent" if is_grounded(r.get("grounded_by")) else "muted")
        if (
            role == Qt.ItemDataRole.FontRole
            and col == GROUNDING_COL
            and grounding_state(r.get("grounded_by")) == "unrecorded"
        ):
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (SCORE_COL, TIME_COL):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def link_label(text: str, href: str, on_click) -> QLabel:
    """A word-wrapped link (a long memory text wraps instead of widening the pane)."""
    label = QLabel(
        f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>', objectName="linkLabel"
    )
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setCursor(Qt.CursorShape.PointingHandCursor)
    label.linkActivated.connect(on_click)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


class RunDetail(QScrollArea):
    """One run: what was asked, each step (role, score, evidence, tools, memories, vault passages), the answer."""

    #: (memory id) the person clicked a memory a step used.
    sig_memory_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        canvas = QWidget(objectName="timelineCanvas")
        self._layout = QVBoxLayout(canvas)
        self._layout.setContentsMargins(12, 0, 8, 8)
        self._layout.setSpacing(8)
        self.setWidget(canvas)
        self.empty = EmptyState(
            "Pick a run", "Its steps, scores and the memories each step used appear here."
        )
        self._layout.addWidget(self.empty)
        self._layout.addStretch(1)
        self.run: dict | None = None
        self.run_grounding: GroundingBadge | None = None
        self._sources: dict[str, dict] = {}
        self.last_viewer = None

    def _on_link(self, href: str) -> None:
        kind, _, key = href.partition(":")
        if kind == "memory" and key:
            self.sig_memory_clicked.emit(key)
        elif kind == "source" and key in self._sources:
            self.last_viewer = show_source(self, self._sources[key])

    def clear(self) -> None:
        self._sources.clear()
        while self._layout.count():
            item = self._layout.takeAt(0)
            w = item.widget()
            if w is not None and w is not self.empty:
                w.hide()  # gone at once, not when the deferred delete runs
                w.deleteLater()
        self._layout.addWidget(self.empty)
        self._layout.addStretch(1)

    def show_run(self, run: dict | None) -> None:
        self.run = run
        self.clear()
        if run is None:
            self.empty.show()
            return
        self.empty.hide()
        self._layout.takeAt(self._layout.count() - 1)  # the stretch goes back at the end
        title = QLabel(" ".join((run.get("task") or "").split()), objectName="cardTitle")
        title.setWordWrap(True)
        title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._layout.addWidget(title)
        seconds = seconds_between(run.get("started_at"), run.get("finished_at"))
        meta = QLabel(
            f"{run.get('team') or 'no team'} · {MODE_LABELS.get(run.get('mode'), run.get('mode'))} · "
            f"{run.get('status')} · final score {score_text(run.get('score'))}/10 · {human_duration(seconds)} · "
            f"{local_time(run.get('started_at'))} · run {run['id'][:8]}",
            objectName="mutedText",
        )
        meta.setWordWrap(True)
        self._layout.addWidget(meta)
        self.workspace_labels = self._workspace_lines(run.get("meta") or {})
        for label in self.workspace_labels:
            self._layout.addWidget(label)
        self.run_grounding = None
        if run.get("score") is not None:
            self.run_grounding = GroundingBadge(run.get("grounded_by"), run_tests(run))
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            line.addWidget(QLabel("Final score:", objectName="stepMeta"))
            line.addWidget(self.run_grounding)
            line.addStretch(1)
            self._layout.addWidget(row)
        for step in run.get("steps", []):
            self._layout.addWidget(self._step_card(step))
        answer = run.get("answer") or ""
        if answer.strip():
            card = QFrame(objectName="answerCard")
            card.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
            box = QVBoxLayout(card)
            box.setContentsMargins(12, 8, 12, 10)
            box.addWidget(QLabel("Answer", objectName="stepRole"))
            message = MessageWidget("assistant", "")
            message.name_label.hide()
            message.set_text(answer)
            box.addWidget(message)
            self._layout.addWidget(card)
        self._layout.addStretch(1)

    @staticmethod
    def _workspace_lines(meta: dict) -> list[QLabel]:
        """The project folder a run worked in, and the project's tests after each applied change."""
        if not meta.get("workspace"):
            return []
        out = [QLabel(f"Project folder: {meta['workspace']}", objectName="mutedText")]
        for checks in meta.get("workspace_checks") or []:
            n = len(checks.get("proposals") or [])
            badge = Badge(f"After applying {n} change{'s' if n != 1 else ''}: {checks_text(checks)}")
            badge.set_state(CHECK_STATES.get(checks.get("status", ""), "none"))
            badge.setWordWrap(True)
            out.append(badge)
        return out

    def _step_card(self, step: dict) -> QFrame:
        card = QFrame(objectName="stepCard")
        card.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        box = QVBoxLayout(card)
        box.setContentsMargins(12, 10, 12, 10)
        box.setSpacing(5)
        head = QHBoxLayout()
        role = QLabel(str(step.get("role", "")).replace("_", " ").title(), objectName="stepRole")
        head.addWidget(role)
        if step.get("attempt"):
            head.addWidget(QLabel(f"try {step['attempt'] + 1}", objectName="stepMeta"))
        head.addStretch(1)
        score = step.get("score")
        head.addWidget(
            Badge(f"{score_text(score)} / 10" if score is not None else "not scored", score_state(score))
        )
        if score is not None:
            head.addWidget(GroundingBadge(step.get("grounded_by"), step.get("tests")))
        box.addLayout(head)
        # Its size on a line of its own: the score and its grounding badge keep the header's room.
        box.addWidget(
            QLabel(
                f"{step.get('tokens', 0)} tokens · {human_duration((step.get('elapsed_ms') or 0) / 1000)}",
                objectName="stepMeta",
            )
        )
        evidence = step.get("evidence") or []
        if evidence:
            label = QLabel("\n".join(f"• {e}" for e in evidence), objectName="evidence")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            box.addWidget(label)
        tests = step.get("tests") or {}
        if tests:
            box.addWidget(
                QLabel(
                    f"Checks: {tests.get('passed', 0)} of "
                    f"{tests.get('total', (tests.get('passed') or 0) + (tests.get('failed') or 0))} passed "
                    f"({tests.get('source', '')})",
                    objectName="toolLine",
                )
            )
        for call in step.get("tool_calls") or []:
            line = QLabel(
                f"⚙ {call.get('tool')} — {'ok' if call.get('ok') else 'failed'}", objectName="toolLine"
            )
            line.setToolTip(str(call.get("output", ""))[:2000])
            box.addWidget(line)
            scan = call.get("scan") or {}
            if scan.get("fenced"):
                box.addWidget(_fenced_label(scan))
        memories = step.get("memories") or []
        if memories:
            box.addWidget(QLabel("Memories in its prompt", objectName="sectionTitle"))
            for m in memories:
                memory_id = str(m.get("id") or "")
                text = " ".join((m.get("text") or "(no longer stored)").split())
                label = link_label(
                    f"{m.get('kind') or 'memory'}: {text}", f"memory:{memory_id}", self._on_link
                )
                label.setToolTip("Open this memory in Memory review")
                box.addWidget(label)
        citations = step.get("citations") or []
        if citations:
            box.addWidget(QLabel("Vault passages it read", objectName="sectionTitle"))
            for n, cite in enumerate(citations):
                if cite.get("path"):
                    label = link_label(cite["citation"], f"source:{id(step)}:{n}", self._on_link)
                    label.setToolTip(f"Open {cite['path']} at lines {cite['start_line']}–{cite['end_line']}")
                    self._sources[f"{id(step)}:{n}"] = cite
                else:
                    label = QLabel(f"{cite['citation']} (no longer in the vault)", objectName="toolLine")
                box.addWidget(label)
        return card


def _fenced_label(scan: dict) -> QLabel:
    """Why a tool's output reached the model only as quoted data: category, rule or confidence, the span."""
    first = next((r for r in scan.get("reasons") or [] if r.get("blocking")), {})
    category = str(first.get("category") or scan.get("category") or "injection").replace("_", " ")
    if first.get("rule") == "unread_language":
        why = f"it has a passage in {first.get('excerpt', '?')}, a language the safety scan cannot read"
    else:
        if first.get("rule") == "learned_detector" and isinstance(first.get("confidence"), int | float):
            basis = f"learned detector, {first['confidence']:.0%} confident"
        else:
            basis = f"rule {first.get('rule', '?')}"
        why = f"it read like {category} ({basis}) — “{first.get('excerpt', '')}”"
    label = QLabel(f"⚠ Output fenced as quoted data with a warning: {why}", objectName="evidence")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setToolTip(str(first.get("message", "")))
    return label


class RunsPane(QWidget):
    """Every run the teams did, how they scored over time, and what each step did and used."""

    #: (text, timeout ms) for the status bar.
    sig_status = Signal(str, int)
    #: (memory id) show this memory in Memory review.
    sig_memory_open_requested = Signal(str)
    #: the person wants to go and run something (empty state's button).
    sig_team_requested = Signal()

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runsPane")
        self._bridge = bridge
        self._runs: list[dict] = []
        self._loaded = False  # "No runs yet" only once the engine said so, never while the list is on its way
        self._detail_request: object | None = None  # the latest run opened; older answers are ignored
        self._build()
        b = bridge
        b.sig_engine_started.connect(lambda _id: self.refresh())
        b.sig_team_run_finished.connect(lambda *_: self.refresh())
        b.sig_team_run_cancelled.connect(lambda *_: self.refresh())

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 12)
        layout.setSpacing(8)
        header = PaneHeader(
            "Runs",
            "Every team run, its score, and what each step did — and whether scores improve over time.",
        )
        self.team_filter = QComboBox()
        self.team_filter.setMinimumWidth(180)
        self.team_filter.addItem("All teams", None)
        self.team_filter.currentIndexChanged.connect(lambda _i: self._apply())
        header.actions.addWidget(self.team_filter)
        self.refresh_button = header.add_button("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        layout.addWidget(header)
        self.banner = Banner("error")
        layout.addWidget(self.banner)

        body = QVBoxLayout()
        body.setContentsMargins(20, 0, 20, 0)
        body.setSpacing(10)
        self.evaluation = EvaluationCard(self._bridge)
        self.evaluation.add_shortcuts(self)
        self.evaluation.sig_status.connect(self.sig_status)
        self.chart = self.evaluation.chart  # the learning curve: suite pass rate per evaluation
        body.addWidget(self.evaluation)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, objectName="runsSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.model = RunsTableModel(self)
        self.table = list_table(self.model, name="runsTable", accessible="Runs", columns=len(COLUMNS), stretch=1)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.detail = RunDetail()
        self.detail.sig_memory_clicked.connect(self.sig_memory_open_requested)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setSizes([620, 500])
        body.addWidget(self.splitter, 1)
        self.empty = EmptyState(
            "No runs yet",
            "Give a team a task in the Team pane; every run shows up here with its steps and scores.",
            "Open Team",
        )
        self.empty.sig_action_triggered.connect(self.sig_team_requested)
        body.addWidget(self.empty, 1)
        layout.addLayout(body, 1)
        self._apply()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._loaded and not self.evaluation.running:
            self.evaluation.refresh()  # tests kept in the Team pane since: the suite's size is current

    # -- actions ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        EngineOp(self, lambda e: e.runs.list(), what="listing runs").success(self._on_runs).run(self._bridge)
        self.evaluation.refresh()

    def reload_run(self, run_id: str | None = None) -> None:
        """Show the open run afresh (e.g. a project test result was just recorded on it)."""
        shown = self.detail.run.get("id") if self.detail.run else None
        if shown is None or (run_id is not None and run_id != shown):
            return
        token = self._detail_request = object()
        EngineOp(self, lambda e: e.runs.load(shown), what="opening a run").success(
            lambda run: self._on_run(token, run)
        ).run(self._bridge)

    def select_run(self, run_id: str) -> None:
        row = self.model.row_of(run_id)
        if row < 0 and self.team_filter.currentIndex() != 0:
            self.team_filter.setCurrentIndex(0)
            row = self.model.row_of(run_id)
        if row >= 0:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))

    # -- answers ----------------------------------------------------------------------------------
    def _on_runs(self, runs: list[dict]) -> None:
        self._loaded = True
        self._runs = list(runs)
        teams = sorted({r.get("team") or "" for r in runs} - {""})
        current = self.team_filter.currentData()
        self.team_filter.blockSignals(True)
        self.team_filter.clear()
        self.team_filter.addItem("All teams", None)
        for t in teams:
            self.team_filter.addItem(t, t)
        self.team_filter.setCurrentIndex(max(0, self.team_filter.findData(current)) if current else 0)
        self.team_filter.blockSignals(False)
        self._apply()

    def _apply(self) -> None:
        team = self.team_filter.currentData()
        shown = [r for r in self._runs if team is None or r.get("team") == team]
        selected = self._selected_id()
        self.model.set_runs(shown)
        has = bool(self._runs)
        self.splitter.setVisible(has)
        self.empty.setVisible(self._loaded and not has)
        if selected and self.model.row_of(selected) >= 0:
            self.select_run(selected)
        elif shown:
            self.table.selectRow(0)
        else:
            self.detail.show_run(None)

    def _selected_id(self) -> str | None:
        r = self.model.run(self.table.currentIndex().row())
        return r["id"] if r else None

    def _on_current(self, current, _previous) -> None:
        r = self.model.run(current.row())
        if r is None:
            return
        if self.detail.run is not None and self.detail.run.get("id") == r["id"]:
            return
        token = self._detail_request = object()
        run_id = r["id"]
        EngineOp(self, lambda e: e.runs.load(run_id), what="opening a run").success(
            lambda run: self._on_run(token, run)
        ).run(self._bridge)

    def _on_run(self, token: object, run: dict) -> None:
        if token is not self._detail_request:
            return
        self._detail_request = None
        self.detail.show_run(run)
