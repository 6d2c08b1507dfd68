"""MCP tools in the chat pane, driven like a person: the Tools switch, the approval card (Approve, Always allow,
Deny, Stop while it waits), the finished call after a restart — real engine thread, real SQLite file, the real
stdio test MCP server (tests/mcp_demo_server.py), the scripted model answering in the tool-call JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import Qt

from purpose_desktop.engine import paths
from purpose_desktop.engine.settings import load_settings
from purpose_desktop.engine.store import Store
from tests.fakes import ScriptedModel
from tests.ui.conftest import settled
from tests.ui.test_chat_window import assistant, press, type_and_send
from tests.ui.test_screenshots import themed  # noqa: F401 - fixture

SERVER = str(Path(__file__).resolve().parents[1] / "mcp_demo_server.py")
SHOTS = Path("/tmp")


def call(name: str, **arguments) -> str:
    return json.dumps({"tool_calls": [{"name": name, "arguments": arguments}]})


def answer(text: str) -> str:
    return json.dumps({"content": text})


def _settings_with_demo_server(tmp_path) -> Path:
    log = tmp_path / "calls.log"
    tools = [
        {
            "name": "add",
            "description": "Add two whole numbers.",
            "input_schema": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        },
        {"name": "notes", "description": "Read the team's shared notes.", "input_schema": {"type": "object"}},
    ]
    server = {"name": "demo", "command": sys.executable, "args": [SERVER], "env": {"MCP_DEMO_LOG": str(log)}, "tools": tools}
    paths.settings_path().write_text(json.dumps({"mcp_servers": [server]}))
    return log


def _ran(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_offer_tools_approve_a_call_and_see_it_again_after_a_restart(
    qtbot, make_app, tmp_path, _isolated_home, themed  # noqa: F811 - fixture
):
    log = _settings_with_demo_server(tmp_path)
    app = make_app(ScriptedModel(replies=[call("mcp:demo/add", a=20, b=22), answer("20 + 22 is **42**.")]))
    pane = app.pane
    button = pane.tools_button
    qtbot.waitUntil(lambda: len(button.tools) == 2, timeout=5000)
    assert not button.isChecked() and "demo/add" in button.toolTip()  # off by default
    press(app.window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert button.isChecked() and button.text() == "⚒ Tools · 2"

    type_and_send(qtbot, pane, "What is 20 + 22? Use the add tool.")
    reply = assistant(pane)
    qtbot.waitUntil(lambda: reply.tool_calls.pending() is not None, timeout=30_000)
    card = reply.tool_calls.pending()
    assert card.badge.text() == "needs your approval" and card.buttons.isVisible()
    assert json.loads(card.arguments.text()) == {"a": 20, "b": 22}
    assert _ran(log) == []  # nothing runs before the person says so
    app.window.resize(1100, 760)
    app.window.grab().save(str(SHOTS / "mcpchat-approval.png"))

    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=60_000):
        qtbot.mouseClick(card.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: reply.message is not None)
    (card,) = reply.tool_calls.cards()
    assert card.badge.text() == "done" and card.result.text() == "42" and not card.buttons.isVisible()
    assert "quoted data" in card.note.text()
    assert "42" in reply.body.toPlainText() and card.isVisible() and reply.tool_calls.isVisible()
    assert _ran(log) == ["add 20 22"]
    app.window.grab().save(str(SHOTS / "mcpchat-done.png"))
    cid = pane.current_conversation_id
    assert app.close()

    with Store(_isolated_home / "purpose.db") as store:  # the real file, after the app closed
        assert store.get_conversation(cid).mcp_tools
        stored = store.messages(cid)[-1]
        assert stored.meta["tool_calls"][0]["status"] == "done" and stored.meta["tool_calls"][0]["output"] == "42"

    again = make_app(ScriptedModel(replies=[answer("ok")]))
    again.pane.select_conversation(cid)
    qtbot.waitUntil(lambda: len(again.pane.message_widgets()) == 2, timeout=10_000)
    (card,) = assistant(again.pane).tool_calls.cards()
    assert card.badge.text() == "done" and card.result.text() == "42"
    qtbot.waitUntil(lambda: again.pane.tools_button.isChecked(), timeout=5000)  # remembered with the chat


def test_always_allow_deny_withheld_output_and_stop_while_waiting(qtbot, make_app, tmp_path, themed):  # noqa: F811
    log = _settings_with_demo_server(tmp_path)
    replies = [
        call("mcp:demo/add", a=1, b=1),  # always allow
        answer("2."),
        call("mcp:demo/add", a=2, b=2),  # not asked again
        answer("4."),
        call("mcp:demo/notes"),  # denied
        answer("Not read."),
        call("mcp:demo/notes"),  # allowed: hostile output withheld
        answer("Withheld."),
        call("mcp:demo/notes"),  # Stop while the card waits
        answer("never"),
    ]
    app = make_app(ScriptedModel(replies=replies))
    pane = app.pane
    qtbot.waitUntil(lambda: len(pane.tools_button.tools) == 2, timeout=5000)
    qtbot.mouseClick(pane.tools_button, Qt.MouseButton.LeftButton)

    def ask_and(text: str, click) -> object:
        type_and_send(qtbot, pane, text)
        reply = assistant(pane)
        qtbot.waitUntil(lambda: reply.tool_calls.pending() is not None, timeout=30_000)
        with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=60_000):
            click(reply.tool_calls.pending())
        qtbot.waitUntil(lambda: reply.message is not None)
        return reply

    reply = ask_and("1 + 1?", lambda card: qtbot.mouseClick(card.always_button, Qt.MouseButton.LeftButton))
    assert reply.tool_calls.cards()[0].badge.text() == "done"
    assert load_settings().mcp_always_allow == ("demo/add",)  # the store roles use
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=60_000):
        type_and_send(qtbot, pane, "2 + 2?")
    reply = assistant(pane)
    qtbot.waitUntil(lambda: reply.message is not None)
    assert reply.tool_calls.cards()[0].result.text() == "4"
    assert "always allowed" in reply.tool_calls.cards()[0].note.text()

    reply = ask_and("Read the notes", lambda card: press(app.window, Qt.Key.Key_D, Qt.KeyboardModifier.AltModifier))
    assert reply.tool_calls.cards()[0].badge.text() == "denied" and _ran(log) == ["add 1 1", "add 2 2"]

    reply = ask_and("Read them now", lambda card: qtbot.mouseClick(card.approve_button, Qt.MouseButton.LeftButton))
    (card,) = reply.tool_calls.cards()
    assert card.badge.text() == "output withheld" and "injection" in card.note.text()
    assert "Ignore previous" not in card.note.text() and not card.result.isVisible()
    app.window.grab().save(str(SHOTS / "mcpchat-withheld.png"))

    type_and_send(qtbot, pane, "Once more")
    reply = assistant(pane)
    qtbot.waitUntil(lambda: reply.tool_calls.pending() is not None, timeout=30_000)
    with settled(qtbot, app.bridge, 30_000), qtbot.waitSignal(app.bridge.sig_reply_cancelled, timeout=30_000):
        pane.stop()  # Esc / Stop while the card waits
    qtbot.waitUntil(lambda: reply.message is not None)
    assert reply.tool_calls.cards()[0].badge.text() == "stopped" and reply.badge_text() == "stopped"
    assert _ran(log) == ["add 1 1", "add 2 2", "notes"]
