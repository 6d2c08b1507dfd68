"""The evaluation suite: keep/import tasks, run them in EVAL_TEST, an append-only log that learning never reads.

Scripted models drive the control flow; the tests run in the real sandbox and the store is a real SQLite file.
"""

from __future__ import annotations

import sqlite3

import pytest

from purpose_desktop.engine.agents.team import purpose
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.critic import PurposeFunction
from purpose_desktop.engine.errors import InputError, ModelError
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.services.evaluation import checks_as_tests, curve, read_suite_folder, run_suite
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.store.evals import EvalRepo
from tests.fakes import DEMO_EMBEDDER_NAME, ScriptedJsonModel, demo_embed, final

GOOD = "```python\ndef add(a, b):\n    return a + b\n```\nAdds two numbers."
BAD = "```python\ndef add(a, b):\n    return a - b\n```\nAdds two numbers."
PLAN = "Define add(a, b) returning the sum."
CHECKS = "assert add(2, 2) == 4"
ADD_TESTS = "from solution import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
SUB_TESTS = "from solution import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n"


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "eval.db")
    yield s
    s.close()


def _team(store, coder=GOOD, max_retries=0):
    model = ScriptedJsonModel(
        {"Architect": [final(PLAN)], "Coder": [final(coder)], "Tester": [final(CHECKS)]}
    )
    team = purpose("Help me write Python code", model=model, store=store)
    team.spec.max_retries = max_retries
    return team, model


def _dump_except_eval(store) -> str:
    """Every table's rows (schema and data) except the evaluation tables, as SQL text."""
    return "\n".join(ln for ln in store.connection.conn.iterdump() if "eval_" not in ln)


# -- the suite's format ---------------------------------------------------------------------------------
def test_tester_checks_become_pytest_tests_that_pass_and_fail_like_the_checks():
    tests = checks_as_tests("x = 2\nassert add(x, 2) == 4\nassert add(-1, 1) == 0\n")
    assert (
        "from solution import *" in tests
        and "def test_check_1():" in tests
        and "def test_check_2():" in tests
    )
    critic = PurposeFunction(ScriptedJsonModel())
    good = critic.run_tests("def add(a, b):\n    return a + b\n", tests)
    bad = critic.run_tests("def add(a, b):\n    return a - b\n", tests)
    if good.refused:
        pytest.skip("the sandbox refused to run here")
    assert (good.passed, good.failed) == (2, 0)
    assert bad.failed >= 1 and not bad.all_passed
    with pytest.raises(InputError, match="no assert"):
        checks_as_tests("x = 1")
    with pytest.raises(InputError, match="not valid Python"):
        checks_as_tests("assert add(2, 2 == 4")


def test_a_suite_folder_reads_docstrings_and_sibling_task_files_and_says_why_it_skips(tmp_path):
    (tmp_path / "test_add.py").write_text('"""Write add(a, b) that returns the sum."""\n' + ADD_TESTS)
    (tmp_path / "test_sub.py").write_text('"""ignored: the sibling file wins"""\n' + SUB_TESTS)
    (tmp_path / "test_sub.md").write_text("Write sub(a, b) that returns a minus b.\n")
    (tmp_path / "test_broken.py").write_text("def test_x(:\n")
    (tmp_path / "test_notask.py").write_text(ADD_TESTS)
    (tmp_path / "test_nothing.py").write_text('"""A task."""\nx = 1\n')
    (tmp_path / "helper.py").write_text("pass\n")
    tasks, skipped = read_suite_folder(tmp_path)
    assert [t["name"] for t in tasks] == ["add", "sub"]
    assert tasks[1]["task"] == "Write sub(a, b) that returns a minus b."
    reasons = {s["file"]: s["reason"] for s in skipped}
    assert set(reasons) == {"test_broken.py", "test_notask.py", "test_nothing.py"}
    assert "not valid Python" in reasons["test_broken.py"] and "test_notask.md" in reasons["test_notask.py"]
    with pytest.raises(InputError, match="no test_"):
        read_suite_folder(tmp_path / "..")


def test_suite_tasks_need_task_text_and_tests_and_replace_by_name(store):
    repo = EvalRepo(store)
    with pytest.raises(InputError, match="no tests"):
        repo.add_task(name="add", task="Write add", tests=" ")
    with pytest.raises(InputError, match="no task text"):
        repo.add_task(name="add", task="", tests=ADD_TESTS)
    first = repo.add_task(name="add", task="Write add", tests=ADD_TESTS)
    again = repo.add_task(name="add", task="Write add(a, b)", tests=ADD_TESTS, source="kept")
    assert first["id"] == again["id"] and [t["task"] for t in repo.tasks()] == ["Write add(a, b)"]


# -- running ------------------------------------------------------------------------------------------
def test_an_evaluation_runs_the_suite_in_eval_mode_and_touches_no_memory_or_trace(store):
    team, _ = _team(store)
    MemoryBank(store).teach("Always add type hints")  # a promoted memory the prompts may use
    team.run("Write add(a, b)", tests=ADD_TESTS)  # one real train run already in the trace
    repo = EvalRepo(store)
    repo.add_task(name="add", task="Write add(a, b) that returns the sum.", tests=ADD_TESTS)
    repo.add_task(name="sub", task="Write sub(a, b) that returns a minus b.", tests=SUB_TESTS)
    store.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _dump_except_eval(store)
    seen = []
    entry = run_suite(store, team, model_name="Scripted", progress=seen.append)
    assert _dump_except_eval(store) == before  # memories, their history, runs and steps: unchanged
    if entry["n_grounded"] == 0:
        pytest.skip("the sandbox refused to run here")
    assert entry["status"] == "complete" and entry["n_tasks"] == 2
    assert {r["name"]: r["passed"] for r in entry["results"]} == {"add": True, "sub": False}
    assert entry["pass_rate"] == 0.5 and entry["n_grounded"] == 2
    assert [m["text"] for m in entry["promoted"]] == ["Always add type hints"]
    assert [p["done"] for p in seen] == [0, 1, 2] and seen[-1]["passed"] == 1
    assert [e["id"] for e in repo.evaluations()] == [entry["id"]]
    assert len(store.list_runs()) == 1  # the evaluation left no run in the trace


def test_the_evaluation_log_is_append_only(store):
    repo = EvalRepo(store)
    entry = repo.append(
        {
            "started_at": "2026-01-01T00:00:00",
            "status": "complete",
            "n_tasks": 1,
            "n_passed": 1,
            "n_grounded": 1,
            "pass_rate": 1.0,
        }
    )
    for sql in ("UPDATE eval_log SET pass_rate = 0", "DELETE FROM eval_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            store.connection.execute(sql, [])
    assert repo.evaluation(entry["id"][:6])["pass_rate"] == 1.0


def test_a_cancelled_evaluation_is_logged_without_a_pass_rate(store):
    team, _ = _team(store)
    repo = EvalRepo(store)
    for name in ("a", "b", "c"):
        repo.add_task(name=name, task=f"Write add(a, b) ({name}).", tests=ADD_TESTS)
    cancel = CancelToken()

    def progress(p):
        if p["done"] == 1:
            cancel.set()

    entry = run_suite(store, team, progress=progress, cancel=cancel)
    assert entry["status"] == "cancelled" and entry["n_tasks"] == 1 and entry["pass_rate"] is None
    assert curve(repo.evaluations()) == []  # a partial evaluation never becomes a point


def test_an_empty_suite_and_no_model_say_what_to_do(store):
    team, _ = _team(store)
    with pytest.raises(InputError, match="suite is empty"):
        run_suite(store, team)
    engine = Engine(store=store)
    EvalRepo(store).add_task(name="add", task="Write add", tests=ADD_TESTS)
    with pytest.raises(ModelError, match="No model"):
        engine.evals.run()


def test_the_curve_names_the_memories_promoted_between_evaluations(store):
    repo = EvalRepo(store)
    base = {"status": "complete", "n_tasks": 2, "n_grounded": 2}
    m1 = {"id": "m1", "kind": "skill_card", "text": "Check edge cases"}
    m2 = {"id": "m2", "kind": "failure_pattern", "text": "Off by one"}
    repo.append({**base, "started_at": "2026-01-01", "n_passed": 1, "pass_rate": 0.5, "promoted": [m1]})
    repo.append({**base, "started_at": "2026-01-02", "status": "cancelled", "n_passed": 0, "pass_rate": None})
    repo.append({**base, "started_at": "2026-01-03", "n_passed": 2, "pass_rate": 1.0, "promoted": [m2]})
    repo.append(
        {
            **base,
            "started_at": "2026-01-04",
            "n_passed": 1,
            "n_grounded": 1,
            "pass_rate": 0.5,
            "promoted": [m2],
        }
    )
    points = curve(repo.evaluations())
    assert [p["pass_rate"] for p in points] == [0.5, 1.0, 0.5]
    assert points[0]["promoted_since"] == []  # the first evaluation is the baseline
    assert points[1]["promoted_since"] == [m2] and points[1]["retired_since"] == [m1]
    assert points[2]["promoted_since"] == [] and [p["grounded"] for p in points] == [True, True, False]


# -- learning never reads the evaluation tables -----------------------------------------------------------
def test_learning_never_reads_the_evaluation_tables(store):
    repo = EvalRepo(store)
    repo.add_task(name="add", task="Write add(a, b) that returns the sum.", tests=ADD_TESTS)
    repo.append(
        {
            "started_at": "2026-01-01",
            "status": "complete",
            "n_tasks": 1,
            "n_passed": 1,
            "n_grounded": 1,
            "pass_rate": 1.0,
        }
    )
    read: set[str] = set()

    def authorizer(action, table, _column, _db, _trigger):
        if action == sqlite3.SQLITE_READ and table:
            read.add(table)
        return sqlite3.SQLITE_OK

    conn = store.connection.conn
    conn.set_authorizer(authorizer)
    try:
        # a train run that fails, retries, passes, credits and distils; then a replay of a candidate
        team, _ = _team(store, coder=BAD)
        team.spec.max_retries = 0
        team.run("Write add(a, b) that returns the sum.", tests=ADD_TESTS)
        good, _ = _team(store)
        result = good.run("Write add(a, b) that returns the sum.", tests=ADD_TESTS)
        candidates = result.memory.get("candidates") or []
        assert candidates, "the train run distilled nothing; the test would prove nothing"
        good.retest(candidates[0]["id"], n=1)
        learning_reads = set(read)
        read.clear()
        repo.evaluations()
    finally:
        conn.set_authorizer(None)
    assert {"memories", "runs"} <= learning_reads  # the authorizer sees learning's reads …
    assert not {t for t in learning_reads if t.startswith("eval_")}  # … and none is of the evaluation tables
    assert "eval_log" in read  # (and it would have seen one)
