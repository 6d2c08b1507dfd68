"""EvaluationCard: the Runs pane's learning curve — the suite's pass rate per evaluation — and its Evaluate button.

Every point is one evaluation of the same suite tasks with their own tests, run in evaluation mode (nothing
learned, nothing traced). A dashed marker before a point says how many memories were promoted since the
evaluation before it; a point whose tests did not all run is hollow.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.ui.bridge import EngineBridge
from purpose_desktop.ui.bridge.requests import ErrorInfo
from purpose_desktop.ui.charts import LearningCurve, Point
from purpose_desktop.ui.ops import EngineOp, show_error
from purpose_desktop.ui.widgets import LatestProgress, human_duration, local_time, seconds_between

POLL_MS = 150
SERIES = "suite pass rate"
DEFAULT_TEAM_LABEL = "Python coding team (default)"


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


def point_label(p: dict) -> str:
    """A point's tooltip: the rate, what it rests on, and the memories promoted since the evaluation before."""
    lines = [
        f"{p['pass_rate'] * 100:.0f}% · {p['n_passed']}/{p['n_tasks']} suite tasks passed their tests · "
        f"{local_time(p['started_at'])}",
        f"{p.get('model') or 'model ?'} · {p.get('team') or 'team ?'}",
    ]
    if not p["grounded"]:
        lines.append("not grounded: some tasks' tests did not run (e.g. the sandbox refused)")
    if p["promoted_since"]:
        lines.append(f"{_plural(len(p['promoted_since']), 'memory')} promoted since the evaluation before:")
        lines += [f"  • {m['kind']}: {m['text'][:90]}" for m in p["promoted_since"][:6]]
    if p.get("retired_since"):
        lines.append(f"{_plural(len(p['retired_since']), 'memory')} no longer promoted")
    return "\n".join(lines)


class EvaluationCard(QFrame):
    """The learning curve over evaluations, with Evaluate (progress, cancel) and Import suite…"""

    #: (text, timeout ms) for the status bar.
    sig_status = Signal(str, int)
    #: an evaluation finished (its log entry).
    sig_evaluated = Signal(object)

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self._bridge = bridge
        self._cancel: CancelToken | None = None
        self._progress = LatestProgress()
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self._poll)
        self.points: list[dict] = []
        self.suite: list[dict] = []
        self.shown: dict | None = None  # the evaluation whose details are shown under the curve
        self.loaded = False  # the engine has answered at least once

        box = QVBoxLayout(self)
        box.setContentsMargins(12, 8, 12, 8)
        head = QHBoxLayout()
        head.addWidget(QLabel("Learning curve", objectName="cardTitle"))
        self.caption = QLabel("", objectName="mutedText")  # its own line: the picker and buttons need the row
        self.caption.setWordWrap(True)
        head.addStretch(1)
        self.team_picker = QComboBox()
        self.team_picker.setAccessibleName("Team to evaluate")
        self.team_picker.setToolTip("The team whose suite pass rate Evaluate measures")
        self.team_picker.setMinimumWidth(170)
        self.team_picker.addItem(DEFAULT_TEAM_LABEL, None)
        head.addWidget(self.team_picker)
        self.import_button = QPushButton("Import suite…", objectName="secondaryButton")
        self.import_button.setToolTip(
            "Add a folder's test_*.py files to the suite (task text in the docstring or test_NAME.md)"
        )
        self.import_button.clicked.connect(self.import_folder)
        self.evaluate_button = QPushButton("Evaluate", objectName="primaryButton")
        self.evaluate_button.setToolTip(
            "Run every suite task with its tests in evaluation mode — nothing is learned or traced (Ctrl+E)"
        )
        self.evaluate_button.clicked.connect(self._on_evaluate_button)
        head.addWidget(self.import_button)
        head.addWidget(self.evaluate_button)
        box.addLayout(head)
        box.addWidget(self.caption)

        row = QHBoxLayout()
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setFixedHeight(6)
        self.progress_label = QLabel("", objectName="mutedText")
        row.addWidget(self.progress_label)
        row.addWidget(self.progress_bar, 1)
        self.progress_row = QWidget()
        self.progress_row.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        self.progress_row.hide()
        box.addWidget(self.progress_row)

        self.chart = LearningCurve()
        self.chart.y_max, self.chart.y_suffix, self.chart.window = 100.0, "%", 1
        self.chart.hollow_text = "hollow: some tests did not run"
        self.chart.empty_text = (
            "Keep a run's tests in the Team pane or import a suite, then press Evaluate:\n"
            "the pass rate of the same tasks, evaluation after evaluation."
        )
        self.chart.sig_point_clicked.connect(self.show_evaluation)
        box.addWidget(self.chart)
        self.details = QLabel("", objectName="mutedText")
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.details.hide()
        box.addWidget(self.details)

        self._show_caption()

    def add_shortcuts(self, pane: QWidget) -> None:
        """Ctrl+E evaluates and Esc cancels anywhere in ``pane`` (the Runs pane)."""
        for keys, slot in (("Ctrl+E", self.evaluate), ("Esc", self.cancel)):
            shortcut = QShortcut(QKeySequence(keys), pane)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    # -- state --------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._cancel is not None

    def refresh(self) -> None:
        EngineOp(
            self,
            lambda e: (e.evals.suite(), e.evals.curve(), [(t.id, t.name) for t in e.teams.catalog().teams]),
            what="reading the evaluations",
        ).success(self._on_curve).run(self._bridge)

    def _set_teams(self, teams: list[tuple[str, str]]) -> None:
        """The saved teams, after the default; the choice survives a refresh while its team exists."""
        current = self.team_picker.currentData()
        self.team_picker.blockSignals(True)
        self.team_picker.clear()
        self.team_picker.addItem(DEFAULT_TEAM_LABEL, None)
        for team_id, name in teams:
            self.team_picker.addItem(name, team_id)
        self.team_picker.setCurrentIndex(max(0, self.team_picker.findData(current)) if current else 0)
        self.team_picker.blockSignals(False)

    def _on_curve(self, answer) -> None:
        self.suite, self.points = list(answer[0]), list(answer[1])
        self._set_teams(list(answer[2]))
        self.loaded = True
        by_team: dict[str, list[Point]] = {}  # one line per team: two teams' pass rates are not one curve
        for i, p in enumerate(self.points):
            n = len(p["promoted_since"])
            by_team.setdefault(p.get("team") or "", []).append(
                Point(i, p["pass_rate"] * 100, p["id"], point_label(p), p["grounded"], f"+{n}" if n else "")
            )
        if len(by_team) > 1:
            self.chart.set_series({f"{SERIES} · {team or 'team ?'}": pts for team, pts in by_team.items()})
        else:
            self.chart.set_series({SERIES: next(iter(by_team.values()))} if by_team else {})
        self._show_caption()
        if self.points and (self.shown is None or all(p["id"] != self.shown.get("id") for p in self.points)):
            self.show_evaluation(self.points[-1]["id"])

    def _show_caption(self) -> None:
        n = len(self.suite)
        self.caption.setText(
            f"suite pass rate per evaluation · the same {_plural(n, 'task')} each time · "
            "dashed: memories promoted in between · click a point"
            if n
            else "suite pass rate per evaluation · the suite is empty"
        )

    # -- actions ------------------------------------------------------------------------------------
    def evaluate(self) -> None:
        if self.running:
            return
        self._cancel = token = CancelToken()
        progress = self._progress
        self.evaluate_button.setText("Cancel")
        self.evaluate_button.setToolTip(
            "Stop after the current task (Esc); nothing is recorded for a cancelled task"
        )
        self.import_button.setEnabled(False)
        self.team_picker.setEnabled(False)
        team_id = self.team_picker.currentData()
        self.progress_bar.setRange(0, max(1, len(self.suite)))
        self.progress_bar.setValue(0)
        self.progress_label.setText("Starting the evaluation…")
        self.progress_row.show()
        self._timer.start()
        EngineOp(
            self,
            lambda e: e.evals.run(
                team_spec=e.teams.load(team_id) if team_id else None, progress=progress.put, cancel=token
            ),
            what="evaluating",
        ).success(self._on_evaluated).failure(self._on_failed).run(self._bridge)

    def cancel(self) -> None:
        if self._cancel is not None and not self._cancel.is_set():
            self._cancel.set()
            self.progress_label.setText("Cancelling after the current task…")
            self.evaluate_button.setEnabled(False)

    def _on_evaluate_button(self) -> None:
        self.cancel() if self.running else self.evaluate()

    def import_folder(self, folder: str | None = None) -> None:
        folder = folder or QFileDialog.getExistingDirectory(self, "Import a suite folder (test_*.py files)")
        if not folder:
            return
        EngineOp(self, lambda e: e.evals.import_folder(folder), what="importing a suite").success(
            self._on_imported
        ).run(self._bridge)

    def show_evaluation(self, eval_id: str) -> None:
        EngineOp(self, lambda e: e.evals.evaluation(eval_id), what="opening an evaluation").success(
            self._show_details
        ).run(self._bridge)

    # -- answers ------------------------------------------------------------------------------------
    def _poll(self) -> None:
        p = self._progress.take()
        if p is None:
            return
        self.progress_bar.setRange(0, max(1, p["total"]))
        self.progress_bar.setValue(p["done"])
        if p["name"] and not (self._cancel and self._cancel.is_set()):
            self.progress_label.setText(
                f"Evaluating {p['done'] + 1}/{p['total']}: {p['name']} · {p['passed']} passed so far"
            )

    def _end(self) -> None:
        self._timer.stop()
        self._cancel = None
        self.progress_row.hide()
        self.evaluate_button.setText("Evaluate")
        self.evaluate_button.setEnabled(True)
        self.evaluate_button.setToolTip(
            "Run every suite task with its tests in evaluation mode — nothing is learned or traced (Ctrl+E)"
        )
        self.import_button.setEnabled(True)
        self.team_picker.setEnabled(True)

    def _on_evaluated(self, entry: dict) -> None:
        self._end()
        if entry["status"] == "complete":
            self.sig_status.emit(
                f"Evaluation: {entry['n_passed']}/{entry['n_tasks']} suite tasks passed "
                f"({entry['pass_rate'] * 100:.0f}%).",
                8000,
            )
        else:
            self.sig_status.emit(
                f"Evaluation cancelled after {_plural(entry['n_tasks'], 'task')}; logged, not plotted.", 8000
            )
        self.shown = entry
        self._show_details(entry)
        self.sig_evaluated.emit(entry)
        self.refresh()

    def _on_failed(self, err: ErrorInfo) -> None:
        self._end()
        show_error(self, err)

    def _on_imported(self, found) -> None:
        skipped = "; ".join(f"{s['file']}: {s['reason']}" for s in found.skipped[:3])
        self.sig_status.emit(
            f"Added {_plural(len(found.added), 'suite task')}" + (f" · skipped {skipped}" if skipped else ""),
            10000,
        )
        self.refresh()

    def _show_details(self, ev: dict) -> None:
        """One line under the curve (the whole lists in its tooltip): when, how many passed, what failed."""
        self.shown = ev
        passed = [r["name"] for r in ev["results"] if r["passed"]]
        failed = [r["name"] for r in ev["results"] if not r["passed"]]
        not_run = [r["name"] for r in ev["results"] if r.get("grounded_by") != "given_tests"]
        rate = "–" if ev.get("pass_rate") is None else f"{ev['pass_rate'] * 100:.0f}%"
        took = human_duration(seconds_between(ev.get("started_at"), ev.get("finished_at")))
        n_mem = len(ev.get("promoted") or [])
        head = (
            f"{local_time(ev['started_at'])} · {ev['n_passed']}/{ev['n_tasks']} passed ({rate}) · {ev['status']} · "
            f"{took} · {ev.get('model') or ''} · {ev.get('team') or ''} · "
            f"{n_mem} promoted {'memory' if n_mem == 1 else 'memories'} in use"
        )
        lines = [head, "passed: " + (", ".join(passed) or "none"), "failed: " + (", ".join(failed) or "none")]
        if not_run:
            lines.append("tests did not run for: " + ", ".join(not_run))
        shown = f"<b>{html.escape(head)}</b> · failed: {html.escape(', '.join(failed) or 'none')}"
        if not_run:
            shown += f" · tests did not run for {len(not_run)}"
        self.details.setText(shown)
        self.details.setToolTip("\n".join(lines))
        self.details.show()
