"""Team pane → Keep these tests: the tester's blind checks, seen and edited, become the task's tests and a suite task."""

from __future__ import annotations

from PySide6.QtCore import Qt

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.store.evals import EvalRepo
from tests.ui.conftest import settled
from tests.ui.pane_fakes import coding_team_model

TASK = "Write sort_names(names) that sorts full names by surname"


def _finished_run(qtbot, make_app, model=None):
    model = model or coding_team_model()
    app = make_app(engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: model))
    app.window.show_pane("team")
    team = app.window.team_pane
    team.purpose_edit.setText("Help me write Python code")
    with settled(qtbot, app.bridge, 5000):
        team.propose()
    panel = team.run_panel
    assert not panel.keep_button.isVisible()
    with qtbot.waitSignal(app.bridge.sig_team_run_finished, timeout=15_000):
        team.run_task(TASK, "", "train")
    return app, team, panel


def test_keep_these_tests_shows_edits_and_keeps_the_testers_checks(qtbot, make_app, demo_embedder):
    app, team, panel = _finished_run(qtbot, make_app)
    qtbot.waitUntil(panel.keep_button.isVisible, timeout=5000)
    qtbot.mouseClick(panel.keep_button, Qt.MouseButton.LeftButton)
    dialog = panel.keep_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    shown = dialog.tests_edit.toPlainText()
    # the tester's two blind checks, as pytest tests importing the solution
    assert "from solution import *" in shown and "def test_check_1():" in shown and "def test_check_2():" in shown
    assert 'sort_names(["Ada Lovelace", "Alan Turing"])' in shown.replace("'", '"')
    assert dialog.name_edit.text() == "sort_names" and dialog.task_edit.toPlainText() == TASK
    dialog.tests_edit.setPlainText(shown + "\n\ndef test_one_name():\n    assert sort_names(['Ada Lovelace']) == ['Ada Lovelace']\n")
    with settled(qtbot, app.bridge, 5000):
        qtbot.mouseClick(dialog.keep_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: "Kept the tests of “sort_names”" in app.window.statusBar().currentMessage(), timeout=5000)
    # they ground the next run of this task …
    assert panel.tests_edit.isVisible() and "def test_one_name" in panel.tests_edit.toPlainText()
    # … and are a task of the evaluation suite
    with Store() as store:
        (kept,) = EvalRepo(store).tasks()
    assert kept["name"] == "sort_names" and kept["source"] == "kept" and kept["task"] == TASK
    assert "def test_one_name" in kept["tests"] and "def test_check_2" in kept["tests"]


def test_broken_tests_are_not_kept_and_the_dialog_says_why(qtbot, make_app, demo_embedder):
    app, team, panel = _finished_run(qtbot, make_app)
    qtbot.waitUntil(panel.keep_button.isVisible, timeout=5000)
    panel.keep_tests()
    dialog = panel.keep_dialog
    dialog.tests_edit.setPlainText("def test_x(:\n    pass\n")
    qtbot.mouseClick(dialog.keep_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "not valid Python" in dialog.banner.message_label.text()
    dialog.add_to_suite.setChecked(False)
    dialog.tests_edit.setPlainText("from solution import *\n\n\ndef test_x():\n    assert sort_names([]) == []\n")
    qtbot.mouseClick(dialog.keep_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and "def test_x" in panel.tests_edit.toPlainText()
    with Store() as store:
        assert EvalRepo(store).tasks() == []  # not asked to add it to the suite


def test_a_run_with_given_tests_offers_nothing_to_keep(qtbot, make_app, demo_embedder):
    app = make_app(engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: coding_team_model()))
    app.window.show_pane("team")
    team = app.window.team_pane
    team.purpose_edit.setText("Help me write Python code")
    with settled(qtbot, app.bridge, 5000):
        team.propose()
    tests = "from solution import sort_names\n\n\ndef test_empty():\n    assert sort_names([]) == []\n"
    with qtbot.waitSignal(app.bridge.sig_team_run_finished, timeout=15_000):
        team.run_task(TASK, tests, "train")
    qtbot.waitUntil(lambda: team.run_panel.summary_grounding.isVisible(), timeout=5000)
    assert not team.run_panel.keep_button.isVisible()
