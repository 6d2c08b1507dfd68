"""After a train run: credit the memories its steps used, then distil and submit candidate lessons — the one copy.

``Team.run`` and every orchestrator (through ``TracedRun.learn``) call ``learn_from_run``; each
decides for itself whether the run teaches (a complete LEARNING_TRAIN run) and how failures are reported.

Only grounded evidence teaches (``grounding.GROUNDED``): a run whose score is not grounded credits
no memory and distils nothing (the returned ``notes`` and the credit report's ``skipped`` say so).
A run that does not say how it was grounded (an orchestrator whose steps carry no ``grounded_by``)
is not grounded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.grounding import is_grounded, strongest
from purpose_desktop.engine.learning.credit import StepUse, apply_credit
from purpose_desktop.engine.learning.distil import (
    TOOL_POLICY_MIN_RUNS,
    StepRecord,
    distil,
    tool_failure_signature,
)
from purpose_desktop.engine.learning.evolution import hindsight_case
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.memory.records import MemoryPolicy, Scope


def learn_from_run(
    store,
    run_id: str,
    task: str,
    score: float | None,
    steps: Sequence,
    *,
    model,
    policy: MemoryPolicy | None,
    seed: int = 0,
    kinds: Mapping[str, str] | None = None,
    grounded_by: str | None = None,
    answer: str | None = None,
    project: str | None = None,
) -> dict:
    """Credit, then (when the policy distils) candidate lessons from ``steps``, scanned and submitted for review.

    ``steps`` are the run's StepResults (role, output, score, tests, tool_calls, attempt, memory_ids);
    ``kinds`` maps a role to its kind (plan, code, test, text — "text" when missing); ``model`` writes
    the lessons (None: evidence-based drafts only); ``grounded_by`` is what the run's score rests on
    (None: the strongest of its steps' ``grounded_by``, ``judge`` when none say). Returns
    ``{"errors", "notes", "grounded_by", "credit", "candidates"}`` ("candidates" only when distilling);
    a candidate the bank refuses is an error, not an exception. A grounded run whose ``answer`` is not its
    best-checked code also yields a hindsight case (``evolution.hindsight_case``) unless the policy turned
    the "hindsight" method off. ``project`` (the
    attached project's name): every candidate is kept to it (tag ``project:<name>``), so what was
    learned there is used there.
    """
    policy = policy or MemoryPolicy()
    kinds = kinds or {}
    step_grounds = [getattr(s, "grounded_by", None) for s in steps]
    if grounded_by is None:
        grounded_by = strongest(g for g in step_grounds if g)
    run_grounded = is_grounded(grounded_by)
    out: dict = {"errors": [], "notes": [], "grounded_by": grounded_by}
    uses = [
        StepUse(i, s.score, getattr(s, "memory_ids", []), is_grounded(g)) for i, (s, g) in enumerate(zip(steps, step_grounds, strict=True))
    ]
    out["credit"] = apply_credit(store, run_id, score, uses, policy, run_grounded=run_grounded).to_dict()
    if not run_grounded:
        out["notes"].append(f"no credit: the run's score is not grounded ({grounded_by})")
    if not policy.distil:
        return out
    records = [
        StepRecord(
            i, s.role, kinds.get(s.role, "text"), s.output, s.score, s.tests, s.tool_calls, s.attempt, g or "judge"
        )
        for i, (s, g) in enumerate(zip(steps, step_grounds, strict=True))
    ]
    seen = _tool_failures_elsewhere(store, run_id, records) if run_grounded else {}
    report = distil(model, run_id, task, records, seed=seed, grounded=run_grounded, seen_tool_failures=seen)
    out["errors"] += report.errors
    out["notes"] += report.notes
    bank = MemoryBank(store, policy)
    out["candidates"] = []
    for draft in report.drafts:
        try:
            scope = Scope.build(draft.scope.roles, draft.scope.tools, project, draft.scope.tags) if project else draft.scope
            provenance = {**draft.provenance, "project": project} if project else draft.provenance
            sub = bank.submit(draft.text, kind=draft.kind, scope=scope, provenance=provenance)
        except PurposeError as exc:
            out["errors"].append(f"candidate not stored: {exc}")
            continue
        out["candidates"].append({"id": sub.memory.id, "kind": sub.memory.kind, "outcome": sub.outcome})
    if run_grounded and not policy.uses("hindsight"):
        out["notes"].append("no hindsight case: the hindsight method is turned off")
    elif run_grounded:
        try:
            case = hindsight_case(bank, task=task, run_id=run_id, steps=steps, answer=answer)
        except PurposeError as exc:
            out["errors"].append(f"hindsight case not stored: {exc}")
            case = None
        if case is not None:
            out["candidates"].append({"id": case.memory_id, "kind": "episodic_case", "outcome": "hindsight"})
    return out


def _tool_failures_elsewhere(store, run_id: str, records: Sequence[StepRecord]) -> dict[tuple[str, str], list[str]]:
    """This run's tool failure signatures that other stored runs also show (a pattern, not one call),
    each with those other runs' ids."""
    mine = {sig for r in records for c in r.tool_calls or [] if (sig := tool_failure_signature(c))}
    if not mine:
        return {}
    tools = sorted({t for t, _ in mine})
    marks = " OR ".join("tool_calls_json LIKE ?" for _ in tools)
    rows = store.connection.execute(
        f"SELECT run_id, tool_calls_json FROM steps WHERE run_id != ? AND ({marks})",
        [run_id, *[f"%{json.dumps(t)}%" for t in tools]],
    ).fetchall()
    runs: dict[tuple[str, str], set[str]] = {}
    for other_run, text in rows:
        try:
            calls = json.loads(text or "[]")
        except ValueError:
            continue
        for call in calls if isinstance(calls, list) else []:
            sig = tool_failure_signature(call) if isinstance(call, dict) else None
            if sig in mine:
                runs.setdefault(sig, set()).add(other_run)
    return {sig: sorted(others) for sig, others in runs.items() if len(others) + 1 >= TOOL_POLICY_MIN_RUNS}
