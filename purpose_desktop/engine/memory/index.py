"""VectorIndex: top-k by cosine × weight over unit float32 vectors, numpy only (exact, or IVF when large).

Below ``exact_limit`` rows every vector is scored (a 20k × 384 matrix-vector product is ~3 ms).
Above it, scoring all rows is memory-bound (100k × 384 float32 is 150 MB, ~15 ms per query here),
so the rows are grouped by spherical k-means into ~2·√n lists stored contiguously; a query scores
the centroids, then exactly re-scores the rows of the closest lists (about 1/16 of the data),
widening once (to about 1/4) when too few rows pass the caller's mask and thresholds. A mask that
selects few rows (≤ 5 %) is scored exactly instead. bench/retrieval.py reports recall against the
exact answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EXACT_LIMIT = 20_000


@dataclass(frozen=True)
class Hit:
    row: int  # index into the vectors the index was built from
    similarity: float
    score: float  # similarity × weight


class VectorIndex:
    """Built once from unit vectors; ``search`` takes per-row weights and a mask at query time."""

    def __init__(self, vectors: np.ndarray, *, exact_limit: int = EXACT_LIMIT, seed: int = 0) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError("vectors must be a 2-D array")
        self.n, self.dim = vectors.shape
        self.ivf = self.n >= exact_limit
        if not self.ivf:
            self.matrix = vectors
            return
        self._build_ivf(vectors, seed)

    # -- building -----------------------------------------------------------------------------------
    def _build_ivf(self, vectors: np.ndarray, seed: int) -> None:
        rng = np.random.default_rng(seed)
        n_lists = max(16, int(2 * math.sqrt(self.n)))
        sample = vectors[rng.choice(self.n, size=min(self.n, n_lists * 32), replace=False)]
        centroids = sample[rng.choice(len(sample), size=n_lists, replace=False)].copy()
        for _ in range(8):
            labels = np.argmax(sample @ centroids.T, axis=1)
            counts = np.bincount(labels, minlength=n_lists)
            sums = np.zeros_like(centroids)
            present = np.flatnonzero(counts)
            starts = np.concatenate([[0], np.cumsum(counts[present])[:-1]])
            sums[present] = np.add.reduceat(sample[np.argsort(labels, kind="stable")], starts, axis=0)
            empty = counts == 0
            if empty.any():  # re-seed an empty list with a random point
                sums[empty] = sample[rng.choice(len(sample), size=int(empty.sum()))]
            norms = np.linalg.norm(sums, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            centroids = (sums / norms).astype(np.float32)
        labels = np.empty(self.n, dtype=np.int64)
        for start in range(0, self.n, 8192):
            labels[start : start + 8192] = np.argmax(vectors[start : start + 8192] @ centroids.T, axis=1)
        order = np.argsort(labels, kind="stable")
        self.order = order  # position in the clustered matrix → original row
        self.matrix = np.ascontiguousarray(vectors[order])
        counts = np.bincount(labels, minlength=n_lists)
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.centroids = centroids
        self.n_lists = n_lists
        self.n_probe = max(8, n_lists // 16)
        self.position = np.argsort(order)  # original row → position in the clustered matrix
        self.masked_exact_limit = max(1000, self.n // 20)

    # -- searching ----------------------------------------------------------------------------------
    def search(
        self,
        query: np.ndarray,
        k: int,
        *,
        weights: np.ndarray | None = None,
        mask: np.ndarray | None = None,
        min_similarity: float | np.ndarray = -1.0,
    ) -> list[Hit]:
        """The ``k`` rows with the highest similarity × weight among rows where ``mask`` is true.

        ``min_similarity`` is one threshold, or one per row (kinds differ in how close a match must be).
        """
        if self.n == 0 or k <= 0:
            return []
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if not self.ivf:
            return _top(np.arange(self.n), self.matrix @ q, k, weights, mask, min_similarity)
        if mask is not None:
            selected = np.flatnonzero(mask)
            if len(selected) <= self.masked_exact_limit:
                # A narrow scope: scoring just those rows exactly is cheaper than probing for them.
                sims = self.matrix[self.position[selected]] @ q
                return _top(selected, sims, k, weights, mask, min_similarity)
        csims = self.centroids @ q
        n_probe = self.n_probe
        for _ in range(2):  # the nearest lists, then once 4× wider if too few rows qualified
            lists = (
                np.argpartition(-csims, n_probe - 1)[:n_probe]
                if n_probe < self.n_lists
                else np.arange(self.n_lists)
            )
            lists.sort()  # scan in memory order
            positions, sims = [], []
            for c in lists:
                a, b = self.offsets[c], self.offsets[c + 1]
                if b > a:
                    positions.append(np.arange(a, b))
                    sims.append(self.matrix[a:b] @ q)
            rows = self.order[np.concatenate(positions)] if positions else np.zeros(0, dtype=np.int64)
            scores = np.concatenate(sims) if sims else np.zeros(0, np.float32)
            hits = _top(rows, scores, k, weights, mask, min_similarity)
            if len(hits) >= k or n_probe >= self.n_lists:
                break
            n_probe = min(self.n_lists, n_probe * 4)
        # Fewer than k after a quarter of the data: the rest is far from the query, and a prompt
        # is better off with fewer memories than with a full scan's worth of latency.
        return hits


def _top(rows, sims, k, weights, mask, min_similarity) -> list[Hit]:
    scores = sims * weights[rows] if weights is not None else sims.copy()
    floor = min_similarity[rows] if isinstance(min_similarity, np.ndarray) else min_similarity
    bad = sims < floor
    if mask is not None:
        bad |= ~mask[rows]
    scores = np.where(bad, -np.inf, scores)
    valid = int(np.count_nonzero(~bad))
    if valid == 0:
        return []
    k = min(k, valid)
    best = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    best = best[np.argsort(-scores[best], kind="stable")]
    return [Hit(int(rows[i]), float(sims[i]), float(scores[i])) for i in best if np.isfinite(scores[i])]
