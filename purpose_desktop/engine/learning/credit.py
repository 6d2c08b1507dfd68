"""Credit: after a train run, each memory it used gains or loses utility by the run's grounded outcome.

A memory's outcome for a run is half the run's final score (the critic's, anchored to tests) and half
the mean score of the steps that actually had it in their prompt, both on 0–1. It is compared with a
baseline — the mean final score of recent grounded train runs — so a memory is not blamed for a task that is
simply hard for the model. Only grounded scores teach (``grounding.GROUNDED``: given tests, tester
checks, examples, execution): a run whose final score is not grounded credits nothing, and a step
whose score is not grounded does not count towards a memory's outcome (the report lists both as
skipped, "not grounded"). Beyond ``credit_margin`` the run helped or hurt; utility moves by
``credit_rate`` × the advantage. ``demote_after`` hurting runs in a row send a promoted memory back
to review with the runs and numbers as its reason — except a lesson the user taught, which is only
flagged for review (``MemoryPolicy.demote_taught`` turns demotion on for those too): a style rule
such as "always add type hints" is not meant to raise the pass rate, and silently dropping it
would override the person's own instruction.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from purpose_desktop.engine.grounding import GROUNDED
from purpose_desktop.engine.memory.records import MemoryPolicy
from purpose_desktop.engine.memory.repo import CreditUpdate, MemoryRepo

MIN_BASELINE_RUNS = 3
NEUTRAL_BASELINE = 0.5
UTILITY_RANGE = (0.05, 1.0)
#: A "this was wrong" in chat counts as an outcome this far below the baseline (a clearly hurting run).
FEEDBACK_ADVANTAGE = -0.5


@dataclass(frozen=True)
class StepUse:
    """What credit needs from a step: its score and the memory ids its prompt carried."""

    seq: int
    score: float | None
    memory_ids: Sequence[str]
    grounded: bool = True  # False: only the judge (or static checks) stood behind the score


NOT_GROUNDED = "not grounded"


@dataclass(frozen=True)
class CreditReport:
    run_id: str
    baseline: float
    outcome_run: float
    updates: list[CreditUpdate]
    #: what gave no credit and why: {"run": "not grounded"} and/or {"steps": {seq: "not grounded"}}
    skipped: dict = field(default_factory=dict)

    @property
    def demoted(self) -> list[str]:
        return [u.memory_id for u in self.updates if u.demote_reason]

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "baseline": self.baseline,
            "outcome": self.outcome_run,
            "credited": {u.memory_id: u.verdict for u in self.updates},
            "demoted": self.demoted,
            "skipped": self.skipped,
        }


def _demotion(
    memory, verdict: str, streak: int, why: str, policy: MemoryPolicy
) -> tuple[str | None, str | None]:
    """(demote reason, flag reason) for a memory that just got ``verdict`` with ``streak`` hurts in a row."""
    if verdict != "hurt" or streak < policy.demote_after or memory.status != "promoted":
        return None, None
    if memory.taught and not policy.demote_taught:
        # The user's own rule is theirs to withdraw: it stays in use, and the review pane says why to look.
        if streak == policy.demote_after:
            return (
                None,
                f"flagged for review: {why}. Kept in use because you taught it; archive or edit it if it hurts.",
            )
        return None, None
    return f"demoted: {why}. Re-test or edit it before approving again.", None


def baseline(repo: MemoryRepo, run_id: str) -> float:
    """Mean final score (0–1) of the latest grounded train runs; NEUTRAL_BASELINE with fewer than 3."""
    scores = repo.recent_run_scores(20, exclude=run_id, grounded=sorted(GROUNDED))
    if len(scores) < MIN_BASELINE_RUNS:
        return NEUTRAL_BASELINE
    return round(statistics.fmean(scores) / 10.0, 4)


def apply_credit(
    store,
    run_id: str,
    run_score: float | None,
    steps: Sequence[StepUse],
    policy: MemoryPolicy | None = None,
    *,
    run_grounded: bool = True,
) -> CreditReport:
    """Credit every memory ``steps`` used, in one transaction; returns what moved (and what was demoted).

    ``run_grounded`` False (the run's score rests on the judge alone): nothing is credited. A step
    with ``grounded`` False is skipped: a memory only that step used gets no credit from this run.
    """
    policy = policy or MemoryPolicy()
    repo = MemoryRepo(store)
    run_outcome = (run_score or 0.0) / 10.0
    base = baseline(repo, run_id)
    skipped: dict = {}
    ungrounded_steps = {s.seq: NOT_GROUNDED for s in steps if not s.grounded and s.memory_ids}
    if not run_grounded:
        skipped["run"] = NOT_GROUNDED
        if ungrounded_steps:
            skipped["steps"] = ungrounded_steps
        return CreditReport(run_id, base, run_outcome, [], skipped)
    if ungrounded_steps:
        skipped["steps"] = ungrounded_steps
    used: dict[str, list[StepUse]] = {}
    for step in steps:
        if not step.grounded:
            continue
        for mid in dict.fromkeys(step.memory_ids):
            used.setdefault(mid, []).append(step)
    if not used:
        return CreditReport(run_id, base, run_outcome, [], skipped)
    updates = []
    for memory in repo.get_many(used):
        uses = used[memory.id]
        step_scores = [s.score / 10.0 for s in uses if s.score is not None]
        step_outcome = statistics.fmean(step_scores) if step_scores else run_outcome
        outcome = round(0.5 * run_outcome + 0.5 * step_outcome, 4)
        advantage = round(outcome - base, 4)
        verdict = (
            "helped"
            if advantage >= policy.credit_margin
            else "hurt"
            if advantage <= -policy.credit_margin
            else "neutral"
        )
        utility = min(
            UTILITY_RANGE[1], max(UTILITY_RANGE[0], memory.utility + policy.credit_rate * advantage)
        )
        streak = (
            memory.hurt_streak + 1 if verdict == "hurt" else 0 if verdict == "helped" else memory.hurt_streak
        )
        why = (
            f"hurt {streak} runs in a row (latest run {run_id[:8]}: outcome {outcome:.2f} vs "
            f"baseline {base:.2f}); utility {utility:.2f}"
        )
        reason, flag = _demotion(memory, verdict, streak, why, policy)
        updates.append(
            CreditUpdate(
                memory_id=memory.id,
                run_id=run_id,
                steps=[s.seq for s in uses],
                outcome=outcome,
                baseline=base,
                advantage=advantage,
                verdict=verdict,
                utility_after=round(utility, 4),
                helped=memory.helped + (verdict == "helped"),
                hurt=memory.hurt + (verdict == "hurt"),
                hurt_streak=streak,
                demote_reason=reason,
                flag_reason=flag,
            )
        )
    repo.apply_credits(updates)
    return CreditReport(run_id, base, run_outcome, updates, skipped)


def feedback_key(message_id: str) -> str:
    """The ``memory_credits.run_id`` of a chat verdict: one credit per memory and message, ever."""
    return f"chat:{message_id}"


def apply_feedback(
    store, message_id: str, memory_ids: Sequence[str], policy: MemoryPolicy | None = None
) -> CreditReport:
    """The person said a chat answer was wrong: each memory that shaped it was "hurt", in one transaction.

    Same rules as :func:`apply_credit` with a fixed negative advantage (``FEEDBACK_ADVANTAGE``): utility
    drops by ``credit_rate`` × 0.5, ``hurt_streak`` grows, ``demote_after`` in a row send a distilled
    lesson back to review and only flag a taught one. Idempotent per message (see ``feedback_key``).
    """
    policy = policy or MemoryPolicy()
    repo = MemoryRepo(store)
    key = feedback_key(message_id)
    outcome, base = 0.0, -FEEDBACK_ADVANTAGE
    updates = []
    for memory in repo.get_many(memory_ids):
        utility = min(
            UTILITY_RANGE[1], max(UTILITY_RANGE[0], memory.utility + policy.credit_rate * FEEDBACK_ADVANTAGE)
        )
        streak = memory.hurt_streak + 1
        why = f"marked wrong in chat {streak} times in a row (latest: message {message_id[:8]}); utility {utility:.2f}"
        reason, flag = _demotion(memory, "hurt", streak, why, policy)
        updates.append(
            CreditUpdate(
                memory_id=memory.id,
                run_id=key,
                steps=[],
                outcome=outcome,
                baseline=base,
                advantage=FEEDBACK_ADVANTAGE,
                verdict="hurt",
                utility_after=round(utility, 4),
                helped=memory.helped,
                hurt=memory.hurt + 1,
                hurt_streak=streak,
                demote_reason=reason,
                flag_reason=flag,
                note=f"marked wrong in chat (message {message_id[:8]}): utility {memory.utility:.2f} → {utility:.2f}",
            )
        )
    repo.apply_credits(updates)
    return CreditReport(key, base, outcome, updates)


#: A "Good answer" in chat: this far above the baseline with a passing sandbox run of the answer's
#: code (grounded evidence), half of it on the person's word alone.
GOOD_ADVANTAGE_RUN = 0.5
GOOD_ADVANTAGE_WORD = 0.25


def apply_good_feedback(
    store,
    message_id: str,
    memory_ids: Sequence[str],
    *,
    passed_run: bool,
    policy: MemoryPolicy | None = None,
) -> CreditReport:
    """The person said a chat answer was good: each memory that shaped it "helped", in one transaction.

    The mirror of :func:`apply_feedback`: utility rises by ``credit_rate`` × the advantage (larger when
    the answer's code passed a sandbox run), ``helped`` grows and the hurt streak resets. Shares the
    per-message key, so one answer gives one verdict — good or wrong — per memory, ever.
    """
    policy = policy or MemoryPolicy()
    repo = MemoryRepo(store)
    key = feedback_key(message_id)
    advantage = GOOD_ADVANTAGE_RUN if passed_run else GOOD_ADVANTAGE_WORD
    outcome, base = 1.0, 1.0 - advantage
    why = "a passing sandbox run" if passed_run else "the person's word, no run"
    updates = []
    for memory in repo.get_many(memory_ids):
        utility = min(
            UTILITY_RANGE[1], max(UTILITY_RANGE[0], memory.utility + policy.credit_rate * advantage)
        )
        updates.append(
            CreditUpdate(
                memory_id=memory.id,
                run_id=key,
                steps=[],
                outcome=outcome,
                baseline=base,
                advantage=advantage,
                verdict="helped",
                utility_after=round(utility, 4),
                helped=memory.helped + 1,
                hurt=memory.hurt,
                hurt_streak=0,
                note=(
                    f"marked good in chat (message {message_id[:8]}; {why}): "
                    f"utility {memory.utility:.2f} → {utility:.2f}"
                ),
            )
        )
    repo.apply_credits(updates)
    return CreditReport(key, base, outcome, updates)
