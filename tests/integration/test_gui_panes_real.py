"""Panes against the real engine: the bundled GGUF through the Team pane into the Runs pane, and the Models pane
loading the real model file; every result read back from the real SQLite file."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.store import Store
from tests.ui.conftest import make_app, no_dangling_qthreads, settled, ui_settings  # noqa: F401 - fixtures
from tests.ui.test_chat_window import press

pytestmark = pytest.mark.model


def test_team_run_on_the_real_model_is_scored_traced_and_listed(qtbot, make_app, _isolated_home):  # noqa: F811
    app = make_app(engine_factory=Engine)
    window = app.window
    press(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    team = window.team_pane
    team.purpose_edit.setText("Help me write Python code")
    with settled(qtbot, app.bridge, 30_000):
        team.propose()
    # One role keeps the real-model run short; the mechanics are the same for three.
    team.role_list.setCurrentRow(0)
    while len(team.spec["roles"]) > 1:
        team.role_list.setCurrentRow(len(team.spec["roles"]) - 1)
        team.remove_role()
    assert [r["name"] for r in team.spec["roles"]] == ["architect"]
    panel = team.run_panel
    panel.task_edit.setPlainText("Plan a function that reverses a string.")
    with qtbot.waitSignal(app.bridge.sig_team_run_finished, timeout=240_000) as finished:
        panel.run_button.click()
        qtbot.waitUntil(lambda: len(panel.cards()) >= 1, timeout=60_000)
    result = finished.args[1]
    assert result.status == "complete" and result.steps[0].score is not None
    card = panel.cards()[0]
    assert card.text.strip() and card.badge.text().endswith("/ 10")
    assert "Finished" in panel.summary.text()

    press(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    runs = window.runs_pane
    qtbot.waitUntil(lambda: runs.model.rowCount() == 1, timeout=10_000)
    qtbot.waitUntil(lambda: runs.detail.run is not None, timeout=10_000)
    assert runs.detail.run["id"] == result.run_id
    assert runs.detail.run["steps"][0]["score"] == result.steps[0].score
    with Store(_isolated_home / "purpose.db") as store:
        stored = store.get_run(result.run_id)
    assert stored["status"] == "complete" and stored["steps"][0]["evidence"]


def test_models_pane_loads_the_real_model_with_new_load_settings(qtbot, make_app, _isolated_home):  # noqa: F811
    app = make_app(engine_factory=Engine)
    window = app.window
    press(window, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    pane = window.models_pane
    qtbot.waitUntil(lambda: pane.model.rowCount() > 0, timeout=10_000)
    bundled = next(r for r in pane.model.rows() if r.source == "bundled")
    assert pane.model.is_loaded(bundled)  # the loaded model is marked "in use"
    assert pane.use_button.text() == "In use" and not pane.use_button.isEnabled()
    pane.ctx_spin.setValue(1024)
    with qtbot.waitSignal(app.bridge.sig_model_loaded, timeout=60_000) as loaded:
        pane.apply_button.click()
    assert loaded.args[1].context_length == 1024
    assert "SmolLM2" in window.model_status.text()
