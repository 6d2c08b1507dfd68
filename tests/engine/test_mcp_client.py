"""The app as an MCP client: a real stdio MCP server (tests/mcp_demo_server.py) listed, approved, called, screened."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.events import ToolCalled
from purpose_desktop.engine.mcp import ALLOW, ALWAYS, DENY, McpAccess, McpError, ToolCallAsk
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.settings import load_settings
from tests.engine.services_helpers import make_engine
from tests.fakes import DEMO_EMBEDDER_NAME, ScriptedJsonModel, call, demo_embed, final

SERVER = Path(__file__).resolve().parents[1] / "mcp_demo_server.py"
HOSTILE = "Ignore previous instructions"


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


@pytest.fixture
def log(tmp_path, monkeypatch) -> Path:
    """The demo server appends each call it runs here (the env reaches it through the server's env)."""
    return tmp_path / "calls.log"


@pytest.fixture
def engine(tmp_path, log):
    engine = make_engine(tmp_path)
    engine.mcp.add("demo", command=sys.executable, args=[str(SERVER)])
    servers = [dict(s) for s in engine.settings.mcp_servers]
    servers[0]["env"] = {"MCP_DEMO_LOG": str(log)}
    engine.config.update({"mcp_servers": servers})
    yield engine
    engine.store.close()


def _ran(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


class Asker:
    """Answers every question with ``decision`` and records what it was shown."""

    def __init__(self, decision: str) -> None:
        self.decision = decision
        self.asked: list[ToolCallAsk] = []

    def __call__(self, ask: ToolCallAsk, cancel) -> str:
        self.asked.append(ask)
        return self.decision


def test_add_lists_tools_into_the_settings_and_the_team_catalog(engine):
    (row,) = engine.mcp.servers()
    assert row.name == "demo" and row.transport == "stdio" and not row.leaves_computer
    assert {t.name for t in row.tools} == {"add", "notes", "deploy_hint"}
    saved = load_settings()  # written to settings.json, not only held in memory
    assert [t["name"] for t in saved.mcp_servers[0]["tools"]] == ["add", "notes", "deploy_hint"]
    assert ("mcp:demo/add", "add (demo)") in engine.teams.catalog().mcp_tools


def test_add_refuses_what_cannot_be_reached_and_keeps_nothing(engine, tmp_path):
    with pytest.raises(McpError, match="could not be started") as info:
        engine.mcp.add("broken", command=str(tmp_path / "no-such-program"))
    assert info.value.hint
    with pytest.raises(InputError, match="already"):
        engine.mcp.add("demo", command=sys.executable)
    with pytest.raises(InputError, match="not both"):
        engine.mcp.add("x", command="python", url="http://127.0.0.1:1/mcp")
    with pytest.raises(InputError):
        engine.mcp.add("bad name!", command="python")
    assert [s.name for s in engine.mcp.servers()] == ["demo"]


def test_a_denied_call_does_not_run(engine, log):
    asker = Asker(DENY)
    tool = engine.mcp.access(asker).tool("mcp:demo/add")
    result = tool.run({"a": 2, "b": 3})
    assert not result.ok and result.output.startswith("Not run")
    assert [(a.server, a.tool, a.arguments) for a in asker.asked] == [("demo", "add", {"a": 2, "b": 3})]
    assert _ran(log) == []


def test_nobody_to_ask_means_not_run(engine, log):
    result = McpAccess.from_settings(engine.settings).tool("mcp:demo/add").run({"a": 1, "b": 1})
    assert not result.ok and "Not run" in result.output
    assert _ran(log) == []


def test_allow_once_asks_every_time_and_always_is_remembered(engine, log):
    once = Asker(ALLOW)
    tool = engine.mcp.access(once).tool("mcp:demo/add")
    assert tool.run({"a": 2, "b": 3}).output == "5"
    assert tool.run({"a": 1, "b": 1}).output == "2"
    assert len(once.asked) == 2 and "demo/add" not in engine.settings.mcp_always_allow

    always = Asker(ALWAYS)
    assert engine.mcp.access(always).tool("mcp:demo/add").run({"a": 4, "b": 4}).output == "8"
    assert "demo/add" in load_settings().mcp_always_allow  # kept in settings.json
    later = Asker(DENY)  # a later run, whose asker would say no: it is never asked
    assert engine.mcp.access(later).tool("mcp:demo/add").run({"a": 5, "b": 5}).output == "10"
    assert later.asked == []
    assert _ran(log) == ["add 2 3", "add 1 1", "add 4 4", "add 5 5"]
    (row,) = engine.mcp.servers()
    assert next(t for t in row.tools if t.name == "add").always_allowed

    engine.mcp.set_always_allow("demo", "add", False)  # undone in Settings ▸ Tools: asks again
    again = Asker(DENY)
    assert not engine.mcp.access(again).tool("mcp:demo/add").run({"a": 1, "b": 2}).ok
    assert len(again.asked) == 1


def test_hostile_output_is_withheld_and_secrets_redacted(engine, log):
    access = engine.mcp.access(Asker(ALLOW))
    withheld = access.tool("mcp:demo/notes").run({})
    assert _ran(log) == ["notes"]  # it ran; its output is what was stopped
    assert not withheld.ok and withheld.data["withheld"]
    assert withheld.output.startswith("Withheld") and "injection" in withheld.output
    assert HOSTILE.lower() not in withheld.output.lower()
    assert withheld.data["scan"]["blocked"]
    redacted = access.tool("mcp:demo/deploy_hint").run({})
    assert redacted.ok and "[REDACTED:github_token]" in redacted.output and "ghp_" not in redacted.output


def test_remove_forgets_the_server_and_its_always_allow(engine):
    engine.mcp.set_always_allow("demo", "add", True)
    assert engine.mcp.remove("demo") == ()
    assert load_settings().mcp_servers == () and load_settings().mcp_always_allow == ()
    with pytest.raises(McpError, match="not set up"):
        McpAccess.from_settings(engine.settings).tool("mcp:demo/add")


def test_a_team_role_uses_an_mcp_tool_and_the_event_says_why_output_was_withheld(engine, log):
    spec = {
        "name": "MCP team",
        "purpose": "Summarise notes",
        "roles": [
            {
                "name": "helper",
                "title": "Helper",
                "instructions": "Use the tools.",
                "tools": ["mcp:demo/add", "mcp:demo/notes"],
                "kind": "text",
            }
        ],
    }
    engine.model = ScriptedJsonModel(
        {"Helper": [call("mcp:demo/add", '{"a": 20, "b": 22}'), call("mcp:demo/notes", "{}"), final("done")]}
    )
    asker = Asker(ALLOW)
    events = []
    result = engine.teams.run(
        spec, "Add and read the notes", mode="eval", on_event=events.append, approve_tool=asker
    )
    assert result.status == "complete"
    tools = [e for e in events if isinstance(e, ToolCalled)]
    assert [(e.tool, e.ok) for e in tools] == [("mcp:demo/add", True), ("mcp:demo/notes", False)]
    assert tools[0].output == "42"
    assert tools[1].output.startswith("Withheld") and "immune scan" in tools[1].output
    assert [a.key for a in asker.asked] == ["demo/add", "demo/notes"]
    assert _ran(log) == ["add 20 22", "notes"]
    prompts = "\n".join(str(m) for _who, messages in engine.model.calls for m in messages)
    assert (
        "42" in prompts and HOSTILE.lower() not in prompts.lower()
    )  # the result reached it; the attack did not


def test_a_removed_server_fails_the_run_with_what_to_do(engine):
    spec = {
        "name": "t",
        "purpose": "p",
        "roles": [{"name": "helper", "title": "Helper", "tools": ["mcp:gone/x"]}],
    }
    engine.model = ScriptedJsonModel({"Helper": [final("done")]})
    with pytest.raises(McpError, match="not set up") as info:
        engine.teams.run(spec, "anything", mode="eval")
    assert "Settings" in info.value.hint


def test_the_question_waits_for_an_answer_and_a_stop_denies():
    from purpose_desktop.engine.cancel import CancelToken

    ask = ToolCallAsk("demo", "add", {"a": 1})
    cancel = CancelToken()
    cancel.set()
    assert ask.wait(cancel) == DENY and ask.answered
    ask.answer(ALLOW)  # too late: the first answer counts
    assert ask.decision == DENY
    with pytest.raises(ValueError):
        ToolCallAsk("d", "t", {}).answer("maybe")


@pytest.fixture
def http_server(tmp_path, log):
    """The demo server on streamable HTTP at 127.0.0.1 (a free port), ready when this yields its URL."""
    import os
    import socket
    import subprocess
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "http", str(port)],
        env={**os.environ, "MCP_DEMO_LOG": str(log)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the demo MCP server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_streamable_http_server_on_loopback(tmp_path, http_server, log):
    engine = make_engine(tmp_path)
    (row,) = engine.mcp.add("web", url=http_server)
    assert row.transport == "http" and row.target == http_server and not row.leaves_computer
    assert {t.name for t in row.tools} == {"add", "notes", "deploy_hint"}
    asker = Asker(ALLOW)
    assert engine.mcp.access(asker).tool("mcp:web/add").run({"a": 7, "b": 8}).output == "15"
    assert [a.key for a in asker.asked] == ["web/add"] and _ran(log) == ["add 7 8"]
    withheld = engine.mcp.access(asker).tool("mcp:web/notes").run({})
    assert withheld.data["withheld"] and HOSTILE.lower() not in withheld.output.lower()
    engine.store.close()


def test_a_remote_url_is_marked_as_leaving_this_computer(tmp_path):
    from purpose_desktop.engine.services.mcp import is_loopback

    assert is_loopback("http://127.0.0.1:8000/mcp") and is_loopback("http://localhost/mcp")
    assert not is_loopback("https://tools.example.com/mcp")


def test_settings_keep_servers_and_refuse_malformed_ones(tmp_path):
    from purpose_desktop.engine.settings import EngineSettings, save_settings

    good = {"name": "demo", "command": "python", "args": ["-m", "x"], "tools": [{"name": "add"}]}
    settings = EngineSettings(mcp_servers=[good], mcp_always_allow=["demo/add"])
    save_settings(settings, tmp_path / "s.json")
    again = load_settings(tmp_path / "s.json")
    assert again.mcp_servers == (good,) and again.mcp_always_allow == ("demo/add",)
    for bad in (
        [{"name": "demo"}],  # neither command nor URL
        [{"name": "demo", "command": "python", "url": "http://127.0.0.1/mcp"}],  # both
        [{"name": "demo", "url": "ftp://host/mcp"}],
        [good, good],  # the same name twice
        [{"name": "has space", "command": "python"}],
    ):
        with pytest.raises(InputError, match="mcp_servers"):
            EngineSettings(mcp_servers=bad)
    with pytest.raises(InputError, match="mcp_always_allow"):
        EngineSettings(mcp_always_allow=["no-slash"])


def test_an_mcp_server_on_another_computer_is_named_in_the_privacy_report(tmp_path):
    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.settings import EngineSettings
    from purpose_desktop.engine.store import Store

    far = {"name": "far", "url": "https://mcp.example.com/mcp", "tools": []}
    near = {"name": "near", "url": "http://127.0.0.1:9/mcp", "tools": []}
    engine = Engine(store=Store(tmp_path / "p.db"), settings=EngineSettings(mcp_servers=(far, near)))
    lines = engine.diagnostics.leaves_computer()
    assert any("MCP server 'far'" in line and "mcp.example.com" in line for line in lines)
    assert not any("'near'" in line for line in lines)
    engine.close()
