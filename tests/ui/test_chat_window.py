"""Drive the real window like a person, on a scripted model: type, send, watch, stop, rename, delete, restart."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QMimeData, QPoint, Qt
from PySide6.QtGui import QGuiApplication, QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit

from purpose_desktop.engine.core import MAX_INPUT_CHARS, Engine
from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.store import Store
from tests.fakes import ScriptedModel
from tests.ui.conftest import scripted_factory, settled

CODE = (
    'def greet(name: str) -> str:\n    return f"Hello, {name}!"  # <b>not html</b>\n\n\nprint(greet("Ada"))'
)
CODE_REPLY = f"Here you go:\n\n```python\n{CODE}\n```\n\nCall it with any name."


def type_and_send(qtbot, pane, text: str) -> None:
    pane.input.setFocus()
    qtbot.keyClicks(pane.input, text)
    qtbot.keyClick(pane.input, Qt.Key.Key_Return)


def press(window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A key press through the window, as the keyboard would deliver it (so shortcuts fire)."""
    QTest.keyClick(window.windowHandle(), key, modifier)


def assistant(pane):
    return [w for w in pane.message_widgets() if w.role == "assistant"][-1]


def stored_messages(home) -> list:
    store = Store(home / "purpose.db")
    try:
        convs = store.list_conversations()
        return [m for c in convs for m in store.messages(c.id)]
    finally:
        store.close()


# -- sending and streaming -----------------------------------------------------------------------------
def test_type_enter_streams_tokens_and_renders(qtbot, make_app):
    hold = threading.Event()
    app = make_app(ScriptedModel(replies=["one two three four five six"], hold=hold, hold_after=3))
    pane = app.pane
    assert pane.input.isEnabled()

    type_and_send(qtbot, pane, "Say six words")

    assert pane.input.toPlainText() == ""
    assert pane.send_button.text() == "Stop"
    qtbot.waitUntil(lambda: assistant(pane).text == "one two three", timeout=5000)  # streamed, not at the end
    assert [w.text for w in pane.message_widgets() if w.role == "user"] == ["Say six words"]
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        hold.set()
    reply = assistant(pane)
    assert reply.text == "one two three four five six"
    assert "one two three four five six" in reply.body.toPlainText()
    assert reply.badge_text() == ""
    assert pane.send_button.text() == "Send"
    # The new chat is in the list, titled from the first message, and shown as selected.
    assert [c.title for c in pane.list_model.conversations()] == ["Say six words"]
    assert pane.list_view.current_id() == pane.current_conversation_id
    assert app.window.windowTitle().startswith("Say six words")
    assert "tok/s" in app.window.reply_stats.text() and "first token" in app.window.reply_stats.text()


def test_shift_enter_inserts_newline_without_sending(qtbot, make_app):
    app = make_app()
    pane = app.pane
    pane.input.setFocus()
    qtbot.keyClicks(pane.input, "first line")
    qtbot.keyClick(pane.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(pane.input, "second line")
    assert pane.input.toPlainText() == "first line\nsecond line"
    assert pane.message_widgets() == []
    assert not pane.streaming


def test_follow_up_turn_goes_to_the_same_chat(qtbot, make_app):
    model = ScriptedModel(replies=["First answer.", "Second answer."])
    app = make_app(model)
    pane = app.pane
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, pane, "Question one")
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, pane, "Question two")
    assert len(pane.list_model.conversations()) == 1
    assert [w.text for w in pane.message_widgets()] == [
        "Question one",
        "First answer.",
        "Question two",
        "Second answer.",
    ]
    # The model saw the first turn as history.
    assert [m["content"] for m in model.calls[1] if m["role"] != "system"] == [
        "Question one",
        "First answer.",
        "Question two",
    ]


# -- stopping ------------------------------------------------------------------------------------------
def test_escape_mid_stream_stops_and_keeps_partial_text(qtbot, make_app, _isolated_home):
    hold = threading.Event()
    app = make_app(ScriptedModel(replies=["alpha beta gamma delta epsilon"], hold=hold, hold_after=2))
    pane = app.pane
    type_and_send(qtbot, pane, "Stream something")
    qtbot.waitUntil(lambda: assistant(pane).text == "alpha beta", timeout=5000)
    assert app.window.stop_action.isEnabled()

    with qtbot.waitSignal(app.bridge.sig_reply_cancelled, timeout=5000):
        press(app.window, Qt.Key.Key_Escape)

    reply = assistant(pane)
    assert reply.text == "alpha beta"
    assert reply.badge_text() == "stopped"
    assert reply.badge.isVisible()
    assert pane.send_button.text() == "Send"
    assert not app.window.stop_action.isEnabled()
    assert "stopped" in app.window.statusBar().currentMessage().lower()
    stored = stored_messages(_isolated_home)
    assert [(m.role, m.content, m.status) for m in stored] == [
        ("user", "Stream something", "complete"),
        ("assistant", "alpha beta", "cancelled"),
    ]


def test_stop_button_before_first_token_and_twice_is_harmless(qtbot, make_app):
    hold = threading.Event()
    app = make_app(ScriptedModel(replies=["never shown", "Works again."], hold=hold, hold_after=0))
    pane = app.pane
    # Esc with nothing streaming does nothing.
    qtbot.keyClick(pane.input, Qt.Key.Key_Escape)
    assert not pane.streaming

    type_and_send(qtbot, pane, "Hello?")
    assert pane.send_button.text() == "Stop"
    with qtbot.waitSignal(app.bridge.sig_reply_cancelled, timeout=5000):
        qtbot.mouseClick(pane.send_button, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(pane.send_button, Qt.MouseButton.LeftButton)  # second click: button is "Stopping…"
        qtbot.keyClick(pane.input, Qt.Key.Key_Escape)  # and Esc on top: all harmless
    reply = assistant(pane)
    assert reply.text == ""
    assert reply.badge_text() == "stopped"
    assert reply.placeholder.text() == "Stopped before the first word."
    qtbot.keyClick(pane.input, Qt.Key.Key_Escape)  # after the end: harmless too

    hold.set()
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, pane, "Try again")
    assert assistant(pane).text == "Works again."


def test_reply_failure_shows_banner_and_gives_the_text_back(qtbot, make_app):
    model = ScriptedModel(
        replies=["unused"],
        error=ModelError("The model ran out of memory.", "Close other apps and try again."),
    )
    app = make_app(model)
    pane = app.pane
    with qtbot.waitSignal(app.bridge.sig_reply_failed, timeout=5000):
        type_and_send(qtbot, pane, "Explain decorators")
    assert pane.error_banner.isVisible()
    assert pane.error_banner.message_label.text() == "The model ran out of memory."
    assert pane.error_banner.hint_label.text() == "Close other apps and try again."
    assert assistant(pane).badge_text() == "failed"
    assert pane.input.toPlainText() == "Explain decorators"  # nothing came back: the message is not lost
    assert pane.input.isEnabled()


# -- conversations -------------------------------------------------------------------------------------
def _two_chats(qtbot, app) -> None:
    pane = app.pane
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, pane, "First chat")
    press(app.window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert pane.current_conversation_id is None
    assert pane.message_widgets() == []
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, pane, "Second chat")
    assert [c.title for c in pane.list_model.conversations()] == ["Second chat", "First chat"]


def test_rename_with_f2_and_double_click(qtbot, make_app):
    app = make_app()
    pane = app.pane
    _two_chats(qtbot, app)
    view = pane.list_view
    view.setFocus()
    view.setCurrentIndex(pane.list_model.index(1))  # "First chat"
    qtbot.waitUntil(lambda: pane.current_conversation_id == pane.list_model.conversations()[1].id)

    qtbot.keyClick(view, Qt.Key.Key_F2)
    editor = view.findChild(QLineEdit)
    assert editor is not None and editor.isVisible()
    editor.selectAll()
    qtbot.keyClicks(editor, "Renamed by F2")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: app.window.windowTitle().startswith("Renamed by F2"), timeout=5000)
    assert "Renamed by F2" in [c.title for c in pane.list_model.conversations()]
    assert app.window.windowTitle().startswith("Renamed by F2")

    row = pane.list_model.row_of(pane.list_model.conversations()[-1].id)
    rect = view.visualRect(pane.list_model.index(row))
    # A real double click is press, release, double-click, release; QTest's mouseDClick is only the second half.
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: any(e.isVisible() for e in view.findChildren(QLineEdit)))
    editor = next(e for e in view.findChildren(QLineEdit) if e.isVisible())
    editor.selectAll()
    qtbot.keyClicks(editor, "Renamed by double-click")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    titles = lambda: {c.title for c in pane.list_model.conversations()}  # noqa: E731
    qtbot.waitUntil(lambda: titles() == {"Renamed by F2", "Renamed by double-click"}, timeout=5000)


def test_delete_with_undo_then_purge_on_close(qtbot, make_app, _isolated_home):
    app = make_app()
    pane = app.pane
    _two_chats(qtbot, app)
    view = pane.list_view
    view.setFocus()
    second = pane.list_model.conversations()[0]
    view.setCurrentIndex(pane.list_model.index(0))

    with settled(qtbot, app.bridge, 5000):
        qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert [c.title for c in pane.list_model.conversations()] == ["First chat"]
    assert pane.current_conversation_id is None  # the deleted chat is no longer on screen
    assert pane.undo_banner.isVisible()
    assert "Second chat" in pane.undo_banner.message_label.text()

    undo = next(b for b in pane.undo_banner.action_buttons() if b.text() == "Undo")
    with settled(qtbot, app.bridge, 5000):
        qtbot.mouseClick(undo, Qt.MouseButton.LeftButton)
    assert not pane.undo_banner.isVisible()
    assert second.id in [c.id for c in pane.list_model.conversations()]
    qtbot.waitUntil(lambda: [w.text for w in pane.message_widgets()][:1] == ["Second chat"], timeout=5000)

    # Delete again, and this time let it stand: closing the app purges it for good.
    with settled(qtbot, app.bridge, 5000):
        pane.delete_conversation(second.id)
    assert app.close()
    store = Store(_isolated_home / "purpose.db")
    try:
        assert [c.title for c in store.list_conversations(include_deleted=True)] == ["First chat"]
    finally:
        store.close()


def test_restart_lists_the_conversation_with_its_messages(qtbot, make_app, ui_settings):
    app = make_app(ScriptedModel(replies=["Stored answer."]))
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, app.pane, "Remember this")
    app.pane.splitter.setSizes([300, 700])
    sizes = app.pane.splitter.sizes()
    assert app.close()

    again = make_app(ScriptedModel(), settings=ui_settings)
    pane = again.pane
    qtbot.waitUntil(lambda: len(pane.list_model.conversations()) == 1, timeout=5000)
    assert pane.list_model.conversations()[0].title == "Remember this"
    # restored from QSettings: the sidebar keeps its width (to a few pixels: the window is laid out again)
    assert abs(pane.splitter.sizes()[0] - sizes[0]) <= 16 and pane.splitter.sizes()[0] != 260
    with settled(qtbot, again.bridge, 5000):
        rect = pane.list_view.visualRect(pane.list_model.index(0))
        qtbot.mouseClick(pane.list_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: len(pane.message_widgets()) == 2, timeout=5000)
    assert [(w.role, w.text) for w in pane.message_widgets()] == [
        ("user", "Remember this"),
        ("assistant", "Stored answer."),
    ]


def test_closing_mid_reply_does_not_hang_and_saves_the_partial_reply(qtbot, make_app, _isolated_home):
    hold = threading.Event()
    app = make_app(ScriptedModel(replies=["partial text then much more"], hold=hold, hold_after=2))
    type_and_send(qtbot, app.pane, "Long answer please")
    qtbot.waitUntil(lambda: assistant(app.pane).text == "partial text", timeout=5000)

    started = time.monotonic()
    app.window.close()
    assert app.bridge.shutdown(5000)
    assert time.monotonic() - started < 3
    assert not app.bridge.running
    stored = stored_messages(_isolated_home)
    assert [(m.role, m.content, m.status) for m in stored][-1] == ("assistant", "partial text", "cancelled")


# -- code blocks, paste limit, shortcuts -------------------------------------------------------------------
def _anchor_point(body, href: str) -> QPoint:
    doc = body.document()
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            if fragment.charFormat().anchorHref() == href:
                cursor = QTextCursor(doc)
                cursor.setPosition(fragment.position() + 1)
                return body.cursorRect(cursor).center()
            it += 1
        block = block.next()
    raise AssertionError(f"no link {href!r} in the message")


def test_code_block_is_highlighted_and_copy_puts_exact_code_on_clipboard(qtbot, make_app):
    app = make_app(ScriptedModel(replies=[CODE_REPLY]))
    pane = app.pane
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, pane, "Write a greeting function")
    reply = assistant(pane)
    assert reply.code_blocks == (CODE,)
    html = reply.body.toHtml()
    assert "color:#008000" in html.replace(" ", "").lower()  # pygments keyword colour survived into Qt
    assert "bgcolor" in html.lower() or "background-color" in html.lower()
    assert "&lt;b&gt;not html&lt;/b&gt;" in reply.body.toHtml()  # shown as text, never parsed as markup
    assert "<b>not html</b>" in reply.body.toPlainText()

    QGuiApplication.clipboard().clear()
    point = _anchor_point(reply.body, "copy:0")
    qtbot.mouseClick(reply.body.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert QGuiApplication.clipboard().text() == CODE
    assert "Copied" in reply.body.toPlainText()
    assert "Copied 5 lines" in app.window.statusBar().currentMessage()


def test_huge_paste_is_refused_without_losing_the_input(qtbot, make_app):
    app = make_app()
    pane = app.pane
    pane.input.setFocus()
    qtbot.keyClicks(pane.input, "keep me")
    huge = "x" * 1_000_000
    QGuiApplication.clipboard().setText(huge)

    qtbot.keyClick(pane.input, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert pane.input.toPlainText() == "keep me"
    assert pane.paste_banner.isVisible()
    assert "1,000,000" in pane.paste_banner.message_label.text()
    assert f"{MAX_INPUT_CHARS:,}" in pane.paste_banner.message_label.text()

    cancel = next(b for b in pane.paste_banner.action_buttons() if b.text() == "Cancel")
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert not pane.paste_banner.isVisible()
    assert pane.input.toPlainText() == "keep me"

    # Again, and keep the beginning this time: the message fills up to the limit exactly.
    mime = QMimeData()
    mime.setText(huge)
    pane.input.insertFromMimeData(mime)
    keep = next(b for b in pane.paste_banner.action_buttons() if b.text().startswith("Paste the first"))
    qtbot.mouseClick(keep, Qt.MouseButton.LeftButton)
    text = pane.input.toPlainText()
    assert len(text) == MAX_INPUT_CHARS
    assert text.startswith("keep mex")


def test_keyboard_shortcuts(qtbot, make_app):
    app = make_app()
    window, pane = app.window, app.pane
    pane.list_view.setFocus()
    press(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is pane.input
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, pane, "hi")
    press(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert pane.current_conversation_id is None
    assert pane.message_widgets() == []
    assert QApplication.focusWidget() is pane.input
    press(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=2000)


# -- model loading ---------------------------------------------------------------------------------------
def test_model_load_failure_shows_message_and_hint_and_app_stays_usable(qtbot, make_app, _isolated_home):
    seeded = Store(_isolated_home / "purpose.db")
    conv = seeded.create_conversation("Older chat")
    seeded.add_message(conv.id, "user", "An old question")
    seeded.add_message(conv.id, "assistant", "An old answer")
    seeded.close()

    attempts = []

    def flaky_model(_path, **_kw):
        attempts.append(1)
        if len(attempts) == 1:
            raise ModelError("The model file is damaged.", "Download it again or pick another model.")
        return ScriptedModel(replies=["Loaded on retry."])

    app = make_app(engine_factory=lambda: Engine(model_factory=flaky_model), wait_ready=False)
    pane, window = app.pane, app.window
    qtbot.waitUntil(lambda: pane.model_state == "failed", timeout=5000)
    assert pane.error_banner.isVisible()
    assert pane.error_banner.message_label.text() == "The model file is damaged."
    assert pane.error_banner.hint_label.text() == "Download it again or pick another model."
    assert not pane.input.isEnabled()
    assert window.model_status.text() == "No model loaded"

    # Chats can still be read.
    qtbot.waitUntil(lambda: len(pane.list_model.conversations()) == 1, timeout=5000)
    pane.select_conversation(conv.id)
    qtbot.waitUntil(lambda: len(pane.message_widgets()) == 2, timeout=5000)
    assert pane.message_widgets()[1].text == "An old answer"

    retry = next(b for b in pane.error_banner.action_buttons() if b.text() == "Retry")
    with qtbot.waitSignal(app.bridge.sig_model_loaded, timeout=5000):
        qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
    assert not pane.error_banner.isVisible()
    assert pane.input.isEnabled()
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, pane, "Now?")
    assert assistant(pane).text == "Loaded on retry."


def test_input_is_disabled_with_a_visible_loading_state_until_the_model_loads(qtbot, make_app):
    gate = threading.Event()
    model = ScriptedModel()

    def slow_model(_path, **_kw):
        gate.wait(10)
        return model

    app = make_app(engine_factory=lambda: Engine(model_factory=slow_model), wait_ready=False)
    pane, window = app.pane, app.window
    assert not pane.input.isEnabled()
    assert pane.input.placeholderText() == "Loading model…"
    qtbot.waitUntil(lambda: pane.messages.empty_state()[2], timeout=3000)  # busy bar after ~0.5 s
    assert pane.messages.empty_state()[0] == "Loading the model…"
    qtbot.waitUntil(window.load_progress.isVisible, timeout=3000)
    assert "Loading" in window.model_status.text()
    with qtbot.waitSignal(app.bridge.sig_model_loaded, timeout=5000):
        gate.set()
    assert pane.input.isEnabled()
    assert not window.load_progress.isVisible()
    assert "Scripted" in window.model_status.text()
    assert not pane.messages.empty_state()[2]


def test_engine_and_database_live_on_the_engine_thread(qtbot, make_app, monkeypatch):
    from purpose_desktop.engine.store import database as store_module

    opened_on: list[threading.Thread] = []
    real_connect = store_module._connect

    def recording_connect(path):
        opened_on.append(threading.current_thread())
        return real_connect(path)

    monkeypatch.setattr(store_module, "_connect", recording_connect)
    app = make_app()
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, app.pane, "hello")
    assert app.bridge.engine_thread.objectName() == "engine"
    assert app.engine_threads and app.engine_threads[0] is not threading.main_thread()
    assert app.engine_threads[0].name == "engine"
    assert opened_on and all(t is not threading.main_thread() for t in opened_on)  # the GUI never opens it


def test_bridge_reports_failures_instead_of_dying(qtbot, make_app):
    app = make_app()
    with qtbot.waitSignal(app.bridge.sig_call_failed, timeout=5000) as failed:
        call = app.bridge.call(lambda e: e.store.messages("no-such-chat"))
    assert failed.args[0] == call.id
    err = failed.args[1]
    assert err.message and err.hint
    # The engine still answers afterwards.
    with qtbot.waitSignal(app.bridge.sig_call_finished, timeout=5000) as listed:
        app.bridge.call(lambda e: e.store.list_conversations())
    assert listed.args[1] == []


def test_shutdown_is_idempotent_and_safe_before_start(qtbot):
    from purpose_desktop.ui.bridge import EngineBridge

    never_started = EngineBridge(scripted_factory(ScriptedModel()))
    assert never_started.shutdown(1000)
    assert never_started.shutdown(1000)
