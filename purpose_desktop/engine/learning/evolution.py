"""Lesson evolution and hindsight: proposals, never changes — each goes through scan → quarantine → replay → approval.

* **Merge**: two lessons of the same kind that say nearly the same thing (cosine ≥ ``MERGE_SIMILARITY``
  but below the de-duplication threshold, which already folds exact restatements together) become one
  proposed lesson — written by the model when one is given, else the two joined — scoped to what both
  covered. Approving it archives the two it replaces (one Undo brings them back).
* **Split**: a promoted lesson whose learned expected effect (``memory.value``) helps one task family and
  hurts another, each over ≥ ``SPLIT_MIN_RUNS`` grounded runs, becomes a proposed copy scoped to the family
  it helps (by the task words of that family). Approving it archives the original.
* **Retire**: a promoted lesson (not one the person taught) whose utility fell in each of its last
  ``RETIRE_AFTER`` grounded runs goes back to review with the numbers as its reason; the person archives
  it or approves it again.
* **Hindsight** (``hindsight_case``): a grounded run whose answer is not its best-checked code (a Flow
  loop or a retry that made things worse) yields an ``episodic_case`` for what an earlier attempt actually
  achieved, with that code and its numbers.

Each proposal says in plain words what produced it (``provenance``: source "evolution" or "hindsight",
the action, the ids it came from and the numbers), and the Memory pane shows that with the usual replay
evidence once it is re-tested.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from purpose_desktop.engine.critic import extract_code
from purpose_desktop.engine.memory.records import PROMOTED, QUARANTINED, TAUGHT_BY_USER, Memory, Scope
from purpose_desktop.engine.memory.value import FAMILIES, expected_effects
from purpose_desktop.engine.models import GenerationSettings

MERGE_SIMILARITY = 0.6
SPLIT_MIN_RUNS = 3
SPLIT_EFFECT = 0.1
RETIRE_AFTER = 3
MERGE_SCHEMA = {
    "type": "object",
    "properties": {"lesson": {"type": "string", "maxLength": 300}},
    "required": ["lesson"],
}


@dataclass(frozen=True)
class Proposal:
    """One evolution proposal: ``action`` on ``of`` (the lessons it concerns); ``memory_id`` is the proposed
    lesson (None for a retirement, which sends ``of`` back to review instead)."""

    action: str  # merge | split | retire
    of: tuple[str, ...]
    memory_id: str | None
    reason: str

    def to_dict(self) -> dict:
        return {"action": self.action, "of": list(self.of), "memory_id": self.memory_id, "reason": self.reason}


def evolve(bank, *, model=None, limit: int = 3) -> list[Proposal]:
    """Every kind of proposal the bank's lessons call for now (at most ``limit`` of each); none while the
    bank's policy has the "lesson_evolution" method turned off."""
    if not bank.policy.uses("lesson_evolution"):
        return []
    return propose_merges(bank, model=model, limit=limit) + propose_splits(bank, limit=limit) + propose_retirements(
        bank, limit=limit
    )


def _already_proposed(bank, action: str, of: Sequence[str]) -> bool:
    wanted = set(of)
    for m in bank.repo.list():
        for p in m.provenance:
            if p.get("source") == "evolution" and p.get("action") == action and set(p.get("of") or []) == wanted:
                return True
    return False


def _merged_text(a: Memory, b: Memory, model) -> tuple[str, str]:
    """(text, how it was written): the model's general lesson, else both joined."""
    if model is not None:
        messages = [
            {
                "role": "system",
                "content": "You merge two lessons for a coding assistant into ONE short general lesson that keeps "
                "what both say. Reply as JSON with the lesson.",
            },
            {"role": "user", "content": f"Lesson 1: {a.text}\nLesson 2: {b.text}"},
        ]
        try:
            out = model.complete_json(messages, MERGE_SCHEMA, settings=GenerationSettings(temperature=0.0, max_tokens=120))
            text = " ".join(str(out.get("lesson", "")).split())
            if len(text) >= 12:
                return text, "written by the model"
        except Exception:  # a model that cannot merge: fall back to joining them
            pass
    first = a.text.strip().rstrip(".")
    second = b.text.strip()
    return f"{first}; {second[:1].lower()}{second[1:]}", "the two joined"


def _union_scope(a: Scope, b: Scope) -> Scope:
    def union(x: tuple, y: tuple) -> tuple:
        return () if not x or not y else tuple(sorted(set(x) | set(y)))  # "any" on either side stays "any"

    return Scope(union(a.roles, b.roles), union(a.tools, b.tools), union(a.tags, b.tags))


def propose_merges(bank, *, model=None, limit: int = 3) -> list[Proposal]:
    ids, matrix = bank.repo.all_vectors()
    if len(ids) < 2:
        return []
    live = {m.id: m for m in bank.repo.list(status=[QUARANTINED, PROMOTED]) if not m.scan.get("blocked")}
    rows = [i for i, mid in enumerate(ids) if mid in live and live[mid].provenance[0].get("source") != TAUGHT_BY_USER]
    if len(rows) < 2:
        return []
    sub = np.asarray(matrix)[rows]
    sims = sub @ sub.T
    pairs = []
    for i, j in itertools.combinations(range(len(rows)), 2):
        a, b = live[ids[rows[i]]], live[ids[rows[j]]]
        s = float(sims[i, j])
        if a.kind == b.kind and MERGE_SIMILARITY <= s < bank.policy.dedup_threshold:
            pairs.append((s, a, b))
    out: list[Proposal] = []
    used: set[str] = set()
    for s, a, b in sorted(pairs, key=lambda p: (-p[0], p[1].id, p[2].id)):
        if len(out) >= limit or a.id in used or b.id in used or _already_proposed(bank, "merge", (a.id, b.id)):
            continue
        text, how = _merged_text(a, b, model)
        reason = f"lessons {a.id[:8]} and {b.id[:8]} say nearly the same (similarity {s:.2f}); merged: {how}"
        result = bank.submit(
            text,
            kind=a.kind,
            scope=_union_scope(a.scope, b.scope),
            provenance={"source": "evolution", "action": "merge", "of": [a.id, b.id], "similarity": round(s, 4), "why": reason},
            actor="evolution",
            dedupe=False,
        )
        used |= {a.id, b.id}
        out.append(Proposal("merge", (a.id, b.id), result.memory.id, reason))
    return out


def _family_tags(family: str) -> tuple[str, ...]:
    stems = dict(FAMILIES).get(family, ())
    tags = set()
    for stem in stems:
        tags |= {stem, f"{stem}s"}
    return tuple(sorted(tags))


def propose_splits(bank, *, limit: int = 3) -> list[Proposal]:
    out: list[Proposal] = []
    for m in bank.repo.list(status=PROMOTED):
        if len(out) >= limit:
            break
        effects = [e for e in expected_effects(bank.store, m.id) if e.n >= SPLIT_MIN_RUNS]
        helps = [e for e in effects if e.effect >= SPLIT_EFFECT and e.family in dict(FAMILIES)]
        hurts = [e for e in effects if e.effect <= -SPLIT_EFFECT]
        if not helps or not hurts or m.scope.tags or _already_proposed(bank, "split", (m.id,)):
            continue
        good = max(helps, key=lambda e: e.effect)
        bad = min(hurts, key=lambda e: e.effect)
        reason = (
            f"lesson {m.id[:8]} helps {good.family} tasks ({good.effect:+.2f} over {good.n} grounded runs) "
            f"but hurts {bad.family} tasks ({bad.effect:+.2f} over {bad.n}); kept for {good.family} tasks only"
        )
        scope = Scope(m.scope.roles, m.scope.tools, _family_tags(good.family))
        result = bank.submit(
            m.text,
            kind=m.kind,
            scope=scope,
            provenance={"source": "evolution", "action": "split", "of": [m.id], "family": good.family, "why": reason},
            actor="evolution",
            dedupe=False,
        )
        out.append(Proposal("split", (m.id,), result.memory.id, reason))
    return out


def propose_retirements(bank, *, limit: int = 3) -> list[Proposal]:
    out: list[Proposal] = []
    for m in bank.repo.list(status=PROMOTED):
        if len(out) >= limit:
            break
        if any(p.get("source") == TAUGHT_BY_USER for p in m.provenance):
            continue  # the person's own rule is theirs to retire
        credits = bank.repo.credits(m.id, limit=RETIRE_AFTER + 1)  # newest first
        if len(credits) < RETIRE_AFTER + 1:
            continue
        values = [c["utility_after"] for c in reversed(credits)]  # oldest → newest
        if not all(later < earlier for earlier, later in itertools.pairwise(values)):
            continue
        reason = (
            f"its utility fell in each of its last {RETIRE_AFTER} grounded runs "
            f"({values[0]:.2f} → {values[-1]:.2f}); archive it if it no longer helps, or approve it again"
        )
        bank.repo.transition(
            m.id, QUARANTINED, actor="evolution", action="retire_proposed", reason=reason, expect=(PROMOTED,)
        )
        out.append(Proposal("retire", (m.id,), None, reason))
    return out


def hindsight_case(bank, *, task: str, run_id: str, steps: Sequence, answer: str | None = None) -> Proposal | None:
    """An ``episodic_case`` for what a run actually achieved when its final answer fell short of it.

    Looks at the code steps' checks: when the last attempt passed fewer checks than an earlier one, the
    earlier code is what achieved the most; the case records it with those numbers. Nothing when the final
    answer already did best, or when no checks ran.
    """
    checked = [
        (i, s)
        for i, s in enumerate(steps)
        if isinstance(getattr(s, "tests", None), dict) and (s.tests.get("passed", 0) + s.tests.get("failed", 0)) > 0
        and not s.tests.get("refused")
    ]
    if len(checked) < 2:
        return None
    last_i, last = checked[-1]
    best_i, best = max(checked, key=lambda p: (p[1].tests.get("passed", 0) - p[1].tests.get("failed", 0), -p[0]))
    if best_i == last_i or best.tests.get("passed", 0) <= last.tests.get("passed", 0):
        return None
    code = extract_code(best.output or "")
    if not code or (answer is not None and extract_code(answer).strip() == code.strip()):
        return None  # no code, or the run already answered with its best-checked attempt
    bt, lt = best.tests, last.tests
    text = (
        f"Hindsight for “{task[:120]}”: attempt {best.attempt + 1} passed {bt['passed']} of "
        f"{bt['passed'] + bt['failed']} {bt.get('source', '')} checks, better than the final attempt "
        f"({lt['passed']} of {lt['passed'] + lt['failed']}). Start from it:\n```python\n{code.strip()}\n```"
    )
    reason = f"run {run_id[:8]}: an earlier attempt did better than the final one"
    result = bank.submit(
        text,
        kind="episodic_case",
        scope={"roles": [best.role]} if getattr(best, "role", None) else None,
        provenance={"source": "hindsight", "run_id": run_id, "step": best_i, "why": reason},
        actor="hindsight",
    )
    return Proposal("hindsight", (), result.memory.id, reason)
