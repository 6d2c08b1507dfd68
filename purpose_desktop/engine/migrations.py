"""The schema: append-only sqlite-utils migrations (m001_…), applied in order by Store."""

from __future__ import annotations

from typing import Any

import sqlite_utils
from sqlite_utils import Migrations

MIGRATION_SET = "purpose_desktop"

# Append-only: never edit or reorder a shipped migration; add the next one. Every migration must be
# transactional (no VACUUM): Store applies them all inside one BEGIN IMMEDIATE.
migrations = Migrations(MIGRATION_SET)
_known: list[str] = []


def _migration(fn: Any) -> Any:
    """Register ``fn`` as the next migration (its name is recorded once applied)."""
    _known.append(fn.__name__)
    return migrations()(fn)


@_migration
def m001_conversations(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE conversations (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            model TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            deleted_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_conversations_updated_at ON conversations(updated_at)")


@_migration
def m002_messages(db: sqlite_utils.Database) -> None:
    # Roles and statuses are validated in Python, not by CHECK constraints, so later issues can add
    # values without rebuilding the table.
    db.execute(
        """
        CREATE TABLE messages (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            status TEXT NOT NULL,
            meta_json TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX idx_messages_conversation_seq ON messages(conversation_id, seq)")
    # Tiny partial index: recover_interrupted() runs on every open.
    db.execute("CREATE INDEX idx_messages_streaming ON messages(status) WHERE status = 'streaming'")


@_migration
def m003_runs(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            task TEXT NOT NULL,
            purpose TEXT,
            team TEXT,
            roles_json TEXT NOT NULL DEFAULT '[]',
            mode TEXT NOT NULL,
            status TEXT NOT NULL,
            answer TEXT,
            score REAL,
            tokens_work INTEGER NOT NULL DEFAULT 0,
            tokens_judge INTEGER NOT NULL DEFAULT 0,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            meta_json TEXT NOT NULL DEFAULT '{}'
        )
        """
    )
    db.execute("CREATE INDEX idx_runs_started_at ON runs(started_at)")


@_migration
def m004_steps(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE steps (
            id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            role TEXT NOT NULL,
            attempt INTEGER NOT NULL DEFAULT 0,
            prompt TEXT NOT NULL DEFAULT '',
            output TEXT NOT NULL DEFAULT '',
            thoughts_json TEXT NOT NULL DEFAULT '[]',
            tool_calls_json TEXT NOT NULL DEFAULT '[]',
            memory_ids_json TEXT NOT NULL DEFAULT '[]',
            score REAL,
            evidence_json TEXT NOT NULL DEFAULT '[]',
            tests_json TEXT,
            tokens INTEGER NOT NULL DEFAULT 0,
            judge_tokens INTEGER NOT NULL DEFAULT 0,
            elapsed_ms REAL NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX idx_steps_run_seq ON steps(run_id, seq)")


@_migration
def m005_teams(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE teams (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            spec_json TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )


# Feature packages own their tables; their migrations are registered here, in this fixed order.
# New migrations after these go at the end of this file (append-only across the whole schema).
from purpose_desktop.engine.memory import schema as _memory_schema  # noqa: E402
from purpose_desktop.engine.vault import schema as _vault_schema  # noqa: E402

_memory_schema.register(_migration)
_vault_schema.register(_migration)

KNOWN_MIGRATIONS: tuple[str, ...] = tuple(_known)
