"""Benchmark: p50 top-10 memory retrieval over 1k / 10k / 100k synthetic promoted memories in SQLite (JSON).

Each size gets its own SQLite file holding promoted memories with float32 vector BLOBs (clustered
synthetic vectors, like real sentence embeddings: topics plus noise), mixed kinds, scopes, trust and
utility. The timed call is ``MemoryRetriever.for_step`` with a precomputed query vector (embedding
the task is the embedder's cost, not retrieval's): scope mask, relevance × trust × utility ranking,
token budget. Loading the snapshot (SQLite → numpy, index build) is reported separately, as is the
recall of the result against exact brute-force ranking.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from purpose_desktop.engine.memory import similarity  # noqa: E402
from purpose_desktop.engine.memory.index import VectorIndex  # noqa: E402
from purpose_desktop.engine.memory.records import content_hash  # noqa: E402
from purpose_desktop.engine.memory.retrieval import MemoryRetriever, snapshot  # noqa: E402
from purpose_desktop.engine.store import Store, now_iso  # noqa: E402

MODEL = "bench-synthetic"
KINDS = ("skill_card", "episodic_case", "failure_pattern", "tool_policy", "critic_calibration")
ROLES = ([], ["coder"], ["architect"], ["tester"])
TAGS = ([], [], ["python"], ["sql"])


def _no_embedding(texts):
    raise AssertionError("the benchmark passes query vectors; nothing should be embedded")


def fill(store: Store, n: int, rng: np.random.Generator, topics: np.ndarray) -> None:
    now = now_iso()
    vectors = similarity.normalize(
        topics[rng.integers(0, len(topics), n)]
        + 0.8 * rng.standard_normal((n, similarity.DIM)).astype(np.float32)
    )
    rows, vec_rows = [], []
    for i in range(n):
        mid = uuid.uuid4().hex
        kind = "user_preference" if i < 10 else KINDS[i % len(KINDS)]
        text = f"Synthetic lesson {i}: check case {i % 97} before returning the result of step {i % 13}."
        scope = {"roles": ROLES[i % 4], "tools": [], "tags": TAGS[(i // 4) % 4]}
        digest = content_hash(text)
        rows.append(
            (
                mid,
                kind,
                text,
                json.dumps(scope),
                "promoted",
                "bench",
                json.dumps([{"source": "bench"}]),
                "{}",
                None,
                float(rng.uniform(0.3, 1.0)),
                float(rng.uniform(0.1, 1.0)),
                digest,
                now,
                now,
            )
        )
        vec_rows.append((mid, MODEL, similarity.DIM, digest, similarity.to_blob(vectors[i]), now))
    with store.transaction("memory") as db:
        db.conn.executemany(
            "INSERT INTO memories (id, kind, text, scope_json, status, status_reason, provenance_json, scan_json, "
            "evidence_json, trust, utility, content_hash, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        db.conn.executemany(
            "INSERT INTO memory_vectors (memory_id, model, dim, content_hash, vector, updated_at) VALUES (?,?,?,?,?,?)",
            vec_rows,
        )
        db.execute("UPDATE memory_state SET generation = generation + 1 WHERE id = 1")


def bench_size(n: int, queries: int, folder: Path, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((max(50, n // 50), similarity.DIM)).astype(np.float32)
    store = Store(folder / f"retrieval-{n}.db")
    try:
        fill(store, n, rng, topics)
        started = time.perf_counter()
        snap = snapshot(store)
        load_s = time.perf_counter() - started
        retriever = MemoryRetriever(store)
        qs = similarity.normalize(
            topics[rng.integers(0, len(topics), queries)]
            + 0.8 * rng.standard_normal((queries, similarity.DIM)).astype(np.float32)
        )
        task = "Write Python code that sorts the rows"
        for q in qs[:5]:  # warm caches
            retriever.for_step(
                task=task, role="coder", tools=["python"], query_vector=q, top_k=10, token_budget=10_000
            )
        times, recalls = [], []
        exact = VectorIndex(snap.index.matrix if not snap.index.ivf else _original(snap), exact_limit=10**12)
        mask = snap.mask("coder", frozenset({"python"}), frozenset(task.lower().split()))
        for q in qs:
            t0 = time.perf_counter()
            got = retriever.for_step(
                task=task, role="coder", tools=["python"], query_vector=q, top_k=10, token_budget=10_000
            )
            times.append((time.perf_counter() - t0) * 1000)
            assert got
            # Recall of the vector stage itself against exact brute force, same mask, weights and threshold.
            want = {h.row for h in exact.search(q, 10, weights=snap.weights, mask=mask, min_similarity=0.3)}
            have = {
                h.row for h in snap.index.search(q, 10, weights=snap.weights, mask=mask, min_similarity=0.3)
            }
            if want:
                recalls.append(len(have & want) / len(want))
        return {
            "p50_ms": round(statistics.median(times), 3),
            "p95_ms": round(float(np.percentile(times, 95)), 3),
            "snapshot_load_s": round(load_s, 3),
            "index": "ivf" if snap.index.ivf else "exact",
            "recall_at_10": round(statistics.fmean(recalls), 4) if recalls else None,
        }
    finally:
        store.close()


def _original(snap) -> np.ndarray:
    """The IVF index's rows back in their original order (for the exact reference)."""
    out = np.empty_like(snap.index.matrix)
    out[snap.index.order] = snap.index.matrix
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    details = {}
    with similarity.use_embedder(_no_embedding, MODEL), tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            details[str(n)] = bench_size(n, args.queries, Path(tmp))
    result = {
        "p50_ms": {k: v["p50_ms"] for k, v in details.items()},
        "target_p50_ms_at_100000": 10.0,
        "details": details,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
