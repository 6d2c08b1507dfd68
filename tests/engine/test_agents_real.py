"""The agent kernel against the real bundled GGUF (temperature 0, fixed seed): mechanics, not brilliance."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.agents.roles import known_roles
from purpose_desktop.engine.agents.spark import Spark
from purpose_desktop.engine.agents.team import purpose
from purpose_desktop.engine.critic import PurposeFunction
from purpose_desktop.engine.grounding import GROUNDS
from purpose_desktop.engine.models import LocalModel
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.tools import CalculatorTool

pytestmark = pytest.mark.model

TESTS = "from solution import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_neg():\n    assert add(-4, 1) == -3\n"
GOOD = "Here it is:\n```python\ndef add(a, b):\n    return a + b\n```\nIt returns the sum."
BROKEN = "Here it is:\n```python\ndef add(a, b):\n    return a - b\n```\nIt returns the sum."


@pytest.fixture(scope="module")
def model(default_model_path):
    m = LocalModel(default_model_path, n_ctx=4096)
    yield m
    m.close()


def test_team_run_on_a_coding_task_stores_scored_steps(model, tmp_path):
    store = Store(tmp_path / "real.db")
    team = purpose("Help me write Python code", model=model, store=store)
    result = team.run("Write a function add(a, b) that returns the sum of a and b.", tests=TESTS)
    assert result.status == "complete" and result.answer.strip()
    assert "Architect's work" not in result.answer  # the answer, not an echoed transcript
    run = store.get_run(result.run_id)
    roles = [s["role"] for s in run["steps"]]
    if result.selection["first_passed"]:  # the plain first answer passed the given tests: the run ended there
        assert roles == ["coder"] and result.selection["skipped"] == ["architect", "tester"]
    else:  # it failed them: the team planned, checked blind and tried again
        assert roles[:3] == ["coder", "architect", "tester"] and "skipped" not in result.selection
    for step in run["steps"]:
        assert 0 <= step["score"] <= 10 and step["evidence"]
        assert step["grounded_by"] in GROUNDS
    assert [s["grounded_by"] for s in run["steps"]] == [s.grounded_by for s in result.steps]
    coders = [s for s in run["steps"] if s["role"] == "coder"]
    assert all(c["tests"] is not None and c["tests"]["source"] == "given" for c in coders)
    ran = [
        c
        for c in coders
        if c["tests"]["passed"] + c["tests"]["failed"] > 0
        and not c["tests"].get("refused")
        and not any("no Python code block" in e for e in c["evidence"])
    ]
    # given tests that ran against the coder's code (pass or fail) ground its score; an attempt with no code
    # block is no code answer (the tests ran against nothing) and is not grounded by them, and says so
    for c in coders:
        if c in ran:
            assert c["grounded_by"] == "given_tests", c["evidence"]
        else:
            assert c["grounded_by"] != "given_tests" and c["evidence"], c
    assert (run["grounded_by"] == "given_tests") == bool(ran) and run["grounded_by"] == result.grounded_by
    assert result.tokens_work > 0 and result.tokens_judge > 0
    store.close()


def test_a_run_without_tests_is_grounded_by_the_testers_checks_or_says_it_is_not(model, tmp_path):
    store = Store(tmp_path / "real.db")
    team = purpose("Help me write Python code", model=model, store=store)
    team.spec.max_retries = 0
    result = team.run("Write a function add(a, b) that returns the sum of a and b.")
    run = store.get_run(result.run_id)
    assert run["grounded_by"] == result.grounded_by in GROUNDS
    assert all(s["grounded_by"] in GROUNDS for s in run["steps"])
    coder = next(s for s in result.steps if s.role == "coder")
    assert result.grounded_by == coder.grounded_by and result.score == coder.score
    assert "assert" not in result.answer.split("```")[0]  # the tester's checks are never the answer
    store.close()


def test_broken_solution_scores_lower_than_a_correct_one(model):
    critic = PurposeFunction(model)
    task = "Write a function add(a, b) that returns the sum of a and b."
    good = critic.score_step(task=task, role="coder", kind="code", output=GOOD, tests=critic.run_tests(GOOD.split("```python\n")[1].split("```")[0], TESTS))
    bad = critic.score_step(task=task, role="coder", kind="code", output=BROKEN, tests=critic.run_tests(BROKEN.split("```python\n")[1].split("```")[0], TESTS))
    assert good.value >= 8 and bad.value <= 5 and good.value > bad.value
    assert good.anchored and bad.anchored and any("failed" in e for e in bad.evidence)
    assert good.judge_score is not None  # the real judge answered through the grammar


def test_spark_with_a_tool_runs_real_steps(model):
    spark = Spark("analyst", model=model, tools=[CalculatorTool()], max_steps=3)
    res = spark.run("What is 17 * 23?")
    assert res.status == "complete" and res.answer
    assert all(r["action"] in ("calculator", "final_answer") for r in res.raw_steps)
    assert res.raw_steps[-1]["action"] == "final_answer"


def test_unmatched_purpose_asks_the_real_model_for_known_roles(model):
    team = purpose("Plan my vegetable garden for spring", model=model)
    assert team.spec.chosen_by in ("model", "fallback")
    assert set(team.roles) <= set(known_roles()) and team.roles
