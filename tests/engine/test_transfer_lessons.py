"""Lessons that transfer (issue 13, item 4b): each distillation rule, through a Team run with a scripted model,
the real sandbox and a real SQLite file — and what must not be learned (one failed tool call, a passing
attempt, an ungrounded run, a restatement of the task)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from purpose_desktop.engine.learning.after_run import learn_from_run
from purpose_desktop.engine.learning.distil import StepRecord, distil
from purpose_desktop.engine.learning.transfer import EDGE_LESSONS, FORMAT_LESSONS, NAMING_LESSONS
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.memory.records import MemoryPolicy
from purpose_desktop.engine.memory.retrieval import MemoryRetriever
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.store.trace import TraceRecorder
from tests.engine.test_memory_team import _coder_only
from tests.fakes import DEMO_EMBEDDER_NAME, demo_embed, final

ADD = "Write a Python function add(a, b) that returns the sum of a and b."
ADD_TESTS = "from solution import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
GOOD = "```python\ndef add(a, b):\n    return a + b\n```\nAdds two numbers."
DEDUP = "Write a Python function remove_duplicates(items) that removes repeated items from the list, keeping order."
DEDUP_TESTS = (
    "from solution import remove_duplicates\n\n\ndef test_some():\n    assert remove_duplicates([3, 1, 3]) == [3, 1]\n"
    "\n\ndef test_empty():\n    assert remove_duplicates([]) == []\n"
)
DEDUP_GOOD = (
    "```python\ndef remove_duplicates(items):\n    out = []\n    for x in items:\n        if x not in out:\n"
    "            out.append(x)\n    return out\n```"
)
# Fails on [] only (IndexError), passes once a guard for empty input is added.
DEDUP_NO_GUARD = (
    "```python\ndef remove_duplicates(items):\n    out = [items[0]]\n    for x in items[1:]:\n        if x not in out:\n"
    "            out.append(x)\n    return out\n```"
)
DEDUP_GUARDED = (
    "```python\ndef remove_duplicates(items):\n    if not items:\n        return []\n    out = [items[0]]\n"
    "    for x in items[1:]:\n        if x not in out:\n            out.append(x)\n    return out\n```"
)


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "transfer.db")
    yield s
    s.close()


def _run(store, replies, task=ADD, tests=ADD_TESTS, retries=1):
    team, _ = _coder_only(store, [final(r) for r in replies])
    team.spec.max_retries = retries
    result = team.run(task, tests=tests)
    bank = MemoryBank(store)
    return result, [bank.get(c["id"]) for c in result.memory["candidates"]]


def _lessons(memories, lesson):
    return [m for m in memories if m.provenance[-1].get("lesson") == lesson]


# -- output format ----------------------------------------------------------------------------------
def test_a_reply_without_its_opening_fence_that_failed_teaches_the_format(store):
    missing = "Here it is:\ndef add(a, b):\n    return a - b\n```\nIt adds them."
    result, made = _run(store, [missing, GOOD])
    (fmt,) = _lessons(made, "format")
    assert fmt.kind == "skill_card" and fmt.text == FORMAT_LESSONS["no_opening_fence"]
    assert fmt.scope.tags == ("family:any",) and fmt.scope.roles == ("coder",)
    prov = fmt.provenance[0]
    assert prov["run_id"] == result.run_id and prov["family"] == "numbers" and "assert add(2, 3) == 5" in prov["evidence"]
    assert fmt.status == "quarantined" and [h.action for h in MemoryBank(store).repo.history(fmt.id)][:2] == [
        "created",
        "scanned",
    ]


def test_a_format_slip_that_cost_nothing_teaches_nothing(store):
    _, made = _run(store, ["def add(a, b):\n    return a + b\n```\nDone."], retries=0)
    assert _lessons(made, "format") == []


@pytest.mark.parametrize(
    ("reply", "defect"),
    [
        ("```python\ndef add(a, b):\n    return a + b\n```\n```python\nprint(add(1))\n```", "several_blocks"),
        ("The function add returns a plus b, using the plus operator on both numbers.", "no_code_block"),
    ],
)
def test_each_format_defect_has_its_lesson(store, reply, defect):
    _, made = _run(store, [reply, GOOD])
    assert [m.text for m in _lessons(made, "format")] == [FORMAT_LESSONS[defect]]


def test_prose_inside_the_code_block_has_its_lesson():
    # Through distil itself: today's Team ends a run whose code does not parse as "static" (no retry),
    # so a grounded run with this defect needs a later attempt that was checked — as here.
    prose = "```python\ndef add(a, b):\n    This returns the sum of both numbers.\n    return a + b\n```"
    failed = {"source": "given", "passed": 0, "failed": 1, "output": "E   SyntaxError: invalid syntax"}
    ok = {"source": "given", "passed": 1, "failed": 0, "output": ""}
    steps = [
        StepRecord(0, "coder", "code", prose, 1.0, tests=failed, grounded_by="static"),
        StepRecord(1, "coder", "code", GOOD, 9.0, tests=ok, attempt=1, grounded_by="given_tests"),
    ]
    report = distil(None, "r1", ADD, steps)
    fmt = [d for d in report.drafts if d.provenance["lesson"] == "format"]
    assert [d.text for d in fmt] == [FORMAT_LESSONS["prose_in_code"]] and fmt[0].provenance["evidence"].startswith("SyntaxError")
    assert distil(None, "r1", ADD, steps, grounded=False).drafts == []  # only grounded runs teach


# -- naming exactly what was asked ------------------------------------------------------------------
def test_a_renamed_function_teaches_the_naming_rule_not_the_task(store):
    _, made = _run(store, ["```python\ndef plus(a, b):\n    return a + b\n```", GOOD])
    (naming,) = _lessons(made, "naming")
    assert naming.text == NAMING_LESSONS["name"] and naming.scope.tags == ("family:any",)
    assert "add" not in naming.text.lower().split() and "plus" not in naming.text.lower()
    assert "cannot import name 'add'" in naming.provenance[0]["evidence"] or "ImportError" in naming.provenance[0]["evidence"]


def test_wrong_parameters_teach_the_parameter_rule(store):
    _, made = _run(store, ["```python\ndef add(a):\n    return a\n```", GOOD])
    assert [m.text for m in _lessons(made, "naming")] == [NAMING_LESSONS["params"]]


def test_an_undefined_name_teaches_to_bind_every_name(store):
    # the bundled model's is_prime used `num` inside a generator over `i` (bench/transfer.py, train half)
    _, made = _run(store, ["```python\ndef add(a, b):\n    return a + c\n```", GOOD])
    assert [m.text for m in _lessons(made, "naming")] == [NAMING_LESSONS["undefined"]]
    assert "NameError" in _lessons(made, "naming")[0].provenance[0]["evidence"] or "assert" in _lessons(made, "naming")[0].provenance[0]["evidence"]


# -- a family's edge cases, and a failure with its fix ----------------------------------------------
def test_a_failing_empty_input_check_teaches_the_family_and_the_fix(store):
    result, made = _run(store, [DEDUP_NO_GUARD, DEDUP_GUARDED], task=DEDUP, tests=DEDUP_TESTS)
    (edge,) = _lessons(made, "edge_case")
    assert edge.kind == "skill_card" and edge.scope.tags == ("family:lists",)
    assert edge.text == f"In tasks on lists: {EDGE_LESSONS['empty']}."
    assert edge.provenance[0]["evidence"] == "assert remove_duplicates([]) == []"
    (fix,) = _lessons(made, "fix")
    assert fix.kind == "failure_pattern" and fix.scope.tags == ("family:lists",)
    assert "add an early return" in fix.text and "`assert remove_duplicates([]) == []` failed, then passed" in fix.text
    assert fix.provenance[0]["run_id"] == result.run_id and fix.provenance[0]["fixed_by_step"] > fix.provenance[0]["step"]
    # neither restates the task: the task's own function name is only in the evidence of the fix
    assert "remove_duplicates" not in edge.text and "remove_duplicates" not in fix.text.split("Evidence:")[0]


def test_a_failure_never_fixed_is_no_fix_lesson(store):
    _, made = _run(store, [DEDUP_NO_GUARD], task=DEDUP, tests=DEDUP_TESTS, retries=0)
    assert _lessons(made, "edge_case") and _lessons(made, "fix") == []


def test_a_family_lesson_reaches_that_familys_tasks_only(store):
    _, made = _run(store, [DEDUP_NO_GUARD, DEDUP_GUARDED], task=DEDUP, tests=DEDUP_TESTS)
    bank = MemoryBank(store)
    (edge,) = _lessons(made, "edge_case")
    bank.approve(edge.id)
    retriever = MemoryRetriever(store, MemoryPolicy())
    other_list_task = "Write a function flatten(nested) that turns a list of lists into one list."
    number_task = "Write a function factorial(n) that returns n! for a non-negative integer n."
    assert edge.id in [r.memory_id for r in retriever.for_step(task=other_list_task, role="coder")]
    assert edge.id not in [r.memory_id for r in MemoryRetriever(store).for_step(task=number_task, role="coder")]


def test_the_same_lesson_from_another_task_strengthens_it_with_both_runs(store):
    first, made = _run(store, ["```python\ndef plus(a, b):\n    return a + b\n```", GOOD])
    sub_tests = "from solution import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n"
    team, _ = _coder_only(store, [final("```python\ndef minus(a, b):\n    return a - b\n```")])
    second = team.run("Write a Python function sub(a, b) that returns a minus b.", tests=sub_tests)
    (naming,) = _lessons(made, "naming")
    again = [c for c in second.memory["candidates"] if c["id"] == naming.id]
    assert again and again[0]["outcome"] == "strengthened"  # not proposed a second time
    merged = MemoryBank(store).get(naming.id)
    assert merged.strength == 2 and [p["run_id"] for p in merged.provenance] == [first.run_id, second.run_id]
    assert len(MemoryBank(store).list(kind="skill_card")) == len({m.id for m in made if m.kind == "skill_card"})


def test_an_ungrounded_run_teaches_no_transfer_lesson(store):
    team, _ = _coder_only(store, [final("```python\ndef plus(a, b):\n    return a + b\n```")])
    result = team.run("Write a helper that adds two numbers")  # no tests, no examples: judged only
    assert result.memory["candidates"] == [] and any("not grounded" in n for n in result.memory["notes"])


# -- tool policies need a pattern across runs --------------------------------------------------------
def _tool_run(store, task, output="Traceback …\nSyntaxError: invalid syntax"):
    call = {"tool": "python", "ok": False, "output": output}
    passed = {"passed": 1, "failed": 0, "source": "given", "output": ""}
    trace = TraceRecorder(store, RunMode.LEARNING_TRAIN)
    trace.start(task=task, purpose=None, team=None, roles=["coder"])
    trace.add_step({"role": "coder", "output": GOOD, "tool_calls": [call], "score": 8.0, "tests": passed})
    step = SimpleNamespace(
        role="coder", output=GOOD, score=8.0, tests=passed, tool_calls=[call], attempt=0, memory_ids=[], grounded_by="given_tests"
    )
    out = learn_from_run(store, trace.run_id, task, 8.0, [step], model=None, policy=MemoryPolicy(), kinds={"coder": "code"})
    return trace.run_id, [c for c in out["candidates"] if c["kind"] == "tool_policy"]


def test_one_failed_tool_call_is_no_policy_two_runs_are_one_a_third_strengthens_it(store):
    first, none = _tool_run(store, ADD)
    assert none == []  # one failed call is not a pattern
    other, _ = _tool_run(store, ADD, output="NameError: name 'x' is not defined")  # another failure
    second, (policy,) = _tool_run(store, "Write a Python function sub(a, b) that returns a minus b.")
    m = MemoryBank(store).get(policy["id"])
    assert m.kind == "tool_policy" and m.scope.tools == ("python",) and policy["outcome"] == "quarantined"
    assert m.provenance[0]["run_ids"] == [second, first]  # the runs that show the pattern, not the NameError one
    assert "SyntaxError in 2 separate runs" in m.text and "invalid syntax" not in m.text  # a rule, not the message
    third, (again,) = _tool_run(store, "Write a Python function mul(a, b) that returns a times b.")
    assert again["id"] == m.id and again["outcome"] == "strengthened"
    assert len(MemoryBank(store).list(kind="tool_policy")) == 1
