"""Replay A/B test: re-run past tasks with and without a memory (same seeds, n each) in LEARNING_VALIDATION.

``retest`` replays one memory and lets the bank's policy act on the evidence; ``replay_pending``
re-tests the quarantined memories that have none yet. The arm runner comes from
``agents.team.replay_arm`` (or ``replay_arm_for_memory``); this module never builds a team itself.

The runs themselves write nothing (validation mode keeps traces out); what is stored is the evidence —
scores with and without, n, mean delta, paired wins/losses and a verdict — as one "evidence" write.
A cancelled replay stores nothing and leaves the memory as it was.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.records import PROMOTED, QUARANTINED, Memory, MemoryPolicy, ReplayEvidence
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


# (task, tests, seed, include, exclude, cancel) -> the run's final score (0–10) or None
RunArm = Callable[[str, str | None, int, Sequence[Memory], Sequence[str], CancelToken], float | None]


def replay_tasks(store, memory: Memory, *, similar: int = 2) -> list[ReplayTask]:
    """The memory's originating task(s) from its provenance, then the most similar other past tasks."""
    runs = _past_runs(store)
    by_id = {r["id"]: r for r in runs}
    chosen: list[ReplayTask] = []
    seen: set[str] = set()
    for p in memory.provenance:
        run = by_id.get(p.get("run_id") or "")
        if run is not None and run["task"] not in seen:
            chosen.append(ReplayTask(run["task"], run["tests"], run["id"]))
            seen.add(run["task"])
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
    if not n or delta is None:
        return "untested"
    if delta >= margin and wins > losses:
        return "helps"
    if delta <= -margin and losses > wins:
        return "hurts"
    return "neutral"


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
                score = run_arm(t.task, t.tests, seed, include, exclude, cancel)
                if cancel.is_set():
                    status = "cancelled"
                    break
                done += 1
                pair.append(0.0 if score is None else float(score))
                report(ReplayProgress(memory.id, done, total, arm, t.task, seed, score))
            if status == "cancelled":
                break
            without_scores.append(pair[0])
            with_scores.append(pair[1])
        if status == "cancelled":
            break
    pairs = list(zip(with_scores, without_scores, strict=True))
    mean_with = round(statistics.fmean(with_scores), 3) if with_scores else None
    mean_without = round(statistics.fmean(without_scores), 3) if without_scores else None
    delta = round(mean_with - mean_without, 3) if pairs else None
    wins = sum(w > wo for w, wo in pairs)
    losses = sum(w < wo for w, wo in pairs)
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
        verdict=verdict_for(delta, wins, losses, len(pairs), policy.verdict_margin)
        if status == "complete"
        else "untested",
        status=status,
    )
    if status != "complete" or not save:
        return evidence
    with store.run_mode(RunMode.LEARNING_VALIDATION):
        return MemoryRepo(store).record_evidence(evidence)


def describe(evidence: dict | None) -> str:
    """One line for the review pane and the CLI."""
    if not evidence:
        return "not tested yet"
    if evidence.get("verdict") == "untested":
        return "untested: no past task to replay"
    return (
        f"{evidence['verdict']}: {evidence['mean_with']} with vs {evidence['mean_without']} without "
        f"(delta {evidence['delta']:+.2f}, n={evidence['n']}, wins {evidence['wins']}/{evidence['n']}; "
        f"seeds {json.dumps(evidence.get('seeds', []))})"
    )


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
