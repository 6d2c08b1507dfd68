"""Flow control flow with a scripted model: edges, conditions, loops and caps, fan-out, joins, errors, traces."""

from __future__ import annotations

import threading
import time
import warnings

import pytest

from purpose_desktop.engine.agents.spark import Spark
from purpose_desktop.engine.agents.team import purpose
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.events import NodeRouted, RunFinished, RunStarted, StepScored, TokenReceived
from purpose_desktop.engine.orchestration import BEGIN, DONE_SIGNAL, Flow, OrchestrationError
from purpose_desktop.engine.orchestration.flow import DEFAULT_LOOP_CAP
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import Store
from tests.engine.test_orchestration_support import RoleScriptedModel


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "flow.db")
    yield s
    s.close()


def _writer_loop(model, store, **kwargs) -> Flow:
    verdicts = iter(["retry", "pass"])
    flow = Flow("article", store=store, **kwargs)
    flow.add_node("research", Spark("researcher", model=model))
    flow.add_node("write", Spark("writer", model=model))
    flow.add_edge(BEGIN, "research")
    flow.add_edge("research", "write")
    flow.add_conditional_edge(
        "write", lambda state: next(verdicts), {"pass": DONE_SIGNAL, "retry": "research"}
    )
    return flow


def test_the_issue_example_loops_once_then_finishes_and_is_traced(store):
    model = RoleScriptedModel(
        text={"Researcher": ["Facts A.", "Facts B."], "Writer": ["Draft one.", "Draft two."]}
    )
    events = []
    result = _writer_loop(model, store, max_steps=10).run(
        {"task": "Write about tides"}, on_event=events.append
    )
    assert result.status == "complete"
    assert result.path == ["research", "write", "research", "write"]
    assert result.answer == "Draft two." and result.state["write"] == "Draft two."
    assert [s.attempt for s in result.steps] == [0, 0, 1, 1]
    assert all(s.score is not None and s.evidence for s in result.steps)
    # the writer saw the researcher's work; the second researcher saw its own earlier work and the draft
    writer_prompt = model.asked("Writer", "chat")[0][1]["content"]
    assert "Research's work:\nFacts A." in writer_prompt
    second_research = model.asked("Researcher", "chat")[1][1]["content"]
    assert "Your previous work:\nFacts A." in second_research and "Draft one." in second_research
    run = store.get_run(result.run_id)
    assert run["team"] == "flow:article" and run["status"] == "complete" and run["answer"] == "Draft two."
    assert [s["role"] for s in run["steps"]] == ["research", "write", "research", "write"]
    assert all(s["score"] is not None for s in run["steps"])
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    assert sum(isinstance(e, StepScored) for e in events) == 4
    routed = [e.targets for e in events if isinstance(e, NodeRouted)]
    assert routed == [("write",), ("research",), ("write",), (DONE_SIGNAL,)]
    assert any(isinstance(e, TokenReceived) for e in events)
    assert result.memory["errors"] == [] and "credit" in result.memory  # fed to the memory pipeline


def test_a_loop_without_a_cap_finishes_normally_when_it_ends_before_the_default_cap(store):
    model = RoleScriptedModel(
        text={"Researcher": ["Facts A.", "Facts B."], "Writer": ["Draft one.", "Draft two."]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no cap warning: the loop ended by itself
        result = _writer_loop(model, store).run("Write about tides")
    assert result.status == "complete" and not result.cap_hit
    assert result.max_steps == DEFAULT_LOOP_CAP == 20
    assert result.path == ["research", "write", "research", "write"]


def test_an_endless_loop_without_a_cap_stops_at_the_default_cap_with_a_warning(store):
    model = RoleScriptedModel()
    flow = Flow("research-write-retry", store=store)
    flow.add_node("research", Spark("researcher", model=model))
    flow.add_node("write", Spark("writer", model=model))
    flow.add_edge(BEGIN, "research")
    flow.add_edge("research", "write")
    flow.add_conditional_edge("write", lambda s: "retry", {"pass": DONE_SIGNAL, "retry": "research"})
    with pytest.warns(RuntimeWarning, match="default cap of 20 steps"):
        result = flow.run({"task": "Write about tides"})
    assert result.cap_hit and result.status == "incomplete"
    assert len(result.path) == DEFAULT_LOOP_CAP and result.max_steps == DEFAULT_LOOP_CAP
    assert result.to_dict()["cap_hit"] is True
    run = store.get_run(result.run_id)
    assert run["status"] == "incomplete" and len(run["steps"]) == DEFAULT_LOOP_CAP


def test_an_acyclic_flow_gets_no_cap_and_no_warning(store):
    flow = Flow("line", store=store)
    flow.add_node("a", lambda s: {"a": 1})
    flow.add_node("b", lambda s: {"answer": "done"})
    flow.add_edge(BEGIN, "a")
    flow.add_edge("a", "b")
    flow.add_edge("b", DONE_SIGNAL)
    assert not flow.has_cycle() and flow.effective_cap() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = flow.run("go")
    assert result.status == "complete" and not result.cap_hit and result.max_steps is None


def test_the_step_cap_ends_an_endless_loop_as_incomplete(store):
    model = RoleScriptedModel()
    flow = Flow("loop", store=store, max_steps=5)
    flow.add_node("research", Spark("researcher", model=model))
    flow.add_edge(BEGIN, "research")
    flow.add_conditional_edge("research", lambda s: "again", {"again": "research", "stop": DONE_SIGNAL})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit cap is the caller's choice: flagged, not warned
        result = flow.run("Keep going")
    assert result.status == "incomplete" and len(result.path) == 5
    assert result.cap_hit and result.max_steps == 5
    assert store.get_run(result.run_id)["status"] == "incomplete"


def _sleepy(key, seconds=0.3):
    def node(state):
        time.sleep(seconds)
        return {key: f"{key} done", f"{key}_thread": threading.get_ident()}

    return node


def test_fan_out_runs_plain_functions_concurrently_and_the_join_waits_for_both(store):
    seen = {}

    def merge(state):
        seen.update(state)
        return {"answer": f"{state['left']} + {state['right']}"}

    flow = Flow("fan", store=store)
    flow.add_node("split", lambda s: {"split": True})
    flow.add_node("left", _sleepy("left"))
    flow.add_node("right", _sleepy("right"))
    flow.add_node("merge", merge)
    flow.add_edge(BEGIN, "split")
    flow.add_edge("split", "left")
    flow.add_edge("split", "right")
    flow.add_edge("left", "merge")
    flow.add_edge("right", "merge")
    flow.add_edge("merge", DONE_SIGNAL)
    started = time.perf_counter()
    result = flow.run({"task": "fan out"})
    elapsed = time.perf_counter() - started
    assert result.status == "complete" and result.path.count("merge") == 1
    assert result.answer == "left done + right done"
    assert elapsed < 0.55, f"two 0.3 s branches took {elapsed:.2f} s: not concurrent"
    assert seen["left_thread"] != seen["right_thread"]
    steps = store.get_run(result.run_id)["steps"]
    assert [s["role"] for s in steps] == ["split", "left", "right", "merge"]
    assert all(s["score"] is None and "plain function" in s["evidence"][0] for s in steps)


def test_a_join_waits_for_the_longer_branch():
    order = []

    def node(name):
        def fn(state):
            order.append(name)
            return {name: name}

        return fn

    flow = Flow("uneven")
    for name in ("a", "b", "b2", "c", "d"):
        flow.add_node(name, node(name))
    flow.add_edge(BEGIN, "a").add_edge("a", "b").add_edge("a", "c").add_edge("b", "b2")
    flow.add_edge("b2", "d").add_edge("c", "d").add_edge("d", DONE_SIGNAL)
    result = flow.run({"task": "x"}, mode=RunMode.EVAL_TEST)
    assert order.count("d") == 1 and order.index("d") > order.index("b2")
    assert result.status == "complete"


def test_conditional_edge_may_fan_out_to_several_nodes():
    flow = Flow("pick")
    flow.add_node("route", lambda s: None)
    flow.add_node("x", lambda s: {"x": 1})
    flow.add_node("y", lambda s: {"y": 2})
    flow.add_edge(BEGIN, "route")
    flow.add_conditional_edge("route", lambda s: "both", {"both": ["x", "y"], "none": DONE_SIGNAL})
    flow.add_edge("x", DONE_SIGNAL).add_edge("y", DONE_SIGNAL)
    result = flow.run({"task": "t"}, mode="eval")
    assert result.state["x"] == 1 and result.state["y"] == 2 and sorted(result.path[1:]) == ["x", "y"]


def test_functions_may_change_the_state_in_place_or_return_a_value():
    flow = Flow("state")
    flow.add_node("count", lambda s: s.update(n=s["n"] + 1))
    flow.add_node("label", lambda s: f"n is {s['n']}", output="answer")
    flow.add_edge(BEGIN, "count").add_edge("count", "label").add_edge("label", DONE_SIGNAL)
    result = flow.run({"task": "t", "n": 1}, mode="eval")
    assert result.state["n"] == 2 and result.answer == "n is 2"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda f: f.add_edge(BEGIN, "ghost"), "leads to no node"),
        (lambda f: f.add_edge(BEGIN, "a").add_edge("ghost", "a"), "no node with that name"),
        (
            lambda f: f.add_edge(BEGIN, "a").add_edge("a", "b").add_edge("b", "a"),
            "DONE_SIGNAL cannot be reached",
        ),
        (lambda f: f.add_edge(BEGIN, "a"), "'a' has no outgoing edge"),
        (lambda f: f.add_edge("a", DONE_SIGNAL), "no edge from BEGIN"),
        (
            lambda f: f.add_edge(BEGIN, "a").add_conditional_edge("a", str, {"k": "nowhere"}),
            "leads to no node",
        ),
    ],
)
def test_bad_graphs_get_a_clear_error(build, message):
    flow = Flow("bad")
    flow.add_node("a", lambda s: None)
    flow.add_node("b", lambda s: None)
    build(flow)
    with pytest.raises(OrchestrationError, match=message):
        flow.run({"task": "t"}, mode="eval")


def test_building_mistakes_are_refused_at_once():
    flow = Flow("bad")
    flow.add_node("a", lambda s: None)
    with pytest.raises(OrchestrationError, match="already has a node"):
        flow.add_node("a", lambda s: None)
    with pytest.raises(OrchestrationError, match="cannot run"):
        flow.add_node("b", 42)
    with pytest.raises(OrchestrationError, match="cannot name"):
        flow.add_node(DONE_SIGNAL, lambda s: None)
    with pytest.raises(OrchestrationError, match="into BEGIN"):
        flow.add_edge("a", BEGIN)


def test_runtime_errors_name_the_node_and_close_the_trace_as_failed(store):
    def boom(state):
        raise ValueError("bad input")

    flow = Flow("oops", store=store)
    flow.add_node("a", lambda s: None)
    flow.add_node("b", boom)
    flow.add_edge(BEGIN, "a").add_edge("a", "b").add_edge("b", DONE_SIGNAL)
    with pytest.raises(OrchestrationError, match="node 'b' failed: bad input"):
        flow.run({"task": "t"})
    run = store.list_runs()[0]
    assert run["status"] == "failed" and run["team"] == "flow:oops"

    flow = Flow("route", store=store)
    flow.add_node("a", lambda s: None)
    flow.add_edge(BEGIN, "a")
    flow.add_conditional_edge("a", lambda s: "maybe", {"yes": DONE_SIGNAL})
    with pytest.raises(OrchestrationError, match="returned 'maybe'") as err:
        flow.run({"task": "t"})
    assert "'yes'" in err.value.hint


def test_a_spark_node_needs_its_input_in_the_state():
    flow = Flow("input")
    flow.add_node("write", Spark("writer", model=RoleScriptedModel()), input="topic")
    flow.add_edge(BEGIN, "write").add_edge("write", DONE_SIGNAL)
    with pytest.raises(OrchestrationError, match=r"reads state\['topic'\]"):
        flow.run({"task": "t"}, mode="eval")


def test_a_team_node_runs_the_whole_team_and_is_one_scored_step(store):
    code = "```python\ndef add(a, b):\n    return a + b\n```"
    model = RoleScriptedModel(
        text={"Architect": ["Plan: add."], "Coder": [code], "Tester": ["assert add(1, 2) == 3"]}
    )
    team = purpose("Help me write Python code", model=model)
    flow = Flow("with-team", store=store, model=model)
    flow.add_node("build", team)
    flow.add_node("ship", lambda s: {"answer": s["build"]})
    flow.add_edge(BEGIN, "build").add_edge("build", "ship").add_edge("ship", DONE_SIGNAL)
    result = flow.run("Write add(a, b)")
    assert "def add" in result.answer and result.status == "complete"
    build = result.steps[0]
    assert build.role == "build" and build.score is not None and build.evidence[0].startswith("team run")
    teams = {r["team"] for r in store.list_runs()}
    assert teams == {"flow:with-team", team.name}  # the team's own run is traced too


def test_eval_mode_writes_nothing(store):
    model = RoleScriptedModel()
    result = _writer_loop(model, store, max_steps=4).run("Write about tides", mode=RunMode.EVAL_TEST)
    assert result.steps and store.list_runs() == []


def test_cancel_stops_between_nodes(store):
    model = RoleScriptedModel()
    cancel = CancelToken()

    def on_event(event):
        if isinstance(event, StepScored):
            cancel.set()

    result = _writer_loop(model, store, max_steps=10).run("Write", cancel=cancel, on_event=on_event)
    assert result.status == "cancelled" and result.path == ["research"]
    assert store.get_run(result.run_id)["status"] == "cancelled"
