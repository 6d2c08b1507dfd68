"""bench/learning.py's role-prompt arm: off is the coder's instructions now, on is its proposal's examples, both
scored on the same suite (real sandbox, real SQLite file, a scripted coder that does better with examples)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.records import MemoryPolicy
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import Store
from tests.engine.test_prompt_opt import ADD, GOOD, MUL, SUB, DemoModel
from tests.fakes import DEMO_EMBEDDER_NAME, demo_embed

ROOT = Path(__file__).resolve().parents[2]
SUITE = [{"name": "mul", "task": MUL[0], "tests": MUL[1]}, {"name": "sub", "task": SUB[0], "tests": SUB[1]}]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_learning", ROOT / "bench" / "learning.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


def test_the_role_prompt_arm_scores_the_instructions_now_against_the_proposed_examples(bench, tmp_path):
    db, model, policy = tmp_path / "methods.db", DemoModel(), MemoryPolicy(replay_similar=0)
    with Store(db) as store:  # a passing, grounded learning run of the bench's coder: the example to learn from
        team = bench.make_team(model, store, policy, 96)
        team.learn = False
        model.skilled = GOOD
        team.run(ADD[0], tests=ADD[1], mode=RunMode.LEARNING_TRAIN)
        model.skilled = None
    arm = bench.role_prompt_arm(model, db, team.spec, 96, SUITE)
    if arm["mean_score_off"] is None:
        pytest.skip("the sandbox refused to run the suite's tests here")
    assert (arm["off"], arm["on"], arm["n"], arm["delta"]) == (0.0, 1.0, 2, 1.0)
    assert arm["recommended"] and arm["produced_in_learning"]["demos"] == 1


def test_without_a_passing_learning_run_the_arm_says_it_was_not_measured(bench, tmp_path):
    with Store(tmp_path / "methods.db") as store:
        spec = bench.make_team(DemoModel(), store, MemoryPolicy(), 96).spec
    arm = bench.role_prompt_arm(DemoModel(), tmp_path / "methods.db", spec, 96, SUITE)
    assert isinstance(arm, str) and arm.startswith("not measured:") and "no passing answer" in arm
