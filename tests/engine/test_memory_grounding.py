"""Only grounded evidence teaches: credit, distillation, replay verdicts and auto-promotion ignore judge-only scores."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from purpose_desktop.engine.learning.after_run import learn_from_run
from purpose_desktop.engine.learning.credit import StepUse, apply_credit
from purpose_desktop.engine.learning.distil import StepRecord, distil, evidence_drafts, tool_failure_signature
from purpose_desktop.engine.learning.replay import ArmResult, ReplayTask, replay, retest, sign_test
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.memory.records import MemoryPolicy, clearly_helps, describe_grounding
from purpose_desktop.engine.store import Store
from tests.engine.test_memory_team import GOOD, TESTS, _coder_only
from tests.fakes import DEMO_EMBEDDER_NAME, demo_embed, final

TASK = [ReplayTask("Write add(a, b)", TESTS)]


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "grounding.db")
    yield s
    s.close()


def _card(bank, text="Check edge cases first"):
    return bank.submit(text, kind="skill_card", provenance={"source": "distilled"}).memory


# -- the sign test ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("wins", "losses", "p"),
    [
        (0, 0, None),
        (1, 0, 1.0),
        (3, 0, 0.25),
        (4, 0, 0.125),
        (5, 0, 0.0625),
        (0, 5, 0.0625),
        (6, 0, 0.03125),
        (5, 1, 0.21875),
        (7, 1, 0.070312),
        (3, 3, 1.0),
    ],
)
def test_the_exact_sign_test_on_small_known_cases(wins, losses, p):
    assert sign_test(wins, losses) == p


# -- replay verdicts --------------------------------------------------------------------------------
def _arm(with_score, without_score, grounded_by="given_tests", *, how=ArmResult):
    def run_arm(task, tests, seed, include, exclude, cancel):
        score = with_score if include else without_score
        g = grounded_by(seed, bool(include)) if callable(grounded_by) else grounded_by
        return how(score, g)

    return run_arm


def test_a_grounded_clear_win_helps_and_is_auto_promoted_when_on(store):
    auto = MemoryBank(store).with_policy(auto_promote=True)
    m = _card(auto)
    ev = retest(auto, m.id, _arm(8.0, 5.0), tasks=TASK, n=5)
    assert ev.verdict == "helps" and ev.n_grounded == 5 and ev.n_ungrounded == 0
    assert ev.grounded_wins == 5 and ev.grounded_delta == 3.0 and ev.p_value == 0.0625 and ev.enough_evidence
    assert clearly_helps(ev, auto.policy)
    promoted = auto.get(m.id)
    assert promoted.status == "promoted" and "sign test p=0.062" in auto.repo.history(m.id)[-1].reason


def test_ungrounded_arms_are_not_enough_evidence_and_never_promote(store):
    auto = MemoryBank(store).with_policy(auto_promote=True)
    m = _card(auto)
    ev = retest(auto, m.id, _arm(9.0, 2.0, "judge"), tasks=TASK, n=6)
    assert ev.n == 6 and ev.delta == 7.0 and ev.wins == 6  # the raw scores are kept …
    assert ev.n_grounded == 0 and ev.n_ungrounded == 6 and ev.p_value is None  # … but none of them decide
    assert ev.verdict == "untested" and not clearly_helps(ev, auto.policy)
    assert auto.get(m.id).status == "quarantined"
    assert (
        describe_grounding(ev.to_dict())
        == "no grounded pairs: the replays had no tests, so they cannot decide"
    )
    assert ev.to_dict()["grounding"] == {"with": {"judge": 6}, "without": {"judge": 6}}


def test_a_pair_with_one_ungrounded_arm_is_skipped(store):
    bank = MemoryBank(store).with_policy(auto_promote=True)
    m = _card(bank)
    # seeds 0-2: both arms ran the given tests; seeds 3-5: the "with" arm was judged only
    arm = _arm(8.0, 5.0, lambda seed, with_arm: "judge" if (seed >= 3 and with_arm) else "given_tests")
    ev = retest(bank, m.id, arm, tasks=TASK, n=6)
    assert ev.n == 6 and ev.n_grounded == 3 and ev.n_ungrounded == 3 and ev.grounded_wins == 3
    assert ev.p_value == 0.25 and ev.verdict == "neutral" and ev.verdict_reason == "not enough evidence"
    assert bank.get(m.id).status == "quarantined"
    assert describe_grounding(ev.to_dict()) == (
        "3 grounded pairs: 3 better — sign test p=0.25 — not enough evidence (3 ungrounded pairs skipped)"
    )


def test_a_significant_grounded_loss_hurts_and_demotes(store):
    bank = MemoryBank(store)
    m = _card(bank)
    bank.approve(m.id)
    ev = retest(bank, m.id, _arm(3.0, 6.0), tasks=TASK, n=5)
    assert ev.verdict == "hurts" and bank.get(m.id).status == "quarantined"


def test_a_mean_delta_alone_never_promotes():
    policy = MemoryPolicy(auto_promote=True)
    old_style = {"verdict": "helps", "n": 6, "delta": 3.0, "wins": 6, "losses": 0}  # stored before grounding
    assert not clearly_helps(old_style, policy)
    assert describe_grounding(old_style) == "replayed before grounding was recorded: re-test it to decide"


def test_old_float_returning_arms_still_run_but_do_not_decide(store):
    bank = MemoryBank(store)
    m = _card(bank)

    def float_arm(task, tests, seed, include, exclude, cancel):
        return 8.0 if include else 5.0

    ev = replay(store, m, float_arm, tasks=TASK, n=5)
    assert ev.scores_with == [8.0] * 5 and ev.mean_with == 8.0 and ev.n == 5
    assert ev.grounds_with == [None] * 5 and ev.n_grounded == 0 and ev.verdict == "untested"
    tuple_ev = replay(store, m, _arm(8.0, 5.0, "tester_checks", how=lambda s, g: (s, g)), tasks=TASK, n=5)
    assert tuple_ev.verdict == "helps" and tuple_ev.n_grounded == 5


def test_grounding_is_stored_with_every_replay(store):
    bank = MemoryBank(store)
    m = _card(bank)
    replay(store, m, _arm(8.0, 5.0, "examples"), tasks=TASK, n=5)
    stored = bank.get(m.id).evidence
    assert (
        stored["n_grounded"] == 5
        and stored["p_value"] == 0.0625
        and stored["grounds_with"] == ["examples"] * 5
    )
    history = bank.repo.evidence(m.id)[0]
    assert history.n_grounded == 5 and history.grounded_wins == 5 and history.verdict_reason == "helps"
    assert bank.show(m.id)["evidence_grounding"].startswith("5 grounded pairs: 5 better — sign test p=0.0625")


# -- credit -----------------------------------------------------------------------------------------
def test_an_ungrounded_run_gives_no_credit_and_no_candidates(store):
    team, _ = _coder_only(store, [final(GOOD)])
    taught = team.teach("Always add type hints").memory
    result = team.run("Write a helper that adds two numbers")  # no tests, no examples: the judge alone
    assert result.grounded_by not in ("given_tests", "tester_checks", "examples", "execution")
    assert (
        result.memory["credit"]["credited"] == {}
        and result.memory["credit"]["skipped"]["run"] == "not grounded"
    )
    assert result.memory["candidates"] == []
    assert any("not grounded" in note for note in result.memory["notes"])
    bank = MemoryBank(store)
    assert bank.repo.credits(taught.id) == [] and bank.list(status="quarantined") == []


def test_a_grounded_run_credits_and_distils_as_before(store):
    team, _ = _coder_only(store, [final(GOOD)])
    taught = team.teach("Always add type hints").memory
    result = team.run("Write add(a, b)", tests=TESTS)
    assert result.grounded_by == "given_tests"
    assert taught.id in result.memory["credit"]["credited"] and result.memory["credit"]["skipped"] == {}
    assert {c["kind"] for c in result.memory["candidates"]} == {"episodic_case"}
    assert len(MemoryBank(store).repo.credits(taught.id)) == 1


def test_ungrounded_steps_give_no_credit_inside_a_grounded_run(store):
    bank = MemoryBank(store)
    judged, tested = _card(bank, "Plan before coding"), _card(bank, "Name the function as asked")
    steps = [StepUse(0, 9.0, [judged.id], grounded=False), StepUse(1, 8.0, [tested.id], grounded=True)]
    report = apply_credit(store, "run-1", 8.0, steps).to_dict()
    assert set(report["credited"]) == {tested.id} and report["skipped"] == {"steps": {0: "not grounded"}}


def test_orchestrator_steps_without_grounding_are_ungrounded(store):
    bank = MemoryBank(store)
    m = _card(bank)
    step = SimpleNamespace(
        role="coder", output=GOOD, score=9.0, tests=None, tool_calls=[], attempt=0, memory_ids=[m.id]
    )
    out = learn_from_run(store, "run-x", "Write add(a, b)", 9.0, [step], model=None, policy=None)
    assert out["grounded_by"] == "judge" and out["credit"]["credited"] == {} and out["candidates"] == []
    said = SimpleNamespace(**{**vars(step), "grounded_by": "execution"})
    out = learn_from_run(store, "run-y", "Write add(a, b)", 9.0, [said], model=None, policy=None)
    assert out["grounded_by"] == "execution" and m.id in out["credit"]["credited"]


# -- distillation -----------------------------------------------------------------------------------
class _RuleModel:
    def __init__(self):
        self.calls = 0

    def complete_json(self, messages, schema, *, settings=None, on_token=None):
        self.calls += 1
        return {"rule": "Check the inputs against the examples before returning a value."}


def test_model_rules_only_from_a_grounded_step():
    judged = StepRecord(0, "coder", "code", GOOD, 9.0, grounded_by="judge")
    model = _RuleModel()
    report = distil(model, "r1", "Write add(a, b)", [judged])
    assert report.drafts == [] and model.calls == 0 and any("not grounded" in n for n in report.notes)
    passed = {"passed": 1, "failed": 0, "source": "given", "output": ""}
    tested = StepRecord(0, "coder", "code", GOOD, 9.0, tests=passed, grounded_by="given_tests")
    kinds = [d.kind for d in distil(model, "r2", "Write add(a, b)", [tested]).drafts]
    assert kinds == ["episodic_case", "skill_card"]
    assert distil(model, "r3", "Write add(a, b)", [tested], grounded=False).drafts == []


def test_a_tool_policy_needs_the_same_failure_in_another_run():
    call = {"tool": "python", "ok": False, "output": "Traceback …\nSyntaxError: invalid syntax"}
    step = StepRecord(0, "coder", "code", GOOD, 6.0, tool_calls=[call], grounded_by="given_tests")
    assert evidence_drafts("r1", "Write add", [step]) == []  # one failed call is not a pattern
    sig = tool_failure_signature(call)
    assert sig == ("python", "SyntaxError")
    drafts = evidence_drafts("r1", "Write add", [step], seen_tool_failures={sig})
    assert [d.kind for d in drafts] == ["tool_policy"] and "2+ runs" in drafts[0].provenance["how"]


def test_learn_from_run_finds_the_same_tool_failure_in_an_earlier_run(store):
    from purpose_desktop.engine.runmode import RunMode
    from purpose_desktop.engine.store.trace import TraceRecorder

    call = {"tool": "python", "ok": False, "output": "SyntaxError: invalid syntax"}
    passed = {"passed": 1, "failed": 0, "source": "given", "output": ""}

    def run_once(task):
        trace = TraceRecorder(store, RunMode.LEARNING_TRAIN)
        trace.start(task=task, purpose=None, team=None, roles=["coder"])
        trace.add_step({"role": "coder", "output": GOOD, "tool_calls": [call], "score": 8.0, "tests": passed})
        step = SimpleNamespace(
            role="coder",
            output=GOOD,
            score=8.0,
            tests=passed,
            tool_calls=[call],
            attempt=0,
            memory_ids=[],
            grounded_by="given_tests",
        )
        policy = MemoryPolicy()
        return learn_from_run(
            store, trace.run_id, task, 8.0, [step], model=None, policy=policy, kinds={"coder": "code"}
        )

    first = run_once("Write add(a, b)")
    assert "tool_policy" not in {c["kind"] for c in first["candidates"]}  # one failed call: no policy yet
    second = run_once("Write sub(a, b)")
    assert "tool_policy" in {c["kind"] for c in second["candidates"]}  # the same failure in a second run


def test_the_credit_baseline_counts_only_grounded_runs(store):
    from purpose_desktop.engine.learning.credit import NEUTRAL_BASELINE, baseline
    from purpose_desktop.engine.memory.repo import MemoryRepo

    team, _ = _coder_only(store, [final(GOOD)], memory_policy=MemoryPolicy(distil=False))
    for _ in range(3):
        team.run("Write a helper that adds two numbers")  # judged only
    assert baseline(MemoryRepo(store), "none") == NEUTRAL_BASELINE
    for _ in range(3):
        team.run("Write add(a, b)", tests=TESTS)
    assert baseline(MemoryRepo(store), "none") != NEUTRAL_BASELINE


def test_the_cli_carries_the_grounding(capsys, _isolated_home):
    import json

    from purpose_desktop.cli import main

    with Store() as default_store:  # the CLI's own database (under the isolated home)
        m = _card(MemoryBank(default_store))
        replay(default_store, m, _arm(8.0, 5.0), tasks=TASK, n=5)
    assert main(["memory", "show", m.id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["evidence"]["n_grounded"] == 5 and shown["evidence"]["p_value"] == 0.0625
    assert shown["evidence"]["grounding"] == {"with": {"given_tests": 5}, "without": {"given_tests": 5}}
    assert shown["evidence_grounding"] == "5 grounded pairs: 5 better — sign test p=0.0625 — helps"
    assert shown["evidence_runs"][0]["n_grounded"] == 5
