"""Benchmark: backup and restore of a data folder (JSON), and how long a streaming reply's checkpoint writes
wait while the backup runs.

Builds a database with ``--chats`` chats of ``--messages`` messages each (about 400 characters a message),
then: the size, the time ``take_backup`` takes, the longest and median gap between checkpoint writes made
by a second thread (as the engine thread does every second while a reply streams; here every 10 ms) while
the backup runs, and the time ``restore_backup`` takes into a fresh folder, with the restored row count.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from purpose_desktop.engine.services.backup import restore_backup, take_backup  # noqa: E402
from purpose_desktop.engine.store import Store  # noqa: E402

TEXT = ("Here is how to reverse a list in Python: use slicing, items[::-1], or reversed(items). " * 5)[:400]


def build(home: Path, chats: int, messages: int) -> None:
    with Store(home / "purpose.db") as store:
        for i in range(chats):
            conv = store.create_conversation(f"Chat {i}")
            with store.transaction("chat") as db:
                db["messages"].insert_all(
                    {
                        "id": f"{conv.id[:16]}{j:016d}",
                        "conversation_id": conv.id,
                        "seq": j,
                        "role": "user" if j % 2 == 0 else "assistant",
                        "content": TEXT,
                        "status": "complete",
                        "meta_json": "{}",
                        "created_at": conv.created_at,
                        "updated_at": conv.created_at,
                    }
                    for j in range(messages)
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chats", type=int, default=500)
    parser.add_argument("--messages", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pd-bench-backup-") as tmp:
        tmp = Path(tmp)
        home = tmp / "home"
        home.mkdir()
        build(home, args.chats, args.messages)
        db_bytes = (home / "purpose.db").stat().st_size

        store = Store(home / "purpose.db")
        conv = store.create_conversation("streaming")
        reply = store.add_message(conv.id, "assistant", "", status="streaming")
        store.close()
        gaps: list[tuple[float, float]] = []  # (when the write finished, gap since the previous one)
        done = threading.Event()

        def stream() -> None:  # the engine thread's checkpoints, on its own connection
            s = Store(home / "purpose.db", recover=False)
            last, text = time.perf_counter(), ""
            while not done.is_set():
                text += " token"
                s.update_message(reply.id, content=text)
                now = time.perf_counter()
                gaps.append((now, now - last))
                last = now
                time.sleep(0.01)
            s.close()

        writer = threading.Thread(target=stream)
        writer.start()
        time.sleep(0.2)
        started = time.perf_counter()
        info = take_backup(tmp / "backup.zip", data_dir=home)
        backup_s = time.perf_counter() - started
        done.set()
        writer.join()
        during = [g for at, g in gaps if started <= at <= started + backup_s + 0.05]

        fresh = tmp / "fresh"
        fresh.mkdir()
        Store(fresh / "purpose.db").close()
        started = time.perf_counter()
        restore_backup(tmp / "backup.zip", data_dir=fresh)
        restore_s = time.perf_counter() - started
        with Store(fresh / "purpose.db") as restored:
            n = restored.connection.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        print(
            json.dumps(
                {
                    "bench": "backup",
                    "chats": args.chats,
                    "messages": info.counts["messages"],
                    "db_mb": round(db_bytes / 1e6, 2),
                    "backup_zip_mb": round(info.size_bytes / 1e6, 2),
                    "backup_s": round(backup_s, 3),
                    "restore_s (incl. safety copy)": round(restore_s, 3),
                    "restored_messages": n,
                    "checkpoint_gap_max_ms_during_backup": round(max(during) * 1000, 1) if during else None,
                    "checkpoint_gap_p50_ms": round(statistics.median(during) * 1000, 1) if during else None,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
