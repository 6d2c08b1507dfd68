"""The critic with the real sandbox: every score says what grounds it, and wrong code never outscores right code."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.critic import PurposeFunction, extract_code
from purpose_desktop.engine.grounding import (
    GROUNDS,
    asked_signature,
    grounding_label,
    is_grounded,
    static_check,
    task_examples,
)
from purpose_desktop.engine.tools import sandbox
from tests.fakes import ScriptedJsonModel

ADD_TASK = "Write a function add(a, b) that returns the sum of a and b"
WRONG_ADD = "```python\ndef add(a, b):\n    return a - b\n```\nThis function add returns the sum of a and b"
RIGHT_ADD = "```python\ndef add(a, b):\n    return a + b\n```\nReturns a + b."

needs_sandbox = pytest.mark.skipif(bool(sandbox.missing_essentials()), reason="this machine's sandbox is not protected")


def _critics():
    """No judge, and a judge that loves everything: evidence must decide either way."""
    return [PurposeFunction(None), PurposeFunction(ScriptedJsonModel(judge_score=10))]


@needs_sandbox
@pytest.mark.parametrize("critic", _critics(), ids=["no-judge", "judge-10"])
def test_wrong_code_that_repeats_the_task_scores_below_right_terse_code(critic):
    wrong = critic.score_step(task=ADD_TASK, role="coder", kind="code", output=WRONG_ADD)
    right = critic.score_step(task=ADD_TASK, role="coder", kind="code", output=RIGHT_ADD)
    assert wrong.value < right.value
    assert not any(e.startswith("content:") for e in wrong.evidence + right.evidence)  # no keyword overlap
    assert right.grounded_by == "static" and wrong.grounded_by == "static"
    assert any("asks for a sum" in e for e in wrong.evidence)


@needs_sandbox
@pytest.mark.parametrize("critic", _critics(), ids=["no-judge", "judge-10"])
def test_examples_in_the_task_become_checks(critic):
    task = "Write is_even(n). For example is_even(4) returns True and is_even(7) -> False.\n>>> is_even(0)\nTrue"
    right = critic.score_step(task=task, role="coder", kind="code", output="```python\ndef is_even(n):\n    return n % 2 == 0\n```")
    wrong = critic.score_step(task=task, role="coder", kind="code", output="```python\ndef is_even(n):\n    return n % 2 == 1\n```\nis_even returns True for even n.")
    assert right.grounded_by == wrong.grounded_by == "examples"
    assert right.checks[0].passed == 3 and wrong.checks[0].failed == 3
    assert right.value >= 6.5 and wrong.value < 3.5


@needs_sandbox
@pytest.mark.parametrize("critic", _critics(), ids=["no-judge", "judge-10"])
def test_the_tasks_examples_outweigh_the_testers_guesses(critic):
    task = "Write is_even(n). For example is_even(4) returns True and is_even(7) -> False."
    right = "```python\ndef is_even(n):\n    return n % 2 == 0\n```"
    wrong = "```python\ndef is_even(n):\n    return n % 4 == 0\n```"  # passes both examples
    broken = "```python\ndef is_even(n):\n    return n % 2 == 1\n```"  # fails both examples
    # the tester guessed is_even(3) wrongly: the right answer fails it, the other two pass it
    guesses = "assert is_even(2) == True\nassert is_even(3) == True\n"

    def score(reply):
        return critic.score_step(
            task=task, role="coder", kind="code", output=reply, tests=critic.run_asserts(extract_code(reply), guesses)
        )

    r, w, b = score(right), score(wrong), score(broken)
    assert r.grounded_by == w.grounded_by == b.grounded_by == "examples"
    # examples pass, one tester guess fails: above any failing example, below every all-passed answer
    assert 4.0 <= r.value < 6.5 and "fail some" in " ".join(r.evidence)
    assert w.value < r.value  # fails the tester's is_even(2) as well
    assert b.value < 3.5 < w.value  # failing the task's own examples is worse than failing a guess


@needs_sandbox
def test_static_checks_catch_a_missing_function_wrong_arity_and_undefined_names():
    critic = PurposeFunction(None)
    task = "Write a function area(width, height) returning the area of a rectangle."
    good = critic.score_step(task=task, role="coder", kind="code", output="```python\ndef area(width, height):\n    return width * height\n```")
    for bad in (
        "```python\ndef size(width, height):\n    return width * height\n```",  # not the asked-for name
        "```python\ndef area(width):\n    return width * width\n```",  # wrong parameter count
        "```python\ndef area(width, height):\n    return width * heigth\n```",  # undefined name
    ):
        score = critic.score_step(task=task, role="coder", kind="code", output=bad)
        assert score.grounded_by == "static" and score.value < good.value <= 6.0
    assert good.grounded_by == "static" and good.value >= 4.0


@needs_sandbox
def test_failing_grounded_checks_always_rank_below_passing_ones_and_the_judge_cannot_lift_them():
    loving, hating = PurposeFunction(ScriptedJsonModel(judge_score=10)), PurposeFunction(ScriptedJsonModel(judge_score=0))
    tests = "from solution import add\n\n\ndef test_a():\n    assert add(2, 3) == 5\n"
    wrong_code, right_code = extract_code(WRONG_ADD), extract_code(RIGHT_ADD)
    failing = loving.score_step(task=ADD_TASK, role="coder", kind="code", output=WRONG_ADD, tests=loving.run_tests(wrong_code, tests))
    passing = hating.score_step(task=ADD_TASK, role="coder", kind="code", output=RIGHT_ADD, tests=hating.run_tests(right_code, tests))
    ungrounded = loving.score_step(task="Write a helper.", role="coder", kind="code", output=WRONG_ADD)
    assert failing.grounded_by == passing.grounded_by == "given_tests"
    assert failing.value < 3.5 < passing.value and passing.value >= 8.0
    assert ungrounded.value < passing.value  # opinion never beats a passing test


def test_a_refused_sandbox_is_judge_only_and_not_a_failure():
    from purpose_desktop.engine.tools.base import ToolError

    def refuse(**_kw):
        raise ToolError("not protected")

    critic = PurposeFunction(ScriptedJsonModel(judge_score=10), runner=refuse)
    outcome = critic.run_tests("def add(a, b):\n    return a + b\n", "def test_a():\n    assert True\n")
    assert outcome.refused and outcome.total == 0
    asserts = critic.run_asserts("def add(a, b):\n    return a + b\n", "assert add(1, 1) == 2")
    assert asserts.refused and asserts.failed == 0
    score = critic.score_step(task=ADD_TASK, role="coder", kind="code", output=RIGHT_ADD, tests=outcome)
    assert score.grounded_by == "judge" and not score.failed and score.value <= 3.5
    assert grounding_label(score.grounded_by, outcome.to_dict()) == "not grounded: the sandbox refused to run the checks"


@needs_sandbox
def test_tester_asserts_count_one_by_one_with_set_up():
    critic = PurposeFunction(None)
    out = critic.run_asserts("def add(a, b):\n    return a + b\n", "x = 2\nassert add(x, 2) == 4\nassert add(1, 1) == 3\n")
    assert (out.passed, out.failed) == (1, 1) and "FAIL" in out.output


def test_task_examples_and_the_asked_signature_are_read_from_the_text():
    assert asked_signature(ADD_TASK).name == "add" and asked_signature(ADD_TASK).params == 2
    assert task_examples(ADD_TASK) == []  # "add(a, b)" names parameters: not an example
    task = 'Write rev(s).\n    >>> rev("abc")\n    \'cba\'\nAlso rev("") == "" and rev("ab") gives "ba".'
    assert task_examples(task) == [
        "assert (rev(\"abc\")) == ('cba')",
        'assert (rev("")) == ("")',
        'assert (rev("ab")) == ("ba")',
    ]
    assert static_check(ADD_TASK, "def add(a, b):\n    return a + b\n").ok


def test_code_before_a_lone_closing_fence_is_extracted():
    assert extract_code("def add(a, b):\n    return a + b\n```\nReturns a + b.") == "def add(a, b):\n    return a + b\n"
    assert extract_code("python\ndef f():\n    return 1\n```") == "def f():\n    return 1\n"
    assert extract_code("Here:\n```python\ndef f():\n    return 1\n") == "def f():\n    return 1\n"  # cut off


def test_labels_say_in_plain_words_what_grounds_a_score():
    assert grounding_label("judge") == "not grounded: no tests ran"
    assert grounding_label("given_tests", {"passed": 3, "failed": 0}) == "grounded: 3 given tests, all 3 passed"
    assert "2 of 4 failed" in grounding_label("tester_checks", {"passed": 2, "failed": 2})
    assert grounding_label(None) == "grounding not recorded"
    assert all(grounding_label(g) for g in GROUNDS)
    assert is_grounded("examples") and not is_grounded("static") and not is_grounded("judge")


@needs_sandbox
def test_checks_that_flood_output_or_hang_give_a_clear_result():
    critic = PurposeFunction(None)
    flood = "def f():\n    for _ in range(200000):\n        print('x' * 50)\n    return 1\n"
    out = critic.run_asserts(flood, "assert f() == 1\nassert f() == 2")
    assert (out.passed, out.failed) == (1, 1)
    hang = critic.run_checks("def f():\n    while True:\n        pass\n", ["assert f() == 1"], "tester", timeout_s=2)
    assert hang.failed == 1 and hang.timed_out and not hang.refused
