"""MCP tools in chat with the real bundled GGUF and a real SQLite file: the tools are offered in its prompt and its
grammar, the reply (and any call it made) is stored and read back after a restart."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from purpose_desktop.engine.chat.tool_calls import ENDED
from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.mcp import DENY
from purpose_desktop.engine.models.local import GenerationSettings, LocalModel
from purpose_desktop.engine.settings import EngineSettings
from purpose_desktop.engine.store import Store

pytestmark = [pytest.mark.model, pytest.mark.timeout(900)]  # grammar rounds are slow on a loaded 2-core machine

SERVER = Path(__file__).resolve().parents[1] / "mcp_demo_server.py"


class _Recording:
    """The real model with complete_json recorded (prompt and schema of each round)."""

    def __init__(self, model) -> None:
        self._model = model
        self.rounds: list[tuple[list[dict], dict]] = []

    def __getattr__(self, name):
        return getattr(self._model, name)

    def complete_json(self, messages, schema, **kwargs):
        self.rounds.append(([dict(m) for m in messages], schema))
        return self._model.complete_json(messages, schema, **kwargs)


def test_the_real_model_is_offered_the_tools_and_its_reply_is_stored(tmp_path, default_model_path):
    model = LocalModel(default_model_path, n_ctx=2048)
    recording = _Recording(model)
    engine = Engine(
        store=Store(tmp_path / "real.db"),
        settings=EngineSettings(n_ctx=2048),
        model_factory=lambda *a, **k: recording,
    )
    try:
        engine.load_model()
        engine.mcp.add("demo", command=sys.executable, args=[str(SERVER)])
        cid = engine.store.create_conversation().id
        engine.chat_tools.set_enabled(cid, True)
        asked: list = []

        def on_tool_call(record, ask) -> None:
            if ask is not None:
                asked.append(ask)
                ask.answer(DENY)  # keeps the test short: the next round must answer without tools

        _user, reply = engine.send_message(
            cid,
            "Use the add tool to add 2 and 3.",
            settings=GenerationSettings(temperature=0.0, seed=7, max_tokens=40),
            on_tool_call=on_tool_call,
            approve_tool=lambda ask, cancel: ask.wait(cancel),
        )
        prompt, schema = recording.rounds[0]
        system = prompt[0]["content"]
        assert "You can call these tools" in system
        assert "mcp:demo/add: Add two whole numbers." in system and '"a"' in system
        calls = schema["anyOf"][0]["properties"]["tool_calls"]["items"]["anyOf"]
        assert {c["properties"]["name"]["const"] for c in calls} == {"mcp:demo/add", "mcp:demo/notes", "mcp:demo/deploy_hint"}
        assert reply.status == "complete"
        records = reply.meta.get("tool_calls") or []
        assert all(r["status"] in ENDED for r in records)
        assert len(asked) == len(records) <= 1
        if records:  # it called a tool (SmolLM2 here asks for add(2, 3)); denied, it was told and answered
            assert records[0]["status"] == "denied" and records[0]["name"].startswith("mcp:demo/")
            later, last_schema = recording.rounds[-1]
            assert "did not allow" in later[-1]["content"] and "properties" in last_schema
            assert "tool_calls" not in json.dumps(last_schema)
        assert not reply.content.lstrip().startswith("{")  # the answer is its JSON's content, not the JSON
    finally:
        engine.close()
    with Store(tmp_path / "real.db") as store:  # the real file, reopened
        assert store.get_conversation(cid).mcp_tools
        stored = store.messages(cid)[-1]
        assert stored.id == reply.id and stored.content == reply.content
        assert json.dumps(stored.meta.get("tool_calls") or []) == json.dumps(reply.meta.get("tool_calls") or [])
