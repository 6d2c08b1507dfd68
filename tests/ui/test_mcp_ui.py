"""Settings ▸ Tools and the approval prompt, driven like a person, against the real test MCP server (stdio)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMessageBox

from purpose_desktop.engine import paths
from purpose_desktop.engine.agents.team import TeamSpec
from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.mcp import ALWAYS, DENY, ToolCallAsk
from purpose_desktop.engine.settings import load_settings
from purpose_desktop.engine.store import Store, now_iso
from purpose_desktop.ui.mcp_section import AddMcpServerDialog
from purpose_desktop.ui.tool_approval import ToolApprovalDialog
from tests.fakes import call, final
from tests.ui.conftest import press, settled
from tests.ui.pane_fakes import TeamModel

SERVER = str(Path(__file__).resolve().parents[1] / "mcp_demo_server.py")
SHOTS = Path("/tmp")


def test_settings_tools_add_a_server_choose_always_allow_and_remove_it(qtbot, make_app, monkeypatch):
    app = make_app()
    app.window.show_pane("settings")
    section = app.window.settings_pane.tools_section
    qtbot.waitUntil(lambda: section.empty.isVisible(), timeout=5000)
    assert not section.remove_button.isEnabled()

    def fill_in() -> None:  # what a person types into "Add server…"
        dialog = section.findChild(AddMcpServerDialog, "addMcpServerDialog")
        qtbot.keyClicks(dialog.name_edit, "demo")
        qtbot.keyClicks(dialog.command_edit, sys.executable)
        qtbot.keyClicks(dialog.args_edit, f'"{SERVER}"')
        dialog.grab().save(str(SHOTS / "mcp-add-server.png"))
        dialog.add_button.click()

    QTimer.singleShot(0, fill_in)
    with settled(qtbot, app.bridge, 30_000):
        qtbot.mouseClick(section.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: section.tree.topLevelItemCount() == 1, timeout=30_000)
    top = section.tree.topLevelItem(0)
    assert top.text(0).startswith("demo  ·  stdio:")
    tools = {top.child(i).text(0).split()[0]: top.child(i) for i in range(top.childCount())}
    assert top.child(0).text(0) == "add  —  Add two whole numbers."
    assert set(tools) == {"add", "notes", "deploy_hint"}
    assert all(item.checkState(1) == Qt.CheckState.Unchecked for item in tools.values())
    saved = load_settings().mcp_servers[0]
    assert saved["name"] == "demo" and saved["args"] == [SERVER]
    section.window().resize(1100, 900)
    app.window.settings_pane.grab().save(str(SHOTS / "mcp-settings-tools.png"))

    with settled(qtbot, app.bridge, 5000):
        tools["add"].setCheckState(1, Qt.CheckState.Checked)  # the person ticks "Always allow"
    assert load_settings().mcp_always_allow == ("demo/add",)

    # The Team builder offers the server's tools to a role.
    app.window.show_pane("team")
    editor = app.window.team_pane.role_editor
    qtbot.waitUntil(lambda: "mcp:demo/add" in editor.mcp_boxes, timeout=5000)
    assert editor.mcp_boxes["mcp:demo/add"].text() == "add (demo)"

    app.window.show_pane("settings")
    section.tree.setCurrentItem(section.tree.topLevelItem(0))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    section.remove_button.click()
    assert load_settings().mcp_servers  # cancelled: nothing removed
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with settled(qtbot, app.bridge, 5000):
        section.remove_button.click()
    assert section.tree.topLevelItemCount() == 0 and section.empty.isVisible()
    assert load_settings().mcp_servers == () and load_settings().mcp_always_allow == ()


def test_the_approval_prompt_shows_the_arguments_and_answers(qtbot):
    ask = ToolCallAsk("demo", "add", {"a": 2, "b": 3}, "Add two whole numbers. (MCP server demo)")
    dialog = ToolApprovalDialog(ask)
    qtbot.addWidget(dialog)
    dialog.show()
    assert json.loads(dialog.arguments.toPlainText()) == {"a": 2, "b": 3}
    assert dialog.allow_button.isDefault()
    dialog.grab().save(str(SHOTS / "mcp-approval.png"))
    qtbot.mouseClick(dialog.always_button, Qt.MouseButton.LeftButton)
    assert ask.decision == ALWAYS and not dialog.isVisible()

    esc = ToolCallAsk("demo", "notes", {})
    dialog = ToolApprovalDialog(esc)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert esc.decision == DENY and esc.answered


def _setup_data(tmp_path) -> Path:
    """settings.json with the demo server (tools as listed) and a saved team whose helper may use them."""
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
        {
            "name": "notes",
            "description": "Read the team's shared notes.",
            "input_schema": {"type": "object", "properties": {}},
        },
    ]
    server = {
        "name": "demo",
        "command": sys.executable,
        "args": [SERVER],
        "env": {"MCP_DEMO_LOG": str(log)},
        "tools": tools,
    }
    spec = TeamSpec.from_dict(
        {
            "name": "MCP team",
            "purpose": "Use tools",
            "roles": [
                {
                    "name": "helper",
                    "title": "Helper",
                    "instructions": "Use the tools.",
                    "kind": "text",
                    "tools": ["mcp:demo/add", "mcp:demo/notes"],
                }
            ],
        }
    ).to_dict()
    store = Store()
    store.save_team(spec["id"], spec["name"], spec, now_iso())
    store.close()
    paths.settings_path().write_text(json.dumps({"mcp_servers": [server], "default_team": "MCP team"}))
    return log


def _run(qtbot, app, pane, answers: list[str], first: bool = False) -> list[str]:
    """Run the task; answer each approval prompt in turn; return the tools that asked."""
    panel = pane.run_panel
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("eval"))
    panel.task_edit.setPlainText("Add 2 and 3, then read the notes")
    seen: list[str] = []

    def answer_next(_rid, ask) -> None:
        seen.append(ask.tool)

    app.bridge.sig_tool_approval_requested.connect(answer_next)
    try:
        with qtbot.waitSignal(app.bridge.sig_team_run_finished, timeout=60_000):
            if first:
                panel.task_edit.setFocus()
                press(app.window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
            else:  # offscreen, a closed dialog leaves no active window for the shortcut: click Run
                qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
            for answer in answers:
                qtbot.waitUntil(lambda: _open_dialog(pane) is not None, timeout=30_000)
                dialog = _open_dialog(pane)
                getattr(dialog, answer).click() if answer != "escape" else qtbot.keyClick(
                    dialog, Qt.Key.Key_Escape
                )
    finally:
        app.bridge.sig_tool_approval_requested.disconnect(answer_next)
    return seen


def _open_dialog(pane):
    dialog = getattr(pane, "_tool_approval_dialog", None)
    try:
        return dialog if dialog is not None and dialog.isVisible() and not dialog.ask.answered else None
    except RuntimeError:  # deleted after it closed
        return None


def test_a_team_run_asks_before_each_mcp_call_remembers_always_and_withholds_hostile_output(
    qtbot, make_app, tmp_path
):
    log = _setup_data(tmp_path)
    model = TeamModel(
        {"Helper": [call("mcp:demo/add", '{"a": 2, "b": 3}'), call("mcp:demo/notes", "{}"), final("done")]}
    )
    app = make_app(engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: model))
    app.window.show_pane("team")
    pane = app.window.team_pane
    qtbot.waitUntil(lambda: (pane.spec or {}).get("name") == "MCP team", timeout=5000)

    # Run 1: allow both; the hostile notes are withheld and the step says why.
    seen = _run(qtbot, app, pane, ["allow_button", "allow_button"], first=True)
    assert seen == ["add", "notes"]
    lines = pane.run_panel.cards()[0].tool_lines()
    assert lines[0] == "⚙ mcp:demo/add — ok: 5"
    assert lines[1].startswith("⚙ mcp:demo/notes — failed: Withheld") and "immune scan" in lines[1]
    assert "Ignore previous" not in "\n".join(lines)
    pane.grab().save(str(SHOTS / "mcp-team-run.png"))
    assert log.read_text().splitlines() == ["add 2 3", "notes"]

    # Run 2: "always allow" add; Esc on notes denies it, and it does not run.
    seen = _run(qtbot, app, pane, ["always_button", "escape"])
    assert seen == ["add", "notes"]
    assert load_settings().mcp_always_allow == ("demo/add",)
    lines = pane.run_panel.cards()[0].tool_lines()
    assert lines[0] == "⚙ mcp:demo/add — ok: 5" and lines[1].startswith("⚙ mcp:demo/notes — failed: Not run")
    assert log.read_text().splitlines() == ["add 2 3", "notes", "add 2 3"]

    # Run 3: add runs without asking; the only prompt is for notes, denied.
    seen = _run(qtbot, app, pane, ["deny_button"])
    assert seen == ["notes"]
    assert log.read_text().splitlines() == ["add 2 3", "notes", "add 2 3", "add 2 3"]


def test_stopping_the_run_while_the_prompt_is_open_denies_and_closes_it(qtbot, make_app, tmp_path):
    log = _setup_data(tmp_path)
    model = TeamModel({"Helper": [call("mcp:demo/notes", "{}"), final("done")]})
    app = make_app(engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: model))
    app.window.show_pane("team")
    pane = app.window.team_pane
    qtbot.waitUntil(lambda: (pane.spec or {}).get("name") == "MCP team", timeout=5000)
    panel = pane.run_panel
    panel.mode_combo.setCurrentIndex(panel.mode_combo.findData("eval"))
    panel.task_edit.setPlainText("Read the notes")
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _open_dialog(pane) is not None, timeout=30_000)
    dialog = _open_dialog(pane)
    ask = dialog.ask
    with qtbot.waitSignal(app.bridge.sig_team_run_cancelled, timeout=30_000):
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)  # Stop
    assert ask.decision == DENY
    qtbot.waitUntil(lambda: _open_dialog(pane) is None, timeout=5000)
    assert not log.exists()  # the call never ran


def test_the_approval_prompt_keyboard(qtbot):
    from PySide6.QtTest import QTest

    enter = ToolCallAsk("demo", "add", {"a": 1, "b": 1})
    dialog = ToolApprovalDialog(enter)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.keyClick(dialog.allow_button, Qt.Key.Key_Return)
    assert enter.decision == "allow"

    always = ToolCallAsk("demo", "add", {"a": 1, "b": 1})
    dialog = ToolApprovalDialog(always)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    QTest.keyClick(
        dialog.windowHandle(),
        Qt.Key.Key_A,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert always.decision == ALWAYS
