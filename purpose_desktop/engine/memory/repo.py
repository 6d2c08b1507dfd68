"""MemoryRepo: memories in SQLite — create, read, lifecycle transitions, history, evidence, vectors, credits.

Every change is one committed transaction (BEGIN IMMEDIATE … COMMIT, WAL) that also writes a history
row saying who made it and why, so a decision survives a kill -9 the moment the call returns.
Memory changes are RunMode kind "memory"; replay evidence is kind "evidence" (LEARNING_VALIDATION may
write it, nothing else).
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from purpose_desktop.engine.errors import InputError, StoreError
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.records import (
    CANDIDATE,
    KINDS,
    MAX_TEXT_CHARS,
    STATUSES,
    TRANSITIONS,
    HistoryEntry,
    Memory,
    ReplayEvidence,
    Scope,
    content_hash,
    normalize_text,
)
from purpose_desktop.engine.store import now_iso

#: ReplayEvidence fields that memory_evidence has no column for (kept in the "retested" history entry).
GROUNDING_FIELDS = (
    "grounds_with",
    "grounds_without",
    "n_grounded",
    "n_ungrounded",
    "grounded_wins",
    "grounded_losses",
    "grounded_ties",
    "grounded_delta",
    "p_value",
    "enough_evidence",
    "verdict_reason",
)

# Columns a transition may change besides status (never id, kind, created_at or content_hash directly).
_UPDATABLE = frozenset(
    {
        "text",
        "kind",
        "scope_json",
        "status_reason",
        "provenance_json",
        "scan_json",
        "evidence_json",
        "trust",
        "utility",
        "retrieved_count",
        "helped_count",
        "hurt_count",
        "hurt_streak",
        "strength",
    }
)
_vector_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class CreditUpdate:
    """One memory's credit for one run (see credit.apply_credit)."""

    memory_id: str
    run_id: str
    steps: list[int]
    outcome: float
    baseline: float
    advantage: float
    verdict: str  # helped | hurt | neutral
    utility_after: float
    helped: int
    hurt: int
    hurt_streak: int
    demote_reason: str | None = None
    flag_reason: str | None = None  # kept promoted, but the review pane should show this
    note: str | None = None  # the history line, when the credit came from somewhere other than a run


def check_text(text: str) -> str:
    if not isinstance(text, str):
        raise InputError("A memory must be text.", "Type the lesson as a sentence.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates: SQLite cannot store them
        raise InputError(
            "The memory contains characters that cannot be saved.", "Paste it again as plain text."
        ) from exc
    text = normalize_text(text)
    if not text:
        raise InputError("A memory cannot be empty.", 'Type the lesson, e.g. "Always add type hints".')
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(
            f"A memory can be at most {MAX_TEXT_CHARS} characters (this one has {len(text)}).",
            "Keep one lesson per memory; split longer advice into several.",
        )
    return text


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InputError(f"Unknown memory kind {kind!r}.", f"Use one of: {', '.join(KINDS)}.")
    return kind


class MemoryRepo:
    """Reads and writes memories through a Store's connection (the thread that owns the Store)."""

    def __init__(self, store) -> None:
        self.store = store

    # -- reading --------------------------------------------------------------------------------
    @property
    def connection(self):
        """The store's connection, for reads."""
        return self.store.connection

    def generation(self) -> int:
        with self.store._errors():
            row = self.connection.execute("SELECT generation FROM memory_state WHERE id = 1").fetchone()
        return int(row[0]) if row else 0

    def get(self, memory_id: str) -> Memory:
        """A memory by id or unique id prefix; InputError names what went wrong."""
        memory_id = (memory_id or "").strip().lower()
        if not memory_id:
            raise InputError("Which memory?", "Give its id (or the first few characters of it).")
        if not re.fullmatch(r"[0-9a-f]{1,32}", memory_id):
            raise InputError(
                f"{memory_id!r} is not a memory id.",
                "Ids are hexadecimal; list them with `purpose-desktop memory list`.",
            )
        with self.store._errors():
            rows = list(self.connection.query("SELECT * FROM memories WHERE id LIKE ? LIMIT 2", [memory_id + "%"]))
        if len(rows) != 1:
            what = "No memory has" if not rows else "More than one memory has"
            raise InputError(
                f"{what} the id {memory_id!r}.", "List memories with `purpose-desktop memory list`."
            )
        return Memory.from_row(rows[0])

    def get_many(self, ids: Iterable[str]) -> list[Memory]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        with self.store._errors():
            rows = {
                r["id"]: r for r in self.connection.query(f"SELECT * FROM memories WHERE id IN ({marks})", ids)
            }
        return [Memory.from_row(rows[i]) for i in ids if i in rows]

    def list(
        self, *, status: str | Sequence[str] | None = None, kind: str | None = None, limit: int | None = None
    ) -> list[Memory]:
        """Newest change first."""
        where, params = [], []
        if status:
            statuses = [status] if isinstance(status, str) else list(status)
            for s in statuses:
                if s not in STATUSES:
                    raise InputError(f"Unknown memory status {s!r}.", f"Use one of: {', '.join(STATUSES)}.")
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            params += statuses
        if kind:
            where.append("kind = ?")
            params.append(check_kind(kind))
        sql = "SELECT * FROM memories" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY updated_at DESC, id" + (" LIMIT ?" if limit else "")
        if limit:
            params.append(int(limit))
        with self.store._errors():
            return [Memory.from_row(r) for r in self.connection.query(sql, params)]

    def by_hash(self, digest: str) -> Memory | None:
        with self.store._errors():
            rows = list(
                self.connection.query(
                    "SELECT * FROM memories WHERE content_hash = ? ORDER BY created_at LIMIT 1", [digest]
                )
            )
        return Memory.from_row(rows[0]) if rows else None

    def history(self, memory_id: str) -> list[HistoryEntry]:
        with self.store._errors():
            rows = self.connection.query(
                "SELECT * FROM memory_history WHERE memory_id = ? ORDER BY at, rowid", [memory_id]
            )
            return [
                HistoryEntry(
                    r["at"],
                    r["actor"],
                    r["action"],
                    r["from_status"],
                    r["to_status"],
                    r["reason"],
                    json.loads(r["data_json"] or "{}"),
                )
                for r in rows
            ]

    def evidence(self, memory_id: str) -> list[ReplayEvidence]:
        with self.store._errors():
            rows = self.connection.query(
                "SELECT * FROM memory_evidence WHERE memory_id = ? ORDER BY created_at", [memory_id]
            )
            grounding = {}
            for h in self.connection.query(
                "SELECT data_json FROM memory_history WHERE memory_id = ? AND action = 'retested'", [memory_id]
            ):
                data = json.loads(h["data_json"] or "{}")
                if data.get("evidence_id") and isinstance(data.get("grounding"), dict):
                    grounding[data["evidence_id"]] = data["grounding"]
            out = []
            for r in rows:
                extra = {k: v for k, v in grounding.get(r["id"], {}).items() if k in GROUNDING_FIELDS}
                out.append(
                    ReplayEvidence(
                        memory_id=r["memory_id"],
                        tasks=json.loads(r["tasks_json"]),
                        seeds=json.loads(r["seeds_json"]),
                        n=r["n"],
                        scores_with=json.loads(r["scores_with_json"]),
                        scores_without=json.loads(r["scores_without_json"]),
                        mean_with=r["mean_with"],
                        mean_without=r["mean_without"],
                        delta=r["delta"],
                        wins=r["wins"],
                        losses=r["losses"],
                        verdict=r["verdict"],
                        status=r["status"],
                        id=r["id"],
                        created_at=r["created_at"],
                        **extra,
                    )
                )
            return out

    def credits(self, memory_id: str, limit: int = 50) -> list[dict[str, Any]]:
        with self.store._errors():
            rows = self.connection.query(
                "SELECT * FROM memory_credits WHERE memory_id = ? ORDER BY created_at DESC LIMIT ?",
                [memory_id, limit],
            )
            return [{**r, "steps": json.loads(r.pop("steps_json"))} for r in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        """{kind: {status: count}} for every kind and status that has any."""
        out: dict[str, dict[str, int]] = {}
        with self.store._errors():
            for kind, status, n in self.connection.execute(
                "SELECT kind, status, COUNT(*) FROM memories GROUP BY kind, status"
            ):
                out.setdefault(kind, {})[status] = n
        return out

    # -- vectors ----------------------------------------------------------------------------------
    def vectors(self, memories: Sequence[Memory], *, compute: bool = True) -> dict[str, np.ndarray]:
        """Stored vectors for ``memories`` (this model, this text); missing ones embedded, and saved when allowed."""
        if not memories:
            return {}
        model = similarity.model_name()
        ids = [m.id for m in memories]
        found: dict[str, np.ndarray] = {}
        with self.store._errors():
            for chunk in _chunks(ids, 900):
                marks = ",".join("?" * len(chunk))
                for mid, dim, digest, blob in self.connection.execute(
                    f"SELECT memory_id, dim, content_hash, vector FROM memory_vectors WHERE model = ? AND memory_id IN ({marks})",
                    [model, *chunk],
                ):
                    found[mid] = (digest, similarity.from_blob(blob, dim))
        hashes = {m.id: m.content_hash for m in memories}
        out = {mid: vec for mid, (digest, vec) in found.items() if digest == hashes[mid]}
        missing = [m for m in memories if m.id not in out]
        if missing and compute:
            fresh = similarity.embed([m.text for m in missing])
            for m, vec in zip(missing, fresh, strict=True):
                out[m.id] = vec
            if self.store.allows("memory"):
                with self.store._errors(), self.store.transaction("memory") as db:
                    for m, vec in zip(missing, fresh, strict=True):
                        _save_vector(db, m.id, m.content_hash, vec, model)
        return out

    def all_vectors(self) -> tuple[list[str], np.ndarray]:
        """Every live (not rejected) memory's vector, cached until the memories change."""
        gen = self.generation()
        cached = _vector_cache.get(self.store)
        model = similarity.model_name()
        if cached is not None and cached[0] == (gen, model):
            return cached[1], cached[2]
        memories = self.list(status=["candidate", "quarantined", "promoted", "archived"])
        vecs = self.vectors(memories)
        ids = [m.id for m in memories if m.id in vecs]
        matrix = np.stack([vecs[i] for i in ids]) if ids else np.zeros((0, similarity.DIM), dtype=np.float32)
        _vector_cache[self.store] = ((gen, model), ids, matrix)  # the generation read before the rows
        return ids, matrix

    # -- writing ----------------------------------------------------------------------------------
    def create(
        self,
        *,
        kind: str,
        text: str,
        scope: Scope,
        provenance: dict,
        scan: dict,
        status: str,
        trust: float,
        actor: str,
        reason: str,
        vector: np.ndarray | None = None,
        promote_reason: str | None = None,
    ) -> Memory:
        """Insert a memory as a candidate and record its scan verdict, in one transaction.

        ``status`` is where the scan sent it (quarantined or rejected); ``promote_reason`` additionally
        promotes it in the same transaction (a lesson the user taught: the user is the approver).
        """
        check_kind(kind)
        text = check_text(text)
        now = now_iso()
        mid = uuid.uuid4().hex
        digest = content_hash(text)
        final = "promoted" if promote_reason else status
        with self.store._errors(), self.store.transaction("memory") as db:
            db["memories"].insert(
                {
                    "id": mid,
                    "kind": kind,
                    "text": text,
                    "scope_json": json.dumps(scope.to_dict()),
                    "status": final,
                    "status_reason": promote_reason or reason,
                    "provenance_json": json.dumps([provenance]),
                    "scan_json": json.dumps(scan),
                    "evidence_json": None,
                    "trust": float(trust),
                    "utility": 0.5,
                    "retrieved_count": 0,
                    "helped_count": 0,
                    "hurt_count": 0,
                    "hurt_streak": 0,
                    "strength": 1,
                    "content_hash": digest,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            _history(
                db,
                mid,
                now,
                actor,
                "created",
                None,
                CANDIDATE,
                f"submitted: {provenance.get('source', '')}",
                {"provenance": provenance},
            )
            scan_reason = reason if status == "rejected" else "immune scan passed; held for review"
            _history(db, mid, now, "immune", "scanned", CANDIDATE, status, scan_reason, {"scan": scan})
            if promote_reason:
                _history(db, mid, now, actor, "promoted", status, "promoted", promote_reason, {})
            if vector is not None:
                _save_vector(db, mid, digest, vector, similarity.model_name())
            _bump(db)
        return self.get(mid)

    def transition(
        self,
        memory_id: str,
        to_status: str,
        *,
        actor: str,
        action: str,
        reason: str,
        updates: dict[str, Any] | None = None,
        data: dict | None = None,
        expect: Sequence[str] | None = None,
        kind: str = "memory",
        force: bool = False,
    ) -> Memory:
        """Move a memory to ``to_status`` (may equal its status) with ``updates``, recording who and why.

        ``force`` skips the lifecycle table (undoing a decision returns to exactly the previous status).
        """
        updates = dict(updates or {})
        unknown = set(updates) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable memory fields: {sorted(unknown)}")
        if to_status not in STATUSES:
            raise InputError(f"Unknown memory status {to_status!r}.", f"Use one of: {', '.join(STATUSES)}.")
        now = now_iso()
        with self.store._errors(), self.store.transaction(kind) as db:
            row = db.execute("SELECT status FROM memories WHERE id = ?", [memory_id]).fetchone()
            if row is None:
                raise StoreError(f"Memory {memory_id} no longer exists.", "Refresh the memory list.")
            current = row[0]
            if expect is not None and current not in expect:
                raise InputError(
                    f"This memory is {current}; it cannot be {action} now.",
                    f"Only a memory that is {' or '.join(expect)} can be {action}.",
                )
            if not force and to_status not in TRANSITIONS[current]:
                raise InputError(
                    f"A {current} memory cannot become {to_status}.", "Edit or re-test it first."
                )
            if "text" in updates:
                updates["content_hash"] = content_hash(updates["text"])
            fields = {
                **updates,
                "status": to_status,
                "status_reason": updates.get("status_reason", reason),
                "updated_at": now,
            }
            sets = ", ".join(f"{k} = ?" for k in fields)
            db.execute(f"UPDATE memories SET {sets} WHERE id = ?", [*fields.values(), memory_id])
            _history(db, memory_id, now, actor, action, current, to_status, reason, data or {})
            _bump(db)
        return self.get(memory_id)

    def save_vector(self, memory: Memory, vector: np.ndarray) -> None:
        with self.store._errors(), self.store.transaction("memory") as db:
            _save_vector(db, memory.id, memory.content_hash, vector, similarity.model_name())

    def record_evidence(self, evidence: ReplayEvidence, *, trust_note: str = "") -> ReplayEvidence:
        """Store a replay's evidence row and put it on the memory, as one "evidence" write."""
        now = now_iso()
        eid = uuid.uuid4().hex
        stored = dataclasses.replace(evidence, id=eid, created_at=now)
        with self.store._errors(), self.store.transaction("evidence") as db:
            row = db.execute("SELECT status FROM memories WHERE id = ?", [evidence.memory_id]).fetchone()
            if row is None:
                raise StoreError(f"Memory {evidence.memory_id} no longer exists.", "Refresh the memory list.")
            db["memory_evidence"].insert(
                {
                    "id": eid,
                    "memory_id": evidence.memory_id,
                    "status": evidence.status,
                    "verdict": evidence.verdict,
                    "n": evidence.n,
                    "seeds_json": json.dumps(evidence.seeds),
                    "tasks_json": json.dumps(evidence.tasks),
                    "scores_with_json": json.dumps(evidence.scores_with),
                    "scores_without_json": json.dumps(evidence.scores_without),
                    "mean_with": evidence.mean_with,
                    "mean_without": evidence.mean_without,
                    "delta": evidence.delta,
                    "wins": evidence.wins,
                    "losses": evidence.losses,
                    "created_at": now,
                }
            )
            db.execute(
                "UPDATE memories SET evidence_json = ?, updated_at = ? WHERE id = ?",
                [json.dumps(stored.to_dict()), now, evidence.memory_id],
            )
            if not evidence.n:
                summary = "untested (no past task to replay)"
            else:
                summary = (
                    f"replay verdict {evidence.verdict}: mean {evidence.mean_with} with vs {evidence.mean_without} "
                    f"without, delta {evidence.delta:+.2f}, n={evidence.n}; {evidence.n_grounded} grounded pairs "
                    f"({evidence.grounded_wins} better, {evidence.grounded_losses} worse, "
                    f"{evidence.grounded_ties} same), {evidence.n_ungrounded} ungrounded skipped"
                    + (f", sign test p={evidence.p_value:.3f}" if evidence.p_value is not None else "")
                    + f": {evidence.verdict_reason}"
                )
            _history(
                db,
                evidence.memory_id,
                now,
                "replay",
                "retested",
                row[0],
                row[0],
                trust_note or summary,
                # memory_evidence has no columns for the grounding: the history entry keeps it per replay
                {"evidence_id": eid, "grounding": {k: stored.to_dict()[k] for k in GROUNDING_FIELDS}},
            )
            _bump(db)
        return stored

    def apply_credits(self, updates: Sequence[CreditUpdate], *, demote_to: str = "quarantined") -> None:
        """A run's credit for every memory it used, in one transaction (idempotent per memory and run)."""
        if not updates:
            return
        now = now_iso()
        with self.store._errors(), self.store.transaction("memory") as db:
            for u in updates:
                seen = db.execute(
                    "SELECT 1 FROM memory_credits WHERE memory_id = ? AND run_id = ?", [u.memory_id, u.run_id]
                ).fetchone()
                row = db.execute("SELECT status FROM memories WHERE id = ?", [u.memory_id]).fetchone()
                if seen or row is None:
                    continue
                db["memory_credits"].insert(
                    {
                        "id": uuid.uuid4().hex,
                        "memory_id": u.memory_id,
                        "run_id": u.run_id,
                        "steps_json": json.dumps(u.steps),
                        "outcome": u.outcome,
                        "baseline": u.baseline,
                        "advantage": u.advantage,
                        "verdict": u.verdict,
                        "utility_after": u.utility_after,
                        "created_at": now,
                    }
                )
                db.execute(
                    """UPDATE memories SET utility = ?, retrieved_count = retrieved_count + 1, helped_count = ?,
                       hurt_count = ?, hurt_streak = ?, updated_at = ? WHERE id = ?""",
                    [u.utility_after, u.helped, u.hurt, u.hurt_streak, now, u.memory_id],
                )
                _history(
                    db,
                    u.memory_id,
                    now,
                    "credit",
                    "credited",
                    row[0],
                    row[0],
                    u.note
                    or f"run {u.run_id[:8]} {u.verdict}: outcome {u.outcome:.2f} vs baseline {u.baseline:.2f}",
                    {"run_id": u.run_id, "utility": u.utility_after},
                )
                if u.flag_reason and not u.demote_reason:
                    db.execute(
                        "UPDATE memories SET status_reason = ? WHERE id = ?", [u.flag_reason, u.memory_id]
                    )
                    _history(
                        db,
                        u.memory_id,
                        now,
                        "credit",
                        "flagged",
                        row[0],
                        row[0],
                        u.flag_reason,
                        {"run_id": u.run_id},
                    )
                if u.demote_reason and row[0] == "promoted":
                    db.execute(
                        "UPDATE memories SET status = ?, status_reason = ?, hurt_streak = 0, updated_at = ? WHERE id = ?",
                        [demote_to, u.demote_reason, now, u.memory_id],
                    )
                    _history(
                        db,
                        u.memory_id,
                        now,
                        "credit",
                        "demoted",
                        "promoted",
                        demote_to,
                        u.demote_reason,
                        {"run_id": u.run_id},
                    )
            _bump(db)

    def recent_run_scores(
        self, limit: int = 20, *, exclude: str | None = None, grounded: Sequence[str] | None = None
    ) -> list[float]:
        """Final scores of the latest finished train runs, newest first (the credit baseline).

        ``grounded``: only runs whose recorded ``grounded_by`` (runs.meta_json) is one of these.
        """
        where, params = "", []
        if grounded is not None:
            marks = ", ".join("?" for _ in grounded) or "NULL"
            where = f" AND json_extract(meta_json, '$.grounded_by') IN ({marks})"
            params = list(grounded)
        with self.store._errors():
            rows = (
                self.connection
                .execute(
                    "SELECT score FROM runs WHERE mode = 'train' AND score IS NOT NULL AND status = 'complete' AND id != ?"
                    f"{where} ORDER BY started_at DESC LIMIT ?",
                    [exclude or "", *params, limit],
                )
                .fetchall()
            )
        return [float(r[0]) for r in rows]


def _history(
    db, memory_id: str, at: str, actor: str, action: str, from_status, to_status, reason: str, data: dict
) -> None:
    db["memory_history"].insert(
        {
            "id": uuid.uuid4().hex,
            "memory_id": memory_id,
            "at": at,
            "actor": actor,
            "action": action,
            "from_status": from_status,
            "to_status": to_status,
            "reason": reason or "",
            "data_json": json.dumps(data, default=str),
        }
    )


def _save_vector(db, memory_id: str, digest: str, vector: np.ndarray, model: str) -> None:
    vector = np.asarray(vector, dtype=np.float32)
    db.execute(
        """INSERT INTO memory_vectors (memory_id, model, dim, content_hash, vector, updated_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(memory_id) DO UPDATE SET model = excluded.model, dim = excluded.dim,
           content_hash = excluded.content_hash, vector = excluded.vector, updated_at = excluded.updated_at""",
        [memory_id, model, int(vector.shape[0]), digest, similarity.to_blob(vector), now_iso()],
    )


def _bump(db) -> None:
    db.execute("UPDATE memory_state SET generation = generation + 1 WHERE id = 1")


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]
