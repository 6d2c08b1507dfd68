"""After a train run: credit the memories its steps used, then distil and submit candidate lessons — the one copy.

``Team.run`` and every orchestrator (through ``TracedRun.learn``) call ``learn_from_run``; each
decides for itself whether the run teaches (a complete LEARNING_TRAIN run) and how failures are reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.learning.credit import StepUse, apply_credit
from purpose_desktop.engine.learning.distil import StepRecord, distil
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.memory.records import MemoryPolicy


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
) -> dict:
    """Credit, then (when the policy distils) candidate lessons from ``steps``, scanned and submitted for review.

    ``steps`` are the run's StepResults (role, output, score, tests, tool_calls, attempt, memory_ids);
    ``kinds`` maps a role to its kind (plan, code, test, text — "text" when missing); ``model`` writes
    the lessons (None: evidence-based drafts only). Returns ``{"errors", "credit", "candidates"}``
    ("candidates" only when distilling); a candidate the bank refuses is an error, not an exception.
    """
    policy = policy or MemoryPolicy()
    kinds = kinds or {}
    out: dict = {"errors": []}
    uses = [StepUse(i, s.score, getattr(s, "memory_ids", [])) for i, s in enumerate(steps)]
    out["credit"] = apply_credit(store, run_id, score, uses, policy).to_dict()
    if not policy.distil:
        return out
    records = [
        StepRecord(i, s.role, kinds.get(s.role, "text"), s.output, s.score, s.tests, s.tool_calls, s.attempt)
        for i, s in enumerate(steps)
    ]
    report = distil(model, run_id, task, records, seed=seed)
    out["errors"] += report.errors
    bank = MemoryBank(store, policy)
    out["candidates"] = []
    for draft in report.drafts:
        try:
            sub = bank.submit(draft.text, kind=draft.kind, scope=draft.scope, provenance=draft.provenance)
        except PurposeError as exc:
            out["errors"].append(f"candidate not stored: {exc}")
            continue
        out["candidates"].append({"id": sub.memory.id, "kind": sub.memory.kind, "outcome": sub.outcome})
    return out
