"""The Team pane's run side: task box, Run/Stop, and the live timeline of steps with scores, evidence and answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.ui.chat.messages import Banner, MessageWidget
from purpose_desktop.ui.widgets import (
    Badge,
    EmptyState,
    GroundingBadge,
    human_duration,
    repolish,
    score_state,
    score_text,
)

#: Streamed step output is re-rendered at most this often (ms).
FLUSH_MS = 40
MODES = (("train", "Learn from this run"), ("eval", "Evaluate only (stores nothing)"))


class StepCard(QFrame):
    """One step of a run: role, live output, tool calls, then the critic's score with its evidence."""

    def __init__(self, step: int, title: str, attempt: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stepCard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.step = step
        self.text = ""
        self.score: float | None = None
        self.evidence: tuple[str, ...] = ()
        self.grounded_by: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        header = QHBoxLayout()
        header.setSpacing(8)
        self.role_label = QLabel(title, objectName="stepRole")
        self.meta_label = QLabel(f"try {attempt + 1}" if attempt else "", objectName="stepMeta")
        self.badge = Badge("working…", "running")
        self.grounding = GroundingBadge()
        self.grounding.hide()  # until the step is scored
        self.evidence_button = QPushButton("Evidence", objectName="linkButton")
        self.evidence_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.evidence_button.setToolTip("Why the critic gave this score")
        self.evidence_button.clicked.connect(self.toggle_evidence)
        self.evidence_button.hide()
        header.addWidget(self.role_label)
        header.addWidget(self.meta_label)
        header.addStretch(1)
        header.addWidget(self.badge)
        header.addWidget(self.grounding)
        layout.addLayout(header)
        self.output = QPlainTextEdit(objectName="stepOutput")
        self.output.setReadOnly(True)
        self.output.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.output.setMaximumHeight(170)
        self.output.setPlaceholderText("Thinking…")
        self.output.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.output.setFixedHeight(46)
        self.output.document().documentLayout().documentSizeChanged.connect(self._fit_height)
        layout.addWidget(self.output)
        self.tools = QVBoxLayout()
        self.tools.setSpacing(2)
        layout.addLayout(self.tools)
        # "Evidence" under the step's work, just above what it opens: the header keeps its room for
        # the score and its grounding badge.
        footer = QHBoxLayout()
        footer.addWidget(self.evidence_button)
        footer.addStretch(1)
        layout.addLayout(footer)
        self.evidence_label = QLabel("", objectName="evidence")
        self.evidence_label.setWordWrap(True)
        self.evidence_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.evidence_label.hide()
        layout.addWidget(self.evidence_label)
        self.setProperty("state", "running")

    def set_text(self, text: str) -> None:
        if text == self.text:
            return
        self.text = text
        self.output.setPlainText(text)
        self.output.moveCursor(QTextCursor.MoveOperation.End)

    def _fit_height(self, *_args) -> None:
        # A QPlainTextEdit's document measures itself in (wrapped) lines, not pixels.
        lines = max(1, int(self.output.document().size().height()))
        self.output.setFixedHeight(min(170, 14 + lines * self.output.fontMetrics().lineSpacing()))

    def add_tool(self, tool: str, ok: bool, output: str) -> None:
        first = (output or "").strip().splitlines()[0][:120] if (output or "").strip() else ""
        line = QLabel(
            f"⚙ {tool} — {'ok' if ok else 'failed'}" + (f": {first}" if first else ""), objectName="toolLine"
        )
        line.setToolTip(output[:2000] if output else "")
        line.setWordWrap(True)
        self.tools.addWidget(line)

    def tool_lines(self) -> list[str]:
        return [self.tools.itemAt(i).widget().text() for i in range(self.tools.count())]

    def set_score(
        self, score: float | None, evidence: tuple[str, ...], grounded_by: str | None = None
    ) -> None:
        self.score, self.evidence = score, tuple(evidence)
        self.badge.set_state(
            score_state(score), f"{score_text(score)} / 10" if score is not None else "not scored"
        )
        self.badge.setToolTip("The critic's score for this step; click Evidence for why")
        self.set_grounding(grounded_by)
        self.evidence_label.setText("\n".join(f"• {e}" for e in evidence) or "No evidence recorded.")
        self.evidence_button.setVisible(True)
        self.setProperty("state", "done")
        repolish(self)

    def set_grounding(self, grounded_by: str | None, tests: dict | None = None) -> None:
        """What the score rests on, next to it (``tests`` adds the counts once the run's result is in)."""
        self.grounded_by = grounded_by
        self.grounding.set_grounding(grounded_by, tests)
        self.grounding.setVisible(self.score is not None)

    def set_stopped(self) -> None:
        if self.property("state") == "running":
            self.badge.set_state("none", "stopped")
            self.setProperty("state", "done")
            repolish(self)

    def toggle_evidence(self) -> None:
        self.evidence_label.setVisible(not self.evidence_label.isVisible())
        self.evidence_button.setText("Hide evidence" if self.evidence_label.isVisible() else "Evidence")


@dataclass
class _Run:
    request: object
    cards: dict[int, StepCard] = field(default_factory=dict)
    buffers: dict[int, str] = field(default_factory=dict)
    stopping: bool = False


class RunPanel(QWidget):
    """Give the team a task, run it, watch every step live, stop it, and copy the answer's code."""

    #: (task, tests or "", mode) the person pressed Run.
    sig_run_requested = Signal(str, str, str)
    #: the person pressed Stop (or Esc).
    sig_stop_requested = Signal()
    #: (text, timeout ms) for the status bar.
    sig_status = Signal(str, int)
    #: (name, task, tests) the person kept a run's tester checks for the evaluation suite.
    sig_tests_kept = Signal(str, str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runPanel")
        self._kept: tuple[str, str] | None = None  # (task, checks) of the last finished run
        self.keep_dialog = None
        self._run: _Run | None = None
        self._titles: dict[str, str] = {}
        self._seen_roles: dict[str, int] = {}
        self._flush = QTimer(self, singleShot=True, interval=FLUSH_MS)
        self._flush.timeout.connect(self._flush_text)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 0, 20, 0)
        layout.setSpacing(8)

        layout.addWidget(QLabel("Task", objectName="sectionTitle"))
        self.task_edit = QPlainTextEdit(objectName="field")
        self.task_edit.setPlaceholderText(
            "What should the team do? e.g. Write a function that sorts names by surname"
        )
        self.task_edit.setFixedHeight(64)
        self.task_edit.setTabChangesFocus(True)
        layout.addWidget(self.task_edit)
        self.tests_edit = QPlainTextEdit(objectName="field")
        self.tests_edit.setPlaceholderText(
            "Optional pytest tests the code must pass, e.g.\nfrom solution import sort_names\n\ndef test_sort(): …"
        )
        self.tests_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.tests_edit.setFixedHeight(84)
        self.tests_edit.setTabChangesFocus(True)
        self.tests_edit.hide()
        layout.addWidget(self.tests_edit)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.tests_button = QPushButton("Add tests…", objectName="linkButton")
        self.tests_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.tests_button.clicked.connect(self._toggle_tests)
        self.mode_combo = QComboBox()
        for mode, label in MODES:
            self.mode_combo.addItem(label, mode)
        self.mode_combo.setToolTip(
            "Learn: the run is traced and lessons may be drawn from it for you to review.\n"
            "Evaluate: nothing is written — the numbers you see are clean."
        )
        self.run_button = QPushButton("Run", objectName="primaryButton")
        self.run_button.setToolTip("Run the task on this team (Ctrl+Enter)")
        self.run_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.run_button.clicked.connect(self._on_run_button)
        row.addWidget(self.tests_button)
        row.addStretch(1)
        row.addWidget(self.mode_combo)
        row.addWidget(self.run_button)
        layout.addLayout(row)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self._on_run_button)
        stop = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        stop.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        stop.activated.connect(self.stop)

        self.banner = Banner("error")
        self.banner.layout().setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        self.summary = QLabel("", objectName="mutedText")
        self.summary.setWordWrap(True)
        self.summary.hide()
        layout.addWidget(self.summary)
        self.summary_grounding = GroundingBadge()  # what the run's final score rests on, once it has one
        self.summary_grounding.hide()
        grounding_row = QHBoxLayout()
        grounding_row.setSpacing(12)
        grounding_row.addWidget(self.summary_grounding, 0, Qt.AlignmentFlag.AlignLeft)
        self.keep_button = QPushButton("Keep these tests…", objectName="linkButton")
        self.keep_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.keep_button.setToolTip(
            "See and edit the tester's checks (written before it saw the solution), and keep them as this "
            "task's tests and in the evaluation suite"
        )
        self.keep_button.clicked.connect(self.keep_tests)
        self.keep_button.hide()
        grounding_row.addWidget(self.keep_button)
        grounding_row.addStretch(1)
        layout.addLayout(grounding_row)

        self.scroll = QScrollArea(objectName="timeline")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        canvas = QWidget(objectName="timelineCanvas")
        self._column = QVBoxLayout(canvas)
        self._column.setContentsMargins(0, 4, 4, 4)
        self._column.setSpacing(8)
        self.empty = EmptyState(
            "No run yet",
            "Describe a task above and press Run. Each role's work appears here as it happens, "
            "with the critic's score and its evidence.",
        )
        self._column.addWidget(self.empty)
        self.answer = QFrame(objectName="answerCard")
        self.answer.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        answer_layout = QVBoxLayout(self.answer)
        answer_layout.setContentsMargins(12, 8, 12, 10)
        self.answer_title = QLabel("Answer", objectName="stepRole")
        answer_layout.addWidget(self.answer_title)
        self.answer_grounding = GroundingBadge()  # the answer's score says what grounds it
        answer_layout.addWidget(self.answer_grounding, 0, Qt.AlignmentFlag.AlignLeft)
        self.answer_message = MessageWidget("assistant", "")
        self.answer_message.name_label.hide()
        self.answer_message.sig_status.connect(lambda text: self.sig_status.emit(text, 3000))
        answer_layout.addWidget(self.answer_message)
        self.answer.hide()
        self._column.addWidget(self.answer)
        self._column.addStretch(1)
        self.scroll.setWidget(canvas)
        self.scroll.verticalScrollBar().rangeChanged.connect(self._follow)
        layout.addWidget(self.scroll, 1)
        self._update_button()

    # -- public -----------------------------------------------------------------------------------
    def add_below_answer(self, widget: QWidget) -> None:
        """Put ``widget`` in the timeline under the answer (the proposed file changes)."""
        self._column.insertWidget(self._column.indexOf(self.answer) + 1, widget)

    @property
    def running(self) -> bool:
        return self._run is not None

    def set_role_titles(self, titles: dict[str, str]) -> None:
        self._titles = dict(titles)

    def cards(self) -> list[StepCard]:
        return [
            w
            for i in range(self._column.count())
            if isinstance(w := self._column.itemAt(i).widget(), StepCard)
        ]

    def answer_text(self) -> str:
        return self.answer_message.text if self.answer.isVisible() else ""

    def start(self, request) -> None:
        """A run was asked for: clear the timeline and follow ``request``'s events."""
        self.clear()
        self._run = _Run(request)
        self.empty.hide()
        self.banner.dismiss()
        self.summary.setText("Starting…")
        self.summary.show()
        self.summary_grounding.hide()
        self._update_button()

    def stop(self) -> None:
        if self._run is None or self._run.stopping:
            return
        self._run.stopping = True
        self.sig_stop_requested.emit()
        self.summary.setText("Stopping after the current token…")
        self._update_button()

    def clear(self) -> None:
        self._kept = None
        self.keep_button.hide()
        for card in self.cards():
            self._column.removeWidget(card)
            card.deleteLater()
        self.answer.hide()
        self.empty.show()
        self._seen_roles.clear()

    # -- events from the engine -------------------------------------------------------------------
    def on_event(self, request_id: str, event) -> None:
        run = self._run
        if run is None or getattr(run.request, "id", None) != request_id:
            return
        kind = type(event).__name__
        if kind == "RunStarted":
            self.summary.setText(f"Running {' → '.join(self._title(r) for r in event.roles)}")
        elif kind == "StepStarted":
            attempt = self._seen_roles.get(event.role, -1) + 1
            self._seen_roles[event.role] = attempt
            card = StepCard(event.step, self._title(event.role), max(attempt, getattr(event, "attempt", 0)))
            run.cards[event.step] = card
            self._column.insertWidget(self._column.indexOf(self.answer), card)
        elif kind == "TokenReceived":
            run.buffers[event.step] = run.buffers.get(event.step, "") + event.text
            if not self._flush.isActive():
                self._flush.start()
        elif kind == "ToolCalled":
            if run.buffers.get(event.step):
                run.buffers[event.step] += "\n\n"  # the tool's input above, the step's next words below
            card = run.cards.get(event.step)
            if card is not None:
                card.add_tool(event.tool, event.ok, event.output)
        elif kind == "StepScored":
            self._flush_text()
            card = run.cards.get(event.step)
            if card is not None:
                card.set_score(event.score, event.evidence, getattr(event, "grounded_by", None))

    def finish(self, request_id: str, result, status: str) -> None:
        run = self._run
        if run is None or getattr(run.request, "id", None) != request_id:
            return
        self._flush.stop()
        self._flush_text()
        for card in run.cards.values():
            card.set_stopped()
        self._run = None
        answer = getattr(result, "answer", "") or ""
        score = getattr(result, "score", None)
        # The result knows each step's checks: the badges gain their counts ("3 given tests, all 3 passed").
        for i, step in enumerate(getattr(result, "steps", []) or []):
            card = run.cards.get(i)
            if card is not None and card.score is not None and getattr(step, "grounded_by", None):
                card.set_grounding(step.grounded_by, getattr(step, "tests", None))
        grounded_by = getattr(result, "grounded_by", None)
        tests = getattr(result, "tests", None)
        seconds = (getattr(result, "elapsed_ms", 0) or 0) / 1000
        if answer.strip():
            head = "Answer" if status == "complete" else "Answer so far (stopped)"
            self.answer_title.setText(
                f"{head}  ·  score {score_text(score)}/10  ·  {human_duration(seconds)}"
            )
            self.answer_message.set_text(answer)
            self.answer_grounding.set_grounding(grounded_by, tests)
            self.answer_grounding.setVisible(score is not None)
            self.answer.show()
            QTimer.singleShot(0, lambda: self.scroll.ensureWidgetVisible(self.answer, 0, 0))
        words = {"complete": "Finished", "cancelled": "Stopped"}.get(status, status.capitalize())
        steps = len(getattr(result, "steps", []) or [])
        skipped = (getattr(result, "selection", None) or {}).get("skipped") or []
        why = (getattr(result, "selection", None) or {}).get("why", "")
        self.summary.setText(
            f"{words} in {human_duration(seconds)} · {steps} step{'s' if steps != 1 else ''} · "
            f"final score {score_text(score)}/10"
            + (f" · {why}: {', '.join(self._title(r) for r in skipped)} not needed" if skipped else "")
        )
        self.summary_grounding.set_grounding(grounded_by, tests)
        self.summary_grounding.setVisible(score is not None)
        checks = getattr(result, "checks", "") or ""
        self._kept = (getattr(run.request, "task", ""), checks) if checks.strip() else None
        self.keep_button.setVisible(self._kept is not None)
        self._update_button()

    def keep_tests(self) -> None:
        """Open the tester's checks of the last run as editable pytest tests (Keep these tests…)."""
        if self._kept is None:
            return
        from purpose_desktop.ui.team.keep_tests import KeepTestsDialog

        task, checks = self._kept
        self.keep_dialog = KeepTestsDialog(task, checks, self)
        self.keep_dialog.sig_kept.connect(self._on_kept)
        self.keep_dialog.open()

    def _on_kept(self, name: str, task: str, tests: str, to_suite: bool, use_here: bool) -> None:
        if use_here:
            self.tests_edit.setPlainText(tests)
            if not self.tests_edit.isVisible():
                self._toggle_tests()
            self.sig_status.emit("These tests now ground the next run of this task.", 4000)
        if to_suite:
            self.sig_tests_kept.emit(name, task, tests)

    def fail(self, request_id: str, err) -> None:
        run = self._run
        if run is None or getattr(run.request, "id", None) != request_id:
            return
        self._flush.stop()
        self._flush_text()
        for card in run.cards.values():
            card.set_stopped()
        self._run = None
        self.summary.hide()
        self.summary_grounding.hide()
        if not self.cards():
            self.empty.show()
        self.banner.show_message(err.message, err.hint)
        self._update_button()

    # -- helpers ----------------------------------------------------------------------------------
    def _title(self, role: str) -> str:
        return self._titles.get(role) or role.replace("_", " ").title()

    def _flush_text(self) -> None:
        run = self._run
        if run is None:
            return
        for step, text in run.buffers.items():
            card = run.cards.get(step)
            if card is not None:
                card.set_text(text)

    def _follow(self, _minimum: int, maximum: int) -> None:
        if self._run is not None:
            self.scroll.verticalScrollBar().setValue(maximum)

    def _toggle_tests(self) -> None:
        show = not self.tests_edit.isVisible()
        self.tests_edit.setVisible(show)
        self.tests_button.setText("Hide tests" if show else "Add tests…")
        if show:
            self.tests_edit.setFocus()

    def _on_run_button(self) -> None:
        if self._run is not None:
            self.stop()
            return
        task = self.task_edit.toPlainText().strip()
        if not task:
            self.sig_status.emit("Type a task first.", 3000)
            self.task_edit.setFocus()
            return
        tests = self.tests_edit.toPlainText().strip() if self.tests_edit.isVisible() else ""
        self.sig_run_requested.emit(task, tests, self.mode_combo.currentData())

    def _update_button(self) -> None:
        run = self._run
        if run is None:
            self.run_button.setText("Run")
            self.run_button.setProperty("mode", "run")
            self.run_button.setEnabled(True)
            self.run_button.setToolTip("Run the task on this team (Ctrl+Enter)")
        else:
            self.run_button.setText("Stopping…" if run.stopping else "Stop")
            self.run_button.setProperty("mode", "stop")
            self.run_button.setEnabled(not run.stopping)
            self.run_button.setToolTip("Stop the run (Esc)")
        repolish(self.run_button)
