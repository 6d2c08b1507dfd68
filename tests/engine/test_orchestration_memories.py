"""Flow, Council, swarm and LLMCompiler steps use the approved memories a Team step would, record which, and
credit them after a grounded run — on a real SQLite file (scripted models for the control flow)."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.agents.spark import Spark
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.orchestration import BEGIN, DONE_SIGNAL, Council, Flow, LLMCompiler, swarm
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.tools.base import ToolRegistry
from purpose_desktop.engine.tools.calculator import CalculatorTool
from tests.engine.test_memory_team import BAD, GOOD, TESTS
from tests.engine.test_orchestration_support import RoleScriptedModel
from tests.fakes import DEMO_EMBEDDER_NAME, demo_embed

CODER_LESSON = "When writing add, return a + b and keep the signature add(a, b)."
ANY_LESSON = "Always explain the answer in one short sentence."


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "orchestrated.db")
    yield s
    s.close()


@pytest.fixture
def lessons(store):
    """Two approved memories: one scoped to the coder, one taught preference for every role."""
    bank = MemoryBank(store)
    coder = bank.submit(CODER_LESSON, kind="skill_card", provenance={"source": "distil"}, scope={"roles": ["coder"]})
    bank.approve(coder.memory.id)
    taught = bank.teach(ANY_LESSON)
    return {"coder": coder.memory.id, "any": taught.memory.id}


def _system_prompts(model: RoleScriptedModel, who: str) -> list[str]:
    return [messages[0]["content"] for kind, w, messages in model.calls if w == who and kind == "chat"]


def _user_prompts(model: RoleScriptedModel, who: str) -> list[str]:
    return [messages[-1]["content"] for kind, w, messages in model.calls if w == who and kind == "chat"]


def test_flow_steps_carry_the_memories_their_role_may_use_and_record_them(store, lessons):
    model = RoleScriptedModel(text={"Coder": [GOOD], "Writer": ["It adds two numbers."]})
    flow = Flow("add", store=store)
    flow.add_node("code", Spark("coder", model=model))
    flow.add_node("explain", Spark("writer", model=model))
    flow.add_edge(BEGIN, "code")
    flow.add_edge("code", "explain")
    flow.add_edge("explain", DONE_SIGNAL)
    result = flow.run({"task": "Write add(a, b) that returns the sum"})

    assert CODER_LESSON in _system_prompts(model, "Coder")[0]
    assert CODER_LESSON not in _system_prompts(model, "Writer")[0]  # scoped to the coder
    assert ANY_LESSON in _user_prompts(model, "Writer")[0]  # a taught preference is a rule for every role
    code, explain = result.steps
    assert set(code.memory_ids) == {lessons["coder"], lessons["any"]}
    assert explain.memory_ids == [lessons["any"]]
    stored = store.get_run(result.run_id)["steps"]
    assert [set(s["memory_ids"]) for s in stored] == [set(code.memory_ids), set(explain.memory_ids)]


def test_a_grounded_flow_credits_the_memories_it_used_and_an_ungrounded_one_does_not(store, lessons):
    def one_node_flow(answer):
        flow = Flow("add", store=store)
        flow.add_node("code", Spark("coder", model=RoleScriptedModel(text={"Coder": [answer]})))
        flow.add_edge(BEGIN, "code")
        flow.add_edge("code", DONE_SIGNAL)
        return flow

    bank = MemoryBank(store)
    before = bank.repo.get(lessons["coder"])
    passed = one_node_flow(GOOD).run({"task": "Write add(a, b) that returns the sum"}, tests=TESTS)
    assert passed.steps[0].grounded_by == "given_tests" and passed.grounded_by == "given_tests"
    assert store.get_run(passed.run_id)["grounded_by"] == "given_tests"
    after = bank.repo.get(lessons["coder"])
    assert after.helped == before.helped + 1 and passed.memory["credit"]

    failed = one_node_flow(BAD).run({"task": "Write add(a, b) that returns the sum"}, tests=TESTS)
    assert failed.grounded_by == "given_tests"
    assert bank.repo.get(lessons["coder"]).hurt == after.hurt + 1  # credit moves both ways

    unchecked = one_node_flow(GOOD).run({"task": "Write add(a, b) that returns the sum"})
    assert unchecked.grounded_by != "given_tests" and unchecked.steps[0].memory_ids
    latest = bank.repo.get(lessons["coder"])
    assert (latest.helped, latest.hurt) == (after.helped, after.hurt + 1)  # a judge's opinion teaches nothing


def test_council_members_use_memories_each_round(store, lessons):
    model = RoleScriptedModel(
        text={"Coder": ["Use a + b."], "Reviewer": ["Agreed."], "Chair": ["Return a + b."]},
        json={"Chair": [{"agreement": ["a + b"], "disagreement": [], "decision": "a + b"}]},
    )
    council = Council([Spark("coder", model=model), Spark("reviewer", model=model)], store=store)
    result = council.run("How should add(a, b) work?", rounds=2)
    coder_steps = [s for s in result.steps if s.role == "coder"]
    assert len(coder_steps) == 2 and all(lessons["coder"] in s.memory_ids for s in coder_steps)
    assert all(CODER_LESSON in p for p in _system_prompts(model, "Coder"))
    reviewer_steps = [s for s in result.steps if s.role == "reviewer"]
    assert all(s.memory_ids == [lessons["any"]] for s in reviewer_steps)


def test_swarm_spark_tasks_use_memories_chosen_on_the_callers_thread(store, lessons):
    model = RoleScriptedModel(text={"Coder": [GOOD]})
    results = swarm(["Write add(a, b)", "Write add(a, b) again"], agents=Spark("coder", model=model), store=store)
    assert all(set(r.steps[0].memory_ids) == {lessons["coder"], lessons["any"]} for r in results)
    assert all(CODER_LESSON in p for p in _system_prompts(model, "Coder"))


def test_the_compilers_planner_and_joiner_prompts_carry_approved_memories(store, lessons):
    plan = {"calls": [{"id": 1, "tool": "calculator", "args": {"expression": "2+3"}, "deps": []}]}
    model = RoleScriptedModel(text={"Joiner": ["5"]}, json={"Planner": [plan]})
    result = LLMCompiler(model, ToolRegistry([CalculatorTool()]), store=store).compile_and_execute("Add 2 and 3")
    planner_system = next(m[0]["content"] for kind, who, m in model.calls if who == "Planner")
    assert ANY_LESSON in planner_system and CODER_LESSON not in planner_system
    assert ANY_LESSON in _system_prompts(model, "Joiner")[0]
    assert [s.memory_ids for s in result.steps] == [[lessons["any"]], [lessons["any"]]]


def test_a_store_without_approved_memories_recalls_nothing():
    model = RoleScriptedModel(text={"Coder": [GOOD]})
    flow = Flow("add")
    flow.add_node("code", Spark("coder", model=model))
    flow.add_edge(BEGIN, "code")
    flow.add_edge("code", DONE_SIGNAL)
    result = flow.run({"task": "Write add"}, mode="eval")
    assert result.steps[0].memory_ids == [] and "Lessons approved" not in _system_prompts(model, "Coder")[0]
