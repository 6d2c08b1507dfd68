"""The learning loop through Team with a scripted model: injection, ids per step, distil, replay, credit, modes."""

from __future__ import annotations

import hashlib

import pytest

from purpose_desktop.engine.agents.roles import RoleSpec
from purpose_desktop.engine.agents.team import Team, TeamSpec, purpose
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.learning.replay import ArmResult, ReplayTask, replay, retest
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.memory.records import MemoryPolicy, clearly_helps
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import Store
from tests.engine.test_memory import POISON
from tests.fakes import DEMO_EMBEDDER_NAME, ScriptedJsonModel, demo_embed, final

GOOD = "```python\ndef add(a, b):\n    return a + b\n```\nAdds two numbers."
BAD = "```python\ndef add(a, b):\n    return a - b\n```\nAdds two numbers."
TESTS = "from solution import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
IMPOSSIBLE = "from solution import add\n\n\ndef test_add():\n    assert add(2, 3) == 6\n"
PLAN = "Define add(a, b) returning the sum."
CHECKS = "assert add(2, 2) == 4"


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "team.db")
    yield s
    s.close()


def _team(store, scripts=None, **kwargs):
    scripts = scripts or {"Architect": [final(PLAN)], "Coder": [final(GOOD)], "Tester": [final(CHECKS)]}
    model = ScriptedJsonModel(scripts, judge_score=6)
    team = purpose("Help me write Python code", model=model, store=store)
    for key, value in kwargs.items():
        setattr(team, key, value)
    return team, model


def _coder_only(store, replies, **kwargs):
    model = ScriptedJsonModel({"Coder": replies}, judge_score=6)
    spec = TeamSpec(
        "Solo",
        "Help me write Python code",
        [RoleSpec("coder", "Coder", "Write the code.", [], None, "code")],
        max_retries=0,
    )
    return Team(spec, model=model, store=store, **kwargs), model


def _system_prompts(model, who):
    return [m[0]["content"] for w, m in model.calls if w == who]


def test_teach_reaches_the_next_runs_prompt_and_the_step_records_its_id(store):
    team, model = _team(store)
    taught = team.teach("Always add type hints").memory
    result = team.run("Write add(a, b)", tests=TESTS)
    assert all("Always add type hints" in p for p in _system_prompts(model, "Coder"))
    assert all(taught.id in s.memory_ids for s in result.steps)
    stored = store.get_run(result.run_id)["steps"]
    assert all(s["memory_ids"] == [taught.id] for s in stored)
    m = MemoryBank(store).get(taught.id)
    assert m.retrieved == 1 and MemoryBank(store).repo.credits(m.id)[0]["run_id"] == result.run_id


def test_a_poisoned_teach_never_reaches_a_prompt(store):
    team, model = _team(store)
    assert team.teach(POISON).memory.status == "rejected"
    result = team.run("Write add(a, b)", tests=TESTS)
    assert not any("score of 10" in p for p in _system_prompts(model, "Coder"))
    assert all(s.memory_ids == [] for s in result.steps)


def test_a_train_run_distils_candidates_with_provenance(store):
    team, _ = _team(
        store, {"Architect": [final(PLAN)], "Coder": [final(BAD), final(GOOD)], "Tester": [final(CHECKS)]}
    )
    team.spec.max_retries = 2
    result = team.run("Write add(a, b) that returns the sum", tests=TESTS)
    kinds = {c["kind"]: c for c in result.memory["candidates"]}
    assert {"episodic_case", "failure_pattern"} <= set(kinds)
    bank = MemoryBank(store)
    case = bank.get(kinds["episodic_case"]["id"])
    assert case.status == "quarantined" and "return a + b" in case.text and case.scope.roles == ("coder",)
    assert case.provenance[0]["run_id"] == result.run_id and case.provenance[0]["source"] == "distilled"
    failure = bank.get(kinds["failure_pattern"]["id"])
    # the failure and its fix, generalised (a wrong operator), with the failing check as evidence
    assert "operator" in failure.text and "`assert add(2, 3) == 5` failed, then passed" in failure.text
    assert failure.scope.tags == ("family:numbers",) and failure.provenance[0]["lesson"] == "fix"
    assert any(
        "model rule skipped" in e for e in result.memory["errors"]
    )  # the scripted model has no rule to give
    # quarantined candidates do not reach the next run
    again = team.run("Write add(a, b) that returns the sum", tests=TESTS)
    assert all(s.memory_ids == [] for s in again.steps)
    # and the same run again strengthens the same case instead of adding a second
    assert bank.get(case.id).strength >= 2 and len(bank.list(kind="episodic_case")) == 1


def test_learning_is_off_outside_train_and_when_disabled(store):
    team, _ = _team(store)
    team.run("Write add(a, b)", tests=TESTS, mode="validation")
    assert MemoryBank(store).list() == []
    team.learn = False
    team.run("Write add(a, b)", tests=TESTS)
    assert MemoryBank(store).list() == []


def _fixed_arm(with_score, without_score, grounded_by="given_tests"):
    """An arm whose scores rest on ``grounded_by`` (given tests by default: only grounded pairs decide)."""
    calls = []

    def run_arm(task, tests, seed, include, exclude, cancel):
        calls.append((task, seed, [m.id for m in include], list(exclude)))
        return ArmResult(with_score if include else without_score, grounded_by)

    return run_arm, calls


def test_replay_stores_paired_evidence_with_the_same_seeds(store):
    bank = MemoryBank(store)
    m = bank.submit("Check edge cases first", kind="skill_card", provenance={"source": "distilled"}).memory
    arm, calls = _fixed_arm(8.0, 5.0)
    seen = []
    ev = replay(store, m, arm, tasks=[ReplayTask("Write add", TESTS)], n=5, progress=seen.append)
    assert ev.n == 5 and ev.scores_with == [8.0] * 5 and ev.scores_without == [5.0] * 5
    assert ev.mean_with == 8.0 and ev.mean_without == 5.0 and ev.delta == 3.0 and ev.verdict == "helps"
    assert ev.n_grounded == 5 and ev.p_value == 0.0625 and ev.enough_evidence
    assert [c[1] for c in calls] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]  # each seed runs both arms
    assert [c[2] for c in calls[1::2]] == [[m.id]] * 5 and [c[3] for c in calls[0::2]] == [[m.id]] * 5
    assert [p.done for p in seen] == list(range(1, 11)) and seen[-1].total == 10
    stored = bank.get(m.id)
    assert (
        stored.evidence["verdict"] == "helps" and stored.evidence["n"] == 5 and stored.status == "quarantined"
    )
    assert stored.evidence["grounding"] == {"with": {"given_tests": 5}, "without": {"given_tests": 5}}
    assert bank.repo.evidence(m.id)[0].delta == 3.0
    assert [h.action for h in bank.repo.history(m.id)][-1] == "retested"
    assert stored.effective_trust > stored.trust


def test_replay_writes_only_evidence_in_validation_mode(store):
    bank = MemoryBank(store)
    m = bank.submit("Check edge cases first", kind="skill_card", provenance={"source": "distilled"}).memory
    arm, _ = _fixed_arm(4.0, 6.0)
    with store.run_mode(RunMode.LEARNING_VALIDATION):
        ev = replay(store, m, arm, tasks=[ReplayTask("Write add", TESTS)], n=5)
    assert ev.verdict == "hurts" and bank.get(m.id).evidence["verdict"] == "hurts"


def test_cancelled_replay_stores_nothing(store):
    bank = MemoryBank(store)
    m = bank.submit("Check edge cases first", kind="skill_card", provenance={"source": "distilled"}).memory
    cancel = CancelToken()
    arm, calls = _fixed_arm(8.0, 5.0)

    def progress(p):
        if p.done == 3:
            cancel.set()

    ev = replay(store, m, arm, tasks=[ReplayTask("Write add", TESTS)], n=3, progress=progress, cancel=cancel)
    assert ev.status == "cancelled" and len(calls) == 3 and ev.n == 1
    assert bank.get(m.id).evidence is None and bank.repo.evidence(m.id) == []


def test_auto_promotion_is_off_by_default_and_needs_clear_evidence(store):
    bank = MemoryBank(store)
    arm, _ = _fixed_arm(8.0, 5.0)
    m = bank.submit("Check edge cases first", kind="skill_card", provenance={"source": "distilled"}).memory
    retest(bank, m.id, arm, tasks=[ReplayTask("Write add", TESTS)])
    assert bank.get(m.id).status == "quarantined"
    auto = bank.with_policy(auto_promote=True)
    m2 = auto.submit("Name variables clearly", kind="skill_card", provenance={"source": "distilled"}).memory
    ev = retest(auto, m2.id, arm, tasks=[ReplayTask("Write add", TESTS)], n=5)
    assert clearly_helps(ev, auto.policy)
    promoted = auto.get(m2.id)
    assert promoted.status == "promoted" and auto.repo.history(m2.id)[-1].actor == "policy"
    weak, _ = _fixed_arm(5.5, 5.0)
    m3 = auto.submit("Prefer short functions", kind="skill_card", provenance={"source": "distilled"}).memory
    retest(auto, m3.id, weak, tasks=[ReplayTask("Write add", TESTS)], n=5)
    assert auto.get(m3.id).status == "quarantined"  # neutral evidence is not enough
    m4 = auto.submit("Keep functions pure", kind="skill_card", provenance={"source": "distilled"}).memory
    few = retest(auto, m4.id, arm, tasks=[ReplayTask("Write add", TESTS)], n=3)
    assert few.verdict == "neutral" and few.verdict_reason == "not enough evidence" and few.p_value == 0.25
    assert auto.get(m4.id).status == "quarantined"  # 3 wins of 3 cannot reach p < 0.1


def test_team_replay_runs_both_arms_in_validation_and_writes_no_trace(store):
    team, model = _coder_only(store, [final(GOOD)])
    team.learn = False
    team.run("Write add(a, b)", tests=TESTS)  # the originating task, in the trace
    runs_before = len(store.list_runs())
    bank = MemoryBank(store)
    m = bank.submit(
        "Check edge cases first",
        kind="skill_card",
        provenance={"source": "distilled", "run_id": store.list_runs()[0]["id"]},
    ).memory
    model.calls.clear()
    ev = team.retest(m.id, n=3)
    assert ev.n == 3 and ev.tasks == ["Write add(a, b)"] and ev.verdict in ("helps", "neutral", "hurts")
    prompts = _system_prompts(model, "Coder")
    assert len(prompts) == 6 and sum("Check edge cases first" in p for p in prompts) == 3
    assert len(store.list_runs()) == runs_before and bank.get(m.id).evidence["n"] == 3


def _hurting_runs(store, memory_policy):
    team, _ = _coder_only(store, [final(GOOD)], memory_policy=memory_policy)
    for _ in range(3):  # good runs set the baseline
        team.run("Write add(a, b)", tests=TESTS)
    bad, _ = _coder_only(store, [final(BAD)], memory_policy=memory_policy)
    return team, bad


def test_repeated_hurt_demotes_a_memory_back_to_review(store):
    team, bad = _hurting_runs(store, MemoryPolicy(distil=False))
    bank = MemoryBank(store)
    card = bank.submit(
        "Write add(a, b) with the + operator", kind="skill_card", provenance={"source": "distilled"}
    ).memory
    bank.approve(card.id)
    results = [bad.run("Write add(a, b)", tests=IMPOSSIBLE) for _ in range(3)]
    m = bank.get(card.id)
    assert m.status == "quarantined" and "hurt 3 runs in a row" in m.status_reason
    assert m.hurt == 3 and m.utility < 0.5 and results[-1].memory["credit"]["demoted"] == [m.id]
    assert [h.action for h in bank.repo.history(m.id)][-1] == "demoted"
    assert [c["verdict"] for c in bank.repo.credits(m.id)] == ["hurt"] * 3
    after = bad.run("Write add(a, b)", tests=IMPOSSIBLE)
    assert all(s.memory_ids == [] for s in after.steps)  # back in review: no longer used


def test_a_taught_lesson_that_hurts_is_flagged_not_dropped(store):
    team, bad = _hurting_runs(store, MemoryPolicy(distil=False))
    taught = team.teach("Always add type hints").memory
    for _ in range(3):
        bad.run("Write add(a, b)", tests=IMPOSSIBLE)
    bank = MemoryBank(store)
    m = bank.get(taught.id)
    assert m.status == "promoted" and m.status_reason.startswith("flagged for review: hurt 3 runs")
    assert [h.action for h in bank.repo.history(m.id)][-2:] == ["credited", "flagged"]
    strict, _ = _coder_only(store, [final(BAD)], memory_policy=MemoryPolicy(distil=False, demote_taught=True))
    strict.run("Write add(a, b)", tests=IMPOSSIBLE)
    assert bank.get(taught.id).status == "quarantined"


def test_good_runs_raise_utility(store):
    team, _ = _coder_only(store, [final(GOOD)], memory_policy=MemoryPolicy(distil=False))
    taught = team.teach("Always add type hints").memory
    team.run("Write add(a, b)", tests=TESTS)
    m = MemoryBank(store).get(taught.id)
    assert m.utility > 0.5 and m.helped == 1 and m.hurt_streak == 0


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_eval_runs_with_memories_write_nothing(tmp_path):
    path = tmp_path / "eval.db"
    store = Store(path)
    bank = MemoryBank(store)
    bank.teach("Always add type hints")
    card = bank.submit(
        "Sum two numbers with the + operator", kind="skill_card", provenance={"source": "distilled"}
    ).memory
    bank.approve(card.id)
    store.connection.execute(
        "DELETE FROM memory_vectors"
    )  # force retrieval to embed, which must not be saved in eval
    store.connection.conn.commit()
    store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _digest(path)
    team, model = _team(store)
    result = team.run("Write add(a, b) to sum two numbers", tests=TESTS, mode=RunMode.EVAL_TEST)
    assert card.id in result.memory["used"] and "candidates" not in result.memory
    store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert _digest(path) == before
    store.close()


def test_status_reports_memories_and_runs(store):
    team, _ = _team(store)
    team.teach("Always add type hints")
    team.run("Write add(a, b)", tests=TESTS)
    info = team.status()
    assert info["team"] == team.name and info["runs"] == 1 and len(info["team_recent_scores"]) == 1
    assert info["memories"]["user_preference"] == {"promoted": 1}
    assert info["totals"].get("quarantined", 0) >= 1  # the run's distilled candidates


def test_the_apps_run_arm_factory_replays_with_the_purpose_team(store):
    from purpose_desktop.engine.agents.replay_arms import replay_arm

    model = ScriptedJsonModel({"Architect": [final(PLAN)], "Coder": [final(GOOD)], "Tester": [final(CHECKS)]})
    bank = MemoryBank(store)
    m = bank.submit("Check edge cases first", kind="skill_card", provenance={"source": "distilled"}).memory
    ev = retest(bank, m.id, replay_arm(store, model=model), tasks=[ReplayTask("Write add(a, b)", TESTS)], n=3)
    assert ev.n == 3 and ev.verdict in ("helps", "neutral", "hurts") and store.list_runs() == []


def test_a_retest_replays_with_the_team_that_produced_the_memory(store):
    from purpose_desktop.engine.agents.replay_arms import originating_team, replay_arm_for_memory

    solo, model = _coder_only(store, [final(GOOD)])
    result = solo.run("Write add(a, b)", tests=TESTS)
    assert (
        store.get_run(result.run_id)["meta"]["team_spec"] == solo.spec.to_dict()
    )  # the run records its team
    bank = MemoryBank(store)
    learned = bank.submit(
        "Check edge cases first",
        kind="skill_card",
        provenance={"source": "distilled", "run_id": result.run_id},
    ).memory
    again = originating_team(store, learned.id, model=model)
    assert again is not None and again.spec.to_dict() == solo.spec.to_dict()
    taught = bank.teach("Always add type hints").memory
    assert originating_team(store, taught) is None  # no run behind it: the default team replays it
    model.calls.clear()
    ev = retest(
        bank,
        learned.id,
        replay_arm_for_memory(store, learned, model=model),
        tasks=[ReplayTask("Write add", TESTS)],
    )
    assert ev.n == 3 and {who for who, _ in model.calls} <= {"Coder", "judge"}  # the solo team, no architect
