"""Replay A/B test: re-run past tasks with and without a memory (same seeds, n each) in LEARNING_VALIDATION.

``retest`` replays one memory and lets the bank's policy act on the evidence; ``replay_pending``
re-tests the quarantined memories that have none yet. The arm runner comes from
``agents.replay_arms.replay_arm`` (or ``replay_arm_for_memory``); this module never builds a team itself.

The runs themselves write nothing (validation mode keeps traces out); what is stored is the evidence —
scores with and without, n, mean delta, paired wins/losses and a verdict — as one "evidence" write.
A cancelled replay stores nothing and leaves the memory as it was.

Only grounded pairs decide. An arm returns its score and how that score was grounded (``ArmResult``,
or a ``(score, grounded_by)`` tuple; a bare float still works but says nothing about grounding, so it
counts as not grounded). A pair where either arm's score is not grounded (``grounding.GROUNDED``) is
recorded but skipped. The verdict is an exact two-sided sign test over the grounded, non-tied pairs
plus their mean delta: ``helps`` needs p < SIGN_ALPHA (0.1), more wins than losses and a mean delta
≥ the policy's ``verdict_margin``; ``hurts`` the mirror image. Anything short of p < 0.1 (fewer than 5
non-tied grounded pairs can never reach it) is "not enough evidence": verdict ``neutral``, or
``untested`` when no pair was grounded.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.grounding import is_grounded
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.records import (
    PROMOTED,
    QUARANTINED,
    SIGN_ALPHA,
    Memory,
    MemoryPolicy,
    ReplayEvidence,
    describe_grounding,
)
from purpose_desktop.engine.memory.repo import MemoryRepo
from purpose_desktop.engine.runmode import RunMode

if TYPE_CHECKING:
    from purpose_desktop.engine.memory.api import MemoryBank


@dataclass(frozen=True)
class ReplayTask:
    task: str
    tests: str | None = None
    run_id: str | None = None  # the trace it came from


@dataclass(frozen=True)
class ReplayProgress:
    """One finished replay run: ``done`` of ``total``, which arm, and its score."""

    memory_id: str
    done: int
    total: int
    arm: str  # "with" | "without"
    task: str
    seed: int
    score: float | None


@dataclass(frozen=True)
class ArmResult:
    """One replay run: its final score (0–10, None when it failed) and what that score rests on."""

    score: float | None
    grounded_by: str | None = None  # one of grounding.GROUNDS; None: the arm did not say


# (task, tests, seed, include, exclude, cancel) -> ArmResult, (score, grounded_by), or a bare score / None
RunArm = Callable[
    [str, str | None, int, Sequence[Memory], Sequence[str], CancelToken],
    "ArmResult | tuple[float | None, str | None] | float | None",
]


def arm_result(value) -> ArmResult:
    """Whatever an arm returned, as an ArmResult (a bare float: grounding not recorded)."""
    if isinstance(value, ArmResult):
        return value
    if isinstance(value, tuple):
        score, grounded_by = (tuple(value) + (None, None))[:2]
        return ArmResult(None if score is None else float(score), grounded_by)
    return ArmResult(None if value is None else float(value), None)


def sign_test(wins: int, losses: int) -> float | None:
    """Exact two-sided sign test p-value for ``wins`` vs ``losses`` (ties dropped); None without pairs.

    p = min(1, 2 · P(X ≤ min(wins, losses))) with X ~ Binomial(wins + losses, 1/2).
    """
    n = wins + losses
    if n <= 0:
        return None
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return round(min(1.0, 2 * tail), 6)


def replay_tasks(store, memory: Memory, *, similar: int = 2) -> list[ReplayTask]:
    """The memory's originating task(s) from its provenance (a run, or a chat question with its tests), then
    the most similar other past tasks."""
    runs = _past_runs(store)
    by_id = {r["id"]: r for r in runs}
    chosen: list[ReplayTask] = []
    seen: set[str] = set()
    for p in memory.provenance:
        run = by_id.get(p.get("run_id") or "")
        if run is not None and run["task"] not in seen:
            chosen.append(ReplayTask(run["task"], run["tests"], run["id"]))
            seen.add(run["task"])
        elif run is None and isinstance(p.get("task"), str) and p["task"].strip() and p["task"] not in seen:
            # A lesson from a chat answer: its question (and the chat's tests, if any) is its origin.
            tests = p.get("tests")
            chosen.append(ReplayTask(p["task"], tests if isinstance(tests, str) and tests.strip() else None))
            seen.add(p["task"])
    others = [r for r in runs if r["task"] not in seen]
    # one row per distinct task, the newest (runs come newest first)
    distinct = list({r["task"]: r for r in reversed(others)}.values())
    if distinct and similar > 0:
        anchor = chosen[0].task if chosen else memory.text
        vectors = similarity.embed([anchor] + [r["task"] for r in distinct])
        sims = vectors[1:] @ vectors[0]
        order = sorted(range(len(distinct)), key=lambda i: (-float(sims[i]), distinct[i]["task"]))
        for i in order[:similar]:
            r = distinct[i]
            chosen.append(ReplayTask(r["task"], r["tests"], r["id"]))
    return chosen


def _past_runs(store, limit: int = 200) -> list[dict]:
    out = []
    for r in store.list_runs(limit=limit):
        if r.get("mode") != "train" or r.get("status") != "complete":
            continue
        meta = r.get("meta") or {}
        tests = meta.get("tests_text") if isinstance(meta, dict) else None
        out.append({"id": r["id"], "task": r["task"], "tests": tests if isinstance(tests, str) else None})
    return out


def verdict_for(delta: float | None, wins: int, losses: int, n: int, margin: float) -> str:
    """The verdict from grounded pairs: ``n`` of them, ``wins``/``losses`` non-tied, mean ``delta``."""
    return grounded_verdict(delta, wins, losses, n, margin)[0]


def grounded_verdict(delta: float | None, wins: int, losses: int, n: int, margin: float) -> tuple[str, float | None, str]:
    """(verdict, sign-test p, reason in plain words) for ``n`` grounded pairs."""
    if not n or delta is None:
        return "untested", None, "no grounded pairs: the replays had no tests, so they cannot decide"
    p = sign_test(wins, losses)
    if p is None or p >= SIGN_ALPHA:
        return "neutral", p, "not enough evidence"
    if delta >= margin and wins > losses:
        return "helps", p, "helps"
    if delta <= -margin and losses > wins:
        return "hurts", p, "hurts"
    return "neutral", p, "a consistent but small difference"


def replay(
    store,
    memory: Memory,
    run_arm: RunArm,
    *,
    tasks: Sequence[ReplayTask] | None = None,
    n: int | None = None,
    seeds: Sequence[int] | None = None,
    policy: MemoryPolicy | None = None,
    progress: Callable[[ReplayProgress], None] | None = None,
    cancel: CancelToken | None = None,
    save: bool = True,
) -> ReplayEvidence:
    """Run every task ``n`` times with and without ``memory`` (paired by seed) and store the evidence."""
    policy = policy or MemoryPolicy()
    cancel = cancel or CancelToken()
    report = progress or (lambda _p: None)
    n = max(1, n if n is not None else policy.replay_n)
    seeds = list(seeds) if seeds is not None else list(range(n))
    if len(seeds) < n:
        raise ValueError(f"need {n} seeds, got {len(seeds)}")
    seeds = seeds[:n]
    tasks = list(tasks) if tasks is not None else replay_tasks(store, memory, similar=policy.replay_similar)
    total = 2 * len(tasks) * n
    with_scores: list[float] = []
    without_scores: list[float] = []
    grounds_with: list[str | None] = []
    grounds_without: list[str | None] = []
    done = 0
    status = "complete"
    for t in tasks:
        for seed in seeds:
            pair = []
            for arm in ("without", "with"):
                if cancel.is_set():
                    status = "cancelled"
                    break
                include = [memory] if arm == "with" else []
                exclude = [] if arm == "with" else [memory.id]
                result = arm_result(run_arm(t.task, t.tests, seed, include, exclude, cancel))
                if cancel.is_set():
                    status = "cancelled"
                    break
                done += 1
                pair.append(result)
                report(ReplayProgress(memory.id, done, total, arm, t.task, seed, result.score))
            if status == "cancelled":
                break
            without_scores.append(0.0 if pair[0].score is None else pair[0].score)
            with_scores.append(0.0 if pair[1].score is None else pair[1].score)
            grounds_without.append(pair[0].grounded_by)
            grounds_with.append(pair[1].grounded_by)
        if status == "cancelled":
            break
    pairs = list(zip(with_scores, without_scores, strict=True))
    mean_with = round(statistics.fmean(with_scores), 3) if with_scores else None
    mean_without = round(statistics.fmean(without_scores), 3) if without_scores else None
    delta = round(mean_with - mean_without, 3) if pairs else None
    wins = sum(w > wo for w, wo in pairs)
    losses = sum(w < wo for w, wo in pairs)
    grounded = [
        (w, wo)
        for (w, wo), gw, gwo in zip(pairs, grounds_with, grounds_without, strict=True)
        if is_grounded(gw) and is_grounded(gwo)
    ]
    g_wins = sum(w > wo for w, wo in grounded)
    g_losses = sum(w < wo for w, wo in grounded)
    g_delta = round(statistics.fmean(w - wo for w, wo in grounded), 3) if grounded else None
    verdict, p_value, reason = grounded_verdict(g_delta, g_wins, g_losses, len(grounded), policy.verdict_margin)
    if status != "complete":
        verdict, reason = "untested", "cancelled"
    evidence = ReplayEvidence(
        memory_id=memory.id,
        tasks=[t.task for t in tasks],
        seeds=seeds,
        n=len(pairs),
        scores_with=with_scores,
        scores_without=without_scores,
        mean_with=mean_with,
        mean_without=mean_without,
        delta=delta,
        wins=wins,
        losses=losses,
        verdict=verdict,
        status=status,
        grounds_with=grounds_with,
        grounds_without=grounds_without,
        n_grounded=len(grounded),
        n_ungrounded=len(pairs) - len(grounded),
        grounded_wins=g_wins,
        grounded_losses=g_losses,
        grounded_ties=len(grounded) - g_wins - g_losses,
        grounded_delta=g_delta,
        p_value=p_value,
        enough_evidence=p_value is not None and p_value < SIGN_ALPHA,
        verdict_reason=reason,
    )
    if status != "complete" or not save:
        return evidence
    with store.run_mode(RunMode.LEARNING_VALIDATION):
        return MemoryRepo(store).record_evidence(evidence)


def describe(evidence: dict | None) -> str:
    """One line for the review pane and the CLI."""
    if not evidence:
        return "not tested yet"
    if evidence.get("verdict") == "untested" and not evidence.get("n"):
        return "untested: no past task to replay"
    line = (
        f"{evidence['verdict']}: {evidence['mean_with']} with vs {evidence['mean_without']} without "
        f"(delta {evidence['delta']:+.2f}, n={evidence['n']}, wins {evidence['wins']}/{evidence['n']}; "
        f"seeds {json.dumps(evidence.get('seeds', []))})"
    )
    return f"{line}; {describe_grounding(evidence)}"


def retest(
    bank: MemoryBank,
    memory_id: str,
    arm: RunArm,
    *,
    tasks: Sequence[ReplayTask] | None = None,
    n: int | None = None,
    seeds: Sequence[int] | None = None,
    progress: Callable[[ReplayProgress], None] | None = None,
    cancel: CancelToken | None = None,
) -> ReplayEvidence:
    """Replay A/B test now; then the bank's policy acts on the evidence (auto-promote if on, demote if it hurts)."""
    m = bank.repo.get(memory_id)
    if m.status not in (QUARANTINED, PROMOTED):
        raise InputError(
            f"This memory is {m.status}; only quarantined or promoted memories are re-tested.",
            "Edit it first.",
        )
    evidence = replay(
        bank.store,
        m,
        arm,
        tasks=tasks,
        n=n,
        seeds=seeds,
        policy=bank.policy,
        progress=progress,
        cancel=cancel,
    )
    if evidence.status == "complete" and bank.store.allows("memory"):
        bank.apply_policy(m.id, evidence)
    return evidence


def replay_pending(
    bank: MemoryBank,
    arm: RunArm,
    *,
    limit: int = 10,
    progress: Callable[[ReplayProgress], None] | None = None,
    cancel: CancelToken | None = None,
) -> list[ReplayEvidence]:
    """Re-test quarantined memories that have no evidence yet, oldest first, until cancelled."""
    cancel = cancel or CancelToken()
    pending = [m for m in reversed(bank.repo.list(status=QUARANTINED)) if not m.evidence][:limit]
    out = []
    for m in pending:
        if cancel.is_set():
            break
        out.append(retest(bank, m.id, arm, progress=progress, cancel=cancel))
    return out
