"""Runs pane: past runs with team, mode, score, time; a run's steps and memories; the learning curve."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QLabel

from purpose_desktop.demo import RUNS, build_demo
from purpose_desktop.engine.core import Engine
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
    series = pane.chart.series()
    assert sorted(series) == ["Docs writer", "Python helper"]
    assert len(series["Python helper"]) == 9 and [p.y for p in series["Docs writer"]] == [6.0, 7.0, 7.5]

    # The newest run is open: its steps, their evidence, and the memories they used.
    qtbot.waitUntil(lambda: pane.detail.run is not None, timeout=5000)
    texts = [w.text() for w in pane.detail.widget().findChildren(QLabel)]
    assert any("Memories in its prompt" in t for t in texts)
    memory_link = next(w for w in pane.detail.widget().findChildren(QLabel) if w.objectName() == "linkLabel")
    memory_link.linkActivated.emit(next(iter([memory_link.text().split('"')[1]])))
    assert app.window.current_pane() == "memory"


def test_clicking_a_point_opens_that_run_and_the_team_filter_narrows(qtbot, make_app, demo):
    app, pane = runs_app(qtbot, make_app)
    pane.resize(1100, 700)
    oldest = pane.chart.series()["Python helper"][0]
    target = pane.chart._to_screen(oldest, pane.chart._plot())
    assert pane.chart.point_at(QPointF(target)) is oldest
    with settled(qtbot, app.bridge, 5000):
        qtbot.mouseClick(pane.chart, Qt.MouseButton.LeftButton, pos=target.toPoint())
    assert pane.detail.run["id"] == oldest.key
    pane.team_filter.setCurrentIndex(pane.team_filter.findData("Docs writer"))
    assert pane.model.rowCount() == 3 and list(pane.chart.series()) == ["Docs writer"]


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
