"""A writer "app" for the kill -9 battery: imports the engine once, then forks one writer per round.

Protocol on stdin/stdout (one line each): the battery sends ``{"db", "seed", "delay"}``; this process
forks a child that opens the Store exactly as the app does and writes chat messages (with a streaming
reply checkpointed as it grows), traces (run, steps, finish) and memory decisions (submit, approve or
reject) in a tight loop, printing ``ack <json>`` only after each write's transaction has committed.
This process prints ``pid <n>``, kills the child with SIGKILL ``delay`` seconds later, and prints
``dead <n> <status>`` once it has reaped it. Forking a warm process keeps 200 rounds to seconds instead of minutes of imports.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import sys
import time
import uuid

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # no BLAS thread pool to break across fork()
os.environ.setdefault("OMP_NUM_THREADS", "1")

from purpose_desktop.engine.immune import scan  # noqa: E402
from purpose_desktop.engine.memory import similarity  # noqa: E402
from purpose_desktop.engine.memory.api import MemoryBank  # noqa: E402
from purpose_desktop.engine.store import Store, now_iso  # noqa: E402
from tests.fakes import DistinctEmbedder, distinct_embed  # noqa: E402


def ack(**fields) -> None:
    os.write(1, ("ack " + json.dumps(fields) + "\n").encode())


def write_forever(db: str, seed: int) -> None:
    rng = random.Random(seed)
    store = Store(db)
    bank = MemoryBank(store)
    conv = store.create_conversation(f"round {seed}")
    ack(kind="conversation", id=conv.id)
    while True:
        op = rng.random()
        if op < 0.4:
            text = f"question {uuid.uuid4().hex} " + "x" * rng.randint(0, 2000)
            m = store.add_message(conv.id, "user", text)
            ack(kind="message", id=m.id, sha=hashlib.sha256(text.encode()).hexdigest())
            reply = store.add_message(conv.id, "assistant", "", status="streaming")
            parts = ""
            for _ in range(rng.randint(1, 6)):
                parts += f"token{rng.randint(0, 9999)} "
                store.update_message(reply.id, content=parts)
                ack(kind="streaming", id=reply.id, prefix=parts)
            store.update_message(reply.id, content=parts + "done", status="complete")
            ack(kind="reply", id=reply.id, content=parts + "done")
        elif op < 0.7:
            run_id = uuid.uuid4().hex
            store.insert_run(
                {
                    "id": run_id,
                    "task": "sum a list",
                    "mode": "LEARNING_TRAIN",
                    "status": "running",
                    "started_at": now_iso(),
                }
            )
            ack(kind="run", id=run_id)
            for seq in range(1, rng.randint(2, 5)):
                step_id = uuid.uuid4().hex
                store.insert_step(
                    {
                        "id": step_id,
                        "run_id": run_id,
                        "seq": seq,
                        "role": "coder",
                        "output": "def f(): pass",
                        "created_at": now_iso(),
                    }
                )
                ack(kind="step", id=step_id)
            store.finish_run(run_id, {"status": "finished", "score": 0.5, "finished_at": now_iso()})
            ack(kind="finished", id=run_id)
        else:
            text = f"Prefer pathlib over os.path in module {uuid.uuid4().hex}"
            result = bank.submit(text, kind="skill_card", provenance={"source": "battery"})
            ack(kind="memory", id=result.memory.id, status=result.memory.status)
            if rng.random() < 0.5:
                decided = bank.approve(result.memory.id, reason="looks right")
            else:
                decided = bank.reject(result.memory.id, reason="too vague")
            ack(kind="decision", id=decided.id, status=decided.status)


def main() -> None:
    with similarity.use_embedder(distinct_embed, DistinctEmbedder.name):
        scan("warm up the immune rules once, not in every child")
        print("ready", flush=True)
        for line in sys.stdin:
            job = json.loads(line)
            pid = os.fork()
            if pid == 0:
                try:
                    write_forever(job["db"], job["seed"])
                except BaseException as exc:  # noqa: BLE001 — reported to the battery, never swallowed
                    os.write(1, f"error {type(exc).__name__}: {exc}\n".encode())
                finally:
                    os._exit(3)
            print(f"pid {pid}", flush=True)
            time.sleep(job["delay"])
            # This process kills its own unreaped child: the pid cannot have been reused meanwhile.
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            print(f"dead {pid} {status}", flush=True)


if __name__ == "__main__":
    main()
