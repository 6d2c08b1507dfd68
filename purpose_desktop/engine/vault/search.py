"""Hybrid search: FTS5 BM25 and cosine over an in-memory numpy matrix, fused by reciprocal rank.

Three ranked lists are fused (RRF, k=60): vector similarity, BM25 keyword rank, and the keyword hits
that contain an identifier or quoted phrase of the query literally — so ``retry_failed_upload`` or
``"exact words"`` is found even when the embedding misses it. The matrix of unit vectors is loaded from
the float32 BLOBs once per vault revision and reused until something changes.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from purpose_desktop.engine.store import Store
from purpose_desktop.engine.vault.embed import Embedder, encode_query

RRF_K = 60
CANDIDATES = 50
SNIPPET_CHARS = 320
BM25_WEIGHTS = (2.0, 1.0, 0.5)  # title, text, terms

STOPWORDS = frozenset(
    """a an and are as at be but by can could do does did for from has have how i if in into is it its
    me my no not of on or our should so than that the their them then there these they this to was we
    were what when where which who why will with would you your""".split()
)
_WORD = re.compile(r"\w+")
_QUOTED = re.compile(r'"([^"]+)"')
_CAMEL = re.compile(r"[a-z0-9][A-Z]|[A-Z]{2}[a-z]")
_CAMEL_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


@dataclass(frozen=True)
class Hit:
    """One search result: where it is (path, lines), what it says (snippet, text) and how it ranked."""

    chunk_id: int
    source_id: str
    path: str
    rel_path: str
    start_line: int
    end_line: int
    title: str
    kind: str
    snippet: str
    text: str
    score: float  # fused reciprocal-rank score (higher is better; only comparable within one query)
    cosine: float | None = None
    bm25: float | None = None  # positive: higher is better
    flagged: bool = False
    findings: list[dict] = field(default_factory=list)  # immune-scan findings, for the person
    page: int | None = None
    matches: list[tuple[int, int]] = field(default_factory=list)  # spans to highlight in ``snippet``

    @property
    def citation(self) -> str:
        """``rel_path:start-end`` — what answers cite and what opens the source at that place."""
        return f"{self.rel_path}:{self.start_line}-{self.end_line}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "source_id": self.source_id,
            "path": self.path,
            "rel_path": self.rel_path,
            "start_line": self.start_line,
            "end_line": self.end_line,
            "page": self.page,
            "title": self.title,
            "kind": self.kind,
            "citation": self.citation,
            "snippet": self.snippet,
            "matches": [list(m) for m in self.matches],
            "text": self.text,
            "score": self.score,
            "cosine": self.cosine,
            "bm25": self.bm25,
            "flagged": self.flagged,
            "findings": self.findings,
        }


@dataclass(frozen=True)
class ParsedQuery:
    """The FTS5 MATCH expression, the literal strings worth an exact-match boost, and highlight words."""

    match: str | None
    literals: tuple[str, ...]
    words: tuple[str, ...]


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def parse_query(text: str) -> ParsedQuery:
    """Turn a person's or model's query into an OR of FTS5 strings (identifiers and quotes as phrases)."""
    terms: dict[str, None] = {}
    literals: dict[str, None] = {}
    words: dict[str, None] = {}
    for phrase in _QUOTED.findall(text):
        if _WORD.search(phrase):
            terms.setdefault(_quote(phrase), None)
            literals.setdefault(phrase.strip().lower(), None)
    rest = _QUOTED.sub(" ", text)
    plain: list[str] = []
    for raw in rest.split():
        core = raw.strip("()[]{}<>,;:!?'\"`“”‘’")
        parts = _WORD.findall(core)
        if not parts:
            continue
        identifier = len(parts) > 1 or "_" in core or bool(_CAMEL.search(core))
        if identifier:
            # "retry_failed_upload", "os.path.join", "parseHTTPResponse": a phrase of its parts, plus the
            # camelCase split that ingest put in the terms column.
            terms.setdefault(_quote(core), None)
            literals.setdefault(core.rstrip(".").lower(), None)
            for part in parts:
                camel = _CAMEL_PARTS.findall(part)
                if len(camel) > 1:
                    terms.setdefault(_quote(" ".join(c.lower() for c in camel)), None)
                words.setdefault(part.lower(), None)
        else:
            plain.extend(p.lower() for p in parts)
    content = [w for w in plain if w not in STOPWORDS] or plain
    for word in content:
        terms.setdefault(_quote(word), None)
        words.setdefault(word, None)
    if len(plain) > 1 and len(plain) <= 8:
        terms.setdefault(
            _quote(" ".join(plain)), None
        )  # the whole question as a phrase ranks exact wording first
    return ParsedQuery(" OR ".join(terms) or None, tuple(literals), tuple(words))


def snippet_of(
    text: str, words: Collection[str], literals: Collection[str]
) -> tuple[str, list[tuple[int, int]]]:
    """The ~SNIPPET_CHARS of ``text`` around its best-matching line, and the spans of matches in it."""
    lines = text.split("\n")
    pattern = _highlight_pattern(words, literals)
    best, best_hits = 0, 0
    if pattern is not None:
        for i, line in enumerate(lines):
            hits = len(pattern.findall(line))
            if hits > best_hits:
                best, best_hits = i, hits
    start = max(0, best - 1) if best_hits else 0
    out: list[str] = []
    size = 0
    for line in lines[start:]:
        if size and size + len(line) > SNIPPET_CHARS:
            break
        out.append(line)
        size += len(line) + 1
    snippet = "\n".join(out).strip("\n")
    if len(snippet) > SNIPPET_CHARS:
        snippet = snippet[:SNIPPET_CHARS].rstrip() + "…"
    spans = [m.span() for m in pattern.finditer(snippet)] if pattern is not None else []
    return snippet, spans


def _highlight_pattern(words: Collection[str], literals: Collection[str]) -> re.Pattern[str] | None:
    # Prefix matches stand in for the stemmer: "uploads" highlights "upload", "uploading".
    alternatives = [re.escape(lit) for lit in sorted(literals, key=len, reverse=True) if lit]
    alternatives += [
        r"\b" + re.escape(w[: max(4, len(w) - 2)] if len(w) > 4 else w) + r"\w*"
        for w in words
        if w not in STOPWORDS
    ]
    if not alternatives:
        return None
    return re.compile("|".join(alternatives), re.IGNORECASE)


class _Matrix:
    """Unit vectors of every embedded chunk for one model, with chunk ids, sources and flags alongside."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray, flagged: np.ndarray, sources: list[str]) -> None:
        self.ids = ids
        self.vectors = vectors
        self.flagged = flagged
        self.source_codes = {sid: n for n, sid in enumerate(dict.fromkeys(sources))}
        self.sources = np.fromiter(
            (self.source_codes[s] for s in sources), dtype=np.int32, count=len(sources)
        )

    def source_mask(self, allowed: Collection[str]) -> np.ndarray:
        codes = [self.source_codes[s] for s in allowed if s in self.source_codes]
        return np.isin(self.sources, np.asarray(codes, dtype=np.int32))


class Searcher:
    """Runs queries against the vault tables of whatever Store ``store()`` returns on the calling thread."""

    def __init__(self, store: Callable[[], Store], embedder: Callable[[], Embedder]) -> None:
        self._store = store
        self._embedder = embedder
        self._lock = threading.Lock()
        self._matrix: _Matrix | None = None
        self._matrix_key: tuple[str, int] | None = None

    def revision(self) -> int:
        row = self._store()._db().execute("SELECT value FROM vault_state WHERE key = 'revision'").fetchone()
        return int(row[0]) if row else 0

    def matrix(self, model: str) -> _Matrix:
        """The cached matrix, reloaded when the vault changed since it was built."""
        key = (model, self.revision())
        with self._lock:
            if self._matrix is not None and self._matrix_key == key:
                return self._matrix
        db = self._store()._db()
        rows = db.execute(
            """SELECT c.id, c.flagged, f.source_id, e.dim, e.vector
               FROM vault_chunks c
               JOIN vault_files f ON f.id = c.file_id
               JOIN vault_embeddings e ON e.content_hash = c.content_hash AND e.model = ?
               ORDER BY c.id""",
            [model],
        ).fetchall()
        dim = rows[0][3] if rows else 0
        rows = [r for r in rows if r[3] == dim]  # one model name means one size; guard anyway
        if rows:
            vectors = np.frombuffer(b"".join(r[4] for r in rows), dtype="<f4").reshape(len(rows), dim)
        else:
            vectors = np.zeros((0, 0), dtype=np.float32)
        matrix = _Matrix(
            np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
            vectors,
            np.fromiter((bool(r[1]) for r in rows), dtype=bool, count=len(rows)),
            [r[2] for r in rows],
        )
        with self._lock:
            self._matrix, self._matrix_key = matrix, key
        return matrix

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        include_flagged: bool = False,
        source_ids: Collection[str] | None = None,
        min_cosine: float | None = None,
        use_vectors: bool = True,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``query``; flagged chunks only with ``include_flagged``."""
        k = max(1, int(k))
        parsed = parse_query(query)
        pool = max(CANDIDATES, 5 * k)
        allowed_sources = set(source_ids) if source_ids is not None else None
        lists: list[list[int]] = []
        cosines: dict[int, float] = {}
        if use_vectors:
            vector_ranked, cosines = self._vector_candidates(query, pool, include_flagged, allowed_sources)
            lists.append(vector_ranked)
        keyword_ranked, bm25, texts = self._keyword_candidates(parsed, pool, include_flagged, allowed_sources)
        lists.append(keyword_ranked)
        if parsed.literals:
            lists.append(
                [cid for cid in keyword_ranked if any(lit in texts[cid].lower() for lit in parsed.literals)]
            )
        fused: dict[int, float] = {}
        for ranked in lists:
            for rank, cid in enumerate(ranked, 1):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank)
        if min_cosine is not None:
            fused = {
                cid: s for cid, s in fused.items() if cid in bm25 or cosines.get(cid, -1.0) >= min_cosine
            }
        best = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
        return self._hits(best, cosines, bm25, parsed)

    # -- the three lists -----------------------------------------------------------------------

    def _vector_candidates(self, query, pool, include_flagged, allowed) -> tuple[list[int], dict[int, float]]:
        embedder = self._embedder()
        matrix = self.matrix(embedder.name)
        if not len(matrix.ids):
            return [], {}
        q = encode_query(embedder, query)
        if q.shape[0] != matrix.vectors.shape[1]:
            return [], {}
        scores = matrix.vectors @ q
        if not include_flagged:
            scores = np.where(matrix.flagged, -np.inf, scores)
        if allowed is not None:
            scores = np.where(matrix.source_mask(allowed), scores, -np.inf)
        n = min(pool, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = [i for i in top if np.isfinite(scores[i])]
        ids = [int(matrix.ids[i]) for i in top]
        return ids, {int(matrix.ids[i]): float(scores[i]) for i in top}

    def _keyword_candidates(self, parsed: ParsedQuery, pool, include_flagged, allowed):
        if parsed.match is None:
            return [], {}, {}
        db = self._store()._db()
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        try:
            rows = db.execute(
                f"""SELECT f.rowid, f.score, c.text, c.flagged, vf.source_id
                    FROM (SELECT rowid, bm25(vault_fts, {weights}) AS score FROM vault_fts
                          WHERE vault_fts MATCH ? ORDER BY score LIMIT ?) AS f
                    JOIN vault_chunks c ON c.id = f.rowid
                    JOIN vault_files vf ON vf.id = c.file_id
                    ORDER BY f.score""",
                [parsed.match, pool * 2],
            ).fetchall()
        except Exception:  # noqa: BLE001 — an odd query must degrade to vector-only, never fail the search
            return [], {}, {}
        ranked, bm25, texts = [], {}, {}
        for cid, score, text, flagged, source_id in rows:
            if (flagged and not include_flagged) or (allowed is not None and source_id not in allowed):
                continue
            ranked.append(cid)
            bm25[cid] = -float(score)
            texts[cid] = text
            if len(ranked) >= pool:
                break
        return ranked, bm25, texts

    # -- results -------------------------------------------------------------------------------

    def _hits(self, best, cosines, bm25, parsed: ParsedQuery) -> list[Hit]:
        if not best:
            return []
        ids = [cid for cid, _ in best]
        marks = ",".join("?" * len(ids))
        rows = {
            r[0]: r
            for r in self._store()
            ._db()
            .execute(
                f"""SELECT c.id, f.source_id, f.path, f.rel_path, c.start_line, c.end_line, c.title, c.kind, c.text,
                           c.flagged, c.scan_json, c.page
                    FROM vault_chunks c JOIN vault_files f ON f.id = c.file_id WHERE c.id IN ({marks})""",
                ids,
            )
        }
        hits = []
        for cid, score in best:
            r = rows.get(cid)
            if r is None:  # removed between ranking and fetching
                continue
            snippet, spans = snippet_of(r[8], parsed.words, parsed.literals)
            findings = []
            if r[10]:
                try:
                    findings = json.loads(r[10]).get("reasons", [])
                except (ValueError, AttributeError):
                    findings = []
            hits.append(
                Hit(
                    chunk_id=cid,
                    source_id=r[1],
                    path=r[2],
                    rel_path=r[3],
                    start_line=r[4],
                    end_line=r[5],
                    title=r[6],
                    kind=r[7],
                    snippet=snippet,
                    text=r[8],
                    score=round(score, 6),
                    cosine=round(cosines[cid], 4) if cid in cosines else None,
                    bm25=round(bm25[cid], 4) if cid in bm25 else None,
                    flagged=bool(r[9]),
                    findings=findings,
                    page=r[11],
                    matches=spans,
                )
            )
        return hits
