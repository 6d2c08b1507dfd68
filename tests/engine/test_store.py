"""Store against real SQLite files: schema, CRUD, durability under kill -9, and refusals that touch nothing."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from purpose_desktop.engine import paths
from purpose_desktop.engine.errors import InputError, StoreError
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.store import database as store_mod
from purpose_desktop.engine.store import migrations as migrations_mod
from purpose_desktop.engine.store.conversations import MAX_CONTENT_BYTES
from purpose_desktop.engine.store.migrations import KNOWN_MIGRATIONS

REPO_ROOT = Path(__file__).resolve().parents[2]
SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)  # Windows: os.kill(SIGTERM) is TerminateProcess


@pytest.fixture
def store():
    s = Store()
    yield s
    s.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sidecars(path: Path) -> set[str]:
    """The -wal / -shm / -journal files beside ``path``."""
    return {p.name for p in path.parent.glob(path.name + "-*")}


# -- schema ------------------------------------------------------------------------------------


def test_blank_database_is_migrated_to_the_expected_schema(_isolated_home):
    # conftest's autouse fixture points PURPOSE_DESKTOP_HOME at a temp folder.
    s = Store()
    try:
        assert s.path == paths.db_path() == _isolated_home / paths.DB_FILENAME
        db = s.connection
        assert {"conversations", "messages", "_sqlite_migrations"} <= set(db.table_names())
        assert {"runs", "steps", "teams"} <= set(db.table_names())

        assert db["conversations"].columns_dict == {
            "id": str,
            "title": str,
            "model": str,
            "created_at": str,
            "updated_at": str,
            "deleted_at": str,
            "settings_json": str,  # a chat's own generation settings
            "mcp_tools": int,  # the chat offers the MCP servers' tools
        }
        assert db["conversations"].pks == ["id"]
        assert db["messages"].columns_dict == {
            "id": str,
            "conversation_id": str,
            "seq": int,
            "role": str,
            "content": str,
            "status": str,
            "meta_json": str,
            "created_at": str,
            "updated_at": str,
        }
        assert db["messages"].pks == ["id"]

        indexes = {ix.name: ix for ix in db["messages"].indexes}
        seq_index = indexes["idx_messages_conversation_seq"]
        assert seq_index.columns == ["conversation_id", "seq"]
        assert seq_index.unique
        assert "idx_conversations_updated_at" in {ix.name for ix in db["conversations"].indexes}

        fks = db.execute("PRAGMA foreign_key_list(messages)").fetchall()
        # (id, seq, table, from, to, on_update, on_delete, match)
        assert [(fk[2], fk[3], fk[4], fk[6]) for fk in fks] == [
            ("conversations", "conversation_id", "id", "CASCADE")
        ]

        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
        assert s.schema_version() == list(KNOWN_MIGRATIONS)
        assert KNOWN_MIGRATIONS[:5] == ("m001_conversations", "m002_messages", "m003_runs", "m004_steps", "m005_teams")
        assert len(set(KNOWN_MIGRATIONS)) == len(KNOWN_MIGRATIONS)
    finally:
        s.close()


def test_reopening_applies_nothing_twice(tmp_path):
    path = tmp_path / "db" / "purpose.db"  # missing parent folders are created
    Store(path).close()
    with Store(path) as s:
        assert s.schema_version() == list(KNOWN_MIGRATIONS)
        assert s.connection["_sqlite_migrations"].count == len(KNOWN_MIGRATIONS)


# -- conversations ---------------------------------------------------------------------------


def test_create_get_list_ordered_by_last_activity(store):
    a = store.create_conversation("First", model="smol")
    b = store.create_conversation()
    c = store.create_conversation("Third")
    assert (a.title, a.model, a.message_count, a.deleted_at) == ("First", "smol", 0, None)
    assert b.title == "New chat"
    assert len({a.id, b.id, c.id}) == 3 and all(len(x.id) == 32 for x in (a, b, c))
    assert a.created_at.endswith("+00:00")

    assert [x.id for x in store.list_conversations()] == [c.id, b.id, a.id]
    store.add_message(a.id, "user", "hello")
    store.add_message(a.id, "assistant", "hi")
    listed = store.list_conversations()
    assert [x.id for x in listed] == [a.id, c.id, b.id]
    assert listed[0].message_count == 2
    assert store.get_conversation(a.id) == listed[0]
    assert store.get_conversation(a.id).updated_at > a.updated_at

    with pytest.raises(StoreError):
        store.get_conversation("nope")


def test_rename(store):
    conv = store.create_conversation()
    renamed = store.rename_conversation(conv.id, "  Sorting   a list \n")
    assert renamed.title == "Sorting a list"
    assert store.get_conversation(conv.id).title == "Sorting a list"
    with pytest.raises(InputError):
        store.rename_conversation(conv.id, "   ")
    with pytest.raises(InputError):
        store.rename_conversation(conv.id, "x" * 501)
    with pytest.raises(StoreError):
        store.rename_conversation("missing", "title")


def test_soft_delete_restore_and_purge(store):
    keep = store.create_conversation("keep")
    gone = store.create_conversation("gone")
    for i in range(3):
        store.add_message(gone.id, "user", f"m{i}")
    store.add_message(keep.id, "user", "stay")

    store.delete_conversation(gone.id)
    assert [c.id for c in store.list_conversations()] == [keep.id]
    assert {c.id for c in store.list_conversations(include_deleted=True)} == {keep.id, gone.id}
    with pytest.raises(StoreError):
        store.get_conversation(gone.id)
    deleted = store.get_conversation(gone.id, include_deleted=True)
    assert deleted.deleted_at is not None and deleted.message_count == 3
    with pytest.raises(StoreError, match="deleted"):
        store.add_message(gone.id, "user", "late")
    store.delete_conversation(gone.id)  # idempotent

    restored = store.restore_conversation(gone.id)
    assert restored.deleted_at is None and restored.message_count == 3
    assert {c.id for c in store.list_conversations()} == {keep.id, gone.id}

    store.delete_conversation(gone.id)
    assert store.purge_deleted(older_than_s=3600) == 0  # deleted just now: too young
    assert store.purge_deleted() == 1
    assert [c.id for c in store.list_conversations(include_deleted=True)] == [keep.id]
    remaining = store.connection.execute("SELECT conversation_id, COUNT(*) FROM messages GROUP BY 1").fetchall()
    assert remaining == [(keep.id, 1)]  # messages cascaded
    with pytest.raises(StoreError):
        store.restore_conversation(gone.id)
    with pytest.raises(StoreError):
        store.delete_conversation(gone.id)


# -- messages --------------------------------------------------------------------------------


def test_messages_keep_their_order_and_fields(store):
    conv = store.create_conversation()
    other = store.create_conversation()
    added = [
        store.add_message(conv.id, role, f"text {i}")
        for i, role in enumerate(["system", "user", "assistant"] * 4)
    ]
    store.add_message(other.id, "user", "elsewhere")
    got = store.messages(conv.id)
    assert [m.seq for m in got] == list(range(1, 13))
    assert got == added
    assert [m.content for m in got] == [f"text {i}" for i in range(12)]
    assert store.messages(other.id)[0].seq == 1
    with pytest.raises(StoreError):
        store.messages("missing")


def test_update_message_merges_meta_and_validates(store):
    conv = store.create_conversation()
    msg = store.add_message(conv.id, "assistant", "", status="streaming", meta={"model": "smol"})
    assert msg.status == "streaming" and msg.meta == {"model": "smol"}
    done = store.update_message(msg.id, content="def f(): pass", status="complete", meta={"n_tokens": 5})
    assert done.meta == {"model": "smol", "n_tokens": 5}
    assert store.messages(conv.id) == [done]
    assert store.update_message(msg.id, status="failed").content == "def f(): pass"

    with pytest.raises(InputError):
        store.add_message(conv.id, "tool", "x")
    with pytest.raises(InputError):
        store.add_message(conv.id, "user", "x", status="done")
    with pytest.raises(InputError):
        store.update_message(msg.id, status="weird")
    with pytest.raises(InputError):
        store.add_message(conv.id, "user", "x", meta={"bad": object()})
    with pytest.raises(StoreError):
        store.add_message("missing", "user", "x")
    with pytest.raises(StoreError):
        store.update_message("missing", content="x")


def test_oversize_content_is_refused_and_nothing_is_written(store):
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "a" * MAX_CONTENT_BYTES)  # exactly at the limit is fine
    with pytest.raises(InputError) as info:
        store.add_message(conv.id, "user", "a" * (MAX_CONTENT_BYTES + 1))
    assert info.value.hint
    with pytest.raises(InputError):
        store.add_message(conv.id, "user", "é" * (MAX_CONTENT_BYTES // 2 + 1))  # bytes, not characters
    msg = store.add_message(conv.id, "assistant", "", status="streaming")
    with pytest.raises(InputError):
        store.update_message(msg.id, content="b" * (MAX_CONTENT_BYTES + 1))
    assert store.get_conversation(conv.id).message_count == 2


def test_data_persists_across_reopen(tmp_path):
    path = tmp_path / "p.db"
    with Store(path) as s:
        conv = s.create_conversation("persist", model="m")
        s.add_message(conv.id, "user", "one", meta={"k": [1, 2]})
        s.add_message(conv.id, "assistant", "two")
        s.rename_conversation(conv.id, "persisted")
        before = s.messages(conv.id)
    with Store(path) as s:
        assert [c.title for c in s.list_conversations()] == ["persisted"]
        assert s.messages(conv.id) == before
        assert s.messages(conv.id)[0].meta == {"k": [1, 2]}


# -- durability ------------------------------------------------------------------------------

WRITER = r"""
import sys
from purpose_desktop.engine.store import Store

store = Store(sys.argv[1])
conv = store.create_conversation("kill -9")
print("C", conv.id, flush=True)
i = 0
while True:
    msg = store.add_message(conv.id, "user" if i % 2 else "assistant", f"message {i} " + "x" * (i % 300))
    print("M", msg.id, flush=True)
    i += 1
"""

STREAMER = r"""
import sys, time
from purpose_desktop.engine.store import Store

store = Store(sys.argv[1])
conv = store.create_conversation("crash mid-reply")
store.add_message(conv.id, "user", "write a sort")
msg = store.add_message(conv.id, "assistant", "", status="streaming", meta={"model": "smol"})
store.update_message(msg.id, content="def sort(xs):")
print("S", msg.id, flush=True)
time.sleep(120)
"""


def spawn(script: str, db: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(
        [sys.executable, "-c", script, str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )


def read_line(proc: subprocess.Popen) -> str:
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=10)
        pytest.fail(f"child exited early (rc={proc.returncode}): {proc.stderr.read()}")
    return line


def kill9(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.parametrize("round_", range(5))
def test_every_acknowledged_message_survives_kill_9(tmp_path, round_):
    db = tmp_path / "durable.db"
    if round_ % 2:
        # Odd rounds kill a writer that is appending to a database with history.
        with Store(db) as s:
            old = s.create_conversation("old")
            for i in range(20):
                s.add_message(old.id, "user", f"old {i}")
    proc = spawn(WRITER, db)
    try:
        kind, conv_id = read_line(proc).split()
        assert kind == "C"
        acked = []
        while len(acked) < 50:
            kind, msg_id = read_line(proc).split()
            acked.append(msg_id)
    finally:
        kill9(proc)
    # Acknowledgements already in the pipe when the kill landed count too (whole lines only).
    for line in proc.stdout.read().splitlines(keepends=True):
        parts = line.split()
        if line.endswith("\n") and len(parts) == 2 and parts[0] == "M" and len(parts[1]) == 32:
            acked.append(parts[1])
    proc.stdout.close()
    proc.stderr.close()

    with Store(db) as s:
        assert s.connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = s.messages(conv_id)
        stored_ids = {m.id for m in stored}
        assert set(acked) <= stored_ids
        assert len(stored) >= len(acked)
        assert [m.seq for m in stored] == list(range(1, len(stored) + 1))
        assert s.get_conversation(conv_id).message_count == len(stored)


def test_reply_left_streaming_by_a_killed_process_is_recovered_as_cancelled(tmp_path):
    db = tmp_path / "crash.db"
    proc = spawn(STREAMER, db)
    try:
        kind, msg_id = read_line(proc).split()
        assert kind == "S"
    finally:
        kill9(proc)
        proc.stdout.close()
        proc.stderr.close()

    with Store(db, recover=False) as s:  # a secondary connection leaves it alone
        (conv,) = s.list_conversations()
        assert s.messages(conv.id)[-1].status == "streaming"
    with Store(db) as s:
        user, reply = s.messages(conv.id)
        assert reply.id == msg_id
        assert reply.status == "cancelled"
        assert reply.content == "def sort(xs):"  # what streamed before the crash is kept
        assert reply.meta == {"model": "smol", "interrupted": True}
        assert user.status == "complete"
        assert s.recover_interrupted() == 0


def test_recover_interrupted_counts_and_marks(store):
    conv = store.create_conversation()
    a = store.add_message(conv.id, "assistant", "part", status="streaming")
    b = store.add_message(conv.id, "assistant", "done")
    assert store.recover_interrupted() == 1
    got = {m.id: m for m in store.messages(conv.id)}
    assert (got[a.id].status, got[a.id].meta) == ("cancelled", {"interrupted": True})
    assert (got[b.id].status, got[b.id].meta) == ("complete", {})


# -- refusals that leave the file untouched -------------------------------------------------


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_newer_database_is_refused_and_left_byte_for_byte_unchanged(tmp_path, journal_mode):
    db = tmp_path / "newer.db"
    with Store(db) as s:
        conv = s.create_conversation("from the future")
        s.add_message(conv.id, "user", "hello")
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA journal_mode = {journal_mode}")
    with conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
            [migrations_mod.MIGRATION_SET, "m999_from_a_newer_version", "2030-01-01 00:00:00+00:00"],
        )
    conn.close()
    before = sha256(db)
    extra_before = sidecars(db)

    with pytest.raises(StoreError) as info:
        Store(db)
    assert "newer Purpose Desktop" in info.value.message
    assert "m999_from_a_newer_version" in info.value.message
    assert info.value.hint
    assert sha256(db) == before
    if journal_mode == "delete":
        # In rollback-journal mode a read-only look creates nothing (switching to WAL would have).
        assert sidecars(db) == extra_before == set()


@pytest.mark.parametrize(
    "content",
    [b"this is not a database at all\n" * 200, b"SQLite format 3\x00" + b"\xff" * 4080],
    ids=["text", "bad-header"],
)
def test_corrupt_file_is_refused_and_left_untouched(tmp_path, content):
    db = tmp_path / "corrupt.db"
    db.write_bytes(content)
    with pytest.raises(StoreError) as info:
        Store(db)
    assert "not a Purpose Desktop database" in info.value.message
    assert "untouched" in info.value.hint
    assert db.read_bytes() == content
    assert sidecars(db) == set()


def test_empty_file_is_a_new_database(tmp_path):
    db = tmp_path / "empty.db"
    db.touch()
    with Store(db) as s:
        assert s.schema_version() == list(KNOWN_MIGRATIONS)


# -- unusable folders and files (techniques that also work as root) --------------------------


def test_data_folder_that_is_a_file_is_refused_with_a_hint(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv(paths.HOME_ENV, str(blocker))
    with pytest.raises(StoreError) as info:
        Store()
    assert paths.HOME_ENV in info.value.hint
    with pytest.raises(StoreError) as info:
        Store(blocker / "purpose.db")
    assert str(blocker / "purpose.db") in info.value.hint
    assert blocker.read_text() == "x"


def test_database_path_that_is_a_folder_is_refused(tmp_path):
    folder = tmp_path / "purpose.db"
    folder.mkdir()
    with pytest.raises(StoreError, match="is a folder"):
        Store(folder)


def test_read_only_database_is_refused_at_open(tmp_path, monkeypatch):
    # SQLite silently opens a file it may not write read-only; mode=ro reproduces that even as root.
    db = tmp_path / "ro.db"
    Store(db).close()
    monkeypatch.setattr(
        store_mod, "_connect", lambda path: sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True)
    )
    before = sha256(db)
    with pytest.raises(StoreError) as info:
        Store(db)
    assert "cannot write" in info.value.message
    assert str(db) in info.value.hint and "writable" in info.value.hint
    assert sha256(db) == before


def test_missing_read_only_database_cannot_be_opened(tmp_path, monkeypatch):
    monkeypatch.setattr(
        store_mod, "_connect", lambda path: sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True)
    )
    with pytest.raises(StoreError) as info:
        Store(tmp_path / "absent.db")
    assert "cannot open" in info.value.message and str(tmp_path) in info.value.hint


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="chmod does not stop root")
def test_read_only_folder_and_file_really_chmodded(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    db = folder / "purpose.db"
    Store(db).close()
    db.chmod(0o400)
    folder.chmod(0o500)
    try:
        with pytest.raises(StoreError) as info:
            Store(db)
        assert str(folder) in info.value.hint
    finally:
        folder.chmod(0o700)
        db.chmod(0o600)


def test_writes_to_a_database_that_became_read_only_raise_store_error(store):
    conv = store.create_conversation()
    store.connection.execute("PRAGMA query_only = ON")
    with pytest.raises(StoreError) as info:
        store.add_message(conv.id, "user", "hello")
    assert str(store.path) in info.value.hint
    store.connection.execute("PRAGMA query_only = OFF")
    assert store.messages(conv.id) == []


def test_full_database_raises_store_error_and_rolls_back(store):
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "small")
    updated_at = store.get_conversation(conv.id).updated_at
    pages = store.connection.execute("PRAGMA page_count").fetchone()[0]
    store.connection.execute(f"PRAGMA max_page_count = {pages + 1}")
    with pytest.raises(StoreError) as info:
        store.add_message(conv.id, "assistant", "y" * 1_000_000)
    assert "full" in info.value.message
    assert str(store.path) in info.value.hint
    assert store.get_conversation(conv.id).message_count == 1
    assert store.get_conversation(conv.id).updated_at == updated_at  # the whole transaction rolled back
    store.connection.execute("PRAGMA max_page_count = 1073741823")
    assert store.add_message(conv.id, "assistant", "y" * 1_000_000).seq == 2


# -- ownership -------------------------------------------------------------------------------


def test_store_belongs_to_the_thread_that_opened_it(store):
    conv = store.create_conversation()
    caught: list[BaseException] = []

    def use_from_elsewhere():
        try:
            store.add_message(conv.id, "user", "hi")
        except BaseException as exc:
            caught.append(exc)

    t = threading.Thread(target=use_from_elsewhere)
    t.start()
    t.join(timeout=10)
    assert len(caught) == 1 and isinstance(caught[0], sqlite3.ProgrammingError)


def test_close_is_idempotent_and_a_closed_store_says_so(tmp_path):
    s = Store(tmp_path / "c.db")
    s.close()
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.list_conversations()


def test_second_connection_sees_committed_writes(tmp_path):
    db = tmp_path / "two.db"
    with Store(db) as writer, Store(db, recover=False) as reader:
        conv = writer.create_conversation("shared")
        writer.add_message(conv.id, "user", "visible")
        assert [c.title for c in reader.list_conversations()] == ["shared"]
        assert reader.messages(conv.id)[0].content == "visible"


OPEN_WRITE_CLOSE = """
import sys
from purpose_desktop.engine.store import Store
with Store(sys.argv[1], recover=False) as s:
    conv = s.create_conversation("other window")
    for _ in range(300):
        s.add_message(conv.id, "user", "from the other process " * 20)
"""


def test_opening_a_second_store_keeps_this_process_locks(tmp_path):
    """Regression: a second Store in this process once read the file's header with open()/close(),
    which dropped every POSIX lock the first connection held; another process closing then thought
    it was the last user, deleted the WAL under us, and the next writes corrupted the file."""
    db = tmp_path / "locks.db"
    with Store(db) as first:
        conv = first.create_conversation("this window")
        for _ in range(50):
            first.add_message(conv.id, "user", "before " * 50)
        with Store(db, recover=False) as second:  # e.g. the vault indexer's own connection
            other = spawn(OPEN_WRITE_CLOSE, db)
            assert other.wait(timeout=60) == 0, other.stderr.read()
            # The other process saw our shared lock, so it left the WAL (still ours) in place.
            assert Path(f"{db}-wal").exists()
            for _ in range(500):
                first.add_message(conv.id, "user", "after " * 50)
            second.add_message(conv.id, "assistant", "from the second connection")
    check = sqlite3.connect(db)
    try:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert check.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 50 + 300 + 500 + 1
    finally:
        check.close()
