"""The seed's README examples, run through ``import purpose_desktop as pa`` (see docs/SEED_API.md).

Model names are the only change: the seed's "qwen3:1.7b" becomes a model object here (scripted, so the
control flow is checked exactly) or "default" (the bundled GGUF) in the ``model``-marked tests.
"""

from __future__ import annotations

import warnings

import pytest

import purpose_desktop as pa
from purpose_desktop.demo import DemoEmbedder
from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.store import Store
from tests.engine.test_orchestration_support import RoleScriptedModel

CODE = "```python\ndef add(a, b):\n    return a + b\n```"


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "seed.db")
    yield s
    s.close()


# -- Level 1: purpose(), run, teach, status ----------------------------------------------------------
def test_level1_a_code_team_runs_learns_a_taught_lesson_and_reports_status(store):
    model = RoleScriptedModel(
        text={"Architect": ["Plan: one function."], "Coder": [CODE], "Tester": ["assert add(1, 2) == 3"]}
    )
    team = pa.purpose("Help me write Python code", model=model, store=store)
    result = team.run("Write a function add(a, b) that returns their sum")
    assert result.status == "complete" and "def add" in result.answer
    taught = team.teach("Always add type hints to public functions")
    assert taught is not None
    status = team.status()
    assert status["team"] == team.name and status["roles"] == team.roles
    assert [r["run_id"] for r in status["team_recent_runs"]] == [result.run_id]


@pytest.mark.parametrize(
    "description", ["Research the history of the Rust language", "Write a blog post about Python"]
)
def test_level1_research_and_writing_teams_run(store, description):
    team = pa.purpose(description, model=RoleScriptedModel(), store=store)
    result = team.run(description)
    assert team.roles and result.answer and result.status in ("complete", "incomplete")
    assert store.get_run(result.run_id)["team"] == team.name


# -- Level 2: resolve_backend, model strings, remote refused unless allowed ------------------------
def test_level2_resolve_backend_is_exported_and_stays_offline_first():
    from purpose_desktop import resolve_backend

    model = RoleScriptedModel()
    assert resolve_backend(model) is model  # a model object passes through
    with pytest.raises(ModelError, match="cloud provider 'openai'") as cloud:
        resolve_backend("openai:gpt-4o")
    assert "allow_remote=True" in cloud.value.hint
    with pytest.raises(ModelError, match="not this computer") as remote:
        resolve_backend("http://example.com/v1")
    assert "allow_remote=True" in remote.value.hint


# -- Level 3: Spark, Flow, swarm, Council, Vault, LLMCompiler, RunMode, tools -------------------------
def test_level3_a_spark_answers():
    spark = pa.Spark("researcher", model=RoleScriptedModel(text={"Researcher": ["Tides follow the moon."]}))
    assert spark.run("Why are there tides?").answer == "Tides follow the moon."


def _readme_flow(model) -> pa.Flow:
    """The README's research → write → retry loop, with no step cap given."""
    flow = pa.Flow()
    flow.add_node("research", pa.Spark("researcher", model=model))
    flow.add_node("write", pa.Spark("writer", model=model))
    flow.add_edge(pa.BEGIN, "research")
    flow.add_edge("research", "write")
    flow.add_conditional_edge(
        "write",
        lambda state: "done" if "final" in state.get("write", "").lower() else "retry",
        {"done": pa.DONE_SIGNAL, "retry": "research"},
    )
    return flow


def test_level3_the_readme_loop_runs_without_a_cap_and_finishes(store):
    model = RoleScriptedModel(text={"Writer": ["Draft.", "Final draft."]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = _readme_flow(model).run({"task": "Write about tides"}, store=store)
    assert result.status == "complete" and not result.cap_hit
    assert (
        result.path == ["research", "write", "research", "write"] and result.state["write"] == "Final draft."
    )


def test_level3_the_readme_loop_that_never_passes_stops_at_the_default_cap(store):
    model = RoleScriptedModel(text={"Writer": ["Draft."]})
    with pytest.warns(RuntimeWarning, match="default cap of 20"):
        result = _readme_flow(model).run({"task": "Write about tides"}, store=store)
    assert result.cap_hit and result.status == "incomplete" and len(result.path) == 20
    assert result.state["write"] == "Draft."  # the state comes back, as in the seed
    # an explicit cap still rules
    result = _readme_flow(RoleScriptedModel(text={"Writer": ["Draft."]})).run(
        "Tides", max_steps=4, store=store
    )
    assert result.cap_hit and len(result.path) == 4


def test_level3_swarm(store):
    model = RoleScriptedModel(text={"Analyst": [lambda m: "Answer: " + m[1]["content"].split("\n")[0]]})
    tasks = ["Summarise tides", "Summarise waves"]
    results = pa.swarm(tasks, agents=[pa.Spark("analyst", model=model)], store=store)
    assert [r.task for r in results] == tasks and all(r.ok for r in results)


def test_level3_council_three_rounds(store):
    synthesis = {"agreement": ["tests first"], "disagreement": [], "decision": "Write tests first."}
    model = RoleScriptedModel(text={"Chair": ["Write tests first."]}, json={"Chair": [synthesis]})
    council = pa.Council(
        [pa.Spark("researcher", model=model), pa.Spark("reviewer", model=model)], store=store
    )
    result = council.run("Should we write tests first?", rounds=3)
    assert result.status == "complete" and result.answer == "Write tests first."
    assert len(result.positions) == 3 and result.agreement == ["tests first"]


def test_level3_vault_from_texts_query_and_as_tool_inside_a_spark(tmp_path):
    texts = ["Alice is on call this week.", "Code reviews happen on Thursdays."]
    with pa.Vault.from_texts(texts, store=tmp_path / "vault.db", embedder=DemoEmbedder()) as vault:
        hits = vault.query("who is on call", k=1)
        assert "Alice" in hits[0].text

        def decide(messages):
            searched = any("Result of vault_search" in m["content"] for m in messages)
            return {"thought": "t", "action": "final_answer" if searched else "vault_search"}

        def write(messages):
            if messages[-1]["content"].startswith("Write only the input for vault_search"):
                return "who is on call"
            return "Alice is on call."

        model = RoleScriptedModel(text={"Researcher": [write]}, json={"Researcher": [decide]})
        spark = pa.Spark("researcher", model=model, tools=[vault.as_tool()])
        result = spark.run("Who is on call?")
    assert result.answer == "Alice is on call."
    assert result.tool_calls and "Alice" in result.tool_calls[0].output


def test_level3_vault_from_directory(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "deploy.md").write_text("Deploys go out on Tuesdays after the release review.\n")
    with pa.Vault.from_directory(docs, store=tmp_path / "dir.db", embedder=DemoEmbedder()) as vault:
        hit = vault.query("when do deploys go out", k=1)[0]
    assert hit.rel_path == "deploy.md" and "Tuesdays" in hit.text


def test_level3_llm_compiler_with_a_registry_of_the_documented_tools(store):
    plan = {
        "calls": [
            {"id": 1, "tool": "calculator", "args": {"expression": "6*7"}, "deps": []},
            {"id": 2, "tool": "calculator", "args": {"expression": "$1 + 5"}, "deps": []},
        ]
    }
    model = RoleScriptedModel(text={"Joiner": ["The answer is 47."]}, json={"Planner": [plan]})
    registry = pa.ToolRegistry([pa.CalculatorTool(), pa.PythonExecTool()])
    compiler = pa.LLMCompiler(planner_llm=model, tool_registry=registry, store=store)
    result = compiler.compile_and_execute("Compute 6*7, then add 5")
    assert result.status == "complete" and [c["output"] for c in result.calls] == ["42", "47"]


def test_level3_run_modes_and_tools_from_one_place(tmp_path):
    from purpose_desktop import CalculatorTool, PythonExecTool, ReadFileTool, WriteFileTool

    assert {m.name for m in pa.RunMode} == {"LEARNING_TRAIN", "LEARNING_VALIDATION", "EVAL_TEST"}
    tools = [CalculatorTool(), PythonExecTool(), ReadFileTool(tmp_path), WriteFileTool(tmp_path)]
    assert [t.name for t in tools] == ["calculator", "python", "read_file", "write_file"]
    assert set(pa.default_registry(tmp_path).names()) >= {"calculator", "read_file", "write_file"}


# -- the bundled model ------------------------------------------------------------------------------
@pytest.mark.model
def test_real_default_model_through_the_public_api(default_model_path, store):
    from purpose_desktop.engine.models.backends import close_thread_models

    try:
        model = pa.resolve_backend("default")
        spark = pa.Spark("writer", model=model, max_steps=1, max_tokens_per_step=24)
        assert spark.run("Say hello in one short sentence.").answer
        flow = pa.Flow(store=store)
        flow.add_node("write", spark)
        flow.add_edge(pa.BEGIN, "write")
        flow.add_conditional_edge("write", lambda s: "again", {"again": "write", "stop": pa.DONE_SIGNAL})
        result = flow.run("Say hello.", max_steps=2)  # the loop, capped small to stay quick
        assert result.cap_hit and len(result.path) == 2 and result.state["write"]
    finally:
        close_thread_models()
