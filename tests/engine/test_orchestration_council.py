"""Council with a scripted model: rounds that see the others' latest positions, and a real synthesis step."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.agents.spark import Spark
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.events import RoundStarted, StepScored
from purpose_desktop.engine.orchestration import Council, OrchestrationError
from purpose_desktop.engine.store import Store
from tests.engine.test_orchestration_support import RoleScriptedModel

SYNTHESIS = {
    "agreement": ["use requests with retries", "respect robots.txt"],
    "disagreement": ["Coder wants asyncio; Reviewer wants threads"],
    "decision": "Start with threads; revisit asyncio at scale.",
}


def _council(members, **kwargs) -> Council:
    agents = [Spark(role, model=members) for role in ("researcher", "coder", "reviewer")]
    return Council(agents, **kwargs)


def _model() -> RoleScriptedModel:
    return RoleScriptedModel(
        text={
            "Researcher": ["R1: fetch politely.", "R2: fetch politely, with retries."],
            "Coder": ["C1: asyncio.", "C2: asyncio, retries agreed."],
            "Reviewer": ["V1: threads.", "V2: threads; retries fine."],
            "Chair": ["Build it with threads and retries, obeying robots.txt."],
        },
        json={"Chair": [SYNTHESIS]},
    )


def test_rounds_see_the_latest_positions_and_the_chair_synthesises(tmp_path):
    store = Store(tmp_path / "c.db")
    model = _model()
    events = []
    result = _council(model, store=store).run("Design a web scraper", rounds=2, on_event=events.append)
    assert result.status == "complete"
    assert (
        result.answer == "Build it with threads and retries, obeying robots.txt."
    )  # not the last member's words
    assert result.agreement == SYNTHESIS["agreement"] and result.disagreement == SYNTHESIS["disagreement"]
    assert result.decision.startswith("Start with threads")
    assert result.positions == [
        {"researcher": "R1: fetch politely.", "coder": "C1: asyncio.", "reviewer": "V1: threads."},
        {
            "researcher": "R2: fetch politely, with retries.",
            "coder": "C2: asyncio, retries agreed.",
            "reviewer": "V2: threads; retries fine.",
        },
    ]
    # in round 2 the coder sees the researcher's round-2 position and the reviewer's round-1 position
    coder_r2 = model.asked("Coder", "chat")[1][1]["content"]
    assert "Round 2 of 2" in coder_r2 and "Your position so far:\nC1: asyncio." in coder_r2
    assert (
        "- researcher: R2: fetch politely, with retries." in coder_r2
        and "- reviewer: V1: threads." in coder_r2
    )
    # the first speaker of round 1 sees nobody; the chair sees every final position and the synthesis
    assert "other members" not in model.asked("Researcher", "chat")[0][1]["content"]
    chair_prompt = model.asked("Chair", "chat")[0][1]["content"]
    assert "V2: threads; retries fine." in chair_prompt and "Decision: Start with threads" in chair_prompt
    assert "- respect robots.txt" in chair_prompt
    assert [s.role for s in result.steps] == ["researcher", "coder", "reviewer"] * 2 + ["chair"]
    assert [s.attempt for s in result.steps][:6] == [0, 0, 0, 1, 1, 1]
    assert result.score == result.steps[-1].score is not None
    assert result.memory["errors"] == [] and "credit" in result.memory
    assert [e.round for e in events if isinstance(e, RoundStarted)] == [1, 2, 3]
    assert sum(isinstance(e, StepScored) for e in events) == 7
    run = store.get_run(result.run_id)
    assert run["team"] == "council:council" and run["answer"] == result.answer
    assert len(run["steps"]) == 7 and all(s["score"] is not None for s in run["steps"])
    assert "Agreed:" in run["steps"][-1]["thoughts"][0]
    store.close()


def test_duplicate_roles_are_told_apart():
    model = RoleScriptedModel()
    council = Council([Spark("coder", model=model), Spark("coder", model=model)])
    result = council.run("Pick a name", rounds=1, mode="eval")
    assert list(result.positions[0]) == ["coder", "coder#2"]


def test_the_chair_may_use_its_own_model():
    members, chair = (
        _model(),
        RoleScriptedModel(text={"Chair": ["Chair's answer."]}, json={"Chair": [SYNTHESIS]}),
    )
    result = _council(members, model=chair).run("Design", rounds=1, mode="eval")
    assert result.answer == "Chair's answer." and members.asked("Chair") == [] and chair.asked("Chair")


def test_bad_councils_are_refused():
    with pytest.raises(OrchestrationError, match="at least one member"):
        Council([])
    with pytest.raises(OrchestrationError, match="Sparks"):
        Council([lambda t: t])
    council = _council(RoleScriptedModel())
    with pytest.raises(OrchestrationError, match="rounds"):
        council.run("x", rounds=0, mode="eval")


def test_cancel_skips_the_synthesis():
    model = _model()
    cancel = CancelToken()
    result = _council(model).run(
        "Design",
        rounds=3,
        mode="eval",
        cancel=cancel,
        on_event=lambda e: isinstance(e, StepScored) and cancel.set(),
    )
    assert result.status == "cancelled" and model.asked("Chair") == [] and len(result.steps) == 1
