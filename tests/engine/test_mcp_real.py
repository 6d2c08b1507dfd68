"""MCP tools under the real bundled GGUF: their names survive the step grammar, and a Spark can call one."""

from __future__ import annotations

import sys

import pytest

from purpose_desktop.engine.agents.spark import Spark, step_schema
from purpose_desktop.engine.mcp import ALLOW, McpAccess, list_tools
from purpose_desktop.engine.models import GenerationSettings, LocalModel
from tests.engine.test_mcp_client import SERVER

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def model(default_model_path):
    m = LocalModel(default_model_path, n_ctx=2048)
    yield m
    m.close()


def test_the_step_grammar_yields_an_mcp_tool_name_exactly(model):
    schema = step_schema(["mcp:demo/add"])
    schema["properties"]["action"]["enum"] = ["mcp:demo/add"]  # the only choice: the grammar must spell it
    decision = model.complete_json(
        [{"role": "user", "content": "Pick the action."}],
        schema,
        settings=GenerationSettings(max_tokens=48, temperature=0.0, seed=0),
    )
    assert decision["action"] == "mcp:demo/add"


def test_a_spark_with_an_mcp_tool_runs_it_through_the_real_server_after_approval(model, tmp_path):
    server = {"name": "demo", "command": sys.executable, "args": [str(SERVER)]}
    server["tools"] = list_tools(server)
    asked = []
    access = McpAccess([server], ask=lambda q, _cancel: asked.append(q) or ALLOW)
    spark = Spark(
        "assistant", model=model, tools=[access.tool("mcp:demo/add")], max_steps=2, max_tokens_per_step=32
    )
    result = spark.run('Use the tool mcp:demo/add with {"a": 2, "b": 3}, then answer with the sum.')
    assert result.status in ("complete", "incomplete")
    assert {c.tool for c in result.tool_calls} <= {"mcp:demo/add"}
    # Arguments the tool's schema refuses never reach the person; every other call asked first.
    valid = [c for c in result.tool_calls if not c.output.startswith("mcp:demo/add: ")]
    assert [a.arguments for a in asked] == [c.args for c in valid]
    for call in valid:
        assert call.ok == (call.output == str(call.args["a"] + call.args["b"]))
