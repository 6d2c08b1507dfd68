"""Schema battery: a database from every earlier schema version upgrades with every row kept; a database
from a newer app is refused with a clear message and left byte-for-byte untouched.

The fixtures in fixtures/ were built by fixtures/make_fixtures.py (KNOWN_MIGRATIONS[:k] on a blank file,
plus representative rows). Appending a migration without adding its fixture fails here on purpose.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from purpose_desktop.engine.errors import StoreError
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.store.migrations import KNOWN_MIGRATIONS
from tests.reliability.board import record
from tests.reliability.fixtures.make_fixtures import fixture_name

FIXTURES = Path(__file__).parent / "fixtures"
VERSIONS = list(range(1, len(KNOWN_MIGRATIONS) + 1))
# Rows the upgrade may legitimately change: opening marks a reply left "streaming" by a crash as cancelled.
RECOVERED = {"status", "meta_json", "updated_at"}
ROWS_KEPT: dict[int, int] = {}


def _tables(conn: sqlite3.Connection) -> list[str]:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    # FTS shadow tables are derived data; the migrations table is checked through schema_version().
    return [n for n in names if not n.startswith(("vault_fts", "sqlite_", "_sqlite_migrations"))]


def _rows(path: Path) -> dict[str, list[dict]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return {
            t: [dict(r) for r in conn.execute(f"SELECT rowid AS _rowid, * FROM {t} ORDER BY rowid")]
            for t in _tables(conn)
        }
    finally:
        conn.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_there_is_a_fixture_for_every_schema_version():
    missing = [fixture_name(k) for k in VERSIONS if not (FIXTURES / fixture_name(k)).exists()]
    assert not missing, f"run tests/reliability/fixtures/make_fixtures.py and commit: {missing}"


@pytest.mark.parametrize("k", VERSIONS, ids=[f"v{k:02d}" for k in VERSIONS])
def test_database_of_every_version_upgrades_with_every_row_kept(tmp_path, k):
    source = FIXTURES / fixture_name(k)
    if not source.exists():
        pytest.fail(f"missing fixture {source.name}: run fixtures/make_fixtures.py")
    path = tmp_path / "purpose.db"
    shutil.copyfile(source, path)
    before = _rows(path)
    assert sum(map(len, before.values())) > 0

    with Store(path) as store:
        assert store.schema_version() == list(KNOWN_MIGRATIONS)
        conversations = store.list_conversations(include_deleted=True)
        if "messages" in before:
            for conv in conversations:
                store.messages(conv.id)  # every stored message still decodes
        if "runs" in before:
            store.list_runs()
        check = store.connection.execute("PRAGMA integrity_check").fetchall()
        fk = store.connection.execute("PRAGMA foreign_key_check").fetchall()
    assert check == [("ok",)] and fk == []

    after = _rows(path)
    kept = 0
    for table, rows in before.items():
        now = {r["_rowid"]: r for r in after[table]}
        for row in rows:
            assert row["_rowid"] in now, f"{table} lost row {row}"
            may_change = RECOVERED if table == "messages" and row["status"] == "streaming" else set()
            for column, value in row.items():
                if column not in may_change:
                    assert now[row["_rowid"]][column] == value, f"{table}.{column} changed in the upgrade"
            kept += 1
    if k > KNOWN_MIGRATIONS.index("m008_vault_fts"):
        conn = sqlite3.connect(path)
        try:  # chunks stored once full-text search existed are still found by it
            assert (
                conn.execute("SELECT count(*) FROM vault_fts WHERE vault_fts MATCH 'retry'").fetchone()[0]
                >= 1
            )
        finally:
            conn.close()
    ROWS_KEPT[k] = kept
    record(
        "store_upgrade", fixtures=len(VERSIONS), upgraded=len(ROWS_KEPT), rows_kept=sum(ROWS_KEPT.values())
    )


@pytest.mark.parametrize("k", [1, len(KNOWN_MIGRATIONS) // 2, len(KNOWN_MIGRATIONS)])
def test_a_newer_database_is_refused_untouched(tmp_path, k):
    path = tmp_path / "purpose.db"
    shutil.copyfile(FIXTURES / fixture_name(k), path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('purpose_desktop', 'm999_from_the_future', '2030-01-01')"
        )
        conn.execute("CREATE TABLE future_things (id TEXT PRIMARY KEY)")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    digest, listing = _sha(path), sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(StoreError) as info:
        Store(path)
    message = f"{info.value.message} {info.value.hint}"
    assert "newer" in message and "m999_from_the_future" in message and "untouched" in message
    assert _sha(path) == digest, "the newer database was modified"
    # SQLite's read-only look at a WAL database makes an (empty) -wal and its -shm index; no page of the
    # file itself changes, and the newer app opens it as before.
    new = sorted(set(p.name for p in tmp_path.iterdir()) - set(listing))
    assert set(new) <= {"purpose.db-wal", "purpose.db-shm"}, new
    wal = tmp_path / "purpose.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0, "the read-only look wrote WAL frames"


def test_the_newest_fixture_matches_a_freshly_migrated_schema(tmp_path):
    """The last fixture is what the app makes today: same tables, same columns."""
    fresh = tmp_path / "fresh.db"
    Store(fresh).close()
    old = tmp_path / "old.db"
    shutil.copyfile(FIXTURES / fixture_name(len(KNOWN_MIGRATIONS)), old)

    def columns(path: Path) -> dict[str, list[str]]:
        conn = sqlite3.connect(path)
        try:
            return {t: [c[1] for c in conn.execute(f"PRAGMA table_info({t})")] for t in _tables(conn)}
        finally:
            conn.close()

    assert columns(old) == columns(fresh)
