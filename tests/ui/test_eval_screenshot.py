"""`purpose-desktop eval screenshot`: the Runs pane on the person's own (real) data, never stamped DEMO."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QImage

from purpose_desktop.engine.store import Store
from purpose_desktop.engine.store.evals import EvalRepo
from purpose_desktop.ui.screenshots import DEMO_STAMP_COLOR, ScreenshotError, render_runs_pane

pytestmark = pytest.mark.model  # the window loads the bundled model, as the app does


def test_real_data_is_never_stamped_demo_and_an_empty_curve_is_refused(qtbot, tmp_path, _isolated_home):
    with pytest.raises(ScreenshotError, match="no evaluation"):
        render_runs_pane(tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()
    with Store() as store:
        EvalRepo(store).append(
            {
                "started_at": "2026-12-01T10:00:00+00:00",
                "status": "complete",
                "n_tasks": 2,
                "n_passed": 1,
                "n_grounded": 2,
                "pass_rate": 0.5,
                "results": [
                    {"name": "add", "passed": True, "grounded_by": "given_tests", "elapsed_ms": 1.0},
                    {"name": "square", "passed": False, "grounded_by": "given_tests", "elapsed_ms": 1.0},
                ],
            }
        )
    path = render_runs_pane(tmp_path / "runs.png")
    image = QImage(str(path))
    assert image.width() == 1280 and image.height() == 800
    assert image.pixelColor(image.width() - 14, 8).name() != DEMO_STAMP_COLOR
    assert not list(_isolated_home.glob("*.ini"))  # window state did not go into the data folder
