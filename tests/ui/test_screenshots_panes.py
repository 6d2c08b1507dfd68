"""Screenshots of every pane on the demo data set, light and dark (temp dir; PURPOSE_SCREENSHOTS=1 → docs/)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from purpose_desktop.demo import DemoEmbedder, build_demo
from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.vault import Vault
from purpose_desktop.ui.screenshots import stamp_demo
from purpose_desktop.ui.theme import apply_theme
from tests.ui.conftest import settled
from tests.ui.pane_fakes import coding_team_model
from tests.ui.test_screenshots import assert_stamped, shots, themed  # noqa: F401 - fixtures

PANES = ("team", "runs", "memory", "vault", "models", "settings")


@pytest.fixture
def demo_app(qtbot, make_app, _isolated_home, demo_embedder):
    build_demo(_isolated_home)
    model = coding_team_model()
    app = make_app(
        engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: model),
        vault_factory=lambda: Vault(embedder=DemoEmbedder()),
    )
    app.window.resize(1280, 800)
    return app


def _fill(qtbot, app, pane: str) -> None:
    w = app.window
    w.show_pane(pane)
    if pane == "team":
        team = w.team_pane
        qtbot.waitUntil(lambda: team.team_list.count() == 2, timeout=5000)
        team.team_list.setCurrentRow(1)
        qtbot.waitUntil(lambda: team.spec is not None, timeout=5000)
        team.run_panel.task_edit.setPlainText("Write a function that sorts a list of full names by surname")
        with qtbot.waitSignal(app.bridge.sig_team_run_finished, timeout=15_000):
            team.run_panel.run_button.click()
    elif pane == "runs":
        qtbot.waitUntil(
            lambda: w.runs_pane.detail.run is not None and w.runs_pane.evaluation.details.isVisible(), timeout=5000
        )
    elif pane == "memory":
        qtbot.waitUntil(lambda: w.memory_pane.detail.memory is not None, timeout=5000)
    elif pane == "vault":
        vault = w.vault_pane
        qtbot.waitUntil(lambda: vault.source_list.count() == 1, timeout=5000)
        with settled(qtbot, app.bridge, 10_000):
            vault.search_edit.setText("retry failed uploads")
    elif pane == "models":
        qtbot.waitUntil(lambda: w.models_pane.model.rowCount() > 0, timeout=10_000)
    elif pane == "settings":
        with settled(qtbot, app.bridge, 60_000):
            pass
    qtbot.wait(80)


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_screenshot_every_pane(qtbot, demo_app, themed, shots, mode):  # noqa: F811
    apply_theme(themed, mode)
    app = demo_app
    for pane in PANES:
        _fill(qtbot, app, pane)
        name = pane if mode == "light" else f"{pane}-dark"
        path = shots / f"{name}.png"
        assert stamp_demo(app.window.grab()).save(str(path))
        image = QImage(str(path))
        assert image.width() >= 1200 and image.height() >= 760
        assert_stamped(image)
    assert app.window.memory_pane.tabs.tabText(0) == "To review (4)"
