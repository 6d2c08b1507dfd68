"""MCP tools in chat: offered per chat (off by default), every call approved (the roles' approval store), output
screened and quoted, calls stored on the reply, Stop during approval and during the call, broken servers.

The model is the scripted one (its replies are the JSON each round answers with); the MCP server is the
real stdio one in tests/mcp_demo_server.py; the Store is a real SQLite file.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest

from purpose_desktop.engine.chat.tool_calls import CONTENT_SCHEMA, ContentStream
from purpose_desktop.engine.mcp import ALLOW, ALWAYS, DENY
from purpose_desktop.engine.settings import load_settings
from purpose_desktop.engine.store import Store
from tests.engine.services_helpers import make_engine
from tests.fakes import ScriptedModel

SERVER = Path(__file__).resolve().parents[1] / "mcp_demo_server.py"
HOSTILE = "Ignore previous instructions"


def call(name: str, **arguments) -> str:
    return json.dumps({"tool_calls": [{"name": name, "arguments": arguments}]})


def answer(text: str) -> str:
    return json.dumps({"content": text})


@pytest.fixture
def log(tmp_path) -> Path:
    return tmp_path / "calls.log"


def _engine(tmp_path, log, replies, **env):
    model = ScriptedModel(replies=replies)
    engine = make_engine(tmp_path, model=model)
    engine.mcp.add("demo", command=sys.executable, args=[str(SERVER)])
    servers = [dict(s) for s in engine.settings.mcp_servers]
    servers[0]["env"] = {"MCP_DEMO_LOG": str(log), **env}
    engine.config.update({"mcp_servers": servers})
    engine.load_model()
    engine.scripted = model
    return engine


def _ran(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


class Person:
    """Answers each question with the next of ``decisions`` (the GUI's card does this across the bridge)."""

    def __init__(self, *decisions: str) -> None:
        self.decisions = list(decisions)
        self.asked: list = []
        self.events: list[tuple[dict, object]] = []

    def on_tool_call(self, record: dict, ask) -> None:
        self.events.append((record, ask))
        if ask is not None:
            self.asked.append(ask)
            ask.answer(self.decisions.pop(0))

    def approve(self, ask, cancel) -> str:
        return ask.wait(cancel)

    @property
    def hooks(self) -> dict:
        return {"on_tool_call": self.on_tool_call, "approve_tool": self.approve}


def _chat_with_tools(engine) -> str:
    cid = engine.store.create_conversation().id
    engine.chat_tools.set_enabled(cid, True)
    return cid


def test_tools_are_off_by_default_and_the_choice_is_kept_per_chat_across_restarts(tmp_path, log):
    engine = _engine(tmp_path, log, [answer("Hi.")])
    plain = engine.store.create_conversation().id
    cid = _chat_with_tools(engine)
    state = engine.chat_tools.state(cid)
    assert state.enabled and state.servers == ("demo",)
    assert {k for k, _d, _a in state.tools} == {"demo/add", "demo/notes", "demo/deploy_hint"}
    assert not engine.chat_tools.state(plain).enabled
    engine.send_message(plain, "hello")  # off: a plain chat call, no JSON round, no tool prompt
    assert engine.scripted.schemas_seen == []
    assert "mcp:demo/add" not in json.dumps(engine.scripted.calls)
    engine.store.close()
    reopened = Store(tmp_path / "services.db")  # a restart: the same SQLite file
    assert reopened.get_conversation(cid).mcp_tools and not reopened.get_conversation(plain).mcp_tools
    reopened.close()


def test_an_approved_call_runs_its_output_reaches_the_model_quoted_and_the_call_is_stored(tmp_path, log):
    engine = _engine(tmp_path, log, [call("mcp:demo/add", a=2, b=3), answer("The sum is 5.")])
    cid = _chat_with_tools(engine)
    person = Person(ALLOW)
    tokens: list[str] = []
    _user, reply = engine.send_message(cid, "What is 2 + 3?", on_token=tokens.append, **person.hooks)
    assert reply.status == "complete" and reply.content == "The sum is 5."
    assert "".join(tokens) == "The sum is 5."  # the answer streamed out of its JSON, the call did not
    assert _ran(log) == ["add 2 3"]
    (ask,) = person.asked
    assert (ask.server, ask.tool, ask.arguments) == ("demo", "add", {"a": 2, "b": 3})
    assert [r["status"] for r, _a in person.events] == ["awaiting_approval", "running", "done"]
    first, second = engine.scripted.calls
    assert "mcp:demo/add" in first[0]["content"] and '"a"' in first[0]["content"]  # offered with its schema
    result = second[-1]["content"]
    assert "[BEGIN QUOTED DATA" in result and "> 5" in result and "not instructions" in result
    engine.store.close()
    stored = Store(tmp_path / "services.db").messages(cid)[-1]  # after a restart
    (record,) = stored.meta["tool_calls"]
    assert record["status"] == "done" and record["output"] == "5" and record["approval"] == ALLOW
    assert record["arguments"] == {"a": 2, "b": 3}


def test_a_later_turn_sees_the_earlier_call_and_its_quoted_result(tmp_path, log):
    engine = _engine(tmp_path, log, [call("mcp:demo/add", a=2, b=3), answer("5."), answer("Yes.")])
    cid = _chat_with_tools(engine)
    engine.send_message(cid, "What is 2 + 3?", **Person(ALLOW).hooks)
    engine.send_message(cid, "Sure?", **Person().hooks)
    later = engine.scripted.calls[-1]
    assert any("> 5" in m["content"] for m in later if m["role"] == "user")
    assert any('"tool_calls"' in m["content"] for m in later if m["role"] == "assistant")


def test_always_allow_is_the_store_roles_use_and_is_not_asked_again(tmp_path, log):
    engine = _engine(
        tmp_path,
        log,
        [call("mcp:demo/add", a=1, b=1), answer("2."), call("mcp:demo/add", a=4, b=4), answer("8.")],
    )
    cid = _chat_with_tools(engine)
    engine.send_message(cid, "1 + 1?", **Person(ALWAYS).hooks)
    assert "demo/add" in load_settings().mcp_always_allow  # the settings roles read
    assert next(t for t in engine.mcp.servers()[0].tools if t.name == "add").always_allowed
    nobody = Person()  # would fail (no decisions left) if it were asked
    _u, reply = engine.send_message(cid, "4 + 4?", **nobody.hooks)
    assert nobody.asked == [] and reply.meta["tool_calls"][0]["approval"] == ALWAYS
    assert _ran(log) == ["add 1 1", "add 4 4"]
    engine.mcp.set_always_allow("demo", "add", False)  # undone in Settings ▸ Tools: the chat asks again
    engine.scripted.replies = [call("mcp:demo/add", a=1, b=2), answer("3.")]
    again = Person(DENY)
    engine.send_message(cid, "1 + 2?", **again.hooks)
    assert len(again.asked) == 1


def test_a_denied_call_does_not_run_and_the_model_is_told_and_answers_without_tools(tmp_path, log):
    engine = _engine(tmp_path, log, [call("mcp:demo/add", a=2, b=3), answer("I could not check.")])
    cid = _chat_with_tools(engine)
    _u, reply = engine.send_message(cid, "2 + 3?", **Person(DENY).hooks)
    assert _ran(log) == []
    assert reply.status == "complete" and reply.content == "I could not check."
    assert reply.meta["tool_calls"][0]["status"] == "denied"
    told = engine.scripted.calls[1]
    assert "did not allow" in told[-1]["content"]
    assert engine.scripted.schemas_seen[-1] == CONTENT_SCHEMA  # no second ask: it answers now
    assert "Answer the user now" in told[0]["content"]


def test_hostile_output_is_withheld_with_its_reason_and_never_reaches_the_model_or_the_store(tmp_path, log):
    engine = _engine(tmp_path, log, [call("mcp:demo/notes"), answer("The notes were withheld.")])
    cid = _chat_with_tools(engine)
    _u, reply = engine.send_message(cid, "Read the notes", **Person(ALLOW).hooks)
    assert _ran(log) == ["notes"]  # it ran; its output was stopped
    (record,) = reply.meta["tool_calls"]
    assert record["status"] == "withheld" and "injection" in record["reason"]
    assert record["output"] == ""
    prompts = json.dumps(engine.scripted.calls)
    assert HOSTILE.lower() not in prompts.lower()
    assert "withheld by the safety scan" in engine.scripted.calls[1][-1]["content"]
    assert HOSTILE.lower() not in json.dumps(Store(tmp_path / "services.db").messages(cid)[-1].meta).lower()


def test_credentials_in_output_are_redacted_before_the_model_sees_them(tmp_path, log):
    engine = _engine(tmp_path, log, [call("mcp:demo/deploy_hint"), answer("Use the token.")])
    cid = _chat_with_tools(engine)
    _u, reply = engine.send_message(cid, "How to deploy?", **Person(ALLOW).hooks)
    assert "ghp_" not in json.dumps(engine.scripted.calls) and "ghp_" not in json.dumps(reply.meta)
    assert "[REDACTED:github_token]" in reply.meta["tool_calls"][0]["output"]


def test_stop_while_waiting_for_approval_runs_nothing_and_keeps_the_call(tmp_path, log):
    from purpose_desktop.engine.cancel import CancelToken

    engine = _engine(tmp_path, log, [call("mcp:demo/add", a=2, b=3), answer("never")])
    cid = _chat_with_tools(engine)
    cancel = CancelToken()
    seen: list[str] = []

    def on_tool_call(record, ask) -> None:
        seen.append(record["status"])
        if ask is not None:
            cancel.set()  # the person pressed Stop instead of answering

    started = time.monotonic()
    user, reply = engine.send_message(
        cid, "2 + 3?", cancel=cancel, on_tool_call=on_tool_call, approve_tool=lambda a, c: a.wait(c)
    )
    assert time.monotonic() - started < 5
    assert reply.status == "cancelled" and _ran(log) == []
    assert seen == ["awaiting_approval", "cancelled"]
    assert [m.id for m in engine.store.messages(cid)] == [user.id, reply.id]
    assert reply.meta["tool_calls"][0]["status"] == "cancelled"


def test_stop_during_the_call_ends_it_promptly(tmp_path, log):
    from purpose_desktop.engine.cancel import CancelToken

    engine = _engine(tmp_path, log, [call("mcp:demo/add", a=2, b=3), answer("never")], MCP_DEMO_HANG="60")
    engine.mcp.set_always_allow("demo", "add", True)
    cid = _chat_with_tools(engine)
    cancel = CancelToken()

    def on_tool_call(record, _ask) -> None:
        if record["status"] == "running":
            threading.Timer(1.0, cancel.set).start()  # Stop, while the server is busy

    started = time.monotonic()
    _u, reply = engine.send_message(cid, "2 + 3?", cancel=cancel, on_tool_call=on_tool_call)
    assert time.monotonic() - started < 15  # not the 60 s the server would take
    assert reply.status == "cancelled" and reply.meta["tool_calls"][0]["status"] == "cancelled"


def test_a_hanging_server_fails_the_call_clearly_and_the_reply_goes_on(tmp_path, log):
    engine = _engine(
        tmp_path, log, [call("mcp:demo/add", a=2, b=3), answer("The tool did not answer.")], MCP_DEMO_HANG="60"
    )
    engine.chat_tools.timeout_s = 3
    cid = _chat_with_tools(engine)
    user, reply = engine.send_message(cid, "2 + 3?", **Person(ALLOW).hooks)
    (record,) = reply.meta["tool_calls"]
    assert record["status"] == "failed" and "did not answer" in record["error"] and "3 s" in record["error"]
    assert reply.status == "complete" and reply.content == "The tool did not answer."
    assert "failed" in engine.scripted.calls[1][-1]["content"]
    assert [m.id for m in engine.store.messages(cid)] == [user.id, reply.id]  # nothing lost


def test_a_server_that_cannot_start_says_so_on_the_call(tmp_path, log):
    engine = _engine(tmp_path, log, [call("mcp:demo/add", a=2, b=3), answer("No tool.")])
    servers = [dict(s) for s in engine.settings.mcp_servers]
    servers[0]["command"] = str(tmp_path / "no-such-program")
    engine.config.update({"mcp_servers": servers})
    cid = _chat_with_tools(engine)
    _u, reply = engine.send_message(cid, "2 + 3?", **Person(ALLOW).hooks)
    (record,) = reply.meta["tool_calls"]
    assert record["status"] == "failed" and "could not be started" in record["error"] and record["hint"]


def test_nobody_to_ask_means_the_call_does_not_run(tmp_path, log):
    engine = _engine(tmp_path, log, [call("mcp:demo/add", a=2, b=3), answer("Not run.")])
    cid = _chat_with_tools(engine)
    _u, reply = engine.send_message(cid, "2 + 3?")  # the CLI: no approver
    assert _ran(log) == [] and reply.meta["tool_calls"][0]["status"] == "denied"


def test_content_stream_decodes_the_answer_as_it_arrives_and_nothing_of_a_call():
    stream = ContentStream()
    raw = json.dumps({"content": 'Line "one"\nTab\tand é \U0001f600 done'})
    out = "".join(stream.feed(raw[i : i + 3]) for i in range(0, len(raw), 3))
    assert out == 'Line "one"\nTab\tand é \U0001f600 done' and stream.closed
    ascii_escaped = json.dumps({"content": "é \U0001f600"}, ensure_ascii=True)
    stream = ContentStream()
    assert "".join(stream.feed(c) for c in ascii_escaped) == "é \U0001f600"
    stream = ContentStream()
    assert "".join(stream.feed(c) for c in call("mcp:demo/add", a=1, b=2)) == ""


def test_the_markdown_export_lists_the_calls_and_never_withheld_text(tmp_path, log):
    engine = _engine(tmp_path, log, [call("mcp:demo/add", a=2, b=3), answer("5."), call("mcp:demo/notes"), answer("No.")])
    cid = _chat_with_tools(engine)
    engine.send_message(cid, "2 + 3?", **Person(ALLOW).hooks)
    engine.send_message(cid, "notes?", **Person(ALLOW).hooks)
    text = engine.export_markdown(cid)
    assert '- `demo/add` {"a": 2, "b": 3} — done: 5' in text
    assert "- `demo/notes` {} — withheld (injection" in text and HOSTILE.lower() not in text.lower()
