"""Screenshots of chat, completed on the demo data: an answer with its chips and actions, the source viewer,
search results — light and dark (temp dir; PURPOSE_SCREENSHOTS=1 → docs/screenshots/)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from purpose_desktop.ui.theme import apply_theme
from tests.ui.conftest import settled
from tests.ui.test_screenshots import shots, themed  # noqa: F401 - fixtures
from tests.ui.test_screenshots_panes import demo_app  # noqa: F401 - fixture


def _save(widget, path, min_w: int, min_h: int) -> None:
    assert widget.grab().save(str(path))
    image = QImage(str(path))
    assert image.width() >= min_w and image.height() >= min_h


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_screenshot_chat_with_chips_source_and_search(qtbot, demo_app, themed, shots, mode):  # noqa: F811
    apply_theme(themed, mode)
    suffix = "" if mode == "light" else "-dark"
    app = demo_app
    pane = app.pane
    qtbot.waitUntil(lambda: pane.list_model.rowCount() == 2, timeout=10_000)
    cited = next(c for c in pane.list_model.conversations() if c.title == "Which upload errors to retry")
    pane.select_conversation(cited.id)
    qtbot.waitUntil(
        lambda: len(pane.message_widgets()) == 2 and pane.message_widgets()[1].message is not None
    )
    answer = pane.message_widgets()[1]
    qtbot.waitUntil(lambda: answer.chips.isVisible() and answer.actions_row.isVisible())
    assert answer.chips.chip_texts()[1:] == [
        "[1] docs/uploads.md:3-7",
        "[2] src/uploader.py:16-23",
        "1 passage withheld by the safety scan",
    ]
    qtbot.wait(80)
    _save(app.window, shots / f"chat-cited{suffix}.png", 1200, 760)

    # A source chip opens the viewer at those lines.
    qtbot.mouseClick(answer.chips.chips[2], Qt.MouseButton.LeftButton)
    viewer = pane.source_viewer
    qtbot.waitExposed(viewer)
    assert viewer.view.highlighted_lines() == list(range(16, 24))
    qtbot.waitUntil(lambda: 16 in viewer.view.visible_lines() and 23 in viewer.view.visible_lines())
    qtbot.wait(50)
    _save(viewer, shots / f"source-viewer{suffix}.png", 700, 500)
    viewer.close()

    # Search across chats.
    pane.focus_search()
    with settled(qtbot, app.bridge, 10_000):
        qtbot.keyClicks(pane.search.field, "retry")
    qtbot.waitUntil(lambda: pane.search.results.count() >= 2)
    qtbot.wait(50)
    _save(app.window, shots / f"chat-search{suffix}.png", 1200, 760)
