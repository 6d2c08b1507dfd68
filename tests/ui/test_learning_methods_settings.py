"""Settings ▸ Teams and learning: one switch per self-improvement method, kept in settings.json and used by the engine."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt

from purpose_desktop.engine import paths
from purpose_desktop.ui.ops import EngineOp
from tests.ui.conftest import press, settled


def engine_policy(qtbot, app):
    """The memory policy the engine now builds for runs, asked on the engine thread."""
    got = []
    with settled(qtbot, app.bridge, 5000):
        EngineOp(app.window, lambda e: e.memories.policy()).success(got.append).run(app.bridge)
    return got[0]


def test_turning_a_learning_method_off_is_saved_and_the_engine_uses_it(qtbot, make_app):
    app = make_app()
    pane = app.window.settings_pane
    press(app.window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    section = pane.learning_methods
    assert all(check.isChecked() for check in section.boxes.values())
    hindsight = section.boxes["hindsight"]
    assert "Off: no hindsight case is proposed" in hindsight.toolTip()

    with settled(qtbot, app.bridge, 5000):
        hindsight.click()
    assert json.loads(paths.settings_path().read_text())["learning_methods_off"] == ["hindsight"]
    policy = engine_policy(qtbot, app)
    assert not policy.uses("hindsight") and policy.uses("critic_calibration")

    section.boxes["critic_calibration"].setFocus()
    with settled(qtbot, app.bridge, 5000):
        qtbot.keyClick(section.boxes["critic_calibration"], Qt.Key.Key_Space)  # keyboard works as well
    assert json.loads(paths.settings_path().read_text())["learning_methods_off"] == ["hindsight", "critic_calibration"]
    assert not engine_policy(qtbot, app).uses("critic_calibration")

    section.apply_settings({"learning_methods_off": []})  # showing a saved choice saves nothing
    qtbot.waitUntil(lambda: hindsight.isChecked())
    assert json.loads(paths.settings_path().read_text())["learning_methods_off"] == ["hindsight", "critic_calibration"]
    pane.resize(900, 1400)
    pane.grab().save("/tmp/learnbench-settings.png")
