"""engine.memories: list, show, decide, undo, edit, teach and re-test, on a real Store with the scripted model."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import InputError, ModelError
from purpose_desktop.engine.memory import similarity
from tests.engine.services_helpers import make_engine
from tests.engine.test_memory_team import TESTS
from tests.engine.test_services_teams import _model
from tests.fakes import DEMO_EMBEDDER_NAME, demo_embed


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


def _lessons(engine):
    bank = engine.memories.bank()
    texts = ("Check edge cases first.", "Define the function at module level.", "Prefer short functions.")
    return [bank.submit(t, kind="skill_card", provenance={"source": "distilled"}).memory.id for t in texts]


def test_list_counts_by_status_and_show_names_run_tasks(tmp_path):
    engine = make_engine(tmp_path)
    ids = _lessons(engine)
    taught = engine.memories.teach("Always add type hints.")
    listed = engine.memories.list()
    assert len(listed.memories) == 4 and listed.counts == {"quarantined": 3, "promoted": 1}
    assert taught.memory.status == "promoted"
    detail = engine.memories.show(ids[0])
    assert detail["id"] == ids[0] and detail["run_tasks"] == {}
    assert [m.id for m in engine.memories.list(status="promoted").memories] == [taught.memory.id]


def test_decide_then_undo_puts_everything_back(tmp_path):
    engine = make_engine(tmp_path)
    ids = _lessons(engine)
    decision = engine.memories.decide(ids[:2], "approve", "looks right")
    assert [m.status for m in decision.memories] == ["promoted", "promoted"]
    assert decision.previous == ((ids[0], "quarantined"), (ids[1], "quarantined"))
    undone = engine.memories.undo(decision.previous)
    assert [m.status for m in undone.memories] == ["quarantined", "quarantined"]
    assert undone.action == "undo" and undone.previous == ((ids[0], "promoted"), (ids[1], "promoted"))
    rejected = engine.memories.decide([ids[2]], "reject", "wrong")
    assert rejected.memories[0].status == "rejected"
    restored = engine.memories.decide([ids[2]], "restore")
    assert restored.memories[0].status == "quarantined"


def test_a_bad_decision_fails_alone_in_a_batch_and_loudly_on_its_own(tmp_path):
    engine = make_engine(tmp_path)
    ids = _lessons(engine)
    with pytest.raises(InputError):
        engine.memories.decide([ids[0]], "explode")
    engine.memories.decide([ids[0]], "approve")
    batch = engine.memories.decide(ids, "approve")  # ids[0] is already promoted
    assert {m.id for m in batch.memories} >= set(ids[1:])
    with pytest.raises(InputError):
        engine.memories.undo(((ids[2], "quarantined"),) * 2)  # the second undo has nothing to undo


def test_edit_rescans_and_returns_to_review(tmp_path):
    engine = make_engine(tmp_path)
    mid = _lessons(engine)[0]
    engine.memories.decide([mid], "approve")
    edited = engine.memories.edit(mid, "Check empty input and edge cases first.", "clearer")
    assert edited.text.startswith("Check empty input") and edited.status == "quarantined"


def test_retest_needs_the_loaded_model(tmp_path):
    engine = make_engine(tmp_path)
    mid = _lessons(engine)[0]
    with pytest.raises(ModelError):
        engine.memories.retest(mid)


def test_retest_replays_past_tasks_with_and_without_the_memory(tmp_path):
    engine = make_engine(tmp_path)
    engine.model = _model()
    spec = engine.teams.propose("Help me write Python code")
    engine.teams.run(spec, "Write add(a, b) that returns the sum", tests=TESTS)
    mid = _lessons(engine)[0]
    seen = []
    evidence = engine.memories.retest(mid, n=1, progress=seen.append)
    assert evidence.n == 1 and seen and seen[-1].done == seen[-1].total
    assert engine.memories.show(mid)["evidence"]
    engine.teams.save(spec)
    by_team = engine.memories.retest(mid, team=spec["name"], n=1)  # the CLI's --team path
    assert by_team.n == 1
    stop = CancelToken()
    stop.set()
    assert engine.memories.retest(mid, n=1, cancel=stop).status == "cancelled"
