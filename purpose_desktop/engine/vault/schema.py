"""The vault tables: migrations registered, in order, by engine/migrations.py.

Sources (folders, files, pasted texts) hold files; files hold chunks (exact text with its line range);
``vault_fts`` indexes chunks for BM25; embeddings are keyed by (content hash, model), so a chunk whose
text did not change is never embedded twice and a new model re-embeds without re-chunking.
``vault_state.revision`` goes up with every committed vault change, telling searchers to reload.
"""

from __future__ import annotations

import sqlite_utils

# Porter stemming over unicode61: "uploads" finds "upload", and because "_" and "." separate tokens,
# the quoted phrase "retry_failed_upload" matches exactly that identifier (as the phrase retry·failed·upload).
# camelCase words are split into their parts in the ``terms`` column at ingest (see ingest.identifier_terms).
FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"


def m008_vault_sources(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE vault_sources (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            path TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            error TEXT,
            added_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            indexed_at TEXT,
            meta_json TEXT NOT NULL DEFAULT '{}'
        )
        """
    )


def m008_vault_files(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE vault_files (
            id TEXT PRIMARY KEY,
            source_id TEXT NOT NULL REFERENCES vault_sources(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            rel_path TEXT NOT NULL,
            kind TEXT,
            language TEXT,
            size INTEGER,
            mtime_ns INTEGER,
            content_hash TEXT,
            status TEXT NOT NULL,
            skip_reason TEXT,
            chunk_count INTEGER NOT NULL DEFAULT 0,
            indexed_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX idx_vault_files_source_path ON vault_files(source_id, path)")


def m008_vault_chunks(db: sqlite_utils.Database) -> None:
    # INTEGER PRIMARY KEY: the rowid vault_fts points at. flagged = the immune scan blocked this text
    # for prompts (vault context: injection); scan_json keeps every finding for the person to read.
    db.execute(
        """
        CREATE TABLE vault_chunks (
            id INTEGER PRIMARY KEY,
            file_id TEXT NOT NULL REFERENCES vault_files(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            start_line INTEGER NOT NULL,
            end_line INTEGER NOT NULL,
            page INTEGER,
            kind TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL,
            terms TEXT NOT NULL DEFAULT '',
            content_hash TEXT NOT NULL,
            flagged INTEGER NOT NULL DEFAULT 0,
            scan_json TEXT,
            scanner TEXT,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_vault_chunks_file ON vault_chunks(file_id, seq)")
    db.execute("CREATE INDEX idx_vault_chunks_hash ON vault_chunks(content_hash)")


def m008_vault_fts(db: sqlite_utils.Database) -> None:
    db.execute(
        f"""
        CREATE VIRTUAL TABLE vault_fts USING fts5(
            title, text, terms,
            content='vault_chunks', content_rowid='id',
            tokenize='{FTS_TOKENIZE}'
        )
        """
    )
    # External-content FTS kept in step by triggers (they also fire for ON DELETE CASCADE deletes).
    db.execute(
        """
        CREATE TRIGGER vault_chunks_ai AFTER INSERT ON vault_chunks BEGIN
            INSERT INTO vault_fts(rowid, title, text, terms) VALUES (new.id, new.title, new.text, new.terms);
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER vault_chunks_ad AFTER DELETE ON vault_chunks BEGIN
            INSERT INTO vault_fts(vault_fts, rowid, title, text, terms)
            VALUES ('delete', old.id, old.title, old.text, old.terms);
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER vault_chunks_au AFTER UPDATE OF title, text, terms ON vault_chunks BEGIN
            INSERT INTO vault_fts(vault_fts, rowid, title, text, terms)
            VALUES ('delete', old.id, old.title, old.text, old.terms);
            INSERT INTO vault_fts(rowid, title, text, terms) VALUES (new.id, new.title, new.text, new.terms);
        END
        """
    )


def m008_vault_embeddings(db: sqlite_utils.Database) -> None:
    # vector: little-endian float32, L2-normalised, ``dim`` values.
    db.execute(
        """
        CREATE TABLE vault_embeddings (
            content_hash TEXT NOT NULL,
            model TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (content_hash, model)
        )
        """
    )
    db.execute("CREATE INDEX idx_vault_embeddings_model ON vault_embeddings(model)")


def m008_vault_state(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE vault_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute("INSERT INTO vault_state (key, value) VALUES ('revision', 0)")


MIGRATIONS = (
    m008_vault_sources,
    m008_vault_files,
    m008_vault_chunks,
    m008_vault_fts,
    m008_vault_embeddings,
    m008_vault_state,
)


def register(migration) -> None:
    """Register this package's migrations with ``migration`` (a decorator), oldest first."""
    for fn in MIGRATIONS:
        migration(fn)
