"""critic_calibration: drawn where the judge and the checks disagree, scanned and quarantined, read by the critic once approved."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.agents.roles import RoleSpec
from purpose_desktop.engine.agents.team import Team, TeamSpec
from purpose_desktop.engine.critic import PurposeFunction, task_family
from purpose_desktop.engine.learning.calibration import load_calibration
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.store import Store
from tests.fakes import DEMO_EMBEDDER_NAME, ScriptedJsonModel, demo_embed, final

GOOD = "```python\ndef add(a, b):\n    return a + b\n```"
BAD = "```python\ndef add(a, b):\n    return a - b\n```"
TESTS = "from solution import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
TASK = "Write add(a, b) that returns the sum of two numbers."


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "cal.db")
    yield s
    s.close()


def _solo(store, code, judge):
    model = ScriptedJsonModel({"Coder": [final(code)]}, judge_score=judge)
    spec = TeamSpec(
        "Solo",
        "Help me write Python code",
        [RoleSpec("coder", "Coder", "Write the code.", [], None, "code")],
        max_retries=0,
    )
    return Team(spec, model=model, store=store)


def test_task_families():
    assert task_family("Reverse the string s") == "strings"
    assert task_family("Remove duplicates from a list") == "lists"
    assert task_family(TASK) == "numbers" and task_family("Parse a log") == "general"


def test_the_critic_counts_the_judge_less_where_a_calibration_says_so():
    critic = PurposeFunction(ScriptedJsonModel(judge_score=9))
    before = critic.score_step(task=TASK, role="coder", kind="code", output=GOOD)
    critic.calibration = {"numbers": 0.5}
    after = critic.score_step(task=TASK, role="coder", kind="code", output=GOOD)
    other = critic.score_step(
        task="Reverse the string s",
        role="coder",
        kind="code",
        output="```python\ndef rev(s):\n    return s[::-1]\n```",
    )
    assert after.value < before.value and any("weight 0.5 for numbers" in e for e in after.evidence)
    assert not any("weight" in e for e in other.evidence)
    text_before = PurposeFunction(ScriptedJsonModel(judge_score=10)).score_step(
        task=TASK, role="writer", kind="text", output="It adds."
    )
    calibrated = PurposeFunction(ScriptedJsonModel(judge_score=10))
    calibrated.calibration = {"numbers": 0.0}
    assert (
        calibrated.score_step(task=TASK, role="writer", kind="text", output="It adds.").value
        < text_before.value
    )


def test_a_judge_that_overrates_failing_code_yields_a_quarantined_calibration_the_critic_reads_once_approved(
    store,
):
    result = _solo(store, BAD, judge=9).run(TASK, tests=TESTS)
    (cand,) = result.memory["calibrations"]
    m = MemoryBank(store).get(cand["id"])
    assert (m.kind, m.status) == ("critic_calibration", "quarantined") and m.scan.get("blocked") is False
    assert (
        m.scope.tags == ("family-numbers",) and "judge said 9/10" in m.text and "judge weight 0.5" in m.text
    )
    assert m.provenance[0]["run_id"] == result.run_id
    assert load_calibration(store) == {}  # quarantined: not read
    before = _solo(store, GOOD, judge=9).run(TASK)  # no tests: the judge moves the score within its band
    MemoryBank(store).approve(m.id, reason="the judge is too kind on arithmetic")
    assert load_calibration(store) == {"numbers": 0.5}
    after = _solo(store, GOOD, judge=9).run(TASK)
    assert after.score < before.score
    assert any("weight 0.5 for numbers" in e for e in after.steps[0].evidence)


def test_a_judge_that_underrates_passing_code_is_recorded_too_and_agreement_yields_nothing(store):
    low = _solo(store, GOOD, judge=2).run(TASK, tests=TESTS)
    (cand,) = low.memory["calibrations"]
    assert "all passed" in MemoryBank(store).get(cand["id"]).text
    agree = _solo(store, GOOD, judge=9).run(TASK, tests=TESTS)
    assert "calibrations" not in agree.memory and agree.memory["calibration_signals"] == []
    validation = _solo(store, BAD, judge=9).run(TASK, tests=TESTS, mode="validation")
    assert "calibrations" not in validation.memory  # only train runs teach
