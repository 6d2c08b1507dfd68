"""Cheap stand-ins for the embedding models, so batteries exercise storage and flow, not torch."""

from __future__ import annotations

import hashlib

import numpy as np

from purpose_desktop.engine.memory import similarity


class BowEmbedder:
    """The vault's Embedder protocol: hashed bag of words → 64-d unit vectors."""

    name = "battery-bow-64"
    dim = 64

    def encode(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split()[:2000]:
                out[i, int(hashlib.md5(word.encode()).hexdigest()[:8], 16) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def random_embed(texts: list[str]) -> np.ndarray:
    """A random direction per text (for memories): no two lessons look alike, so none is merged."""
    seeds = [int(hashlib.md5(t.encode("utf-8", "surrogatepass")).hexdigest()[:8], 16) for t in texts]
    rows = [np.random.default_rng(s).standard_normal(similarity.DIM) for s in seeds]
    return np.stack(rows).astype(np.float32) if rows else np.zeros((0, similarity.DIM), np.float32)
