"""KeepTestsDialog: the tester's blind checks of a finished run, as pytest tests to read, edit and keep.

Kept tests become the task's tests in the Team pane (the next run is grounded by them) and, if asked, a
task of the evaluation suite.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.grounding import asked_signature
from purpose_desktop.engine.services.evaluation import checks_as_tests
from purpose_desktop.ui.chat.messages import Banner


def suggested_name(task: str) -> str:
    """The asked-for function's name ("add" for "Write add(a, b) …"), else the task's first words."""
    sig = asked_signature(task)
    if sig is not None:
        return sig.name
    return "_".join(re.findall(r"[a-z0-9]+", task.lower())[:4]) or "task"


class KeepTestsDialog(QDialog):
    """Opened with ``open()``; emits ``sig_kept`` with what the person kept."""

    #: (name, task, tests, add to the suite, use as the task's tests here)
    sig_kept = Signal(str, str, str, bool, bool)

    def __init__(self, task: str, checks: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keepTestsDialog")
        self.setWindowTitle("Keep these tests")
        self.setMinimumSize(620, 520)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "The tester wrote these checks from the task and the plan, before it saw any solution, and they "
            "ran against the answer. Read them, fix any that are wrong, then keep them as this task's tests.",
            objectName="mutedText",
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.name_edit = QLineEdit(suggested_name(task))
        self.name_edit.setMaxLength(80)
        form.addRow("Name", self.name_edit)
        self.task_edit = QPlainTextEdit(task)
        self.task_edit.setFixedHeight(64)
        self.task_edit.setTabChangesFocus(True)
        form.addRow("Task", self.task_edit)
        layout.addLayout(form)
        self.tests_edit = QPlainTextEdit(objectName="field")
        self.tests_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.tests_edit.setTabChangesFocus(True)
        try:
            self.tests_edit.setPlainText(checks_as_tests(checks))
        except InputError:  # checks that do not parse are shown as written, to be fixed here
            self.tests_edit.setPlainText(checks)
        layout.addWidget(self.tests_edit, 1)
        self.use_here = QCheckBox("Use them as this task's tests for the next run")
        self.use_here.setChecked(True)
        self.add_to_suite = QCheckBox("Add the task to the evaluation suite (Runs → Evaluate)")
        self.add_to_suite.setChecked(True)
        layout.addWidget(self.use_here)
        layout.addWidget(self.add_to_suite)
        self.banner = Banner("error")
        self.banner.layout().setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        buttons = QDialogButtonBox(self)
        self.keep_button = buttons.addButton("Keep tests", QDialogButtonBox.ButtonRole.AcceptRole)
        self.keep_button.setObjectName("primaryButton")
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._keep)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.tests_edit.setFocus()

    def _keep(self) -> None:
        name, task, tests = (
            self.name_edit.text().strip(),
            self.task_edit.toPlainText().strip(),
            self.tests_edit.toPlainText().strip(),
        )
        problem = ""
        if not name:
            problem = "Give the task a name."
        elif not task:
            problem = "The task text is empty: say what the code must do."
        elif "def test" not in tests:
            problem = "There is no test function left (def test_…())."
        else:
            try:
                compile(tests, "test_solution.py", "exec")
            except SyntaxError as exc:
                problem = f"The tests are not valid Python: {exc.msg} (line {exc.lineno})."
        if problem:
            self.banner.show_message(problem, "Nothing was kept yet; fix it here and press Keep tests again.")
            return
        self.sig_kept.emit(name, task, tests + "\n", self.add_to_suite.isChecked(), self.use_here.isChecked())
        self.accept()
