"""LLMCompiler with a scripted planner: plan checks, references, parallel waves, skipping, re-planning, traces."""

from __future__ import annotations

import time

import pytest

from purpose_desktop.engine.events import PlanMade, ToolCalled
from purpose_desktop.engine.orchestration import LLMCompiler, PlanError, plan_schema, validate_plan
from purpose_desktop.engine.orchestration.plan import substitute
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.tools import CalculatorTool, ToolRegistry
from tests.engine.test_orchestration_support import RoleScriptedModel, SleepTool


def _registry(*extra):
    return ToolRegistry([CalculatorTool(), *extra])


def calc(cid, expression, deps=()):
    return {"id": cid, "tool": "calculator", "args": {"expression": expression}, "deps": list(deps)}


def wait(cid, label, deps=()):
    return {"id": cid, "tool": "wait", "args": {"label": label}, "deps": list(deps)}


def test_references_make_dependencies_and_waves():
    plan = validate_plan(
        {"calls": [calc(1, "6*7"), calc(2, "2+3"), calc(3, "$1 + ${2.output}"), calc(4, "${3} * 2")]},
        _registry(),
    )
    assert plan.waves == [["1", "2"], ["3"], ["4"]]
    assert plan.calls[2].deps == ["1", "2"] and plan.calls[3].deps == ["3"]


def test_references_are_found_anywhere_inside_arguments():
    registry = ToolRegistry([SleepTool(0)])
    plan = validate_plan(
        [wait("a", "x"), {"id": "b", "tool": "wait", "args": {"label": "after ${a} and $$5"}}], registry
    )
    assert plan.waves == [["a"], ["b"]]
    outcomes, _ = LLMCompiler(RoleScriptedModel(), registry).execute(plan)
    assert outcomes["b"].args == {"label": "after done:x and $5"} and outcomes["b"].ok


@pytest.mark.parametrize(
    ("calls", "message"),
    [
        ([calc(1, "$2", deps=[2]), calc(2, "$1")], r"cycle: 1 → 2 → 1"),
        (
            [calc(1, "1"), {"id": 2, "tool": "search", "args": {"q": "x"}, "deps": []}],
            "unknown tool 'search'",
        ),
        ([calc(1, "1"), calc(2, "$9 + 1")], r"refers to \$9, but the plan has no call 9"),
        ([calc(1, "1"), calc(2, "${1.value}")], "a call has no 'value'"),
        ([calc(1, "1"), calc(1, "2")], "Two calls in the plan have the id 1"),
        ([calc(1, "1", deps=[5])], "depends on call 5"),
        ([calc(1, "$1")], r"cycle: 1 → 1"),
        ([], "no calls"),
        ([{"id": 1, "tool": "calculator", "args": "6*7"}], "args must be an object"),
    ],
)
def test_invalid_plans_get_a_clear_error(calls, message):
    with pytest.raises(PlanError, match=message):
        validate_plan({"calls": calls}, _registry())


def test_independent_calls_run_in_parallel_waves_and_serially_with_one_worker():
    tool = SleepTool(0.2)
    plan = validate_plan([wait(i, f"w{i}") for i in range(1, 5)], ToolRegistry([tool]))
    compiler = LLMCompiler(RoleScriptedModel(), ToolRegistry([tool]))
    outcomes, parallel_s = compiler.execute(plan)
    assert [o.output for o in outcomes.values()] == ["done:w1", "done:w2", "done:w3", "done:w4"]
    assert tool.peak == 4 and parallel_s < 0.5
    _, serial_s = compiler.execute(plan, max_workers=1)
    assert serial_s >= 0.8


def test_compile_and_execute_plans_runs_and_joins_and_is_traced(tmp_path):
    store = Store(tmp_path / "c.db")
    plan = {"calls": [calc(1, "6*7"), calc(2, "2+3"), calc(3, "$1 + $2")]}
    joiner = lambda messages: "The total is " + messages[1]["content"].rsplit("→ ", 1)[1]  # noqa: E731
    model = RoleScriptedModel(text={"Joiner": [joiner]}, json={"Planner": [plan]})
    events = []
    result = LLMCompiler(model, _registry(), store=store).compile_and_execute(
        "Add 6*7 and 2+3", on_event=events.append
    )
    assert result.status == "complete" and result.answer == "The total is 47"
    assert [c["output"] for c in result.calls] == ["42", "5", "47"] and result.waves == [["1", "2"], ["3"]]
    assert not result.replanned
    planner_step, joiner_step = result.steps
    assert (
        planner_step.role == "planner"
        and planner_step.score == 10.0
        and "3 of 3 tool calls succeeded" in planner_step.evidence[1]
    )
    assert (
        joiner_step.role == "joiner" and joiner_step.score is not None and result.score == joiner_step.score
    )
    assert sum(isinstance(e, ToolCalled) for e in events) == 3
    made = [e for e in events if isinstance(e, PlanMade)]
    assert len(made) == 1 and made[0].waves == (("1", "2"), ("3",))
    # the planner's grammar names the registry's tools, and the joiner saw every result
    schema = plan_schema(_registry())
    assert schema["properties"]["calls"]["items"]["properties"]["tool"] == {"const": "calculator"}
    assert "Call 3: calculator(expression='42 + 5') → 47" in model.asked("Joiner", "chat")[0][1]["content"]
    run = store.get_run(result.run_id)
    assert run["team"] == "compiler" and [s["role"] for s in run["steps"]] == ["planner", "joiner"]
    assert len(run["steps"][0]["tool_calls"]) == 3
    store.close()


def test_a_failed_call_skips_its_dependents_and_the_joiner_may_replan_once():
    tool = SleepTool(0, fail_on=lambda label: label == "flaky")
    first = {"calls": [wait(1, "flaky"), wait(2, "after $1"), wait(3, "fine")]}
    second = {"calls": [wait(1, "steady"), wait(2, "after $1")]}
    model = RoleScriptedModel(
        text={"Joiner": ["Done with steady."]},
        json={"Planner": [first, second], "Joiner": [{"thought": "retry", "action": "replan"}]},
    )
    result = LLMCompiler(model, ToolRegistry([tool])).compile_and_execute("Do it", mode="eval")
    assert result.replanned and result.status == "complete"
    assert [c["output"] for c in result.calls] == ["done:steady", "done:after done:steady"]
    planner_steps = [s for s in result.steps if s.role == "planner"]
    assert [s.attempt for s in planner_steps] == [0, 1]
    assert planner_steps[0].score == pytest.approx(3.3) and any(
        "skipped" in e for e in planner_steps[0].evidence
    )
    skipped = [c for c in planner_steps[0].tool_calls if c["skipped"]]
    assert skipped and skipped[0]["error"] == "call 1 failed"
    replan_prompt = model.asked("Planner")[1][-1]["content"]
    assert "Some calls failed" in replan_prompt and "no result for flaky" in replan_prompt


def test_the_joiner_may_answer_despite_a_failure_and_replans_are_bounded():
    tool = SleepTool(0, fail_on=lambda label: True)
    model = RoleScriptedModel(
        json={"Planner": [{"calls": [wait(1, "x")]}], "Joiner": [{"thought": "t", "action": "replan"}]}
    )
    result = LLMCompiler(model, ToolRegistry([tool]), max_replans=1).compile_and_execute("x", mode="eval")
    assert len(model.asked("Planner")) == 2 and result.status == "complete"  # one re-plan, then an answer


def test_an_invalid_plan_is_shown_to_the_planner_once_then_raised(tmp_path):
    store = Store(tmp_path / "c.db")
    bad = {"calls": [calc(1, "$2"), calc(2, "$1")]}
    model = RoleScriptedModel(json={"Planner": [bad]})
    with pytest.raises(PlanError, match="cycle"):
        LLMCompiler(model, _registry(), store=store).compile_and_execute("x")
    assert "previous plan was invalid" in model.asked("Planner")[1][-1]["content"]
    run = store.list_runs()[0]
    assert run["status"] == "failed"
    assert [s["score"] for s in store.get_run(run["id"])["steps"]] == [0.0, 0.0]
    store.close()


def test_a_repaired_plan_runs():
    good = {"calls": [calc(1, "1+1")]}
    model = RoleScriptedModel(json={"Planner": [{"calls": [calc(1, "$7")]}, good]})
    result = LLMCompiler(model, _registry()).compile_and_execute("x", mode="eval")
    assert result.replanned and result.calls[0]["output"] == "2"


def test_number_arguments_filled_by_a_reference_become_numbers():
    from purpose_desktop.engine.orchestration.plan import CallOutcome, coerce_args

    outcomes = {"1": CallOutcome("1", "t", {}, True, "42", None, 0.0, 0)}
    args = substitute({"n": "$1", "text": "n=$1"}, outcomes)
    assert coerce_args(args, {"properties": {"n": {"type": "integer"}, "text": {"type": "string"}}}) == {
        "n": 42,
        "text": "n=42",
    }


def test_the_plan_schema_compiles_to_a_llama_grammar():
    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    from purpose_desktop.engine.tools import PythonExecTool

    started = time.perf_counter()
    import json

    gbnf = llama_grammar.json_schema_to_gbnf(json.dumps(plan_schema(_registry(PythonExecTool()))))
    assert "calculator" in gbnf and "python" in gbnf and time.perf_counter() - started < 2


def test_a_call_cut_off_by_the_token_limit_is_dropped_not_fatal():
    cut = {"calls": [calc(1, "1+1"), {"id": 2, "tool": "calculator", "args": {"expression": ""}}, {"id": ""}]}
    model = RoleScriptedModel(json={"Planner": [cut]})
    plan, _raw, _tokens = LLMCompiler(model, _registry()).plan("x")
    assert [c.id for c in plan.calls] == ["1", "2"]


def test_a_train_run_feeds_the_memory_pipeline_like_a_team_run_and_an_ungrounded_one_teaches_nothing(tmp_path):
    from purpose_desktop.engine.memory import similarity
    from purpose_desktop.engine.memory.api import MemoryBank
    from tests.fakes import DEMO_EMBEDDER_NAME, demo_embed

    store = Store(tmp_path / "m.db")
    tool = SleepTool(0, fail_on=lambda label: True)
    model = RoleScriptedModel(json={"Planner": [{"calls": [wait(1, "x")]}]})
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        result = LLMCompiler(model, ToolRegistry([tool]), store=store, max_replans=0).compile_and_execute("x")
    assert result.status == "complete" and result.memory["errors"] == []
    # its steps say nothing about grounding, so the run teaches nothing (only grounded evidence teaches)
    assert result.memory["grounded_by"] == "judge" and result.memory["candidates"] == []
    assert any("not grounded" in note for note in result.memory["notes"])
    assert result.memory["credit"]["skipped"] == {"run": "not grounded"}
    assert MemoryBank(store).list() == []
    store.close()
