"""Value of experience: a memory's expected effect per task family, learned from grounded credits on a real
SQLite file, moves how retrieval ranks it for that kind of task — and the Memory pane says so."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.memory.records import MemoryPolicy
from purpose_desktop.engine.memory.repo import CreditUpdate
from purpose_desktop.engine.memory.retrieval import MemoryRetriever
from purpose_desktop.engine.memory.value import PRIOR_RUNS, adjusted_utility, task_family
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.store.trace import TraceRecorder
from purpose_desktop.ui.memory.detail import expected_effect_line
from tests.fakes import DEMO_EMBEDDER_NAME, demo_embed

LIST_TASK = "Write remove_duplicates(items) that keeps the first of each element in the list"
STRING_TASK = "Write is_palindrome(text) that ignores case in the string"


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "value.db")
    yield s
    s.close()


@pytest.mark.parametrize(
    "task, family",
    [
        (LIST_TASK, "lists"),
        (STRING_TASK, "strings"),
        ("Write is_prime(n) for an integer n", "numbers"),
        ("Read a CSV file and print its rows", "files"),
        ("Explain what a context manager is", "general"),
    ],
)
def test_task_families_come_from_the_tasks_words(task, family):
    assert task_family(task) == family


def _run(store, task: str) -> str:
    trace = TraceRecorder(store, RunMode.LEARNING_TRAIN)
    trace.start(task=task, purpose="Help me write Python code", team="t", roles=["coder"], meta={})
    trace.finish(status="complete", answer="", score=8.0, tokens_work=0, tokens_judge=0)
    return trace.run_id


def _credit(bank, memory_id: str, task: str, advantage: float) -> None:
    run_id = _run(bank.store, task)
    verdict = "helped" if advantage > 0 else "hurt"
    bank.repo.apply_credits(
        [CreditUpdate(memory_id, run_id, [0], 0.5 + advantage, 0.5, advantage, verdict, 0.5, 0, 0, 0)]
    )


def _weights(store, task):
    everything = MemoryPolicy(min_relevance=-1.0, min_relevance_case=-1.0)  # rank all, however relevant
    chosen = MemoryRetriever(store, everything).for_step(task=task, role="coder")
    return {r.memory_id: r for r in chosen}


def test_grounded_credits_per_family_move_the_ranking_weight_for_that_family_only(store):
    bank = MemoryBank(store)
    ids = []
    for text in ("Check for an empty input first.", "Handle an empty input before anything else."):
        m = bank.submit(text, kind="skill_card", provenance={"source": "distil"}).memory
        bank.approve(m.id)
        ids.append(m.id)
    lists_helper, steady = ids
    before = _weights(store, LIST_TASK)
    assert before[lists_helper].effect is None and before[lists_helper].weight == pytest.approx(before[steady].weight)

    for _ in range(3):  # helps list tasks, hurts string tasks
        _credit(bank, lists_helper, LIST_TASK, +0.4)
        _credit(bank, lists_helper, STRING_TASK, -0.4)

    on_lists, on_strings = _weights(store, LIST_TASK), _weights(store, STRING_TASK)
    expected = round(3 * 0.4 / (3 + PRIOR_RUNS), 4)
    assert on_lists[lists_helper].effect == pytest.approx(expected)
    assert on_strings[lists_helper].effect == pytest.approx(-expected)
    assert on_lists[lists_helper].weight > on_lists[steady].weight  # utility 0.5 both: the value decides
    assert on_strings[lists_helper].weight < on_strings[steady].weight
    assert on_lists[steady].effect is None  # no grounded runs: ranked by utility as before
    math = _weights(store, "Write factorial(n) for a number n")
    assert math[lists_helper].effect is None and math[lists_helper].weight == pytest.approx(math[steady].weight)

    shown = bank.show(lists_helper)["expected_effect"]
    assert {e["family"]: e["n"] for e in shown} == {"lists": 3, "strings": 3}
    line = expected_effect_line(shown)
    assert f"+{expected:.2f} on lists tasks (3 grounded runs)" in line and "−" in line
    assert "not learned yet" in expected_effect_line(bank.show(steady)["expected_effect"])


def test_one_run_says_little_and_utility_stays_in_range():
    assert adjusted_utility(0.5, 0.0) == 0.5
    assert adjusted_utility(0.99, 1.0) == 1.0 and adjusted_utility(0.06, -1.0) == 0.05
    assert round(0.4 / (1 + PRIOR_RUNS), 4) < 0.4 / 2  # shrunk towards "no effect"
