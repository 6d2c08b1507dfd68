"""TokenBudgets: the team's token budgets (answer tokens per step and per role) and whether a first answer that
passes its tests ends the run, shown and edited in the Team pane."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QSpinBox, QWidget

from purpose_desktop.engine.settings import (
    DEFAULT_STEP_TOKENS,
    DEFAULT_TOKEN_BUDGET,
    STEP_TOKENS_RANGE,
    TOKEN_BUDGET_RANGE,
)


class TokenBudgets(QWidget):
    """Two spin boxes (a reasoning model's thinking is not counted) and one switch, saved with the team."""

    #: (spec key, value): the person changed a budget ("max_tokens_per_step", "token_budget") or the
    #: switch ("stop_at_first_pass", 0 or 1).
    sig_changed = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._showing = False  # filling the controls from a spec is not an edit
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(4)
        self.step_tokens_spin = QSpinBox(objectName="stepTokensSpin")
        self.step_tokens_spin.setRange(*STEP_TOKENS_RANGE)
        self.step_tokens_spin.setSingleStep(64)
        self.step_tokens_spin.setToolTip(
            "The longest answer one step may write, in tokens (a reasoning model's thinking is not counted)"
        )
        self.role_tokens_spin = QSpinBox(objectName="roleTokensSpin")
        self.role_tokens_spin.setRange(*TOKEN_BUDGET_RANGE)
        self.role_tokens_spin.setSingleStep(256)
        self.role_tokens_spin.setToolTip("All the tokens one role may spend on a task, over all its steps")
        for spin, key in (
            (self.step_tokens_spin, "max_tokens_per_step"),
            (self.role_tokens_spin, "token_budget"),
        ):
            spin.setMinimumWidth(90)
            spin.valueChanged.connect(lambda value, k=key: self._on_changed(k, value))
        form.addRow("Tokens per step", self.step_tokens_spin)
        form.addRow("Tokens per role", self.role_tokens_spin)
        self.first_pass_check = QCheckBox("Stop at a first answer that passes", objectName="firstPassCheck")
        self.first_pass_check.setToolTip(
            "When you give tests or the task shows examples, the coder answers first; if that answer passes "
            "them the run ends there, without the plan and the tester's checks"
        )
        self.first_pass_check.toggled.connect(lambda on: self._on_changed("stop_at_first_pass", int(on)))
        form.addRow("", self.first_pass_check)
        self.assert_lines_check = QCheckBox("Tester writes assert lines", objectName="assertLinesCheck")
        self.assert_lines_check.setToolTip(
            "The tester answers a few times with lines `assert f(…) == …` only, and keeps the checks its "
            "answers agree on. A small model otherwise tends to write the function instead of checks. "
            "Slower: with the bundled model, runs took twice as long and passed no more tasks"
        )
        self.assert_lines_check.toggled.connect(lambda on: self._on_changed("tester_assert_lines", int(on)))
        form.addRow("", self.assert_lines_check)

    def show_spec(self, spec: dict) -> None:
        """Show ``spec``'s budgets (older specs have none: the defaults) without reporting an edit."""
        self._showing = True
        try:
            self.step_tokens_spin.setValue(int(spec.get("max_tokens_per_step") or DEFAULT_STEP_TOKENS))
            self.role_tokens_spin.setValue(int(spec.get("token_budget") or DEFAULT_TOKEN_BUDGET))
            self.first_pass_check.setChecked(bool(spec.get("stop_at_first_pass", True)))
            self.assert_lines_check.setChecked(bool(spec.get("tester_assert_lines", False)))
        finally:
            self._showing = False

    def _on_changed(self, key: str, value: int) -> None:
        if not self._showing:
            self.sig_changed.emit(key, value)
