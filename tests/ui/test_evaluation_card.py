"""Runs pane → Evaluate: the suite runs through the bridge with progress and cancel; the curve gains a point."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.store.evals import EvalRepo
from tests.ui.conftest import press
from tests.ui.pane_fakes import coding_team_model

PASSES = (
    "from solution import sort_names\n\n\ndef test_sort():\n"
    "    assert sort_names(['Alan Turing', 'Ada Lovelace']) == ['Ada Lovelace', 'Alan Turing']\n"
)
FAILS = "from solution import sort_names\n\n\ndef test_sort():\n    assert sort_names(['b a']) == []\n"


@pytest.fixture
def suite(_isolated_home, demo_embedder):
    with Store() as store:
        repo = EvalRepo(store)
        repo.add_task(name="surnames", task="Write sort_names(names) sorting by surname.", tests=PASSES)
        repo.add_task(name="impossible", task="Write sort_names(names) that returns [].", tests=FAILS)
        repo.add_task(name="again", task="Sort names by surname: sort_names(names).", tests=PASSES)


def runs_pane(qtbot, make_app, model):
    app = make_app(engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: model))
    press(app.window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    card = app.window.runs_pane.evaluation
    qtbot.waitUntil(lambda: "the same 3 tasks" in card.caption.text(), timeout=5000)
    return app, card


def test_evaluate_runs_the_suite_and_plots_its_pass_rate(qtbot, make_app, suite):
    app, card = runs_pane(qtbot, make_app, coding_team_model())
    assert card.chart.series() == {} and card.evaluate_button.text() == "Evaluate"
    card.evaluate_button.click()
    assert card.evaluate_button.text() == "Cancel" and card.progress_row.isVisible()
    qtbot.waitUntil(lambda: bool(card.chart.series()), timeout=30_000)
    (point,) = card.chart.series()["suite pass rate"]
    if not point.grounded:
        pytest.skip("the sandbox refused to run the tests here")
    assert point.y == pytest.approx(200 / 3)  # 2 of 3: the tests decide, not the judge
    assert card.evaluate_button.text() == "Evaluate" and not card.progress_row.isVisible()
    assert "2/3 passed (67%)" in card.details.text() and "impossible" in card.details.text().split("failed:")[1]
    assert "Evaluation: 2/3 suite tasks passed" in app.window.statusBar().currentMessage()
    # evaluation mode: no run was traced
    assert app.window.runs_pane.model.rowCount() == 0


def test_evaluate_can_be_cancelled_and_the_partial_evaluation_is_not_plotted(qtbot, make_app, suite):
    hold = threading.Event()
    app, card = runs_pane(qtbot, make_app, coding_team_model(hold=hold))
    press(app.window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "Evaluating 1/3: surnames" in card.progress_label.text(), timeout=10_000)
    card.evaluate_button.click()  # now "Cancel"
    assert "Cancelling" in card.progress_label.text() and not card.evaluate_button.isEnabled()
    qtbot.waitUntil(lambda: card.evaluate_button.text() == "Evaluate", timeout=10_000)
    assert card.chart.series() == {} and "cancelled" in card.details.text()
    with Store() as store:
        (entry,) = EvalRepo(store).evaluations()
    assert entry["status"] == "cancelled" and entry["pass_rate"] is None


def test_evaluate_with_an_empty_suite_says_what_to_do(qtbot, make_app, demo_embedder):
    app = make_app(engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: coding_team_model()))
    press(app.window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    pane = app.window.runs_pane
    qtbot.waitUntil(lambda: "suite is empty" in pane.evaluation.caption.text(), timeout=5000)
    pane.evaluation.evaluate_button.click()
    qtbot.waitUntil(lambda: pane.banner.isVisible(), timeout=10_000)
    assert "suite is empty" in pane.banner.message_label.text()
    assert pane.evaluation.evaluate_button.text() == "Evaluate"


def test_import_suite_adds_a_folders_tasks(qtbot, make_app, demo_embedder, tmp_path):
    (tmp_path / "test_sorting.py").write_text('"""Write sort_names(names) sorting by surname."""\n' + PASSES)
    (tmp_path / "test_empty.py").write_text("x = 1\n")
    app = make_app(engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: coding_team_model()))
    press(app.window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    card = app.window.runs_pane.evaluation
    card.import_folder(str(tmp_path))
    qtbot.waitUntil(lambda: "the same 1 task " in card.caption.text(), timeout=5000)
    message = app.window.statusBar().currentMessage()
    assert "Added 1 suite task" in message and "test_empty.py" in message


def test_evaluate_runs_the_team_picked_beside_the_button(qtbot, make_app, suite):
    """The picker lists the saved teams after the default; Evaluate measures the one picked (and says so)."""
    from purpose_desktop.engine.agents.roles import role_template
    from purpose_desktop.engine.agents.team import TeamSpec
    from purpose_desktop.engine.store import now_iso

    spec = TeamSpec(name="Solo coders", purpose="Help me write Python code", roles=[role_template("coder")])
    with Store() as store:
        store.save_team("team-solo", "Solo coders", spec.to_dict(), now_iso())
    asked: list[str] = []
    model = coding_team_model()
    chat = model.chat

    def recording_chat(messages, **kw):
        asked.append(model.speaker(messages, kw.get("on_token")))
        return chat(messages, **kw)

    model.chat = recording_chat
    app, card = runs_pane(qtbot, make_app, model)
    labels = [card.team_picker.itemText(i) for i in range(card.team_picker.count())]
    assert labels == ["Python coding team (default)", "Solo coders"]
    card.team_picker.setCurrentIndex(1)
    card.evaluate_button.click()
    assert not card.team_picker.isEnabled()  # the choice holds while it runs
    qtbot.waitUntil(lambda: bool(card.chart.series()), timeout=30_000)
    with Store() as store:
        (entry,) = EvalRepo(store).evaluations()
    assert entry["team"] == "Solo coders" and "Solo coders" in card.details.text()
    assert "Coder" in asked and "Architect" not in asked and "Tester" not in asked
    assert card.team_picker.isEnabled() and card.team_picker.currentText() == "Solo coders"
    # a second team's evaluation is its own line, never joined to the first team's curve
    card.team_picker.setCurrentIndex(0)
    card.evaluate_button.click()
    qtbot.waitUntil(lambda: len(card.chart.series()) == 2, timeout=30_000)
    assert sorted(card.chart.series()) == ["suite pass rate · Python coding team", "suite pass rate · Solo coders"]
