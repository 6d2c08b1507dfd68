"""Disk battery: a full disk and a read-only data folder give a clear message and corrupt nothing.

Root ignores chmod, so these run on real file systems: a tiny tmpfs that really fills up and is really
remounted read-only, and a child process that drops to an unprivileged user. Where this machine cannot
mount (not root), the read-only cases fall back to chmod and the disk-full cases are reported NOT RUN.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from purpose_desktop.engine.errors import StoreError
from purpose_desktop.engine.store import Store
from tests.reliability.board import record

REPO = Path(__file__).resolve().parents[2]
IS_ROOT = os.geteuid() == 0


def _mount(path: Path, size: str) -> None:
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"NOT RUN here: cannot mount a tmpfs ({done.stderr.decode().strip()[:80]})")


def _remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True, capture_output=True)


@pytest.fixture
def tiny_fs(tmp_path):
    """A 2 MB tmpfs mounted for the test (root only)."""
    mount = tmp_path / "tiny"
    _mount(mount, "2m")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path, leave: int) -> Path:
    """Fill the file system holding ``folder`` until only about ``leave`` bytes are free."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    finally:
        os.close(fd)
    os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def _integrity(db: Path) -> list:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()


def test_disk_full_while_chatting_is_a_clear_message_and_keeps_every_saved_message(tiny_fs):
    db = tiny_fs / "data" / "purpose.db"
    store = Store(db)
    conv = store.create_conversation("filling up")
    saved = [store.add_message(conv.id, "user", f"early {i}").id for i in range(5)]
    filler = _fill(tiny_fs, leave=60_000)
    failure = None
    for i in range(2000):
        try:
            saved.append(store.add_message(conv.id, "user", f"message {i} " + "x" * 3000).id)
        except StoreError as exc:
            failure = exc
            break
    assert failure is not None, "the disk never filled up"
    assert "disk" in failure.message.lower() and "full" in failure.message.lower(), failure.message
    assert "Nothing saved earlier was lost" in failure.hint
    # Still usable for reading, and what was saved is there.
    assert [m.id for m in store.messages(conv.id)] == saved
    store.close()
    assert _integrity(db) == [("ok",)]
    filler.unlink()
    with Store(db) as again:  # space freed: the app carries on where it stopped
        assert [m.id for m in again.messages(conv.id)] == saved
        again.add_message(conv.id, "user", "after freeing space")
    record("store_disk", disk_full_saved_before_failure=len(saved), disk_full_message=failure.message)


def test_opening_on_a_full_disk_is_a_clear_message(tiny_fs):
    _fill(tiny_fs, leave=0)
    with pytest.raises(StoreError) as info:
        Store(tiny_fs / "purpose.db")
    assert "full" in info.value.message.lower() or "cannot" in info.value.message.lower(), info.value.message
    assert info.value.hint


CRASHER = textwrap.dedent(
    """
    import os, sys
    from purpose_desktop.engine.store import Store
    store = Store(sys.argv[1])
    conv = store.create_conversation("crashed")
    for i in range(20):
        store.add_message(conv.id, "user", f"acknowledged {i}")
    print(conv.id, flush=True)
    os.kill(os.getpid(), 9)  # dies with committed frames still in the -wal file
    """
)


def test_read_only_after_a_crash_with_a_pending_wal(tiny_fs):
    """Killed mid-session (frames still in the -wal), then the folder comes back read-only."""
    db = tiny_fs / "purpose.db"
    done = subprocess.run(
        [sys.executable, "-c", CRASHER, str(db)],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    conv_id = done.stdout.strip()
    assert conv_id and (tiny_fs / "purpose.db-wal").stat().st_size > 0, done.stderr[-2000:]
    files = {p.name: p.read_bytes() for p in tiny_fs.iterdir()}
    _remount(tiny_fs, "ro")
    try:
        with pytest.raises(StoreError) as info:
            Store(db)
        assert info.value.hint and "Traceback" not in info.value.message
        assert {p.name: p.read_bytes() for p in tiny_fs.iterdir()} == files
    finally:
        _remount(tiny_fs, "rw")
    with Store(db) as store:
        assert [m.content for m in store.messages(conv_id)] == [f"acknowledged {i}" for i in range(20)]
    assert _integrity(db) == [("ok",)]


def test_read_only_filesystem_at_start_leaves_the_file_untouched(tiny_fs):
    db = tiny_fs / "purpose.db"
    with Store(db) as store:
        store.create_conversation("keep me")
    before = db.read_bytes()
    _remount(tiny_fs, "ro")
    try:
        with pytest.raises(StoreError) as info:
            Store(db)
        assert info.value.hint and "Traceback" not in info.value.message
        assert db.read_bytes() == before
    finally:
        _remount(tiny_fs, "rw")


UNPRIVILEGED = textwrap.dedent(
    """
    import json, os, sys
    from purpose_desktop.engine.errors import StoreError
    from purpose_desktop.engine.store import Store
    os.setgid(65534)  # after the imports: the interpreter itself may live where nobody cannot read
    os.setuid(65534)
    try:
        Store(sys.argv[1]).close()
        print(json.dumps({"opened": True}))
    except StoreError as exc:
        print(json.dumps({"opened": False, "message": exc.message, "hint": exc.hint}))
    """
)


@pytest.mark.parametrize("case", ["existing_db", "new_db"])
def test_data_folder_this_user_cannot_write(case):
    # Under /tmp (world-traversable) rather than pytest's 0700 folder, so "nobody" can reach it.
    base = Path(tempfile.mkdtemp(prefix="pd-reliability-ro-"))
    try:
        _cannot_write(base, case)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _cannot_write(tmp_path: Path, case: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "purpose.db"
    if case == "existing_db":
        with Store(db) as store:
            store.create_conversation("owned by someone else")
    before = db.read_bytes() if db.exists() else None
    if IS_ROOT:
        # chmod does not stop root: drop to "nobody" in a child, for whom the folder is read-only.
        os.chmod(tmp_path, 0o755)
        done = subprocess.run(
            [sys.executable, "-c", UNPRIVILEGED, str(db)],
            cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO), PURPOSE_DESKTOP_HOME=str(data)),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
    else:
        os.chmod(data, 0o555)
        try:
            Store(db).close()
            outcome = {"opened": True}
        except StoreError as exc:
            outcome = {"opened": False, "message": exc.message, "hint": exc.hint}
        finally:
            os.chmod(data, 0o755)
    assert outcome["opened"] is False
    assert outcome["hint"] and str(data) in outcome["hint"]
    if before is not None:
        assert db.read_bytes() == before
    assert sorted(p.name for p in data.iterdir()) == (["purpose.db"] if before is not None else [])
