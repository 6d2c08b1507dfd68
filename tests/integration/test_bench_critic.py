"""bench/critic.py's calibration before/after runs the real path (disagreement → scan → quarantine → the Memory
pane's approve → load_calibration) on a real SQLite file and the real sandbox, with a scripted judge."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from purpose_desktop.engine.critic import PurposeFunction, extract_code
from purpose_desktop.engine.memory import similarity
from tests.fakes import DEMO_EMBEDDER_NAME, ScriptedJsonModel, demo_embed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("bench_critic", ROOT / "bench" / "critic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _score(bench, critic, items):
    rows, scores = [], []
    for task, name, right, wrong, kind, tests in items:
        plain = [critic.score_step(task=task, role="coder", kind="code", output=r) for r in (right, wrong)]
        outcomes = [critic.run_tests(extract_code(r), tests) for r in (right, wrong)]
        tested = [
            critic.score_step(task=task, role="coder", kind="code", output=r, tests=o)
            for r, o in zip((right, wrong), outcomes, strict=True)
        ]
        rows.append({"function": name, "kind": kind, "no_tests": (plain[0].value, plain[1].value)})
        scores.append({"task": task, "replies": (right, wrong), "no_tests": plain, "tests": tested})
    return rows, scores


def test_tasks_split_by_seed_into_two_disjoint_halves(bench):
    names = [f"t{i}" for i in range(10)]
    learn, held = bench.split_tasks(names, 0)
    assert learn.isdisjoint(held) and learn | held == set(names) and len(learn) == 5
    assert bench.split_tasks(names, 0) == (learn, held) and bench.split_tasks(names, 1) != (learn, held)


def test_an_overrating_judge_yields_approved_calibrations_that_change_held_out_scores(bench):
    items = list(bench.pairs())[:8]  # add, multiply, average, factorial: all "numbers" tasks
    judge = bench.SameJudge(ScriptedJsonModel(judge_score=9))  # 9/10 for everything, failing code too
    critic = PurposeFunction(judge)
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        rows, scores = _score(bench, critic, items)
        asked = judge.calls - judge.reused
        report = bench.calibration_before_after(critic, rows, scores, seed=0)
    assert report["n_disagreements"] > 0 and report["families"] == {"numbers": 0.5}
    assert report["n_calibrations"] == 1 and report["n_pairs_heldout"] + report["n_pairs_learning"] == 8
    assert any(c["outcome"] == "quarantined" and "judge weight 0.5" in c["text"] for c in report["candidates"])
    assert report["heldout_scores_changed"] == report["n_pairs_heldout"] > 0  # the judge counts half now
    assert judge.calls - judge.reused == asked  # the after-scoring asked the judge nothing new
    assert critic.calibration == {}


def test_without_disagreement_nothing_is_calibrated(bench):
    items = list(bench.pairs())[:4]
    critic = PurposeFunction(ScriptedJsonModel(judge_score=5))  # neither over- nor under-rates
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        rows, scores = _score(bench, critic, items)
        report = bench.calibration_before_after(critic, rows, scores, seed=0)
    assert report["n_calibrations"] == 0 and report["families"] == {}
    assert report["heldout_scores_changed"] == 0
    assert report["auc_no_tests_before"] == report["auc_no_tests_after"]
