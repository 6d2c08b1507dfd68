"""The learned immune detector: logistic regression over hashed n-grams (and a MiniLM embedding when one is given).

The rules catch what they spell out; this catches the shapes they do not: typo'd overrides, fake role
markers, payloads presented as a task, notes to a reviewer, Markdown images that carry data. Features are
hashed character 3–5-grams and word 1–2-grams of the folded, lower-cased text (so look-alikes and
spelling slips land near the words they imitate). When the caller already has the text's all-MiniLM-L6-v2
embedding (the Vault computes one for every chunk), a second head reads it and the two heads' probabilities
are averaged; without one only the n-gram head runs, in well under a few milliseconds. Inference needs
only numpy; the weights live in ``resources/immune/detector.npz`` (trained by scripts/train_immune.py) and
are loaded on first use. Long texts are read in windows; the window and the sentence that scored highest
are the span reported.

The model has a ``secret`` class so that credential-shaped text does not teach the other classes, but it
never flags on it: whether ``password = "..."`` holds a real key or a placeholder is a question of format,
which the secret rules answer far better.
"""

from __future__ import annotations

import logging
import re
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .normalize import fold_char, is_invisible

DIM_BITS = 17
DIM = 1 << DIM_BITS
_MASK = DIM - 1
CHAR_N = (3, 4, 5)
EMBED_DIM = 384
NOT_ATTACK = frozenset({"benign", "secret"})
WINDOW = 320  # characters a window holds; longer texts are read in several
MAX_WINDOWS = 64
MIN_SENTENCE = 40
#: An instruction needs words: text with fewer than this many words of letters (a tool's "10", "True",
#: "[1, 2, 3]") is not judged by the detector — it has nothing to tell a model, and short numbers read as
#: scores to an n-gram model. The rules still see it.
MIN_WORDS = 3
_LETTER_WORD = re.compile(r"[^\W\d_]{2,}")
_WORD = re.compile(r"[a-z0-9_]+|[^\sa-z0-9_]{1,3}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WS = re.compile(r"\s+")


log = logging.getLogger(__name__)


class DetectorUnavailable(RuntimeError):
    """The model file is missing or unreadable; the rules still run."""


def prepare(text: str) -> str:
    """Folded (look-alikes, accents, invisible characters), lower-cased, whitespace collapsed."""
    if not text.isascii():
        text = "".join(ch if ch.isascii() else ("" if is_invisible(ch) else fold_char(ch)) for ch in text)
    return _WS.sub(" ", text.lower()).strip()


def features(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Hashed, sub-linear, L2-normalised n-gram counts of ``text``: (indexes, values)."""
    low = prepare(text)
    counts: dict[int, int] = {}
    get = counts.get
    crc = zlib.crc32
    data = (" " + low + " ").encode("utf-8")
    for n in CHAR_N:
        for i in range(len(data) - n + 1):
            h = crc(data[i : i + n], n) & _MASK
            counts[h] = get(h, 0) + 1
    words = _WORD.findall(low)
    prev = None
    for w in words:
        wb = w.encode("utf-8")
        h = crc(wb, 101) & _MASK
        counts[h] = get(h, 0) + 1
        if prev is not None:
            h = crc(prev + b" " + wb, 102) & _MASK
            counts[h] = get(h, 0) + 1
        prev = wb
    if not counts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
    val = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
    val /= float(np.sqrt(np.dot(val, val)))
    return idx, val.astype(np.float32)


@dataclass(frozen=True, slots=True)
class Detection:
    """What the detector thinks of one text: the likeliest attack category, its confidence and the span."""

    category: str
    confidence: float  # probability that the text is an attack (every class but benign and secret)
    category_probability: float
    span: tuple[int, int]
    flagged: bool  # confidence reached the model's threshold
    probabilities: dict[str, float]
    heads: str = "n-gram"  # which heads decided: "n-gram" or "n-gram + embedding"


class LearnedDetector:
    """The weights of both heads and the threshold chosen at training time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            with np.load(path, allow_pickle=False) as data:
                self.labels = tuple(str(x) for x in data["labels"])
                self.w = data["w"].astype(np.float32)  # (DIM, K)
                self.b = data["b"].astype(np.float32)
                self.ew = data["ew"].astype(np.float32) if "ew" in data else None  # (384, K)
                self.eb = data["eb"].astype(np.float32) if "eb" in data else None
                self.threshold = float(data["threshold"])
                self.threshold_combined = (
                    float(data["threshold_combined"]) if "threshold_combined" in data else None
                )
                self.version = str(data["version"])
                self._setup()
        except (OSError, KeyError, ValueError) as exc:
            raise DetectorUnavailable(
                f"the learned immune detector could not be read from {path} ({exc}); "
                "reinstall the app or run scripts/train_immune.py"
            ) from exc
        if self.w.shape[0] != DIM or self.labels[0] != "benign":
            raise DetectorUnavailable(f"{path} was trained for another feature layout; retrain it")

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any], path: Path | None = None) -> LearnedDetector:
        """A detector from in-memory weights (training and leave-one-source-out evaluation)."""
        self = cls.__new__(cls)
        self.path = path or Path("<memory>")
        self.labels = tuple(str(x) for x in arrays["labels"])
        self.w = np.asarray(arrays["w"], dtype=np.float32)
        self.b = np.asarray(arrays["b"], dtype=np.float32)
        self.ew = np.asarray(arrays["ew"], dtype=np.float32) if arrays.get("ew") is not None else None
        self.eb = np.asarray(arrays["eb"], dtype=np.float32) if arrays.get("eb") is not None else None
        self.threshold = float(arrays["threshold"])
        combined = arrays.get("threshold_combined")
        self.threshold_combined = float(combined) if combined is not None else None
        self.version = str(arrays.get("version", "memory"))
        self._setup()
        return self

    def _setup(self) -> None:
        self._attack = np.array([label not in NOT_ATTACK for label in self.labels])
        self._attack_index = np.flatnonzero(self._attack)

    # -- probabilities ----------------------------------------------------------------------------
    def _ngram_probs(self, text: str) -> np.ndarray:
        idx, val = features(text)
        z = self.b + (val @ self.w[idx] if len(idx) else 0.0)
        return _softmax(z)

    def _embed_probs(self, embedding: Any) -> np.ndarray | None:
        if self.ew is None or embedding is None:
            return None
        vec = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if vec.shape[0] != self.ew.shape[0]:
            raise ValueError(
                f"the embedding has {vec.shape[0]} dimensions; the detector reads all-MiniLM-L6-v2 "
                f"embeddings ({self.ew.shape[0]})"
            )
        norm = float(np.linalg.norm(vec))
        if norm > 0:
            vec = vec / norm
        return _softmax(vec @ self.ew + self.eb)

    def probabilities(self, text: str, embedding: Any = None) -> np.ndarray:
        """Class probabilities for one window of text (labels in ``self.labels``): the n-gram head's, or
        the mean of both heads' when an embedding is given and the model has an embedding head."""
        probs = self._ngram_probs(text)
        other = self._embed_probs(embedding)
        return probs if other is None else (probs + other) / 2.0

    @property
    def has_embedding_head(self) -> bool:
        return self.ew is not None and self.threshold_combined is not None

    # -- detection ----------------------------------------------------------------------------------
    def detect(self, text: str, embedding: Any = None) -> Detection | None:
        """The verdict on ``text``; None for empty text or one of fewer than MIN_WORDS words of letters.

        The n-gram head reads long texts window by window and keeps the window most like an attack. With
        an all-MiniLM-L6-v2 ``embedding`` of the text (and an embedding head in the model), the two heads'
        probabilities are averaged — the n-gram head's best window with the embedding head's reading of
        the whole text — and the combined threshold applies; without one, the n-gram head's threshold.
        """
        if not text.strip() or len(_LETTER_WORD.findall(text)) < MIN_WORDS:
            return None
        best: tuple[float, np.ndarray, tuple[int, int]] | None = None
        for start, end in _windows(text):
            probs = self._ngram_probs(text[start:end])
            attack = float(probs[self._attack].sum())
            if best is None or attack > best[0]:
                best = (attack, probs, (start, end))
        assert best is not None
        attack, probs, span = best
        threshold = self.threshold
        other = self._embed_probs(embedding) if self.has_embedding_head else None
        if other is not None:
            probs = (probs + other) / 2.0
            attack = float(probs[self._attack].sum())
            threshold = float(self.threshold_combined)  # type: ignore[arg-type]
        k = int(self._attack_index[int(np.argmax(probs[self._attack_index]))])
        flagged = attack >= threshold
        if flagged:
            span = self._focus(text, span)
        return Detection(
            category=self.labels[k],
            confidence=round(attack, 4),
            category_probability=round(float(probs[k]), 4),
            span=span,
            flagged=flagged,
            probabilities={label: round(float(p), 4) for label, p in zip(self.labels, probs, strict=True)},
            heads="n-gram + embedding" if other is not None else "n-gram",
        )

    def _focus(self, text: str, span: tuple[int, int]) -> tuple[int, int]:
        """The sentence (or pair of sentences) inside ``span`` that reads most like an attack."""
        pieces = _sentences(text, span)
        if len(pieces) <= 1:
            return _trim(text, span)
        candidates = pieces + [(a[0], b[1]) for a, b in zip(pieces, pieces[1:], strict=False)]
        scored = [
            (float(self._ngram_probs(text[s:e])[self._attack].sum()), -(e - s), (s, e))
            for s, e in candidates[:40]
        ]
        return _trim(text, max(scored)[2])


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


def _windows(text: str) -> list[tuple[int, int]]:
    """The whole text when short; else runs of whole sentences up to WINDOW characters, one starting at
    each sentence, so a planted instruction is read with little of the document around it."""
    if len(text) <= WINDOW:
        return [(0, len(text))]
    sentences: list[tuple[int, int]] = []
    for s, e in _sentences(text, (0, len(text))):
        while e - s > WINDOW:  # one very long "sentence": cut it plainly
            sentences.append((s, s + WINDOW))
            s += WINDOW
        sentences.append((s, e))
    out: list[tuple[int, int]] = []
    for i, (start, end) in enumerate(sentences):
        if end - start >= MIN_SENTENCE:
            out.append((start, end))  # the sentence alone: nothing around it dilutes it
        for _s, e in sentences[i + 1 :]:
            if e - start > WINDOW:
                break
            end = e
        if end != out[-1][1] if out else True:
            out.append((start, end))  # with the sentences after it, for instructions that span several
        if len(out) >= MAX_WINDOWS:
            break
    return out


def _sentences(text: str, span: tuple[int, int]) -> list[tuple[int, int]]:
    start, end = span
    out = []
    pos = start
    for m in _SENTENCE_END.finditer(text, start, end):
        if m.start() > pos:
            out.append((pos, m.start()))
        pos = m.end()
    if pos < end:
        out.append((pos, end))
    return [(s, e) for s, e in out if text[s:e].strip()]


def _trim(text: str, span: tuple[int, int]) -> tuple[int, int]:
    s, e = span
    while s < e and text[s].isspace():
        s += 1
    while e > s and text[e - 1].isspace():
        e -= 1
    return (s, e)


_lock = threading.Lock()
_loaded: dict[str, LearnedDetector | DetectorUnavailable] = {}


def default_path() -> Path:
    from purpose_desktop.engine.resources import resource

    return resource("immune", "detector.npz")


def detector(path: Path | None = None) -> LearnedDetector:
    """The detector from ``path`` (default: the bundled model), loaded once and shared; thread-safe."""
    try:
        key = str(path or default_path())
    except FileNotFoundError as exc:
        raise DetectorUnavailable(str(exc)) from exc
    with _lock:
        found = _loaded.get(key)
        if found is None:
            try:
                found = LearnedDetector(Path(key))
            except DetectorUnavailable as exc:
                found = exc
            _loaded[key] = found
    if isinstance(found, DetectorUnavailable):
        raise found
    return found


def model_info(path: Path | None = None) -> dict[str, Any]:
    """Version, labels, threshold, file size and whether the embedding head is present."""
    d = detector(path)
    return {
        "version": d.version,
        "labels": list(d.labels),
        "threshold": d.threshold,
        "embedding_head": d.has_embedding_head,
        "threshold_combined": d.threshold_combined,
        "bytes": d.path.stat().st_size,
        "path": str(d.path),
        "features": f"hashed char {CHAR_N[0]}-{CHAR_N[-1]}-grams + word 1-2-grams, 2^{DIM_BITS} buckets",
    }


#: One text -> its all-MiniLM-L6-v2 vector, or None when none can be had cheaply now. Registered by the
#: layer that owns the embedder (engine/vault/embed.py, for the process-wide bundled one).
EmbedFn = Callable[[str], Any]
_embed_fn: EmbedFn | None = None


def use_embedder(fn: EmbedFn | None) -> None:
    """Let the scan compute a text's embedding when its caller has none (None: stop)."""
    global _embed_fn
    _embed_fn = fn


def embedding_for(text: str) -> Any:
    """The text's embedding from the registered embedder, or None (none registered, not loaded, or it
    failed: the n-gram head then decides alone)."""
    fn = _embed_fn
    if fn is None:
        return None
    try:
        return fn(text)
    except Exception as exc:  # noqa: BLE001 — the scan must not fail because the embedder did
        log.warning("immune scan: no embedding for the learned detector: %s", exc)
        return None


def clear_cache() -> None:
    """Forget loaded models (tests that swap the file)."""
    with _lock:
        _loaded.clear()
