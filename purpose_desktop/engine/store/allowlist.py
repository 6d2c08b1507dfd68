"""The immune allow-list in SQLite: findings the person overruled, loaded as an AllowList every scan respects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from purpose_desktop.engine.immune.allow import AllowEntry, AllowList

from .database import new_id, now_iso

WRITE_KIND = "memory"


def load_allowlist(store) -> AllowList:
    """Every overruled finding in ``store`` (an empty list on a database without the table yet)."""
    db = store.connection
    with store._errors():
        rows = db.execute("SELECT rule, category, excerpt, text_hash FROM immune_allowlist").fetchall()
    return AllowList(
        AllowEntry(rule, category, excerpt, text_hash) for rule, category, excerpt, text_hash in rows
    )


def add_entries(
    store, findings: Iterable[Mapping[str, Any]], *, text_hash: str, memory_id: str | None, reason: str
) -> list[str]:
    """Record the overruled ``findings`` (scan-report dicts); returns the new row ids."""
    now = now_iso()
    rows = [
        (
            new_id(),
            str(f["rule"]),
            str(f["category"]),
            str(f.get("excerpt") or ""),
            text_hash,
            memory_id,
            reason,
            now,
        )
        for f in findings
    ]
    with store._errors(), store.transaction(WRITE_KIND) as db:
        db.conn.executemany(
            "INSERT INTO immune_allowlist (id, rule, category, excerpt, text_hash, memory_id, reason, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return [r[0] for r in rows]


def list_entries(store, limit: int = 500) -> list[dict]:
    """The allow-list, newest first, for the person to review."""
    with store._errors():
        cur = store.connection.execute(
            "SELECT id, rule, category, excerpt, memory_id, reason, created_at FROM immune_allowlist "
            "ORDER BY created_at DESC LIMIT ?",
            [limit],
        )
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def remove_entry(store, entry_id: str) -> dict | None:
    """Take one entry off the allow-list (later scans block its finding again); returns it, or None if absent."""
    with store._errors(), store.transaction(WRITE_KIND) as db:
        cur = db.conn.execute(
            "SELECT id, rule, category, excerpt, memory_id, reason, created_at FROM immune_allowlist WHERE id = ?",
            [entry_id],
        )
        row = cur.fetchone()
        if row is None:
            return None
        entry = dict(zip([c[0] for c in cur.description], row, strict=True))
        db.conn.execute("DELETE FROM immune_allowlist WHERE id = ?", [entry_id])
    return entry
