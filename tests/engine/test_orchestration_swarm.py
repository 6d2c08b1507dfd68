"""swarm with a scripted model: parallel tools, one owner thread per model, fair turns, order, isolation."""

from __future__ import annotations

import threading
import time

import pytest

from purpose_desktop.engine.agents.spark import Spark
from purpose_desktop.engine.agents.team import purpose
from purpose_desktop.engine.events import RunFinished, RunStarted, ToolCalled
from purpose_desktop.engine.orchestration import FairQueue, ModelOwner, OrchestrationError, swarm
from purpose_desktop.engine.store import Store
from tests.engine.test_orchestration_support import RoleScriptedModel, SleepTool


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "swarm.db")
    yield s
    s.close()


def _task_of(messages) -> str:
    return messages[1]["content"].removeprefix("Task: ").split("\n")[0]


def _decide(messages):
    done = any("Result of wait" in m["content"] for m in messages)
    return {"thought": "t", "action": "final_answer" if done else "wait"}


def _write(messages):
    if messages[-1]["content"].startswith("Write only the input for wait"):
        return _task_of(messages)
    return f"Answer for {_task_of(messages)}."


def test_tools_run_in_parallel_while_model_calls_stay_on_one_owner_thread(store):
    model = RoleScriptedModel(text={"Analyst": [_write]}, json={"Analyst": [_decide]}, delay_s=0.01)
    tool = SleepTool(0.3)
    agent = Spark("analyst", model=model, tools=[tool], max_steps=2)
    tasks = [f"task {i}" for i in range(4)]
    events = []
    started = time.perf_counter()
    results = swarm(tasks, agents=[agent], store=store, on_event=events.append)
    elapsed = time.perf_counter() - started
    assert [r.task for r in results] == tasks and [r.index for r in results] == [0, 1, 2, 3]
    assert [r.answer for r in results] == [f"Answer for task {i}." for i in range(4)]
    assert all(r.ok and r.status == "complete" and r.score is not None for r in results)
    assert all(r.memory["errors"] == [] and "credit" in r.memory for r in results)
    assert tool.peak >= 2, "tool calls never overlapped"
    assert elapsed < 4 * 0.3, f"4 tasks with a 0.3 s tool took {elapsed:.2f} s"
    assert model.overlaps == 0 and len(model.threads) == 1
    assert threading.get_ident() not in model.threads  # the owner thread, not the caller
    assert all(r.steps[0].tool_calls[0]["output"] == f"done:task {i}" for i, r in enumerate(results))
    assert sum(isinstance(e, ToolCalled) for e in events) == 4
    assert (
        sum(isinstance(e, RunStarted) for e in events) == sum(isinstance(e, RunFinished) for e in events) == 4
    )
    runs = store.list_runs()
    assert len(runs) == 4 and {r["team"] for r in runs} == {"swarm:analyst"}
    assert len({r["meta"]["swarm_id"] for r in runs}) == 1
    for r in results:
        stored = store.get_run(r.run_id)
        assert stored["task"] == r.task and stored["steps"][0]["score"] == r.score


def test_one_failing_task_does_not_sink_the_others(store):
    def agent(task):
        if task == "bad":
            raise RuntimeError("tool exploded")
        return f"ok: {task}"

    results = swarm(["a", "bad", "c"], agents=agent, store=store)
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].status == "failed" and "tool exploded" in results[1].error
    assert results[0].answer == "ok: a" and results[2].answer == "ok: c"
    statuses = {store.get_run(r.run_id)["task"]: store.get_run(r.run_id)["status"] for r in results}
    assert statuses == {"a": "complete", "bad": "failed", "c": "complete"}


def test_tasks_go_to_agents_in_turn():
    a = Spark("researcher", model=RoleScriptedModel())
    b = Spark("writer", model=RoleScriptedModel())
    results = swarm(["1", "2", "3"], agents=[a, b], mode="eval")
    assert [r.agent for r in results] == ["researcher", "writer", "researcher"]
    assert results[0].answer == "Researcher answers." and results[1].answer == "Writer answers."


def test_each_distinct_model_gets_its_own_owner_thread():
    m1, m2 = RoleScriptedModel(delay_s=0.01), RoleScriptedModel(delay_s=0.01)
    agents = [Spark("researcher", model=m1), Spark("writer", model=m2)]
    swarm(["1", "2", "3", "4"], agents=agents, mode="eval")
    assert len(m1.threads) == 1 and len(m2.threads) == 1 and m1.threads != m2.threads
    assert m1.overlaps == m2.overlaps == 0


def test_a_team_can_be_a_swarm_agent(store):
    code = "```python\ndef add(a, b):\n    return a + b\n```"
    model = RoleScriptedModel(
        text={"Architect": ["Plan."], "Coder": [code], "Tester": ["assert add(1, 2) == 3"]}
    )
    team = purpose("Help me write Python code", model=model)
    results = swarm(["Write add", "Write add again"], agents=team, store=store)
    assert all(r.ok and "def add" in r.answer for r in results)
    assert model.overlaps == 0 and len(model.threads) == 1
    assert {store.get_run(r.run_id)["team"] for r in results} == {team.name}


def test_empty_and_invalid_input():
    assert swarm([], agents=[Spark("writer", model=RoleScriptedModel())]) == []
    with pytest.raises(OrchestrationError, match="must be a Spark"):
        swarm(["x"], agents=[42])


def test_fair_queue_serves_keys_round_robin():
    q = FairQueue()
    for key, item in [("a", "a1"), ("a", "a2"), ("a", "a3"), ("b", "b1"), ("c", "c1"), ("c", "c2")]:
        q.put(key, item)
    q.close()
    assert [q.get() for _ in range(7)] == ["a1", "b1", "c1", "a2", "c2", "a3", None]


def test_model_owner_runs_calls_on_its_thread_and_passes_errors_back():
    class Echo:
        def where(self, x):
            if x == "boom":
                raise ValueError("boom")
            return x, threading.get_ident()

    owner = ModelOwner(Echo(), "echo")
    try:
        value, ident = owner.call("k", "where", "hi")
        assert value == "hi" and ident == owner.thread.ident != threading.get_ident()
        with pytest.raises(ValueError, match="boom"):
            owner.call("k", "where", "boom")
    finally:
        owner.close()
    assert not owner.thread.is_alive()
