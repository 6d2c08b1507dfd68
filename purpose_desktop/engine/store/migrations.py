"""The schema: every append-only sqlite-utils migration (m001_…), in one ordered tuple applied by Store.

Names are a migration's identity (they are recorded in ``_sqlite_migrations``): never rename, edit or
reorder a shipped one; add the next one at the end of ``MIGRATIONS``. Every migration must be
transactional (no VACUUM): Store applies them all inside one BEGIN IMMEDIATE.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

MIGRATION_SET = "purpose_desktop"


# -- conversations, messages, runs, teams -----------------------------------------------------------


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


# -- memory (engine/memory/) ------------------------------------------------------------------------
# Kinds, statuses and the lifecycle live in memory/records.py; these are its tables.


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


# -- vault (engine/vault/) --------------------------------------------------------------------------
# Sources (folders, files, pasted texts) hold files; files hold chunks (exact text with its line range);
# ``vault_fts`` indexes chunks for BM25; embeddings are keyed by (content hash, model), so a chunk whose
# text did not change is never embedded twice and a new model re-embeds without re-chunking.
# ``vault_state.revision`` goes up with every committed vault change, telling searchers to reload.

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


# -- chat ---------------------------------------------------------------------------------------------


def chat_m001_attachments(db: sqlite_utils.Database) -> None:
    # Files attached to a chat (today: test files that "Run the tests" runs a code block against).
    db.execute(
        """
        CREATE TABLE chat_attachments (
            id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_chat_attachments_conversation ON chat_attachments(conversation_id)")
# -- workspace (engine/workspace/) ------------------------------------------------------------------
# A team's or a chat's proposed file changes, stored the moment they are proposed (a crash loses none)
# and applied or rejected by the person later. ``before_text`` NULL: the file did not exist.


def workspace_m001_proposals(db: sqlite_utils.Database) -> None:
    # Statuses are validated in Python (workspace.proposals.STATUSES), not by a CHECK constraint.
    db.execute(
        """
        CREATE TABLE workspace_proposals (
            id TEXT PRIMARY KEY,
            project TEXT NOT NULL,
            path TEXT NOT NULL,
            run_id TEXT,
            message_id TEXT,
            before_text TEXT,
            after_text TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            checks_json TEXT,
            created_at TEXT NOT NULL,
            decided_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX idx_workspace_proposals_run ON workspace_proposals(run_id)")
    db.execute("CREATE INDEX idx_workspace_proposals_message ON workspace_proposals(message_id)")
    db.execute("CREATE INDEX idx_workspace_proposals_project ON workspace_proposals(project, status)")


# -- immune -------------------------------------------------------------------------------------------


def immune_m001_allowlist(db: sqlite_utils.Database) -> None:
    # Findings the person overruled as false positives; later scans report them as allowed. excerpt is
    # the flagged words (never a secret: the scan masks those), text_hash the sha256 of the whole text.
    db.execute(
        """
        CREATE TABLE immune_allowlist (
            id TEXT PRIMARY KEY,
            rule TEXT NOT NULL,
            category TEXT NOT NULL,
            excerpt TEXT NOT NULL DEFAULT '',
            text_hash TEXT NOT NULL DEFAULT '',
            memory_id TEXT,
            reason TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_immune_allowlist_memory ON immune_allowlist(memory_id)")


# -- evaluation suite and its log ------------------------------------------------------------------


def eval001_suite_tasks(db: sqlite_utils.Database) -> None:
    # The person's fixed evaluation suite: a task, its pytest tests (importing ``solution``), where it came
    # from ("kept" from a run's tester checks, "imported" from a folder, "added").
    db.execute(
        """
        CREATE TABLE eval_suite_tasks (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            task TEXT NOT NULL,
            tests TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'added',
            origin TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )


def eval002_log(db: sqlite_utils.Database) -> None:
    # One row per evaluation, written once when it ends and never changed: triggers refuse UPDATE and
    # DELETE, so a pass rate once recorded stays what it was. Learning never reads this table.
    db.execute(
        """
        CREATE TABLE eval_log (
            id TEXT PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            status TEXT NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            team TEXT NOT NULL DEFAULT '',
            n_tasks INTEGER NOT NULL,
            n_passed INTEGER NOT NULL,
            n_grounded INTEGER NOT NULL,
            pass_rate REAL,
            promoted_json TEXT NOT NULL DEFAULT '[]',
            results_json TEXT NOT NULL DEFAULT '[]'
        )
        """
    )
    db.execute("CREATE INDEX idx_eval_log_started_at ON eval_log(started_at)")
    for op in ("UPDATE", "DELETE"):
        db.execute(
            f"""
            CREATE TRIGGER eval_log_no_{op.lower()} BEFORE {op} ON eval_log BEGIN
                SELECT RAISE(ABORT, 'the evaluation log is append-only');
            END
            """
        )


def generation_conversation_settings(db: sqlite_utils.Database) -> None:
    """A chat's own generation settings (temperature, top-p, max tokens, seed, system prompt, thinking)."""
    db.execute("ALTER TABLE conversations ADD COLUMN settings_json TEXT")


def promptopt_m001_proposals(db: sqlite_utils.Database) -> None:
    """Role-prompt proposals: a role's instructions before/after, the demos used, suite results both ways.

    Named ``eval_…`` because it holds evaluation results: learning never reads it (as with ``eval_log``).
    """
    db.execute(
        """
        CREATE TABLE eval_prompt_proposals (
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            team_id TEXT NOT NULL,
            team_name TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'proposed',
            before_text TEXT NOT NULL,
            after_text TEXT NOT NULL,
            diff TEXT NOT NULL DEFAULT '',
            recommended INTEGER NOT NULL DEFAULT 0,
            explanation TEXT NOT NULL DEFAULT '',
            demos_json TEXT NOT NULL DEFAULT '[]',
            excluded_json TEXT NOT NULL DEFAULT '[]',
            candidates_json TEXT NOT NULL DEFAULT '[]',
            before_json TEXT NOT NULL DEFAULT '{}',
            after_json TEXT NOT NULL DEFAULT '{}',
            produced_by_json TEXT NOT NULL DEFAULT '{}',
            history_json TEXT NOT NULL DEFAULT '[]',
            updated_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX idx_eval_prompt_proposals_team ON eval_prompt_proposals(team_id, created_at)")


def chat_m002_mcp_tools(db: sqlite_utils.Database) -> None:
    """Whether a chat offers the tools of the person's MCP servers to the model (off unless they turn it on)."""
    db.execute("ALTER TABLE conversations ADD COLUMN mcp_tools INTEGER NOT NULL DEFAULT 0")


# Append-only, in this order: the memory tables were added before the vault's (whose m008_ names
# came from a parallel branch and are kept as shipped).
MIGRATIONS = (
    m001_conversations,
    m002_messages,
    m003_runs,
    m004_steps,
    m005_teams,
    m006_memories,
    m007_memory_history,
    m008_memory_evidence,
    m009_memory_vectors,
    m010_memory_credits,
    m008_vault_sources,
    m008_vault_files,
    m008_vault_chunks,
    m008_vault_fts,
    m008_vault_embeddings,
    m008_vault_state,
    chat_m001_attachments,
    immune_m001_allowlist,
    workspace_m001_proposals,
    eval001_suite_tasks,
    eval002_log,
    generation_conversation_settings,
    promptopt_m001_proposals,
    chat_m002_mcp_tools,
)

migrations = Migrations(MIGRATION_SET)
for _fn in MIGRATIONS:
    migrations()(_fn)

KNOWN_MIGRATIONS: tuple[str, ...] = tuple(fn.__name__ for fn in MIGRATIONS)
