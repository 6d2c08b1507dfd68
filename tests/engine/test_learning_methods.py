"""Each self-improvement method has a real off switch (``learning_methods_off`` → ``MemoryPolicy.methods_off``,
``PurposeFunction(calibrated=…)``): on a real SQLite file, its effect is there when on and gone when off."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.agents.roles import RoleSpec
from purpose_desktop.engine.agents.team import Team, TeamSpec
from purpose_desktop.engine.critic import PurposeFunction
from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.learning.after_run import learn_from_run
from purpose_desktop.engine.learning.calibration import load_calibration
from purpose_desktop.engine.learning.evolution import evolve
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.memory.records import METHOD_OFF, MemoryPolicy
from purpose_desktop.engine.memory.retrieval import MemoryRetriever
from purpose_desktop.engine.settings import LEARNING_METHODS, EngineSettings
from purpose_desktop.engine.store import Store
from tests.engine.services_helpers import make_engine
from tests.engine.test_lesson_evolution import EMPTY_A, EMPTY_B, keyed_embed
from tests.engine.test_memory_value import LIST_TASK, STRING_TASK, _credit, _run
from tests.fakes import DEMO_EMBEDDER_NAME, ScriptedJsonModel, demo_embed, final

EVERYTHING = {"min_relevance": -1.0, "min_relevance_case": -1.0}  # rank every memory, however relevant
GOOD = "```python\ndef add(a, b):\n    return a + b\n```"
BAD = "```python\ndef add(a, b):\n    return a - b\n```"
TESTS = "from solution import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
ADD_TASK = "Write add(a, b) that returns the sum of two numbers."


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "methods.db")
    yield s
    s.close()


def off(*methods: str, **knobs) -> MemoryPolicy:
    return MemoryPolicy(methods_off=frozenset(methods), **knobs)


# -- the switch itself ----------------------------------------------------------------------------------
def test_the_setting_names_known_methods_only_and_every_method_says_what_off_means():
    s = EngineSettings(learning_methods_off=["hindsight", "hindsight", "critic_calibration"])
    assert s.learning_methods_off == ("hindsight", "critic_calibration")
    assert s.to_dict()["learning_methods_off"] == ["hindsight", "critic_calibration"]
    assert EngineSettings.from_dict(s.to_dict()) == s
    with pytest.raises(InputError, match="learning_methods_off") as bad:
        EngineSettings(learning_methods_off=["telepathy"])
    assert "value_of_experience" in bad.value.hint
    assert EngineSettings.from_dict({"learning_methods_off": ["telepathy"]}).learning_methods_off == ()
    assert set(METHOD_OFF) == set(LEARNING_METHODS)
    with pytest.raises(ValueError, match="unknown learning method"):
        MemoryPolicy(methods_off=frozenset({"telepathy"}))
    assert MemoryPolicy().uses("hindsight") and not off("hindsight").uses("hindsight")


# -- value of experience --------------------------------------------------------------------------------
def test_value_of_experience_off_ranks_by_utility_alone(store):
    bank = MemoryBank(store)
    ids = []
    for text in ("Check for an empty input first.", "Handle an empty input before anything else."):
        m = bank.submit(text, kind="skill_card", provenance={"source": "distil"}).memory
        ids.append(bank.approve(m.id).id)
    helper, steady = ids
    for _ in range(3):
        _credit(bank, helper, LIST_TASK, +0.4)
        _credit(bank, helper, STRING_TASK, -0.4)

    def ranked(policy, task):
        return {r.memory_id: r for r in MemoryRetriever(store, policy).for_step(task=task, role="coder")}

    on_lists, on_strings = ranked(MemoryPolicy(**EVERYTHING), LIST_TASK), ranked(MemoryPolicy(**EVERYTHING), STRING_TASK)
    assert on_lists[helper].weight > on_lists[steady].weight > on_strings[helper].weight
    assert on_lists[helper].effect is not None
    no_value = off("value_of_experience", **EVERYTHING)
    for task in (LIST_TASK, STRING_TASK):
        got = ranked(no_value, task)
        assert got[helper].weight == pytest.approx(got[steady].weight)  # the same utility: the same weight
        assert got[helper].effect is None


# -- hindsight ------------------------------------------------------------------------------------------
class Step:
    """A run's code step as learn_from_run reads it (a StepResult's fields)."""

    def __init__(self, attempt, output, passed, failed):
        self.role, self.attempt, self.output = "coder", attempt, output
        self.score = 3.0 if failed else 9.0
        self.tests = {"source": "given", "passed": passed, "failed": failed, "output": ""}
        self.tool_calls, self.memory_ids, self.grounded_by = [], [], "given_tests"


def _learn(store, policy):
    task = "Write add(a, b) that returns the sum of a and b"
    steps = [Step(0, GOOD, 2, 1), Step(1, BAD, 0, 3)]
    run_id = _run(store, task)
    return task, learn_from_run(
        store, run_id, task, 1.0, steps, model=None, policy=policy, kinds={"coder": "code"}, answer=BAD
    )


def test_hindsight_off_proposes_no_case_and_sets_approved_cases_aside(store):
    _, learned = _learn(store, off("hindsight"))
    assert not [c for c in learned["candidates"] if c["outcome"] == "hindsight"]
    assert any("hindsight method is turned off" in n for n in learned["notes"])

    task, learned = _learn(store, MemoryPolicy())
    [case] = [c for c in learned["candidates"] if c["outcome"] == "hindsight"]
    bank = MemoryBank(store)
    bank.approve(case["id"])
    used = MemoryRetriever(store, MemoryPolicy(**EVERYTHING)).for_step(task=task, role="coder")
    assert case["id"] in {r.memory_id for r in used}
    aside = MemoryRetriever(store, off("hindsight", **EVERYTHING)).for_step(task=task, role="coder")
    assert case["id"] not in {r.memory_id for r in aside}
    assert bank.get(case["id"]).status == "promoted"  # set aside, not changed: on again, it is used again
    assert {r.memory_id for r in aside} == {r.memory_id for r in used} - {case["id"]}


# -- lesson evolution -----------------------------------------------------------------------------------
def test_lesson_evolution_off_proposes_nothing(store):
    with similarity.use_embedder(keyed_embed, "keyed-test"):
        bank = MemoryBank(store, off("lesson_evolution"))
        for text in (EMPTY_A, EMPTY_B):
            bank.submit(text, kind="skill_card", provenance={"source": "distil"})
        assert evolve(bank) == []
        assert [p.action for p in evolve(MemoryBank(store))] == ["merge"]


# -- critic calibration ---------------------------------------------------------------------------------
def _solo(store, code, judge, policy=None, critic=None):
    model = ScriptedJsonModel({"Coder": [final(code)]}, judge_score=judge)
    spec = TeamSpec(
        "Solo", "Help me write Python code", [RoleSpec("coder", "Coder", "Write the code.", [], None, "code")], max_retries=0
    )
    return Team(spec, model=model, store=store, memory_policy=policy, critic=critic)


def test_critic_calibration_off_proposes_none_and_the_critic_ignores_approved_ones(store):
    silent = _solo(store, BAD, judge=9, policy=off("critic_calibration")).run(ADD_TASK, tests=TESTS)
    assert silent.memory["calibration_signals"] and not silent.memory.get("calibrations")

    (cand,) = _solo(store, BAD, judge=9).run(ADD_TASK, tests=TESTS).memory["calibrations"]
    MemoryBank(store).approve(cand["id"])
    assert load_calibration(store) == {"numbers": 0.5}
    judge = ScriptedJsonModel(judge_score=9)
    calibrated = _solo(store, GOOD, judge=9, critic=PurposeFunction(judge)).run(ADD_TASK)
    uncalibrated = _solo(store, GOOD, judge=9, critic=PurposeFunction(judge, calibrated=False)).run(ADD_TASK)
    plain = PurposeFunction(judge).score_step(task=ADD_TASK, role="coder", kind="code", output=GOOD)  # none loaded
    assert calibrated.score < uncalibrated.score == plain.value
    assert not any("weight" in e for e in uncalibrated.steps[0].evidence)


# -- the app uses the person's setting ------------------------------------------------------------------
def test_the_engine_builds_policy_critic_and_bank_from_the_setting(tmp_path):
    engine = make_engine(tmp_path)
    assert engine.memories.policy().methods_off == frozenset()
    assert engine.memories.critic(ScriptedJsonModel()).calibrated
    engine.config.update({"learning_methods_off": ["critic_calibration", "lesson_evolution"]})
    policy = engine.memories.policy()
    assert policy.methods_off == {"critic_calibration", "lesson_evolution"} and policy.uses("hindsight")
    assert not engine.memories.critic(ScriptedJsonModel()).calibrated
    assert engine.memories.bank().policy == policy
    with similarity.use_embedder(keyed_embed, "keyed-test"):
        bank = engine.memories.bank()
        for text in (EMPTY_A, EMPTY_B):
            bank.submit(text, kind="skill_card", provenance={"source": "distil"})
        assert engine.memories.evolve(model=None) == []
        engine.config.update({"learning_methods_off": []})
        assert [p.action for p in engine.memories.evolve(model=None)] == ["merge"]
    with pytest.raises(InputError):
        engine.config.update({"learning_methods_off": ["nonsense"]})
    engine.store.close()
