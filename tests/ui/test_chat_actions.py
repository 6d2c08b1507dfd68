"""Chat, completed — driven like a person against the real engine and bundled model: copy, regenerate,
"this was wrong", edit and resend, search across chats, export to Markdown."""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.settings import EngineSettings, save_settings
from purpose_desktop.engine.store import Store
from tests.ui.conftest import settled
from tests.ui.test_chat_window import assistant, press, type_and_send

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
REPLY_MS = 120_000


@pytest.fixture
def real_app(make_app, _isolated_home, demo_embedder):
    """The window on the default Engine (bundled model) with short, deterministic replies."""
    save_settings(replace(EngineSettings(), max_tokens=24, temperature=0.0))

    def make():
        return make_app(engine_factory=Engine)

    return make


def _stored(home, conversation_id: str) -> list:
    store = Store(home / "purpose.db")
    try:
        return store.messages(conversation_id)
    finally:
        store.close()


def _send(qtbot, app, text: str):
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=REPLY_MS) as finished:
        type_and_send(qtbot, app.pane, text)
    return finished.args[1]


def _shown(pane) -> list[tuple[str, str]]:
    return [(w.message_id, w.text) for w in pane.message_widgets()]


def _store_view(home, pane) -> list[tuple[str, str]]:
    return [(m.id, m.content) for m in _stored(home, pane.current_conversation_id)]


def test_copy_regenerate_and_this_was_wrong(qtbot, real_app, _isolated_home):
    app = real_app()
    pane, window = app.pane, app.window
    first = _send(qtbot, app, "Name one colour.")
    reply = assistant(pane)
    row = reply.actions_row
    qtbot.waitUntil(row.isVisible)
    assert reply.message_id == first.assistant.id

    # Copy puts the whole reply on the clipboard and says so on the button.
    qtbot.mouseClick(row.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == first.assistant.content
    assert row.copy_button.text() == "Copied ✓"

    # Regenerate: only on the latest reply; disabled while the new one streams.
    assert row.regenerate_button.isVisible() and row.regenerate_button.isEnabled()
    assert not pane.message_widgets()[0].actions_row.regenerate_button.isVisible()
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=REPLY_MS) as again:
        qtbot.mouseClick(row.regenerate_button, Qt.MouseButton.LeftButton)
        assert pane.streaming and not window.regenerate_action.isEnabled()
        assert len(pane.message_widgets()) == 2  # the old reply made way for the new one
    new = again.args[1].assistant
    assert new.id != first.assistant.id
    qtbot.waitUntil(lambda: _shown(pane) == _store_view(_isolated_home, pane), timeout=10_000)
    assert [m.role for m in _stored(_isolated_home, pane.current_conversation_id)] == ["user", "assistant"]
    assert window.regenerate_action.isEnabled()

    # The replaced reply is one Undo away: the banner puts it back, in the store and on screen.
    assert pane.undo_banner.isVisible() and "replaced" in pane.undo_banner.message_label.text()
    with settled(qtbot, app.bridge, 10_000):
        pane.undo_banner.action_buttons()[0].click()
    stored = _stored(_isolated_home, pane.current_conversation_id)
    assert [m.id for m in stored] == [first.user.id, first.assistant.id]
    qtbot.waitUntil(lambda: assistant(pane).message_id == first.assistant.id, timeout=5000)
    assert _shown(pane) == _store_view(_isolated_home, pane) and not pane.undo_banner.isVisible()

    # Ctrl+Shift+R regenerates too.
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=REPLY_MS):
        press(window, Qt.Key.Key_R, CTRL_SHIFT)
    qtbot.waitUntil(lambda: _shown(pane) == _store_view(_isolated_home, pane), timeout=10_000)
    assert len(pane.message_widgets()) == 2

    # "This was wrong" (Ctrl+Shift+X): a note, then the reply shows it was marked and the store keeps it.
    press(window, Qt.Key.Key_X, CTRL_SHIFT)
    qtbot.waitUntil(lambda: pane.wrong_dialog is not None and pane.wrong_dialog.isVisible())
    dialog = pane.wrong_dialog
    qtbot.keyClicks(dialog.note_edit, "not a colour")
    with settled(qtbot, app.bridge, 10_000):
        qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    latest = assistant(pane)
    qtbot.waitUntil(lambda: latest.actions_row.feedback_label.isVisible())
    assert latest.actions_row.feedback_label.text() == "✗ Marked as wrong"
    assert not latest.actions_row.wrong_button.isEnabled()
    assert window.statusBar().currentMessage().startswith("Marked as wrong")
    stored = _stored(_isolated_home, pane.current_conversation_id)[-1]
    assert stored.meta["feedback"]["verdict"] == "wrong" and stored.meta["feedback"]["note"] == "not a colour"


def test_edit_and_resend_replaces_later_messages_after_confirming(qtbot, real_app, _isolated_home):
    app = real_app()
    pane, window = app.pane, app.window
    _send(qtbot, app, "Say the word apple.")
    _send(qtbot, app, "Say the word banana.")
    qtbot.keyClicks(pane.input, "my unfinished draft")
    first_user = pane.message_widgets()[0]
    qtbot.waitUntil(first_user.actions_row.isVisible)
    qtbot.mouseClick(first_user.actions_row.edit_button, Qt.MouseButton.LeftButton)
    composer = pane.composer
    assert composer.edit_banner.isVisible()
    assert "Editing your message" in composer.edit_banner.message_label.text()
    assert pane.input.toPlainText() == "Say the word apple."

    # Esc cancels editing and gives the draft back.
    qtbot.keyClick(pane.input, Qt.Key.Key_Escape)
    assert composer.editing is None and pane.input.toPlainText() == "my unfinished draft"

    # Edit again, change the text; Enter asks first because 3 later messages would be replaced.
    qtbot.mouseClick(first_user.actions_row.edit_button, Qt.MouseButton.LeftButton)
    pane.input.selectAll()
    qtbot.keyClicks(pane.input, "Say the word cherry.")
    qtbot.keyClick(pane.input, Qt.Key.Key_Return)
    assert composer.confirm_banner.isVisible() and not pane.streaming
    assert "replaces the 3 messages" in composer.confirm_banner.message_label.text()
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=REPLY_MS):
        qtbot.keyClick(pane.input, Qt.Key.Key_Return)  # Enter again confirms
    qtbot.waitUntil(lambda: _shown(pane) == _store_view(_isolated_home, pane), timeout=10_000)
    stored = _stored(_isolated_home, pane.current_conversation_id)
    assert [(m.role, m.content) for m in stored][0] == ("user", "Say the word cherry.")
    assert len(stored) == 2
    assert pane.input.toPlainText() == "my unfinished draft"
    assert not composer.edit_banner.isVisible()

    # Ctrl+Shift+Up edits the latest message; only its own reply follows, so Enter resends at once.
    pane.input.clear()
    press(window, Qt.Key.Key_Up, CTRL_SHIFT)
    assert composer.editing is not None and pane.input.toPlainText() == "Say the word cherry."
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=REPLY_MS):
        qtbot.keyClick(pane.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _shown(pane) == _store_view(_isolated_home, pane), timeout=10_000)
    assert len(pane.message_widgets()) == 2


def test_search_across_chats_opens_the_message_and_export_writes_markdown(
    qtbot, real_app, _isolated_home, tmp_path, monkeypatch
):
    app = real_app()
    pane, window = app.pane, app.window
    _send(qtbot, app, "Tell me about the zebra.")
    zebra_chat = pane.current_conversation_id
    press(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    _send(qtbot, app, "Tell me about the ocean.")

    press(window, Qt.Key.Key_F, CTRL_SHIFT)
    search = pane.search
    assert search.field.hasFocus()
    with settled(qtbot, app.bridge, 10_000):
        qtbot.keyClicks(search.field, "zebra")
    qtbot.waitUntil(lambda: search.results.count() >= 1)
    assert not pane.list_view.isVisible()
    hit = search.hits[0]
    assert hit.conversation_id == zebra_chat and "zebra" in hit.snippet.lower()
    assert "<b>zebra</b>" in search.results.itemWidget(search.results.item(0)).snippet_label.text()

    # Activating the result opens that chat and highlights the message.
    qtbot.keyClick(search.field, Qt.Key.Key_Down)
    qtbot.keyClick(search.results, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: pane.current_conversation_id == zebra_chat)
    qtbot.waitUntil(
        lambda: any(w.message_id == hit.message_id and w.property("found") for w in pane.message_widgets()),
        timeout=5000,
    )

    # No match: a clear empty state. Esc clears the search and the chat list is back.
    search.field.setFocus()
    search.field.selectAll()
    with settled(qtbot, app.bridge, 10_000):
        qtbot.keyClicks(search.field, "qqxyzzy")
    qtbot.waitUntil(lambda: search.status_label.text() == "No messages match “qqxyzzy”.")
    assert not search.results.isVisible()
    qtbot.keyClick(search.field, Qt.Key.Key_Escape)
    assert search.field.text() == "" and pane.list_view.isVisible()

    # Export (Ctrl+Shift+E): the save dialog suggests the chat's title; the file holds the chat.
    target = tmp_path / "exported.md"
    asked = {}

    def save_dialog(_parent, _caption, suggested, _filter):
        asked["suggested"] = suggested
        return str(target), "Markdown (*.md)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    with settled(qtbot, app.bridge, 10_000):
        press(window, Qt.Key.Key_E, CTRL_SHIFT)
    assert asked["suggested"].endswith(".md")
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == f"Exported to {target}")
    assert "Tell me about the zebra." in target.read_text(encoding="utf-8")

    # A failure shows the pane's error banner.
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *_a: (str(tmp_path / "no" / "such" / "dir" / "x.md"), "")
    )
    blocked = tmp_path / "no"
    blocked.write_text("a file where a folder should be")
    with qtbot.waitSignal(app.bridge.sig_call_failed, timeout=10_000):
        press(window, Qt.Key.Key_E, CTRL_SHIFT)
    qtbot.waitUntil(pane.error_banner.isVisible)
