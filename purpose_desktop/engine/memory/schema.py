"""The memory tables: migrations registered, in order, by engine/migrations.py."""

from __future__ import annotations

import sqlite_utils

# Append-only, like the rest of the schema: never edit a shipped migration below; add the next one
# at the end of register().


def m006_memories(db: sqlite_utils.Database) -> None:
    # Kinds and statuses are validated in Python (records.KINDS / STATUSES), not CHECK constraints,
    # so a later kind needs no table rebuild.
    db.execute(
        """
        CREATE TABLE memories (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            text TEXT NOT NULL,
            scope_json TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL,
            status_reason TEXT NOT NULL DEFAULT '',
            provenance_json TEXT NOT NULL DEFAULT '[]',
            scan_json TEXT NOT NULL DEFAULT '{}',
            evidence_json TEXT,
            trust REAL NOT NULL DEFAULT 0.5,
            utility REAL NOT NULL DEFAULT 0.5,
            retrieved_count INTEGER NOT NULL DEFAULT 0,
            helped_count INTEGER NOT NULL DEFAULT 0,
            hurt_count INTEGER NOT NULL DEFAULT 0,
            hurt_streak INTEGER NOT NULL DEFAULT 0,
            strength INTEGER NOT NULL DEFAULT 1,
            content_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_memories_status_kind ON memories(status, kind)")
    db.execute("CREATE INDEX idx_memories_content_hash ON memories(content_hash)")
    # One row: bumped by every transaction that changes what retrieval could see, so a cached index
    # knows it is stale with one primary-key read (PRAGMA data_version misses our own writes).
    db.execute(
        "CREATE TABLE memory_state (id INTEGER PRIMARY KEY CHECK (id = 1), generation INTEGER NOT NULL)"
    )
    db.execute("INSERT INTO memory_state (id, generation) VALUES (1, 0)")


def m007_memory_history(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE memory_history (
            id TEXT PRIMARY KEY,
            memory_id TEXT NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            from_status TEXT,
            to_status TEXT,
            reason TEXT NOT NULL DEFAULT '',
            data_json TEXT NOT NULL DEFAULT '{}'
        )
        """
    )
    db.execute("CREATE INDEX idx_memory_history_memory ON memory_history(memory_id, at)")


def m008_memory_evidence(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE memory_evidence (
            id TEXT PRIMARY KEY,
            memory_id TEXT NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            status TEXT NOT NULL,
            verdict TEXT NOT NULL,
            n INTEGER NOT NULL,
            seeds_json TEXT NOT NULL DEFAULT '[]',
            tasks_json TEXT NOT NULL DEFAULT '[]',
            scores_with_json TEXT NOT NULL DEFAULT '[]',
            scores_without_json TEXT NOT NULL DEFAULT '[]',
            mean_with REAL,
            mean_without REAL,
            delta REAL,
            wins INTEGER NOT NULL DEFAULT 0,
            losses INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_memory_evidence_memory ON memory_evidence(memory_id, created_at)")


def m009_memory_vectors(db: sqlite_utils.Database) -> None:
    # float32 little-endian BLOBs; a vector is valid only for the model and content hash it was made from.
    db.execute(
        """
        CREATE TABLE memory_vectors (
            memory_id TEXT PRIMARY KEY REFERENCES memories(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            vector BLOB NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )


def m010_memory_credits(db: sqlite_utils.Database) -> None:
    # One row per (memory, run): the ledger behind utility, helped/hurt counts and demotion reasons.
    db.execute(
        """
        CREATE TABLE memory_credits (
            id TEXT PRIMARY KEY,
            memory_id TEXT NOT NULL REFERENCES memories(id) ON DELETE CASCADE,
            run_id TEXT NOT NULL,
            steps_json TEXT NOT NULL DEFAULT '[]',
            outcome REAL NOT NULL,
            baseline REAL NOT NULL,
            advantage REAL NOT NULL,
            verdict TEXT NOT NULL,
            utility_after REAL NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX idx_memory_credits_memory_run ON memory_credits(memory_id, run_id)")


def register(migration) -> None:
    """Register this package's migrations with ``migration`` (a decorator), oldest first."""
    for fn in (
        m006_memories,
        m007_memory_history,
        m008_memory_evidence,
        m009_memory_vectors,
        m010_memory_credits,
    ):
        migration(fn)
