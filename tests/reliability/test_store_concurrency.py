"""Concurrency battery: the engine, the vault indexer, replay and a second app process write at once;
none of them ever surfaces "database is locked" (or any busy error) to the person.

Each worker opens its own Store on its own thread, as the app does, and writes through the public
APIs for a few seconds. Every exception is collected; the oracle is that there are none, that every
write a worker completed is in the file afterwards, and that ``PRAGMA integrity_check`` is ok.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.store import Store, now_iso
from purpose_desktop.engine.vault import Vault
from tests.fakes import DemoEmbedder, DistinctEmbedder, distinct_embed
from tests.reliability.board import record

DURATION_S = 4.0
REPO = Path(__file__).resolve().parents[2]

OTHER_PROCESS = textwrap.dedent(
    """
    import json, sys, time
    from purpose_desktop.engine.store import Store
    db, until = sys.argv[1], time.monotonic() + float(sys.argv[2])
    done, errors = [], []
    with Store(db, recover=False) as store:
        conv = store.create_conversation("second window")
        while time.monotonic() < until:
            try:
                done.append(store.add_message(conv.id, "user", "from the other process").id)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"done": done, "errors": errors}))
    """
)


class Worker(threading.Thread):
    def __init__(self, name: str, db: Path, body, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.db, self.body, self.stop = db, body, stop
        self.errors: list[str] = []
        self.done: list[tuple[str, str]] = []  # (table, id) of completed writes
        self.slowest_ms = 0.0

    def run(self) -> None:
        try:
            with Store(self.db, recover=False) as store:
                step = self.body(store)
                while not self.stop.is_set():
                    started = time.monotonic()
                    try:
                        self.done.extend(next(step))
                    except StopIteration:
                        return
                    except Exception as exc:  # noqa: BLE001 — every failure is a finding
                        self.errors.append(f"{type(exc).__name__}: {exc}")
                    self.slowest_ms = max(self.slowest_ms, (time.monotonic() - started) * 1000)
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"open: {type(exc).__name__}: {exc}")


def engine_chat(store: Store):
    conv = store.create_conversation("chat")
    while True:
        user = store.add_message(conv.id, "user", "hello " * 50)
        reply = store.add_message(conv.id, "assistant", "", status="streaming")
        for n in range(3):
            store.update_message(reply.id, content="token " * (n + 1))
        store.update_message(reply.id, content="done", status="complete")
        yield [("messages", user.id), ("messages", reply.id)]


def vault_indexer(store: Store):
    vault = Vault(store, embedder=DemoEmbedder())
    n = 0
    while True:
        n += 1
        texts = [f"# Note {i}\n\n" + f"retry upload {n} {i} " * 200 for i in range(20)]
        vault.add_texts(texts, names=[f"note{i}.md" for i in range(20)], source=f"batch{n % 3}")
        yield [("vault_sources", f"texts:batch{n % 3}")]


def replay_and_traces(store: Store):
    bank = MemoryBank(store)
    while True:
        run_id = uuid.uuid4().hex
        store.insert_run(
            {
                "id": run_id,
                "task": "t",
                "mode": "LEARNING_TRAIN",
                "status": "running",
                "started_at": now_iso(),
            }
        )
        for seq in (1, 2):
            store.insert_step(
                {
                    "id": uuid.uuid4().hex,
                    "run_id": run_id,
                    "seq": seq,
                    "role": "coder",
                    "created_at": now_iso(),
                }
            )
        store.finish_run(run_id, {"status": "finished", "score": 1.0, "finished_at": now_iso()})
        m = bank.submit(f"Lesson {uuid.uuid4().hex}", kind="skill_card", provenance={"source": "replay"})
        bank.approve(m.memory.id, reason="replay helped")
        yield [("runs", run_id), ("memories", m.memory.id)]


def reader(store: Store):
    while True:
        for conv in store.list_conversations()[:5]:
            store.messages(conv.id)
        store.list_runs(limit=20)
        yield []


@pytest.mark.slow
def test_concurrent_writers_never_see_database_is_locked(tmp_path):
    db = tmp_path / "purpose.db"
    Store(db).close()
    stop = threading.Event()
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, str(db), str(DURATION_S)],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    bodies = {"engine": engine_chat, "indexer": vault_indexer, "replay": replay_and_traces, "reader": reader}
    with similarity.use_embedder(distinct_embed, DistinctEmbedder.name):
        workers = [Worker(name, db, body, stop) for name, body in bodies.items()]
        workers.append(Worker("engine-2", db, engine_chat, stop))
        for w in workers:
            w.start()
        time.sleep(DURATION_S)
        stop.set()
        for w in workers:
            w.join(30)
    out, err = other.communicate(timeout=60)
    assert other.returncode == 0, err[-2000:]
    second = json.loads(out.strip().splitlines()[-1])

    errors = {w.name: w.errors for w in workers if w.errors}
    if second["errors"]:
        errors["other-process"] = second["errors"]
    assert not errors, f"writers saw errors: { {k: v[:3] for k, v in errors.items()} }"
    assert all(not w.is_alive() for w in workers)

    with Store(db) as store:
        assert store.connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        for w in workers:
            for table, key in w.done:
                column = "path" if table == "vault_sources" else "id"
                assert store.connection.execute(f"SELECT 1 FROM {table} WHERE {column} = ?", [key]).fetchone(), (
                    table,
                    key,
                )
        for mid in second["done"]:
            assert store.connection.execute("SELECT 1 FROM messages WHERE id = ?", [mid]).fetchone()
    record(
        "store_concurrency",
        writers=len(workers) + 1,
        seconds=DURATION_S,
        writes={**{w.name: len(w.done) for w in workers}, "other-process": len(second["done"])},
        slowest_write_ms={w.name: round(w.slowest_ms) for w in workers},
        busy_errors=0,
    )
    assert all(w.done for w in workers if w.name != "reader")
