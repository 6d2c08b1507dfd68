"""Crash battery: kill -9 the writing app 200 times at random moments; no acknowledged write is ever lost.

store_writer.py forks a fresh writer per round (opening the Store as the app does, then writing chat
messages, a streaming reply, traces and memory decisions in a tight loop, acknowledging each write once
its transaction committed). The battery kills it with SIGKILL at a random moment — some rounds on a
brand-new file, so the kill can land inside the migrations — then checks with a plain sqlite3
connection: ``PRAGMA integrity_check`` is ok and every acknowledged write is there, exactly as
acknowledged. At the end the app's own Store opens each file and finds everything again.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from purpose_desktop.engine.store import Store
from tests.reliability.board import record

ROUNDS = 200
FRESH_EVERY = 20  # every 20th round starts a new database file (kills during migrations)
REPO = Path(__file__).resolve().parents[2]


class Writer:
    """The zygote process and a thread that turns its stdout into a queue of lines."""

    def __init__(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.store_writer"],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self.lines.get(timeout=60)
        assert first == "ready", first + self.proc.stderr.read()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("EOF")

    def round(self, db: Path, seed: int, delay_s: float) -> tuple[list[dict], list[str]]:
        """A writer on ``db``, killed with SIGKILL ``delay_s`` after it was forked: its acks and other lines."""
        self.proc.stdin.write(json.dumps({"db": str(db), "seed": seed, "delay": delay_s}) + "\n")
        self.proc.stdin.flush()
        acks: list[dict] = []
        other: list[str] = []
        while True:
            line = self.lines.get(timeout=60)
            if line.startswith("ack "):
                acks.append(json.loads(line[4:]))
            elif line.startswith("dead "):
                status = int(line.split()[2])
                assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, other
                return acks, other
            elif line == "EOF":
                raise AssertionError("the writer process died: " + self.proc.stderr.read())
            elif not line.startswith("pid "):
                other.append(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()


def verify(conn: sqlite3.Connection, acks: list[dict]) -> list[str]:
    """Every acknowledged write, as acknowledged (later unacknowledged writes may have gone further)."""
    problems = []

    def one(sql: str, *args):
        return conn.execute(sql, args).fetchone()

    for a in acks:
        kind, id_ = a["kind"], a["id"]
        if kind == "conversation":
            ok = one("SELECT 1 FROM conversations WHERE id = ?", id_) is not None
        elif kind == "message":
            row = one("SELECT content FROM messages WHERE id = ?", id_)
            ok = row is not None and hashlib.sha256(row[0].encode()).hexdigest() == a["sha"]
        elif kind == "streaming":
            row = one("SELECT content FROM messages WHERE id = ?", id_)
            ok = row is not None and row[0].startswith(a["prefix"])
        elif kind == "reply":
            row = one("SELECT content, status FROM messages WHERE id = ?", id_)
            ok = row == (a["content"], "complete")
        elif kind == "run":
            ok = one("SELECT 1 FROM runs WHERE id = ?", id_) is not None
        elif kind == "step":
            ok = one("SELECT 1 FROM steps WHERE id = ?", id_) is not None
        elif kind == "finished":
            ok = one("SELECT status FROM runs WHERE id = ?", id_) == ("finished",)
        elif kind in ("memory", "decision"):
            row = one("SELECT status FROM memories WHERE id = ?", id_)
            ok = row is not None and (kind == "memory" or row[0] == a["status"])
        else:
            ok = False
        if not ok:
            problems.append(f"lost or changed: {a}")
    return problems


@pytest.mark.slow
def test_every_acknowledged_write_survives_200_kill_9(tmp_path):
    rng = random.Random(20261125)
    writer = Writer()
    started = time.monotonic()
    files: dict[Path, list[dict]] = {}
    stats = {"acks": 0, "killed_before_first_ack": 0, "killed_before_the_file_existed": 0, "integrity_ok": 0}
    kinds: dict[str, int] = {}
    try:
        for n in range(ROUNDS):
            if n % FRESH_EVERY == 0:
                db = tmp_path / f"crash-{n:03d}.db"
                files[db] = []
                delay = rng.uniform(0.0, 0.06)  # early: the kill may land in the migrations
            else:
                delay = rng.uniform(0.02, 0.25)
            acks, other = writer.round(db, n, delay)
            assert not [line for line in other if line.startswith("error")], other
            files[db].extend(acks)
            stats["acks"] += len(acks)
            stats["killed_before_first_ack"] += not acks
            for a in acks:
                kinds[a["kind"]] = kinds.get(a["kind"], 0) + 1
            if not db.exists():
                assert not acks
                stats["killed_before_the_file_existed"] += 1
                continue
            conn = sqlite3.connect(db, timeout=5)
            try:
                check = conn.execute("PRAGMA integrity_check").fetchall()
                assert check == [("ok",)], f"round {n}: integrity_check says {check}"
                stats["integrity_ok"] += 1
                problems = verify(conn, files[db])
                assert not problems, f"round {n}: {problems[:5]}"
            except sqlite3.DatabaseError as exc:
                pytest.fail(f"round {n}: the database is unusable after kill -9: {exc}")
            finally:
                conn.close()
    finally:
        writer.close()
    for db, acks in files.items():
        with Store(db) as store:  # the app's next start: recovery, then everything is still there
            assert not verify(store.connection.conn, acks)
            assert store.connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    record(
        "store_kill9",
        rounds=ROUNDS,
        files=len(files),
        wall_s=round(time.monotonic() - started, 1),
        **stats,
        by_kind=kinds,
    )
    assert stats["acks"] > ROUNDS  # the kills really landed mid-work, not before anything happened
