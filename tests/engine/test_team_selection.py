"""The code phase's candidates and best-checked choice, with a scripted model and the real sandbox."""

from __future__ import annotations

from purpose_desktop.engine.agents.selection import (
    CheckSet,
    Probe,
    agreement,
    build_checks,
    split_tester_code,
    weights,
)
from purpose_desktop.engine.agents.team import purpose
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import Store
from tests.fakes import ScriptedJsonModel, final

TASK = "Write a function add(a, b) that returns the sum of a and b. For example add(2, 3) returns 5."
NO_EXAMPLE = "Write a function add(a, b) that returns the sum of a and b."
GOOD = "```python\ndef add(a, b):\n    return a + b\n```\nAdds two numbers."
BAD = "```python\ndef add(a, b):\n    return a - b\n```\nAdds two numbers."
ALSO_BAD = "```python\ndef add(a, b):\n    return a * b\n```"
PLAN = "Define add(a, b) returning the sum; handle negatives."
TESTS = "from solution import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_neg():\n    assert add(-1, 1) == 0\n"


def _team(scripts, tmp_path, max_retries=2, judge=6, stop_at_first_pass=True):
    model = ScriptedJsonModel(scripts, judge_score=judge)
    team = purpose("Help me write Python code", model=model, store=Store(tmp_path / "t.db"))
    team.spec.max_retries = max_retries
    team.spec.stop_at_first_pass = stop_at_first_pass
    return team, model


def _coder_calls(model):
    return [m for who, m in model.calls if who == "Coder"]


def test_the_first_answer_is_a_plain_answer(tmp_path):
    team, model = _team({"Architect": [final(PLAN)], "Coder": [final(GOOD)], "Tester": [final("assert add(2, 2) == 4")]}, tmp_path)
    team.run(NO_EXAMPLE, mode=RunMode.EVAL_TEST)
    first = _coder_calls(model)[0]
    # asked exactly as one plain chat answer is: the instruction, then the task itself
    assert [m["role"] for m in first] == ["system", "user"] and first[-1]["content"] == NO_EXAMPLE
    assert first[0]["content"] == "You are a helpful Python programmer. Answer with one complete Python code block."


def test_a_first_answer_that_passes_the_tasks_examples_ends_the_run(tmp_path):
    team, model = _team({"Architect": [final(PLAN)], "Coder": [final(GOOD)], "Tester": [final("assert add(2, 2) == 4")]}, tmp_path)
    result = team.run(TASK, mode=RunMode.EVAL_TEST)
    assert [s.role for s in result.steps] == ["coder"] and "Architect" not in {who for who, _ in model.calls}
    assert result.grounded_by == "examples" and "a + b" in result.answer
    assert result.selection["first_passed"] and result.selection["skipped"] == ["architect", "tester"]
    assert result.selection["why"] == "the first answer passed the task's examples"
    assert result.checks == "assert (add(2, 3)) == (5)\n"  # what "Keep these tests" offers: the examples


def test_a_first_answer_that_fails_the_tasks_examples_goes_on_with_the_team(tmp_path):
    team, model = _team({"Architect": [final(PLAN)], "Coder": [final(BAD), final(GOOD)], "Tester": [final("assert add(2, 2) == 4")]}, tmp_path)
    result = team.run(TASK, mode=RunMode.EVAL_TEST)
    assert [s.role for s in result.steps] == ["coder", "architect", "tester", "coder"]
    assert result.steps[0].grounded_by == "examples" and result.steps[0].score <= 3.5
    # the tester's checks ran against the first answer, made before the plan
    assert result.steps[2].tests["failed"] == 1
    assert result.selection["chosen"] == "coder attempt 1" and not result.selection["first_passed"]
    assert "skipped" not in result.selection and "a + b" in result.answer
    # stop_at_first_pass off: the whole team runs even for a first answer that passes
    team, model = _team({"Architect": [final(PLAN)], "Coder": [final(GOOD)], "Tester": [final("assert add(2, 2) == 4")]}, tmp_path, stop_at_first_pass=False)
    result = team.run(TASK, mode=RunMode.EVAL_TEST)
    assert [s.role for s in result.steps] == ["architect", "coder", "tester"] and result.selection["first_passed"]


def test_a_first_answer_that_passes_its_checks_stops_the_phase(tmp_path):
    team, model = _team({"Architect": [final(PLAN)], "Coder": [final(GOOD), final(BAD)], "Tester": [final("assert add(2, 2) == 4")]}, tmp_path, max_retries=3)
    result = team.run(NO_EXAMPLE, mode=RunMode.EVAL_TEST)
    assert len(_coder_calls(model)) == 1
    assert result.selection["first_passed"] and result.selection["chosen"] == "coder attempt 0"
    assert result.grounded_by == "tester_checks" and "a + b" in result.answer


def test_the_retries_repair_then_ask_with_the_def_line_then_sample(tmp_path):
    team, model = _team(
        {"Architect": [final(PLAN)], "Coder": [final(BAD)], "Tester": [final("assert add(2, 2) == 4")]}, tmp_path, max_retries=7
    )
    result = team.run(NO_EXAMPLE, mode=RunMode.EVAL_TEST)
    calls = _coder_calls(model)
    assert len(calls) == 8 and not result.selection["first_passed"]
    repair, def_line, plain, def_sample, plan, plain_again, def_sample_again = (c[-1]["content"] for c in calls[1:])
    assert "failed these checks" in repair
    assert def_line == f"{NO_EXAMPLE}\n\nStart your code with `def add(a, b):`." and def_line == def_sample
    assert plain == NO_EXAMPLE and PLAN in plan
    # then the samples again in turn (the greedy def-line answer would only repeat itself)
    assert (plain_again, def_sample_again) == (plain, def_sample)
    coders = [s for s in result.steps if s.role == "coder"]
    # only the first answer is judged; the others are chosen among by their checks
    assert coders[0].judge_tokens > 0 and all(s.judge_tokens == 0 for s in coders[1:])
    assert any("judge not asked" in e for e in coders[1].evidence)


def test_more_candidates_stop_at_the_first_pass(tmp_path):
    team, model = _team(
        {"Architect": [final(PLAN)], "Coder": [final(BAD), final(GOOD), final(ALSO_BAD)], "Tester": [final("assert add(2, 2) == 4")]},
        tmp_path,
        max_retries=4,
    )
    result = team.run(TASK, mode=RunMode.EVAL_TEST)
    assert len(_coder_calls(model)) == 2 and not result.selection["first_passed"]
    assert "a + b" in result.answer and result.selection["chosen"] == "coder attempt 1"


def test_without_a_def_line_the_retries_alternate_plain_and_plan_samples(tmp_path):
    task = "Write a function that doubles a number."
    wrong = final("```python\ndef double(n):\n    return n + 1\n```")
    team, model = _team({"Architect": [final(PLAN)], "Coder": [wrong], "Tester": [final("assert double(2) == 4")]}, tmp_path, max_retries=5)
    team.run(task, mode=RunMode.EVAL_TEST)
    repair, *rest = (c[-1]["content"] for c in _coder_calls(model)[1:])
    assert "failed these checks" in repair and len(rest) == 4
    assert [PLAN in r for r in rest] == [False, True, False, True] and rest[0] == rest[2] == task


def test_a_passing_first_attempt_is_kept_over_failing_retries(tmp_path):
    # the tester's check is wrong (2 + 2 is not 5): no candidate passes it, so every candidate is retried
    # for nothing; the first answer passes the task's own example and the retries do not
    team, model = _team(
        {"Architect": [final(PLAN)], "Coder": [final(GOOD), final(BAD), final(ALSO_BAD)], "Tester": [final("assert add(2, 2) == 5")]},
        tmp_path,
        max_retries=2,
        stop_at_first_pass=False,  # else the first answer, passing the task's example, ends the run at once
    )
    result = team.run(TASK, mode=RunMode.EVAL_TEST)
    coders = [s for s in result.steps if s.role == "coder"]
    assert len(coders) == 3  # the retries ran …
    assert "a + b" in result.answer and result.selection["chosen"] == "coder attempt 0"  # … and lost
    assert result.score == coders[0].score and result.grounded_by == coders[0].grounded_by


def test_a_plan_containing_code_is_a_candidate(tmp_path):
    plan_with_code = "Here is the plan:\n```python\ndef add(a, b):\n    return a + b\n```"
    team, _ = _team({"Architect": [final(plan_with_code)], "Coder": [final(BAD)], "Tester": [final("assert add(1, 1) == 2")]}, tmp_path, max_retries=1)
    result = team.run(TASK, tests=TESTS, mode=RunMode.EVAL_TEST)
    assert result.selection["chosen"] == "architect's plan" and "a + b" in result.answer
    last = result.steps[-1]
    assert last.role == "architect" and last.grounded_by == "given_tests" and last.tests["passed"] == 2
    assert result.grounded_by == "given_tests" and result.score == last.score >= 8


def test_code_without_its_opening_fence_is_checked_by_the_testers_checks(tmp_path):
    unfenced = "def add(a, b):\n    return a + b\n```\nReturns a + b."
    team, model = _team({"Architect": [final(PLAN)], "Coder": [final(unfenced)], "Tester": [final("assert add(2, 2) == 4")]}, tmp_path)
    result = team.run(NO_EXAMPLE, mode=RunMode.EVAL_TEST)
    coder = next(s for s in result.steps if s.role == "coder")
    assert coder.grounded_by == "tester_checks" and coder.tests["passed"] == 1
    assert len(_coder_calls(model)) == 1 and "```python\ndef add(a, b):" in result.answer


def test_a_tester_that_defines_the_function_does_not_replace_the_candidates(tmp_path):
    tester = "```python\ndef add(a, b):\n    return a + b\n\nassert add(2, 2) == 4\n```"
    team, _ = _team({"Architect": [final(PLAN)], "Coder": [final(BAD)], "Tester": [final(tester)]}, tmp_path, max_retries=0)
    result = team.run(TASK, mode=RunMode.EVAL_TEST)
    coder = next(s for s in result.steps if s.role == "coder")
    assert coder.tests["failed"] == 1  # its check ran against the coder's a - b, not its own definition
    assert result.selection["chosen"] == "tester's own definition" and "a + b" in result.answer
    assert "def add" not in result.checks  # the kept checks are the asserts only


def test_checks_no_candidate_passes_count_less():
    checks = build_checks(["assert add(2, 3) == 5"], ["assert add(2, 2) == 5", "assert add(0, 0) == 0"], "", "add")
    assert checks.calls == ["add(2, 3)", "add(2, 2)", "add(0, 0)"]
    right = Probe([None, "AssertionError", None], ["5", "4", "0"])
    wrong = Probe(["AssertionError", "AssertionError", None], ["-1", "0", "0"])
    assert weights(checks, [right, wrong]) == [3.0, 0.25, 1.0]
    scores = agreement(checks, [right, wrong], ["def add(a, b): return a + b", "def add(a, b): return a - b"])
    assert scores[0] > scores[1]


def test_candidates_that_behave_alike_outvote_a_lone_one():
    checks = build_checks([], ["assert add(1, 1) == 3"], "", "add")  # a wrong check nobody passes
    a = Probe(["AssertionError"], ["2"])
    b = Probe(["AssertionError"], ["2"])
    c = Probe(["AssertionError"], ["0"])
    scores = agreement(checks, [c, a, b], ["c", "a", "b"])
    assert scores[1] == scores[2] > scores[0]
    assert agreement(CheckSet(), [None], [None]) == [0.0]


def test_split_tester_code_takes_out_its_own_definition_and_imports():
    setup, asserts, own = split_tester_code(
        "from solution import add\nimport math\nx = 2\ndef add(a, b):\n    return a + b\nassert add(x, 2) == 4\n", "add"
    )
    assert setup == "import math\nx = 2" and asserts == ["assert add(x, 2) == 4"] and own.startswith("def add")


def test_unfenced_code_between_prose_is_recovered():
    from purpose_desktop.engine.critic import extract_code

    reply = "Here is a function:\n\ndef add(a, b):\n    return a + b\n\nIt returns the sum of the two numbers."
    assert extract_code(reply) == "def add(a, b):\n    return a + b\n"
    assert extract_code("I would add the two numbers.") is None


def test_without_checks_candidates_are_compared_on_plain_inputs(tmp_path):
    task = "Write a function twice(n) that returns n doubled."
    off = final("```python\ndef twice(n):\n    return n + 1\n```")
    doubled = final("```python\ndef twice(n):\n    return n * 2\n```")
    also_doubled = final("```python\ndef twice(n):\n    return 2 * n\n```")
    # the tester writes no usable check: the candidates' behaviour on plain inputs (n = 0, 1, 2 …) decides
    team, model = _team({"Architect": [final(PLAN)], "Coder": [off, doubled, also_doubled], "Tester": [final("I cannot.")]}, tmp_path)
    result = team.run(task, mode=RunMode.EVAL_TEST)
    assert len(_coder_calls(model)) == 3 and result.selection["checks"] == {"examples": 0, "tester": 0}
    assert result.selection["chosen"] == "coder attempt 1" and "n * 2" in result.answer  # two alike outvote one
    # one sample that disagrees does not outvote the first, plain answer
    team, model = _team({"Architect": [final(PLAN)], "Coder": [doubled, off], "Tester": [final("I cannot.")]}, tmp_path, max_retries=1)
    result = team.run(task, mode=RunMode.EVAL_TEST)
    assert len(_coder_calls(model)) == 2 and result.selection["chosen"] == "coder attempt 0"
    # with nothing to compare on (no signature in the task, no checks), nothing more is generated
    team, model = _team({"Architect": [final(PLAN)], "Coder": [doubled, off], "Tester": [final("I cannot.")]}, tmp_path)
    team.run("Write a function that doubles a number.", mode=RunMode.EVAL_TEST)
    assert len(_coder_calls(model)) == 1
