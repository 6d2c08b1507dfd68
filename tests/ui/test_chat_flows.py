"""Harder chat flows: autoscroll, switching chats mid-reply, deleting the chat that is streaming, a broken store."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt

from purpose_desktop.engine.errors import StoreError
from tests.fakes import ScriptedModel
from tests.ui.conftest import settled
from tests.ui.test_chat_window import assistant, press, type_and_send

LONG = " ".join(f"Paragraph {i}.\n\n" for i in range(120))


def test_autoscroll_follows_only_while_at_the_bottom(qtbot, make_app):
    hold = threading.Event()
    app = make_app(ScriptedModel(replies=[LONG], hold=hold, hold_after=60))
    pane = app.pane
    bar = pane.messages.verticalScrollBar()
    type_and_send(qtbot, pane, "Many paragraphs please")
    qtbot.waitUntil(lambda: "Paragraph 29." in assistant(pane).text and bar.maximum() > 0, timeout=5000)
    qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=2000)  # followed the text down

    bar.setValue(0)  # the person scrolls up to reread the start
    grown_from = bar.maximum()
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        hold.set()
    qtbot.waitUntil(lambda: bar.maximum() > grown_from, timeout=2000)
    assert bar.value() == 0  # and stays there while the rest arrives

    # Sending again jumps back to the bottom.
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, pane, "Again")
    qtbot.waitUntil(lambda: bar.value() == bar.maximum(), timeout=2000)


def test_switching_chats_while_a_reply_streams(qtbot, make_app):
    hold = threading.Event()
    model = ScriptedModel(replies=["Old answer.", "streamed words arrive here"], hold=hold, hold_after=2)
    app = make_app(model)
    pane = app.pane
    hold.set()
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, pane, "Old chat")
    old_id = pane.current_conversation_id
    hold.clear()

    press(app.window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    type_and_send(qtbot, pane, "New chat")
    qtbot.waitUntil(lambda: assistant(pane).text == "streamed words", timeout=5000)
    new_id = pane.current_conversation_id
    assert new_id and new_id != old_id

    # Open the old chat mid-reply: it is shown from what the pane already knows; the reply goes on.
    pane.select_conversation(old_id)
    assert [w.text for w in pane.message_widgets()] == ["Old chat", "Old answer."]
    assert pane.streaming

    # Back to the streaming chat: the live reply is re-attached and keeps growing.
    pane.select_conversation(new_id)
    assert [w.text for w in pane.message_widgets()] == ["New chat", "streamed words"]
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        hold.set()
    qtbot.waitUntil(lambda: assistant(pane).text == "streamed words arrive here", timeout=5000)
    assert len(pane.message_widgets()) == 2


def test_deleting_the_chat_that_is_streaming_stops_it_and_keeps_it_deleted(qtbot, make_app):
    hold = threading.Event()
    app = make_app(ScriptedModel(replies=["one two three four"], hold=hold, hold_after=1))
    pane = app.pane
    type_and_send(qtbot, pane, "Doomed chat")
    qtbot.waitUntil(lambda: assistant(pane).text == "one", timeout=5000)
    doomed = pane.current_conversation_id
    with qtbot.waitSignal(app.bridge.sig_reply_cancelled, timeout=5000):
        pane.delete_conversation(doomed)
    qtbot.waitUntil(lambda: not pane.streaming, timeout=5000)
    assert pane.list_model.row_of(doomed) < 0  # the stopped reply did not bring it back
    assert pane.current_conversation_id is None

    undo = next(b for b in pane.undo_banner.action_buttons() if b.text() == "Undo")
    with settled(qtbot, app.bridge, 5000):
        qtbot.mouseClick(undo, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(pane.message_widgets()) == 2, timeout=5000)
    assert assistant(pane).text == "one"
    assert assistant(pane).badge_text() == "stopped"


def test_a_broken_database_is_reported_and_nothing_hangs(qtbot, make_app):
    def broken_engine():
        raise StoreError("The database is read-only.", "Check the permissions of the data folder.")

    app = make_app(engine_factory=broken_engine, wait_ready=False)
    pane = app.pane
    qtbot.waitUntil(lambda: pane.model_state == "failed", timeout=5000)
    assert pane.error_banner.message_label.text() == "The database is read-only."
    assert pane.error_banner.hint_label.text() == "Check the permissions of the data folder."
    assert not pane.input.isEnabled()
    assert app.window.model_status.text() == "No model loaded"


def test_empty_or_whitespace_input_is_not_sent(qtbot, make_app):
    app = make_app()
    pane = app.pane
    pane.input.setFocus()
    qtbot.keyClicks(pane.input, "   ")
    assert not pane.send_button.isEnabled()
    qtbot.keyClick(pane.input, Qt.Key.Key_Return)
    assert pane.message_widgets() == []
    assert pane.input.toPlainText() == "   "


def test_a_new_chat_is_listed_with_its_title_while_the_reply_streams(qtbot, make_app):
    hold = threading.Event()
    app = make_app(ScriptedModel(replies=["a b c"], hold=hold, hold_after=1))
    pane = app.pane
    type_and_send(qtbot, pane, "How do I read a file line by line in Python without loading it all?")
    qtbot.waitUntil(lambda: len(pane.list_model.conversations()) == 1, timeout=5000)
    title = pane.list_model.conversations()[0].title
    assert title.startswith("How do I read a file line by line") and title.endswith("…")
    assert app.window.reply_stats.text() == ""
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        hold.set()
    assert pane.list_model.conversations()[0].title == title  # the engine agrees
