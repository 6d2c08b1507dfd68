"""Train the learned immune detector from scripts/immune_data/corpus.jsonl.gz into resources/immune/detector.npz.

Reproducible: a fixed seed, a deterministic solver and the tracked corpus (rebuild it with
scripts/build_immune_corpus.py). The decision threshold is chosen on a held-out fifth of the training rows
so that at most ``FP_TARGET`` of benign texts there are flagged, then the model is refitted on every row.
The embedding head reads all-MiniLM-L6-v2 vectors of the texts (the Vault's embedder), computed once
and cached per text under ~/.cache/purpose-desktop-immune; ``--no-embeddings`` trains the n-gram head alone.

    python scripts/train_immune.py [--no-embeddings] [--out resources/immune/detector.npz]
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
EMBED_C = 4.0
HARD_NEGATIVE_SOURCES = frozenset({"project", "own", "own2", "garak-docs", "promptinject", "aib"})
MIN_THRESHOLD = 0.5
VERSION = "2"  # 2: an embedding head beside the n-gram head, and a combined threshold


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
    """The embedding head: multinomial logistic regression over unit all-MiniLM-L6-v2 vectors."""
    from sklearn.linear_model import LogisticRegression

    present = sorted(set(y.tolist()))
    clf = LogisticRegression(C=EMBED_C, max_iter=2000, tol=1e-4, solver="lbfgs", random_state=SEED)
    clf.fit(e, y, sample_weight=sample_weights(y, sources))
    ew = np.zeros((e.shape[1], len(LABELS)), dtype=np.float32)
    eb = np.full(len(LABELS), -30.0, dtype=np.float32)
    coef = clf.coef_ if len(present) > 2 else np.vstack([-clf.coef_[0], clf.coef_[0]]) / 2
    icpt = clf.intercept_ if len(present) > 2 else np.array([-clf.intercept_[0], clf.intercept_[0]]) / 2
    for row, k in enumerate(present):
        ew[:, k] = coef[row]
        eb[k] = icpt[row]
    return ew, eb


def attack_scores(
    det: LearnedDetector, texts: list[str], embeddings: np.ndarray | None = None, *, embedding_only: bool = False
) -> np.ndarray:
    """P(attack) per text the way the scan computes it (windows for long texts; both heads averaged
    when embeddings are given). ``embedding_only`` scores with the embedding head alone (benchmarks)."""
    out = np.zeros(len(texts), dtype=np.float64)
    for i, text in enumerate(texts):
        if embedding_only:
            assert embeddings is not None
            out[i] = embedding_attack(det, text, embeddings[i])
            continue
        found = det.detect(text, None if embeddings is None else embeddings[i])
        out[i] = found.confidence if found else 0.0
    return out


def embedding_attack(det: LearnedDetector, text: str, embedding: np.ndarray) -> float:
    """P(attack) from the embedding head alone (0 for texts the detector does not judge)."""
    if det.detect(text) is None:  # the same MIN_WORDS gate as the scan
        return 0.0
    probs = det._embed_probs(embedding)
    return float(probs[det._attack].sum()) if probs is not None else 0.0


def fit_arrays(
    rows: list[dict],
    x,
    idx: list[int],
    embeddings: np.ndarray | None = None,
    *,
    seed: int = SEED,
    refit: bool = True,
    log=print,
) -> dict:
    """Weights and thresholds from the rows ``idx`` (and their embeddings, when given).

    Both heads are fitted on four fifths of ``idx``; the thresholds (the n-gram head's alone, and the
    average of both heads') are chosen on the other fifth, from its benign rows only. With ``refit`` the
    heads are then refitted on every row of ``idx`` and keep those thresholds.
    """
    order = list(idx)
    random.Random(seed).shuffle(order)
    cut = len(order) // 5
    held, fit_idx = sorted(order[:cut]), sorted(order[cut:])
    arrays = _arrays(rows, x, fit_idx, embeddings)
    det = LearnedDetector.from_arrays(arrays)
    held_rows = [rows[i] for i in held]
    arrays["threshold"] = np.float64(choose_threshold(det, held_rows))
    if embeddings is not None:
        arrays["threshold_combined"] = np.float64(choose_threshold(det, held_rows, embeddings[held]))
        arrays["threshold_embedding"] = np.float64(
            choose_threshold(det, held_rows, embeddings[held], embedding_only=True)
        )
    log(
        f"thresholds from held-out benign rows: n-gram {float(arrays['threshold']):.4f}"
        + (f", combined {float(arrays['threshold_combined']):.4f}" if embeddings is not None else "")
    )
    if not refit:
        return arrays
    final = _arrays(rows, x, sorted(idx), embeddings)
    final["threshold"] = arrays["threshold"]
    if embeddings is not None:
        final["threshold_combined"] = arrays["threshold_combined"]
        final["threshold_embedding"] = arrays["threshold_embedding"]
    return final


def train(rows: list[dict], *, embeddings: np.ndarray | None = None, x=None, seed: int = SEED, log=print) -> dict:
    """Weights and thresholds from every row of ``rows``."""
    if x is None:
        x = matrix([r["text"] for r in rows])
    return fit_arrays(rows, x, list(range(len(rows))), embeddings, seed=seed, log=log)


def choose_threshold(
    det: LearnedDetector, held: list[dict], embeddings: np.ndarray | None = None, *, embedding_only: bool = False
) -> float:
    """The lowest threshold that flags at most FP_TARGET of the held-out benign rows of every source
    (scored with both heads when ``embeddings`` is given, or the embedding head alone)."""
    idx = [i for i, r in enumerate(held) if r["label"] == "benign"]
    scores = attack_scores(
        det,
        [held[i]["text"] for i in idx],
        None if embeddings is None else embeddings[idx],
        embedding_only=embedding_only,
    )
    by_source: dict[str, list[float]] = {}
    for i, s in zip(idx, scores, strict=True):
        by_source.setdefault(held[i]["source"], []).append(float(s))
    cut = MIN_THRESHOLD
    for values in by_source.values():
        if len(values) >= 20:
            cut = max(cut, float(np.quantile(values, 1.0 - FP_TARGET)) + 1e-4)
    return min(cut, 0.99)


#: Set by benchmarks to a folder: n-gram heads are kept there, keyed by their training rows, so that a
#: rerun (or a run waiting for embeddings) does not refit them. Training never uses it.
NGRAM_CACHE: Path | None = None


def _fit_cached(rows: list[dict], x, idx: list[int], y: np.ndarray, sources: list[str]):
    if NGRAM_CACHE is None:
        return _fit(x[idx], y, sources)
    key = hashlib.sha256(
        json.dumps([[rows[i]["text"], rows[i]["label"], rows[i]["source"]] for i in idx]).encode("utf-8")
        + f"{C}{sorted(HARD_NEGATIVE_SOURCES)}{SEED}".encode()
    ).hexdigest()[:24]
    path = NGRAM_CACHE / f"ngram-{key}.npz"
    if path.exists():
        with np.load(path) as data:
            return data["w"], data["b"]
    w, b = _fit(x[idx], y, sources)
    NGRAM_CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, w=w, b=b)
    return w, b


def _arrays(rows: list[dict], x, idx: list[int], embeddings: np.ndarray | None) -> dict:
    y = np.array([LABELS.index(rows[i]["label"]) for i in idx])
    sources = [rows[i]["source"] for i in idx]
    w, b = _fit_cached(rows, x, idx, y, sources)
    arrays = {
        "labels": np.array(LABELS),
        "w": w,
        "b": b,
        "threshold": np.float64(0.5),
        "version": VERSION,
    }
    if embeddings is not None:
        arrays["ew"], arrays["eb"] = _fit_embed(embeddings[idx], y, sources)
        arrays["threshold_combined"] = np.float64(0.5)
    return arrays


def embed(texts: list[str], log=print) -> np.ndarray:
    """all-MiniLM-L6-v2 embeddings of ``texts`` (the Vault's embedder), cached per text under
    ~/.cache/purpose-desktop-immune so a grown corpus only embeds its new rows."""
    cache_dir = Path.home() / ".cache" / "purpose-desktop-immune"
    cache_file = cache_dir / "embeddings.npz"
    known: dict[str, np.ndarray] = {}
    if cache_file.exists():
        with np.load(cache_file, allow_pickle=False) as data:
            known = dict(zip((str(k) for k in data["keys"]), data["vectors"], strict=True))
    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
    if missing:
        from purpose_desktop.engine.vault.embed import default_embedder

        start = time.perf_counter()
        embedder = default_embedder()
        for lo in range(0, len(missing), 512):
            part = missing[lo : lo + 512]
            vectors = np.asarray(embedder.encode([t for _k, t in part]), dtype=np.float32)
            known.update(zip((k for k, _t in part), vectors, strict=True))
            log(f"embedded {lo + len(part)}/{len(missing)} texts in {time.perf_counter() - start:.0f} s")
            cache_dir.mkdir(parents=True, exist_ok=True)
            order = sorted(known)
            np.savez(cache_file, keys=np.array(order), vectors=np.stack([known[k] for k in order]))
    # Rounded so that last-bit differences between torch runs (batching, threads) do not reach the fit.
    return np.round(np.stack([known[k] for k in keys]).astype(np.float32), 4)


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
    parser.add_argument(
        "--no-embeddings", action="store_true", help="train the n-gram head only (no MiniLM embedding head)"
    )
    args = parser.parse_args(argv)
    np.random.seed(SEED)
    rows = load_corpus()
    start = time.perf_counter()
    emb = None if args.no_embeddings else embed([r["text"] for r in rows])
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
                "threshold_combined": float(arrays["threshold_combined"]) if emb is not None else None,
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
