"""Role-prompt optimisation, the evidence half: few-shot demos from a team's passing, grounded runs of one role.

DSPy's BootstrapFewShot keeps the traces whose output passed the metric and tries sets of them as
demonstrations. Here the "metric" is the critic's grounding: a step is a demo only when its score rests
on executed checks (``grounded_by`` in ``grounding.GROUNDED``: given tests, tester checks written blind,
examples from the task, execution) and those checks all passed. Judge-only or static scores never make a
demo. Every demo's text is immune-scanned first; flagged text is excluded (and the proposal says so).
A demo whose task is one of the evaluation suite's tasks is excluded too: it would hand the suite its
own answer, and the before/after numbers would mean nothing.

This module proposes text only. Scoring the candidates on the suite (EVAL_TEST, same seeds) and
storing the proposal is ``services/prompt_opt.py``; the person applies it.
"""

from __future__ import annotations

import difflib
import json
import random
import re
from dataclasses import asdict, dataclass
from typing import Any

from purpose_desktop.engine.critic import extract_code
from purpose_desktop.engine.grounding import GROUNDED
from purpose_desktop.engine.immune import scan

#: The line that opens the demo block in a role's instructions; text from it on is the optimiser's.
DEMO_HEADER = "Examples of good answers from this team's passing runs (each passed its checks):"
MAX_DEMO_CHARS = 1200
MAX_DEMOS = 2
MAX_CANDIDATES = 3


@dataclass(frozen=True)
class Demo:
    """One passing, grounded step of the role: the task it was given and the answer that passed."""

    run_id: str
    seq: int
    task: str
    output: str
    score: float
    grounded_by: str
    tests: dict
    started_at: str

    def text(self) -> str:
        return f"Task: {self.task.strip()}\nAnswer:\n{self.output.strip()}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _norm(text: str) -> str:
    return " ".join((text or "").lower().split())


def _checks_passed(tests: dict | None) -> bool:
    """The step's checks ran (not refused, not timed out) and every one passed."""
    if not tests or tests.get("refused") or tests.get("timed_out"):
        return False
    return int(tests.get("passed") or 0) > 0 and int(tests.get("failed") or 0) == 0


def passing_demos(
    store,
    *,
    team_id: str,
    team_name: str,
    role: str,
    exclude_tasks: list[str] = (),
    max_chars: int = MAX_DEMO_CHARS,
    limit: int = 500,
) -> tuple[list[Demo], list[dict[str, Any]], dict[str, int]]:
    """The role's passing, grounded steps from the team's past runs: (demos, excluded with why, counts).

    Demos are one per task (the best score, then the newest), best first. ``excluded`` lists the steps
    that passed but may not be used: flagged by the immune scan, an evaluation-suite task, or too long.
    ``counts`` says how many steps of the role were seen and how many were grounded and passing.
    """
    rows = store.connection.query(
        """
        SELECT r.id AS run_id, r.task, r.team, r.meta_json, r.started_at, s.seq, s.output, s.score, s.tests_json
        FROM steps s JOIN runs r ON r.id = s.run_id
        WHERE s.role = ? AND r.status = 'complete'
        ORDER BY r.started_at DESC, s.seq DESC LIMIT ?
        """,
        [role, limit],
    )
    suite = {_norm(t) for t in exclude_tasks}
    counts = {"steps": 0, "grounded_passing": 0}
    best: dict[str, Demo] = {}
    excluded: list[dict[str, Any]] = []
    for r in rows:
        meta = json.loads(r["meta_json"] or "{}")
        spec_id = (meta.get("team_spec") or {}).get("id")
        if spec_id != team_id and (spec_id is not None or r["team"] != team_name):
            continue  # another team's run (a run without a recorded spec counts by the team's name)
        counts["steps"] += 1
        per_step = meta.get("steps_grounded_by") or []
        grounded_by = per_step[r["seq"]] if 0 <= r["seq"] < len(per_step) else None
        tests = json.loads(r["tests_json"] or "null")
        if grounded_by not in GROUNDED or not _checks_passed(tests) or r["score"] is None:
            continue
        counts["grounded_passing"] += 1
        demo = Demo(
            run_id=r["run_id"],
            seq=int(r["seq"]),
            task=r["task"] or "",
            output=(r["output"] or "").strip(),
            score=float(r["score"]),
            grounded_by=grounded_by,
            tests={k: tests.get(k) for k in ("source", "passed", "failed")},
            started_at=r["started_at"] or "",
        )
        where = {"run_id": demo.run_id, "seq": demo.seq, "task": demo.task[:120]}
        if _norm(demo.task) in suite:
            excluded.append(
                {**where, "reason": "its task is in the evaluation suite (it would leak the answer)"}
            )
            continue
        if len(demo.text()) > max_chars:
            excluded.append({**where, "reason": f"longer than {max_chars} characters"})
            continue
        verdict = scan(demo.text(), context="memory")
        flagged = [f for f in verdict.reasons if not f.allowed]
        if verdict.blocked or flagged:
            why = (
                "; ".join(f"{f.category}: {f.message}" for f in flagged[:2]) or verdict.category or "flagged"
            )
            excluded.append({**where, "reason": f"flagged by the immune scan ({why})"})
            continue
        key = _norm(demo.task)
        kept = best.get(key)
        if kept is None or demo.score > kept.score:  # rows come newest first: ties keep the newest
            best[key] = demo
    newest_first = sorted(best.values(), key=lambda d: d.started_at, reverse=True)
    return sorted(newest_first, key=lambda d: -d.score), excluded, counts


def candidate_sets(
    pool: list[Demo], *, max_demos: int = MAX_DEMOS, max_candidates: int = MAX_CANDIDATES, seed: int = 0
) -> list[list[Demo]]:
    """Demo sets to try, as DSPy's random search over bootstrapped demos: the best ``max_demos`` first, then
    distinct seeded random draws from the pool (fewer when the pool has fewer distinct sets)."""
    k = max(1, min(max_demos, len(pool)))
    if not pool or max_candidates < 1:
        return []
    sets = [pool[:k]]
    seen = {tuple((d.run_id, d.seq) for d in pool[:k])}
    rng = random.Random(seed)
    for _ in range(max_candidates * 20):
        if len(sets) >= max_candidates:
            break
        draw = sorted(rng.sample(pool, k), key=pool.index)
        key = tuple((d.run_id, d.seq) for d in draw)
        if key not in seen:
            seen.add(key)
            sets.append(draw)
    return sets


def distilled_line(demos: list[Demo]) -> str:
    """One instruction line that every demo bears out (code in a fenced block, a def), or ""."""
    if not demos:
        return ""
    fenced = all(re.search(r"```(?:python|py)?\s*\n", d.output) for d in demos)
    defines = all(re.search(r"^\s*def \w+\(", extract_code(d.output) or "", re.MULTILINE) for d in demos)
    if fenced and defines:
        return "Like the examples, answer with one complete ```python block that defines the function the task names."
    if fenced:
        return "Like the examples, put the whole answer's code in one ```python block."
    return ""


def base_instructions(instructions: str) -> str:
    """The person's part of the instructions: everything before an earlier proposal's demo block."""
    return (instructions or "").split(DEMO_HEADER)[0].rstrip()


def compose(instructions: str, demos: list[Demo], line: str = "") -> str:
    """The role's instructions with ``demos`` (replacing any earlier demo block) and the distilled line."""
    parts = [base_instructions(instructions)]
    if line:
        parts.append(line)
    block = [DEMO_HEADER]
    for n, d in enumerate(demos, 1):
        block.append(f"Example {n}\n{d.text()}")
    parts.append("\n\n".join(block))
    return "\n\n".join(p for p in parts if p)


def instruction_diff(before: str, after: str) -> str:
    """A unified diff of the instructions, line by line."""
    return "\n".join(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), "instructions now", "proposed", lineterm="", n=2
        )
    )


def summary(entry: dict[str, Any]) -> dict[str, Any]:
    """What a proposal keeps of one suite run: the rate, n, how many were grounded, and each task."""
    return {
        "status": entry.get("status"),
        "pass_rate": entry.get("pass_rate"),
        "n_tasks": entry.get("n_tasks", 0),
        "n_passed": entry.get("n_passed", 0),
        "n_grounded": entry.get("n_grounded", 0),
        "mean_score": _mean([r.get("score") for r in entry.get("results", [])]),
        "results": [
            {k: r.get(k) for k in ("name", "passed", "score", "grounded_by", "tests", "status")}
            for r in entry.get("results", [])
        ],
    }


def _mean(values) -> float | None:
    nums = [float(v) for v in values if v is not None]
    return sum(nums) / len(nums) if nums else None


def rank_key(result: dict[str, Any]) -> tuple[float, float]:
    """How candidates compare: suite pass rate, then mean step score (a tie-break, never a win on its own)."""
    return (result.get("pass_rate") or 0.0, result.get("mean_score") or 0.0)


def _unfounded(result: dict[str, Any]) -> int:
    """Tasks whose tests could not run (the sandbox refused, or the run broke): those numbers rest on nothing.

    A task where the role wrote no code is not one of them: its tests ran against nothing, and it failed.
    """
    return sum(
        1
        for r in result.get("results", [])
        if r.get("status") == "error" or (r.get("tests") or {}).get("refused")
    )


def verdict(before: dict[str, Any], after: dict[str, Any]) -> tuple[bool, str]:
    """Recommended only when every task's tests could run both times and more suite tasks passed after."""
    b, a = before, after
    if b.get("status") != "complete" or a.get("status") != "complete":
        return False, "the suite did not run to the end"
    if _unfounded(b) or _unfounded(a):
        return (
            False,
            "some suite tasks' tests could not run (the sandbox refused), so the numbers rest on nothing",
        )
    if a["n_passed"] > b["n_passed"]:
        return (
            True,
            f"more suite tasks passed: {b['n_passed']}/{b['n_tasks']} → {a['n_passed']}/{a['n_tasks']}",
        )
    if a["n_passed"] == b["n_passed"]:
        return False, f"the suite did no better: {b['n_passed']}/{b['n_tasks']} both times"
    return False, f"the suite did worse: {b['n_passed']}/{b['n_tasks']} → {a['n_passed']}/{a['n_tasks']}"


def explanation(
    *,
    role: str,
    demos: list[Demo],
    n_pool: int,
    counts: dict[str, int],
    excluded: list[dict],
    line: str,
    n_candidates: int,
    suite_label: str,
    seed: int,
    why: str,
) -> str:
    """Plain words: what produced the proposal and what the suite said."""
    grounds = sorted({d.grounded_by.replace("_", " ") for d in demos})
    one = len(demos) == 1
    text = (
        f"{len(demos)} example{'' if one else 's'} of the {role}'s own answers {'was' if one else 'were'} added to "
        f"its instructions, chosen from {n_pool} passing answer{'s' if n_pool != 1 else ''} in this team's past "
        f"runs (of {counts.get('steps', 0)} {role} steps seen; only answers whose checks ran and all passed "
        f"count — here: {', '.join(grounds) or '–'})."
    )
    if line:
        text += " One instruction line was drawn from what the examples share."
    if excluded:
        text += f" {len(excluded)} passing answer{'s were' if len(excluded) != 1 else ' was'} left out (see why below)."
    sets = "1 set of examples was" if n_candidates == 1 else f"{n_candidates} sets of examples were each"
    text += (
        f" {sets} scored on {suite_label} in evaluation mode (nothing learned or traced), with the same seed "
        f"({seed}) as the instructions now{'' if n_candidates == 1 else '; the best is shown'}. Verdict: {why}."
    )
    return text
