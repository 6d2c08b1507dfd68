"""Lesson evolution and hindsight on a real SQLite file: merges, splits and retirements are proposals that wait
in review, approving one replaces what it was made from (and Undo brings that back), and a run that ended on
a worse attempt than its best yields a hindsight case."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from purpose_desktop.cli import main as cli_main
from purpose_desktop.engine.learning.evolution import (
    RETIRE_AFTER,
    evolve,
    hindsight_case,
    propose_merges,
    propose_retirements,
    propose_splits,
)
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.memory.repo import CreditUpdate
from purpose_desktop.engine.store import Store
from tests.engine.services_helpers import make_engine
from tests.engine.test_memory_value import LIST_TASK, STRING_TASK, _credit

EMPTY_A = "Check for an empty list before indexing it."
EMPTY_B = "Guard against empty input lists before reading the first item."
OTHER = "Name the function exactly as the task asks."


def _unit(seed: str) -> np.ndarray:
    rng = np.random.default_rng(int(hashlib.sha256(seed.encode()).hexdigest()[:8], 16))
    v = rng.standard_normal(similarity.DIM).astype(np.float32)
    return v / np.linalg.norm(v)


BASE = _unit("empty-input")


def keyed_embed(texts):
    """EMPTY_A and EMPTY_B are near-duplicates (cosine ≈ 0.7): similar, but below de-duplication (0.82)."""
    out = []
    for t in texts:
        if t in (EMPTY_A, EMPTY_B):
            v = BASE + 0.65 * _unit(t)
            out.append(v / np.linalg.norm(v))
        else:
            out.append(_unit(t))
    return np.stack(out)


@pytest.fixture(autouse=True)
def embedder():
    with similarity.use_embedder(keyed_embed, "keyed-test"):
        yield


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "evolve.db")
    yield s
    s.close()


def _lesson(bank, text, *, approve=False, scope=None):
    m = bank.submit(text, kind="skill_card", provenance={"source": "distil"}, scope=scope).memory
    return bank.approve(m.id) if approve else m


class MergingModel:
    display_name = "merger"

    def __init__(self):
        self.asked = []

    def complete_json(self, messages, schema, *, settings=None, cancel=None):
        self.asked.append(messages[-1]["content"])
        return {"lesson": "Check that an input list is not empty before using its items."}


def test_near_duplicates_become_one_proposed_lesson_and_approving_it_replaces_them(tmp_path):
    engine = make_engine(tmp_path)
    bank = engine.memories.bank()
    a = _lesson(bank, EMPTY_A, approve=True, scope={"roles": ["coder"]})
    b = _lesson(bank, EMPTY_B)
    _lesson(bank, OTHER)
    sims = keyed_embed([EMPTY_A, EMPTY_B])
    assert 0.6 <= float(sims[0] @ sims[1]) < bank.policy.dedup_threshold

    [proposal] = propose_merges(bank)
    merged = bank.get(proposal.memory_id)
    assert proposal.action == "merge" and set(proposal.of) == {a.id, b.id}
    text = merged.text.lower()
    assert merged.status == "quarantined" and "check for an empty list" in text and "guard against" in text
    assert merged.scope.roles == ()  # b applied to every role, so the merge does too
    assert merged.provenance[0]["source"] == "evolution" and "similarity" in merged.provenance[0]["why"]
    assert propose_merges(bank) == []  # proposed once, not again

    decision = engine.memories.decide([merged.id], "approve")
    assert bank.get(a.id).status == "archived" and bank.get(b.id).status == "archived"
    assert "replaced by the approved merge" in bank.get(a.id).status_reason
    engine.memories.undo(decision.previous)  # one Undo puts all three back
    assert (bank.get(a.id).status, bank.get(b.id).status, bank.get(merged.id).status) == (
        "promoted",
        "quarantined",
        "quarantined",
    )


def test_a_model_writes_the_merged_lesson_when_one_is_given(store):
    bank = MemoryBank(store)
    _lesson(bank, EMPTY_A)
    _lesson(bank, EMPTY_B)
    model = MergingModel()
    [proposal] = propose_merges(bank, model=model)
    assert bank.get(proposal.memory_id).text == "Check that an input list is not empty before using its items."
    assert EMPTY_A in model.asked[0] and "written by the model" in proposal.reason


def test_a_lesson_that_helps_lists_and_hurts_strings_is_split_to_lists(store):
    bank = MemoryBank(store)
    m = _lesson(bank, OTHER, approve=True)
    for _ in range(3):
        _credit(bank, m.id, LIST_TASK, +0.4)
        _credit(bank, m.id, STRING_TASK, -0.4)
    [proposal] = propose_splits(bank)
    split = bank.get(proposal.memory_id)
    assert split.text == m.text and "list" in split.scope.tags and split.status == "quarantined"
    assert "helps lists tasks" in proposal.reason and "hurts strings tasks" in proposal.reason
    assert propose_splits(bank) == []
    bank.approve(split.id)
    assert bank.get(m.id).status == "archived"


def test_a_lesson_whose_utility_keeps_falling_goes_back_to_review_but_a_taught_one_does_not(store):
    bank = MemoryBank(store)
    fading = _lesson(bank, OTHER, approve=True)
    taught = bank.teach("Always add type hints.").memory
    for mid in (fading.id, taught.id):
        for k in range(RETIRE_AFTER + 1):
            run_id = _credit_run(bank, mid, utility=0.6 - 0.1 * k)
            assert run_id
    [proposal] = propose_retirements(bank)
    assert proposal.of == (fading.id,) and proposal.memory_id is None
    back = bank.get(fading.id)
    assert back.status == "quarantined" and "utility fell" in back.status_reason
    assert bank.get(taught.id).status == "promoted"


def _credit_run(bank, memory_id, utility):
    from tests.engine.test_memory_value import _run

    run_id = _run(bank.store, LIST_TASK)
    bank.repo.apply_credits(
        [CreditUpdate(memory_id, run_id, [0], 0.3, 0.5, -0.05, "neutral", round(utility, 3), 0, 0, 0)]
    )
    return run_id


class Step:
    def __init__(self, attempt, output, passed, failed):
        self.role, self.attempt, self.output = "coder", attempt, output
        self.tests = {"source": "given", "passed": passed, "failed": failed, "output": ""}


BETTER = "```python\ndef add(a, b):\n    return a + b\n```"
WORSE = "```python\ndef add(a, b):\n    return a - b\n```"


def test_hindsight_keeps_what_an_earlier_attempt_achieved(store):
    bank = MemoryBank(store)
    steps = [Step(0, BETTER, 2, 1), Step(1, WORSE, 0, 3)]
    proposal = hindsight_case(bank, task="Write add(a, b)", run_id="r" * 32, steps=steps, answer=WORSE)
    case = bank.get(proposal.memory_id)
    assert case.kind == "episodic_case" and "return a + b" in case.text and "passed 2 of 3" in case.text
    assert case.provenance[0]["source"] == "hindsight"
    # the run already answered with its best attempt, or only one attempt was checked: nothing to add
    assert hindsight_case(bank, task="t", run_id="x" * 32, steps=steps, answer=BETTER) is None
    assert hindsight_case(bank, task="t", run_id="x" * 32, steps=steps[:1], answer=BETTER) is None


def test_cli_memory_evolve_prints_the_proposals(capsys):
    with Store() as store:
        bank = MemoryBank(store)
        _lesson(bank, EMPTY_A)
        _lesson(bank, EMPTY_B)
    assert cli_main(["memory", "evolve", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [p["action"] for p in out] == ["merge"] and len(out[0]["of"]) == 2
    assert cli_main(["memory", "evolve"]) == 0
    assert "Nothing to propose" in capsys.readouterr().out


def test_evolve_runs_all_three_kinds_at_once(store):
    bank = MemoryBank(store)
    _lesson(bank, EMPTY_A)
    _lesson(bank, EMPTY_B)
    assert [p.action for p in evolve(bank)] == ["merge"]
