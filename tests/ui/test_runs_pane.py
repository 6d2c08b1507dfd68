"""Runs pane: past runs with team, mode, score, time; a run's steps and memories; the learning curve."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QLabel

from purpose_desktop.demo import RUNS, build_demo
from purpose_desktop.engine.core import Engine
from purpose_desktop.ui.runs_pane import COLUMNS
from purpose_desktop.ui.widgets import GroundingBadge
from tests.ui.conftest import press, settled
from tests.ui.pane_fakes import coding_team_model


@pytest.fixture
def demo(_isolated_home, demo_embedder):
    return build_demo(_isolated_home)


def runs_app(qtbot, make_app, **kw):
    app = make_app(**kw)
    press(app.window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    pane = app.window.runs_pane
    qtbot.waitUntil(lambda: pane.model.rowCount() > 0 or pane.empty.isVisible(), timeout=5000)
    return app, pane


def step_badges(pane) -> list[GroundingBadge]:
    """The grounding badges a person sees on the open run's step cards, top to bottom."""
    shown = [
        b
        for b in pane.detail.widget().findChildren(GroundingBadge)
        if b.isVisible() and b is not pane.detail.run_grounding
    ]
    return sorted(shown, key=lambda b: b.mapTo(pane.detail.widget(), b.rect().topLeft()).y())


def test_no_runs_points_to_the_team_pane(qtbot, make_app):
    app, pane = runs_app(qtbot, make_app)
    assert pane.empty.isVisible() and "Team" in pane.empty.hint_label.text()
    pane.empty.button.click()
    assert app.window.current_pane() == "team"


def test_runs_table_detail_and_learning_curve(qtbot, make_app, demo):
    app, pane = runs_app(qtbot, make_app)
    assert pane.model.rowCount() == len(RUNS)
    first = [pane.model.data(pane.model.index(0, c)) for c in range(6)]
    assert first[1].startswith("Parse ISO dates") and first[2] == "Python helper" and first[3] == "learn"
    assert first[4] == "8.0"
    # The learning curve is the suite's pass rate per evaluation (the same tasks each time), not run scores;
    # a dashed note before a point counts the memories promoted since the evaluation before.
    qtbot.waitUntil(lambda: bool(pane.chart.series()), timeout=5000)
    assert list(pane.chart.series()) == ["suite pass rate"]
    points = pane.chart.series()["suite pass rate"]
    assert [p.y for p in points] == [40.0, 50.0, 60.0, 70.0]
    assert [p.note for p in points] == ["", "+1", "", "+1"] and all(p.grounded for p in points)
    assert "promoted since the evaluation before" in points[1].label
    assert "the same 10 tasks" in pane.evaluation.caption.text()

    # The newest run is open: its steps, their evidence, and the memories they used.
    qtbot.waitUntil(lambda: pane.detail.run is not None, timeout=5000)
    texts = [w.text() for w in pane.detail.widget().findChildren(QLabel)]
    assert any("Memories in its prompt" in t for t in texts)
    memory_link = next(w for w in pane.detail.widget().findChildren(QLabel) if w.objectName() == "linkLabel")
    memory_link.linkActivated.emit(next(iter([memory_link.text().split('"')[1]])))
    assert app.window.current_pane() == "memory"


def test_clicking_a_point_shows_that_evaluation_and_the_team_filter_narrows_the_runs(qtbot, make_app, demo):
    app, pane = runs_app(qtbot, make_app)
    pane.resize(1100, 700)
    qtbot.waitUntil(lambda: pane.evaluation.details.isVisible(), timeout=5000)
    assert "7/10 passed (70%)" in pane.evaluation.details.text()  # the latest, at first
    oldest = pane.chart.series()["suite pass rate"][0]
    target = pane.chart._to_screen(oldest, pane.chart._plot())
    assert pane.chart.point_at(QPointF(target)) is oldest
    with settled(qtbot, app.bridge, 5000):
        qtbot.mouseClick(pane.chart, Qt.MouseButton.LeftButton, pos=target.toPoint())
    assert pane.evaluation.shown["id"] == oldest.key and "4/10 passed (40%)" in pane.evaluation.details.text()
    assert "factorial" in pane.evaluation.details.text().split("failed:")[1]
    assert "passed: add, square, is_even, maximum" in pane.evaluation.details.toolTip()
    pane.team_filter.setCurrentIndex(pane.team_filter.findData("Docs writer"))
    assert pane.model.rowCount() == 3


def test_a_team_run_shows_up_at_once(qtbot, make_app):
    model = coding_team_model()
    app, pane = runs_app(
        qtbot, make_app, engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: model)
    )
    team = app.window.team_pane
    team.purpose_edit.setText("Help me write Python code")
    with settled(qtbot, app.bridge, 5000):
        team.propose()
    with qtbot.waitSignal(app.bridge.sig_team_run_finished, timeout=15_000):
        team.run_task("Write a function that sorts names", "", "train")
    qtbot.waitUntil(lambda: pane.model.rowCount() == 1, timeout=5000)
    assert pane.model.run(0)["task"] == "Write a function that sorts names"


def test_runs_say_what_grounds_their_scores_and_old_runs_say_it_was_not_recorded(qtbot, make_app, demo):
    app, pane = runs_app(qtbot, make_app)
    pane.resize(1200, 800)
    column = COLUMNS.index("Grounding")
    cells = {
        pane.model.run(r)["task"]: pane.model.data(pane.model.index(r, column))
        for r in range(pane.model.rowCount())
    }
    assert cells["Parse ISO dates from a log file and count errors per day"] == "given tests"
    assert cells["Validate email addresses without regex backtracking"] == "tester checks"
    assert cells["Explain the chunk size setting for uploads"] == "not grounded"
    assert cells["Parse a CSV of orders and total them per customer"] == "not recorded"

    # The newest run is open: each step's badge sits next to its score.
    qtbot.waitUntil(lambda: len(step_badges(pane)) == 3, timeout=5000)
    badges = [b.full_text for b in step_badges(pane)]  # the label (a narrow card may elide it on screen)
    assert all(b.text() == b.full_text or b.text().endswith("…") for b in step_badges(pane))
    assert badges == [
        "not grounded: no tests ran",
        "grounded: 2 given tests, all 2 passed",
        "not grounded: no tests ran",
    ]
    assert pane.detail.run_grounding.full_text == "grounded: 2 given tests, all 2 passed"

    # A run recorded before scores said what grounds them says so, on the run and on every step.
    oldest = pane.model.rowCount() - 1
    with settled(qtbot, app.bridge, 5000):
        qtbot.mouseClick(
            pane.table.viewport(),
            Qt.MouseButton.LeftButton,
            pos=pane.table.visualRect(pane.model.index(oldest, 1)).center(),
        )
    assert pane.detail.run["task"] == "Write a function that sorts a list of names by surname"
    assert pane.detail.run.get("grounded_by") is None
    assert pane.detail.run_grounding.full_text == "grounding not recorded"
    qtbot.waitUntil(lambda: len(step_badges(pane)) == 3, timeout=5000)
    steps = step_badges(pane)
    assert {b.full_text for b in steps} == {"grounding not recorded"}



def test_a_narrow_grounding_badge_is_cut_short_but_its_tooltip_has_it_all(qtbot):
    badge = GroundingBadge("tester_checks", {"source": "tester", "passed": 3, "failed": 1})
    qtbot.addWidget(badge)
    badge.show()
    assert badge.text() == "grounded: 4 tester checks (1 of 4 failed)"
    badge.resize(badge.minimumSizeHint().width(), badge.height())
    qtbot.waitUntil(lambda: badge.text().endswith("…"), timeout=2000)
    assert badge.full_text == "grounded: 4 tester checks (1 of 4 failed)"
    assert "written without seeing the solution" in badge.toolTip()
    badge.resize(badge.sizeHint().width(), badge.height())
    qtbot.waitUntil(lambda: badge.text() == badge.full_text, timeout=2000)
