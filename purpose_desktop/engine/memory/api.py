"""MemoryBank: the engine API for memories — submit, teach, approve, reject, edit, archive, undo, status.

Every submission and every edit passes the immune scan first: blocked text is stored as rejected
(kept for audit, never retrieved); clean text is de-duplicated by meaning — the same lesson learned
again strengthens the existing memory instead of adding a second — and otherwise quarantined for
review. ``teach`` is the user's own lesson, so it is promoted at once. Auto-promotion after a
replay (``learning.replay.retest``) is off unless ``MemoryPolicy.auto_promote`` is set, and then only
for evidence that clearly helps (``apply_policy``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.immune import UNREAD_RULE
from purpose_desktop.engine.immune.redact import redact
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.records import (
    ARCHIVED,
    PROMOTED,
    QUARANTINED,
    REJECTED,
    TAUGHT_BY_USER,
    Memory,
    MemoryPolicy,
    ReplayEvidence,
    Scope,
    clearly_helps,
    content_hash,
    describe_grounding,
)
from purpose_desktop.engine.memory.repo import MemoryRepo, check_kind, check_text
from purpose_desktop.engine.memory.value import expected_effects
from purpose_desktop.engine.store import now_iso

_UNDOABLE = frozenset({"promoted", "rejected", "archived", "restored"})
TRUST_TAUGHT = 0.9
TRUST_DISTILLED = 0.5
TRUST_APPROVED = 0.7
MAX_PROVENANCE = 20


@dataclass(frozen=True)
class SubmitResult:
    """What happened to a submitted lesson."""

    memory: Memory
    outcome: str  # quarantined | promoted | rejected | strengthened | seen_again
    similarity: float | None = None  # to the memory it merged into, when it did

    @property
    def blocked(self) -> bool:
        return bool(self.memory.scan.get("blocked")) and self.outcome == "rejected"

    def to_dict(self) -> dict:
        return {"outcome": self.outcome, "similarity": self.similarity, "memory": self.memory.to_dict()}


def _scan(text: str, allow=None) -> dict:
    from purpose_desktop.engine.immune import scan

    return scan(text, context="memory", allow=allow).to_dict()


def _block_reason(report: dict) -> str:
    first = next((r for r in report.get("reasons", []) if r.get("blocking")), None)
    if first is None:
        return f"immune scan blocked it ({report.get('category')})"
    return f'immune scan blocked it: {first["category"]} — {first["message"]} ("{first["excerpt"]}")'


class MemoryBank:
    """Memories in one Store, under one policy."""

    def __init__(self, store, policy: MemoryPolicy | None = None) -> None:
        self.store = store
        self.policy = policy or MemoryPolicy()
        self.repo = MemoryRepo(store)

    # -- reading --------------------------------------------------------------------------------
    def get(self, memory_id: str) -> Memory:
        return self.repo.get(memory_id)

    def list(
        self, *, status: str | Sequence[str] | None = None, kind: str | None = None, limit: int | None = None
    ) -> list[Memory]:
        return self.repo.list(status=status, kind=kind, limit=limit)

    def show(self, memory_id: str) -> dict:
        """Everything the review pane shows: the memory, its history, evidence runs and recent credit."""
        m = self.repo.get(memory_id)
        return {
            **m.to_dict(),
            "history": [h.to_dict() for h in self.repo.history(m.id)],
            "evidence_runs": [e.to_dict() for e in self.repo.evidence(m.id)],
            "evidence_grounding": describe_grounding(m.evidence),
            "credits": self.repo.credits(m.id, limit=20),
            # learned from grounded credits, per task family (memory.value); what retrieval ranks by
            "expected_effect": [e.to_dict() for e in expected_effects(self.store, m.id)],
        }

    def status(self) -> dict:
        """Memories by kind and status, runs, recent scores — ``Team.status()`` and the status bar."""
        counts = self.repo.counts()
        totals: dict[str, int] = {}
        for by_status in counts.values():
            for s, n in by_status.items():
                totals[s] = totals.get(s, 0) + n
        runs = self.store.list_runs(limit=10)
        with self.store._errors():
            n_runs = self.store.connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        recent = [
            {
                "run_id": r["id"],
                "task": r["task"][:80],
                "score": r["score"],
                "mode": r["mode"],
                "status": r["status"],
            }
            for r in runs
        ]
        scores = [r["score"] for r in runs if r["score"] is not None]
        return {
            "memories": counts,
            "totals": totals,
            "pending_review": totals.get(QUARANTINED, 0),
            "runs": n_runs,
            "recent_runs": recent,
            "recent_scores": scores,
            "mean_recent_score": round(sum(scores) / len(scores), 2) if scores else None,
            "policy": {"auto_promote": self.policy.auto_promote},
        }

    # -- submitting -------------------------------------------------------------------------------
    def submit(
        self,
        text: str,
        *,
        kind: str,
        provenance: dict,
        scope: Scope | dict | None = None,
        actor: str = "distil",
        taught: bool = False,
        dedupe: bool = True,
        merge: bool = True,
    ) -> SubmitResult:
        """Scan, de-duplicate and store a lesson; ``taught`` promotes it (the user is the approver).

        ``dedupe=False`` keeps a lesson that is meant to sit beside similar ones for a while (a proposed
        merge or split of lessons: it replaces them only when the person approves it).
        ``merge=False`` stores it on its own, unembedded (a team's purpose contract: always in its
        prompts, never found by similarity, never merged into another team's).
        """
        check_kind(kind)
        text = check_text(text)
        scope = scope if isinstance(scope, Scope) else Scope.from_dict(scope)
        report = _scan(text, self._allowlist())  # decided on the text as given …
        text = redact(text).text  # … but a credential in it is never stored, even for the audit record
        trust = TRUST_TAUGHT if taught else TRUST_DISTILLED
        if report["blocked"]:
            reason = _block_reason(report)
            seen = self.repo.by_hash(content_hash(text))
            if seen is not None:  # the same attack again: one audit record, with the sighting in its history
                m = self.repo.transition(
                    seen.id,
                    seen.status,
                    actor=actor,
                    action="seen_again",
                    reason=reason,
                    data={"provenance": provenance},
                )
                return SubmitResult(m, "rejected" if m.status == REJECTED else "seen_again", 1.0)
            m = self.repo.create(
                kind=kind,
                text=text,
                scope=scope,
                provenance=provenance,
                scan=report,
                status=REJECTED,
                trust=trust,
                actor=actor,
                reason=reason,
            )
            return SubmitResult(m, "rejected")
        vector = similarity.embed([text])[0] if merge else None
        duplicate, sim = self._duplicate(text, vector) if (merge and dedupe) else (None, None)
        if duplicate is not None:
            return self._strengthen(duplicate, sim, provenance, actor, taught)
        m = self.repo.create(
            kind=kind,
            text=text,
            scope=scope,
            provenance=provenance,
            scan=report,
            status=QUARANTINED,
            trust=trust,
            actor=actor,
            reason="held for review",
            vector=vector,
            promote_reason="taught by the user, who is its approver" if taught else None,
        )
        return SubmitResult(m, PROMOTED if taught else QUARANTINED)

    def teach(
        self, text: str, *, kind: str = "user_preference", scope: Scope | dict | None = None
    ) -> SubmitResult:
        """The user's own lesson: scanned, then promoted (or strengthened if they taught it before)."""
        return self.submit(
            text, kind=kind, scope=scope, provenance={"source": TAUGHT_BY_USER}, actor="user", taught=True
        )

    def find_duplicate(self, text: str) -> tuple[Memory | None, float | None]:
        """The memory ``text`` would merge into if submitted (same text, or a near-duplicate), without
        changing anything — for callers (MCP proposals) that must not strengthen what exists."""
        text = redact(check_text(text)).text
        return self._duplicate(text, similarity.embed([text])[0])

    def _duplicate(self, text: str, vector: np.ndarray) -> tuple[Memory | None, float | None]:
        same = self.repo.by_hash(content_hash(text))
        if same is not None:
            return same, 1.0
        ids, matrix = self.repo.all_vectors()
        if not ids:
            return None, None
        sims = matrix @ vector
        for i in np.argsort(-sims)[:5]:
            if sims[i] < self.policy.dedup_threshold:
                break
            m = self.repo.get(ids[i])
            if similarity.same_polarity(m.text, text):
                return m, round(float(sims[i]), 4)
        return None, None

    def _strengthen(
        self, m: Memory, sim: float | None, provenance: dict, actor: str, taught: bool
    ) -> SubmitResult:
        prov = (m.provenance + [provenance])[-MAX_PROVENANCE:]
        note = f"the same lesson was {'taught' if taught else 'learned'} again (similarity {sim:.2f})"
        if m.status in (REJECTED, ARCHIVED) and not taught:
            # Re-learning a rejected lesson must not resurrect it; the sighting is kept for audit.
            m = self.repo.transition(
                m.id,
                m.status,
                actor=actor,
                action="seen_again",
                reason=note,
                updates={"provenance_json": json.dumps(prov)},
            )
            return SubmitResult(m, "seen_again", sim)
        if m.scan.get("blocked"):
            m = self.repo.transition(
                m.id,
                m.status,
                actor=actor,
                action="seen_again",
                reason=note,
                updates={"provenance_json": json.dumps(prov)},
            )
            return SubmitResult(m, "seen_again", sim)
        trust = m.trust + (1.0 - m.trust) * 0.15
        updates = {"strength": m.strength + 1, "trust": round(trust, 4), "provenance_json": json.dumps(prov)}
        if taught and m.status != PROMOTED:
            if m.status in (REJECTED, ARCHIVED):
                m = self.repo.transition(m.id, QUARANTINED, actor="user", action="restored", reason=note)
            updates["trust"] = round(max(trust, TRUST_TAUGHT), 4)
            updates["hurt_streak"] = 0
            m = self.repo.transition(
                m.id,
                PROMOTED,
                actor="user",
                action="promoted",
                reason=note + "; the user is its approver",
                updates=updates,
            )
            return SubmitResult(m, "strengthened", sim)
        m = self.repo.transition(
            m.id, m.status, actor=actor, action="strengthened", reason=note, updates=updates
        )
        return SubmitResult(m, "strengthened", sim)

    # -- deciding ---------------------------------------------------------------------------------
    def approve(self, memory_id: str, *, reason: str = "", actor: str = "user") -> Memory:
        m = self.repo.get(memory_id)
        if m.scan.get("blocked"):
            raise InputError(
                "The immune scan blocked this memory; it cannot be approved.",
                "Edit it (it is scanned again) or leave it rejected.",
            )
        promoted = self.repo.transition(
            m.id,
            PROMOTED,
            actor=actor,
            action="promoted",
            reason=reason or f"approved by {actor}",
            updates={"trust": round(max(m.trust, TRUST_APPROVED), 4), "hurt_streak": 0},
            expect=(QUARANTINED,),
        )
        self._replace_evolved(promoted, actor)
        return promoted

    def _replace_evolved(self, m: Memory, actor: str) -> None:
        """An approved merge or split of lessons replaces the lessons it was made from (archived, undoable)."""
        for p in m.provenance:
            if p.get("source") != "evolution" or p.get("action") not in ("merge", "split"):
                continue
            for old_id in p.get("of") or []:
                try:
                    old = self.repo.get(old_id)
                except Exception:  # deleted meanwhile: nothing to replace
                    continue
                if old.status in (QUARANTINED, PROMOTED) and old.id != m.id:
                    self.repo.transition(
                        old.id,
                        ARCHIVED,
                        actor=actor,
                        action="archived",
                        reason=f"replaced by the approved {p['action']} {m.id[:8]}: “{m.text[:60]}”",
                        expect=(QUARANTINED, PROMOTED),
                    )

    def reject(self, memory_id: str, *, reason: str, actor: str = "user") -> Memory:
        if not (reason or "").strip():
            raise InputError(
                "Say why this memory is rejected.", 'Give a reason, e.g. --reason "wrong for Python 3.11".'
            )
        m = self.repo.get(memory_id)
        return self.repo.transition(
            m.id,
            REJECTED,
            actor=actor,
            action="rejected",
            reason=reason.strip(),
            expect=(QUARANTINED, PROMOTED),
        )

    def archive(self, memory_id: str, *, reason: str = "", actor: str = "user") -> Memory:
        m = self.repo.get(memory_id)
        return self.repo.transition(
            m.id,
            ARCHIVED,
            actor=actor,
            action="archived",
            reason=reason or f"archived by {actor}",
            expect=(QUARANTINED, PROMOTED),
        )

    def undo(self, memory_id: str, *, actor: str = "user") -> Memory:
        """Reverse the person's last decision (approve, reject, archive, restore): back to the status before it.

        Only when that decision is still the memory's latest status change; a blocked memory never
        goes back to promoted.
        """
        m = self.repo.get(memory_id)
        moves = [h for h in self.repo.history(m.id) if h.from_status != h.to_status]
        last = moves[-1] if moves else None
        if last is None or last.actor != actor or last.action not in _UNDOABLE:
            raise InputError(
                "There is no decision of yours to undo on this memory.",
                "Approve, reject or archive it instead.",
            )
        if last.from_status == PROMOTED and m.scan.get("blocked"):
            raise InputError(
                "The immune scan blocked this memory; it cannot be promoted again.", "Edit it instead."
            )
        return self.repo.transition(
            m.id, last.from_status, actor=actor, action="undone", reason=f"undid {last.action}", force=True
        )

    def edit(
        self,
        memory_id: str,
        text: str,
        *,
        reason: str = "",
        scope: Scope | dict | None = None,
        kind: str | None = None,
        actor: str = "user",
    ) -> Memory:
        """New text (and optionally a new ``scope`` or ``kind``) is scanned again (blocked → rejected) and goes
        back to quarantine (re-test it with learning.replay)."""
        m = self.repo.get(memory_id)
        text = check_text(text)
        if kind is not None:
            check_kind(kind)
        report = _scan(text, self._allowlist())
        text = redact(text).text
        updates = {"text": text, "scan_json": json.dumps(report), "evidence_json": None}
        data = {"old_text": m.text, "scan": report}
        if scope is not None:
            new_scope = scope if isinstance(scope, Scope) else Scope.from_dict(scope)
            updates["scope_json"] = json.dumps(new_scope.to_dict())
            if new_scope != m.scope:
                data["old_scope"] = m.scope.to_dict()
        if kind is not None and kind != m.kind:
            updates["kind"] = kind
            data["old_kind"] = m.kind
        why = reason or f"edited by {actor}"
        if report["blocked"]:
            return self.repo.transition(
                m.id,
                REJECTED,
                actor=actor,
                action="edited",
                reason=f"{why}; {_block_reason(report)}",
                updates=updates,
                data=data,
            )
        m = self.repo.transition(
            m.id,
            QUARANTINED,
            actor=actor,
            action="edited",
            reason=f"{why}; scanned clean, back in review",
            updates=updates,
            data=data,
        )
        self.repo.vectors([m])  # re-embed the new text now (dedup and retrieval need it)
        return m

    def overrule(self, memory_id: str, *, reason: str, actor: str = "user") -> Memory:
        """The person says the scan was wrong: the blocking findings go on the allow-list (later scans
        report them as allowed), the memory goes back to review, and its history records it."""
        from purpose_desktop.engine.immune.allow import text_hash
        from purpose_desktop.engine.store.allowlist import add_entries

        if not (reason or "").strip():
            raise InputError(
                "Say why the scan was wrong before overruling it.",
                'Give a reason, e.g. "this is advice about SQL injection, not an attack".',
            )
        m = self.repo.get(memory_id)
        report = dict(m.scan or {})
        blocking = [r for r in report.get("reasons", []) if r.get("blocking")]
        if not report.get("blocked") or not blocking:
            raise InputError(
                "The immune scan did not block this memory; there is nothing to overrule.",
                "Approve or reject it as usual.",
            )
        if m.status != REJECTED:
            raise InputError(
                f"This memory is {m.status}; only a memory the scan rejected can be overruled.",
                "Edit it instead.",
            )
        now = now_iso()
        report["reasons"] = [
            {**r, "blocking": False, "allowed": True, "overruled_at": now} if r.get("blocking") else r
            for r in report.get("reasons", [])
        ]
        report["blocked"] = False
        report["overruled"] = {"at": now, "by": actor, "reason": reason.strip()}
        shown = "; ".join(
            f"{r.get('category')} — {r.get('rule')}"
            + (f" ({r.get('excerpt')})" if r.get("rule") == UNREAD_RULE else "")
            + (f" {r['confidence']:.0%}" if isinstance(r.get("confidence"), int | float) else "")
            for r in blocking
        )
        m = self.repo.transition(
            m.id,
            QUARANTINED,
            actor=actor,
            action="overruled",
            reason=f"{actor} overruled the immune scan ({shown}): {reason.strip()}; back in review",
            updates={"scan_json": json.dumps(report)},
            data={"findings": blocking},
            expect=(REJECTED,),
        )
        add_entries(self.store, blocking, text_hash=text_hash(m.text), memory_id=m.id, reason=reason.strip())
        self.repo.vectors([m])  # a blocked memory was stored without one; retrieval and dedup need it
        return m

    def _allowlist(self):
        from purpose_desktop.engine.store.allowlist import load_allowlist

        return load_allowlist(self.store)

    def apply_policy(self, memory_id: str, evidence: ReplayEvidence) -> Memory:
        m = self.repo.get(memory_id)
        if (
            m.status == QUARANTINED
            and self.policy.auto_promote
            and clearly_helps(evidence, self.policy)
            and not m.scan.get("blocked")
        ):
            return self.repo.transition(
                m.id,
                PROMOTED,
                actor="policy",
                action="promoted",
                reason=(
                    f"auto-promoted (policy on): {evidence.n_grounded} grounded replay pairs, "
                    f"{evidence.grounded_wins} better / {evidence.grounded_losses} worse, "
                    f"delta {evidence.grounded_delta:+.2f}, sign test p={evidence.p_value:.3f}"
                ),
                updates={"trust": round(max(m.trust, TRUST_APPROVED), 4)},
            )
        if m.status == PROMOTED and evidence.verdict == "hurts":
            return self.repo.transition(
                m.id,
                QUARANTINED,
                actor="replay",
                action="demoted",
                reason=(
                    f"demoted: replay shows it hurts ({evidence.n_grounded} grounded pairs, delta "
                    f"{evidence.grounded_delta:+.2f}, sign test p={evidence.p_value:.3f}); review it"
                ),
            )
        return m

    def with_policy(self, **changes) -> MemoryBank:
        return MemoryBank(self.store, replace(self.policy, **changes))
