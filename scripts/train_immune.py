"""Train the learned immune detector from scripts/immune_data/corpus.jsonl.gz into resources/immune/detector.npz.

Reproducible: a fixed seed, a deterministic solver and the tracked corpus (rebuild it with
scripts/build_immune_corpus.py). The decision threshold is chosen on a held-out fifth of the training rows
so that at most ``FP_TARGET`` of benign texts there are flagged, then the model is refitted on every row.
The embedding head (``--embeddings``) reads all-MiniLM-L6-v2 vectors, computed once and cached.

    python scripts/train_immune.py [--embeddings] [--out resources/immune/detector.npz]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from purpose_desktop.engine.immune.learned import DIM, LearnedDetector, features  # noqa: E402

CORPUS = ROOT / "scripts" / "immune_data" / "corpus.jsonl.gz"
OUT = ROOT / "resources" / "immune" / "detector.npz"
LABELS = ("benign", "injection", "score_manipulation", "tool_misuse", "exfiltration", "prompt_leak", "secret")
SEED = 17
C = 8.0
FP_TARGET = 0.004  # on held-out benign rows of each training source; the promise is ≤ 1 %
HARD_NEGATIVE_SOURCES = frozenset({"project", "own", "garak-docs", "promptinject"})
MIN_THRESHOLD = 0.5
VERSION = "1"


def load_corpus(path: Path = CORPUS) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def matrix(texts: list[str]):
    """Sparse feature matrix (rows = texts) in the detector's own hashed layout."""
    from scipy.sparse import csr_matrix

    indptr, indices, data = [0], [], []
    for text in texts:
        idx, val = features(text)
        order = np.argsort(idx)
        indices.append(idx[order])
        data.append(val[order])
        indptr.append(indptr[-1] + len(idx))
    return csr_matrix(
        (np.concatenate(data) if data else [], np.concatenate(indices) if indices else [], indptr),
        shape=(len(texts), DIM),
        dtype=np.float32,
    )


def sample_weights(y: np.ndarray, sources: list[str]) -> np.ndarray:
    """Attack classes up-weighted by the square root of their rarity (full balancing floods the benign
    side with false positives); benign text that talks about attacks counts three times."""
    counts = np.bincount(y, minlength=len(LABELS)).astype(np.float64)
    per_class = np.sqrt(counts[0] / np.maximum(counts, 1.0))
    w = per_class[y]
    hard = np.array([s in HARD_NEGATIVE_SOURCES for s in sources])
    w[(y == 0) & hard] *= 3.0
    return w


def _fit(x, y: np.ndarray, sources: list[str], c: float = C) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    present = sorted(set(y.tolist()))
    clf = LogisticRegression(C=c, max_iter=300, tol=1e-3, solver="lbfgs", random_state=SEED)
    clf.fit(x, y, sample_weight=sample_weights(y, sources))
    w = np.zeros((x.shape[1], len(LABELS)), dtype=np.float32)
    b = np.full(len(LABELS), -30.0, dtype=np.float32)  # a class absent from training is never predicted
    coef = clf.coef_ if len(present) > 2 else np.vstack([-clf.coef_[0], clf.coef_[0]]) / 2
    icpt = clf.intercept_ if len(present) > 2 else np.array([-clf.intercept_[0], clf.intercept_[0]]) / 2
    for row, k in enumerate(present):
        w[:, k] = coef[row]
        b[k] = icpt[row]
    return w, b


def _fit_embed(e: np.ndarray, y: np.ndarray, sources: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    present = sorted(set(y.tolist()))
    clf = LogisticRegression(C=4.0, max_iter=1000, random_state=SEED)
    clf.fit(e, y, sample_weight=sample_weights(y, sources))
    ew = np.zeros((e.shape[1], len(LABELS)), dtype=np.float32)
    eb = np.full(len(LABELS), -30.0, dtype=np.float32)
    for row, k in enumerate(present):
        ew[:, k] = clf.coef_[row]
        eb[k] = clf.intercept_[row]
    return ew, eb


def attack_scores(det: LearnedDetector, texts: list[str], embeddings: np.ndarray | None = None) -> np.ndarray:
    """P(attack) per text the way the scan computes it (windows for long texts)."""
    out = np.zeros(len(texts), dtype=np.float64)
    for i, text in enumerate(texts):
        found = det.detect(text, None if embeddings is None else embeddings[i])
        out[i] = found.confidence if found else 0.0
    return out


def train(
    rows: list[dict], *, embeddings: np.ndarray | None = None, x=None, seed: int = SEED, log=print
) -> dict:
    """Weights and threshold from ``rows`` (and their embeddings, when given)."""
    texts = [r["text"] for r in rows]
    y = np.array([LABELS.index(r["label"]) for r in rows])
    if x is None:
        x = matrix(texts)
    rng = random.Random(seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    cut = len(order) // 5
    held, fit_idx = sorted(order[:cut]), sorted(order[cut:])
    sources = [r["source"] for r in rows]
    arrays = _arrays(
        x[fit_idx],
        y[fit_idx],
        [sources[i] for i in fit_idx],
        None if embeddings is None else embeddings[fit_idx],
        0.5,
    )
    det = LearnedDetector.from_arrays(arrays)
    threshold = choose_threshold(
        det, [rows[i] for i in held], None if embeddings is None else embeddings[held]
    )
    log(f"threshold {threshold:.4f} from held-out benign rows")
    return _arrays(x, y, sources, embeddings, threshold)


def choose_threshold(det: LearnedDetector, held: list[dict], embeddings: np.ndarray | None = None) -> float:
    """The lowest threshold that flags at most FP_TARGET of the held-out benign rows of every source."""
    idx = [i for i, r in enumerate(held) if r["label"] == "benign"]
    scores = attack_scores(
        det, [held[i]["text"] for i in idx], None if embeddings is None else embeddings[idx]
    )
    by_source: dict[str, list[float]] = {}
    for i, s in zip(idx, scores, strict=True):
        by_source.setdefault(held[i]["source"], []).append(float(s))
    cut = MIN_THRESHOLD
    for values in by_source.values():
        if len(values) >= 20:
            cut = max(cut, float(np.quantile(values, 1.0 - FP_TARGET)) + 1e-4)
    return min(cut, 0.99)


def _arrays(x, y, sources, embeddings, threshold: float) -> dict:
    w, b = _fit(x, y, sources)
    arrays = {
        "labels": np.array(LABELS),
        "w": w,
        "b": b,
        "threshold": np.float64(threshold),
        "version": VERSION,
    }
    if embeddings is not None:
        arrays["ew"], arrays["eb"] = _fit_embed(embeddings, y, sources)
    return arrays


def embed(texts: list[str], log=print) -> np.ndarray:
    """all-MiniLM-L6-v2 embeddings of ``texts``, cached under ~/.cache keyed by the texts' hash."""
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:16]
    cache = Path.home() / ".cache" / "purpose-desktop-immune" / f"emb-{digest}.npy"
    if cache.exists():
        return np.load(cache)
    from purpose_desktop.engine.vault.embed import default_embedder  # type: ignore[attr-defined]

    start = time.perf_counter()
    vectors = np.asarray(default_embedder().embed(texts), dtype=np.float32)
    log(f"embedded {len(texts)} texts in {time.perf_counter() - start:.0f} s")
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, vectors)
    return vectors


def save(arrays: dict, out: Path = OUT) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {k: v for k, v in arrays.items() if v is not None}
    payload["w"] = payload["w"].astype(np.float16)  # halves the file; scores move by < 1e-3
    with open(out, "wb") as fh:
        np.savez_compressed(fh, **payload)
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--embeddings", action="store_true", help="also train the MiniLM embedding head")
    args = parser.parse_args(argv)
    np.random.seed(SEED)
    rows = load_corpus()
    start = time.perf_counter()
    emb = embed([r["text"] for r in rows]) if args.embeddings else None
    arrays = train(rows, embeddings=emb)
    size = save(arrays, args.out)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["label"]] = counts.get(r["label"], 0) + 1
    print(
        json.dumps(
            {
                "rows": len(rows),
                "by_label": counts,
                "threshold": float(arrays["threshold"]),
                "embedding_head": emb is not None,
                "bytes": size,
                "seconds": round(time.perf_counter() - start, 1),
                "out": str(args.out),
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
