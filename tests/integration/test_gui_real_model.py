"""The whole path with the real bundled GGUF: window → bridge → engine thread → llama.cpp → SQLite."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.store import Store
from tests.ui.conftest import make_app, no_dangling_qthreads, ui_settings  # noqa: F401 - fixtures
from tests.ui.test_chat_window import assistant, press, type_and_send

pytestmark = pytest.mark.model

QUESTION = "Write a long, detailed tutorial about Python lists with many code examples."


def test_real_model_streams_stops_and_is_found_after_restart(qtbot, make_app, ui_settings, _isolated_home):  # noqa: F811
    app = make_app(engine_factory=Engine)  # the default Engine: bundled SmolLM2, settings from the temp home
    pane, window = app.pane, app.window
    assert "SmolLM2" in window.model_status.text()

    # A first, complete reply: tokens stream into the view and the stats reach the status bar.
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=120_000) as finished:
        type_and_send(qtbot, pane, "What is a Python list? One sentence.")
    result = finished.args[1]
    assert result.assistant.status == "complete"
    assert assistant(pane).text.strip() == result.assistant.content.strip() != ""
    assert "tok/s" in window.reply_stats.text()

    # A second reply, stopped as soon as it has started streaming.
    type_and_send(qtbot, pane, QUESTION)
    qtbot.waitUntil(lambda: len(assistant(pane).text) > 0, timeout=60_000)
    with qtbot.waitSignal(app.bridge.sig_reply_cancelled, timeout=30_000) as cancelled:
        press(window, Qt.Key.Key_Escape)
    partial = cancelled.args[1].assistant
    assert partial.status == "cancelled" and partial.content
    assert assistant(pane).badge_text() == "stopped"
    conversation_id = pane.current_conversation_id
    assert app.close()

    store = Store(_isolated_home / "purpose.db")
    try:
        stored = store.messages(conversation_id)
    finally:
        store.close()
    assert [m.status for m in stored] == ["complete", "complete", "complete", "cancelled"]
    assert stored[-1].content == partial.content

    # Restart on the same data folder: the chat is listed and opens with all four messages.
    again = make_app(engine_factory=Engine, settings=ui_settings)
    qtbot.waitUntil(lambda: again.pane.list_model.row_of(conversation_id) >= 0, timeout=10_000)
    again.pane.select_conversation(conversation_id)
    qtbot.waitUntil(lambda: len(again.pane.message_widgets()) == 4, timeout=10_000)
    widgets = again.pane.message_widgets()
    assert widgets[2].text == QUESTION
    assert widgets[3].badge_text() == "stopped"
    assert widgets[3].text == partial.content
