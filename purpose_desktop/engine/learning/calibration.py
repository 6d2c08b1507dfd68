"""critic_calibration: lessons about the critic itself, drawn when its judge and the execution disagree.

When the judge said ≥ 7/10 and a check failed, or ≤ 3/10 while every check that ran passed, the judge is
not to be trusted for that kind of task. A train run then submits a ``critic_calibration`` candidate scoped
to the task family (critic.task_family): it is immune-scanned, quarantined and shown for approval like any
lesson. Once the person approves it, the Team hands ``load_calibration`` to the critic, and the judge's
opinion counts at the weight the memory names ("judge weight 0.5") for that family — less pull on
scores that no test grounds.
"""

from __future__ import annotations

import re

from purpose_desktop.engine.critic import Score, task_family
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.memory.repo import MemoryRepo

KIND = "critic_calibration"
TAG_PREFIX = "family-"
OVERRATES_AT = 7  # the judge said at least this while a check failed
UNDERRATES_AT = 3  # the judge said at most this while every check passed
WEIGHT = 0.5
_WEIGHT = re.compile(r"judge weight (\d+(?:\.\d+)?)")


def disagreement(score: Score, task: str, role: str) -> dict | None:
    """What a step's judge and its checks disagreed on, or None when they agree (or nothing ran)."""
    if score.judge_score is None:
        return None
    ran = [c for c in score.checks if c.ran]
    if not ran:
        return None
    family = task_family(task)
    if score.judge_score >= OVERRATES_AT and score.failed:
        return {"family": family, "judge": score.judge_score, "checks": "failed", "role": role}
    if score.judge_score <= UNDERRATES_AT and not score.failed and all(c.all_passed for c in ran):
        return {"family": family, "judge": score.judge_score, "checks": "passed", "role": role}
    return None


def calibration_text(signal: dict) -> str:
    how = "failed" if signal["checks"] == "failed" else "all passed"
    return (
        f"Critic calibration for {signal['family']} tasks: the judge said {signal['judge']}/10 while the "
        f"checks {how}. Count the judge's opinion less here (judge weight {WEIGHT:g}); tests decide."
    )


def submit_calibrations(store, signals: list[dict], run_id: str, policy=None) -> list[dict]:
    """Submit one candidate per family that disagreed in this run (scanned, quarantined, never auto-used).

    Nothing while ``policy`` has the "critic_calibration" method turned off.
    """
    bank = MemoryBank(store, policy) if policy is not None else MemoryBank(store)
    if not bank.policy.uses(KIND):
        return []
    out, seen = [], set()
    for signal in signals:
        key = (signal["family"], signal["checks"])
        if key in seen:
            continue
        seen.add(key)
        result = bank.submit(
            calibration_text(signal),
            kind=KIND,
            scope={"tags": [TAG_PREFIX + signal["family"]]},
            provenance={
                "source": "critic",
                "run_id": run_id,
                "role": signal["role"],
                "judge": signal["judge"],
            },
            actor="critic",
        )
        out.append({"id": result.memory.id, "outcome": result.outcome, "family": signal["family"]})
    return out


def load_calibration(store) -> dict[str, float]:
    """Task family → judge weight, from the promoted critic_calibration memories (the lowest weight wins)."""
    weights: dict[str, float] = {}
    for m in MemoryRepo(store).list(status="promoted", kind=KIND):
        found = _WEIGHT.search(m.text)
        if found is None:
            continue
        weight = max(0.0, min(1.0, float(found.group(1))))
        for tag in m.scope.tags:
            if tag.startswith(TAG_PREFIX):
                family = tag[len(TAG_PREFIX) :]
                weights[family] = min(weights.get(family, 1.0), weight)
    return weights
