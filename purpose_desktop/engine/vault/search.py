"""Hybrid search: FTS5 BM25 and cosine over an in-memory numpy matrix, fused by reciprocal rank.

Ranked lists are fused (RRF, k=60): vector similarity; BM25 keyword rank; the keyword hits that
contain an identifier or quoted phrase of the query literally (definitions first); and those
definitions alone (a function, class or section titled with it) — so ``retry_failed_upload`` or
``"exact words"`` is found, first, even when the embedding misses it. The matrix of unit vectors is loaded from
the float32 BLOBs once per vault revision and reused until something changes.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from purpose_desktop.engine.immune import UNREAD_RULE
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.vault.embed import Embedder, encode_query, one_torch_thread

RRF_K = 60
CANDIDATES = 50
SNIPPET_CHARS = 320
BM25_WEIGHTS = (2.0, 1.0, 0.5)  # title, text, terms
PRUNE_MIN_CHUNKS = 2000
PRUNE_FRACTION = 0.2

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

    @property
    def unread_languages(self) -> list[str]:
        """Languages of passages the immune scan could not read (flagged, never withheld, in the Vault)."""
        return sorted(
            {str(f.get("excerpt")) for f in self.findings if isinstance(f, dict) and f.get("rule") == UNREAD_RULE}
        )

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

    operands: tuple[str, ...]  # quoted FTS5 strings, OR-ed together
    literals: tuple[str, ...]
    words: tuple[str, ...]

    @property
    def match(self) -> str | None:
        return " OR ".join(self.operands) or None


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
            snake = [p for p in core.split("_") if p]
            if len(snake) > 1 and all(_WORD.fullmatch(p) for p in snake):
                terms.setdefault(_quote("".join(snake).lower()), None)  # see chunking.identifier_terms
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
    if 1 < len(plain) <= 8:  # the whole question as a phrase: exact wording ranks first
        terms.setdefault(_quote(" ".join(plain)), None)
    return ParsedQuery(tuple(terms), tuple(literals), tuple(words))


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


_TITLE_SPLIT = re.compile(r",\s*|\s+>\s+|\s+\(part \d+\)")


def _defines(title: str, literals: Collection[str]) -> bool:
    """Whether a chunk's title (``Store.add_message``, ``Install > Linux``) names one of ``literals``."""
    names = {n.strip().lower() for n in _TITLE_SPLIT.split(title or "") if n.strip()}
    names |= {n.rsplit(".", 1)[-1] for n in names}
    return any(lit in names for lit in literals)


#: Rows from which the cosine product is split across threads (one block per core, at most 4).
PARALLEL_MIN_ROWS = 20_000
_pool_lock = threading.Lock()
_scorer: ThreadPoolExecutor | None = None


def _score_pool() -> ThreadPoolExecutor:
    global _scorer
    with _pool_lock:
        if _scorer is None:
            _scorer = ThreadPoolExecutor(max_workers=3, thread_name_prefix="vault-score")
        return _scorer


def _split_rows(matrix, min_rows: int) -> list[tuple[int, int, Any]]:
    """(start, stop, rows) blocks: one per core (≤ 4) for a big matrix, else the whole matrix."""
    n = matrix.shape[0]
    parts = min(4, os.cpu_count() or 1, max(1, n // min_rows))
    if parts <= 1:
        return [(0, n, matrix)]
    edges = [n * i // parts for i in range(parts + 1)]
    return [(a, b, matrix[a:b]) for a, b in zip(edges, edges[1:], strict=False)]


class _Matrix:
    """Unit vectors of every embedded chunk for one model, with chunk ids, sources and flags alongside."""

    def __init__(self, ids: np.ndarray, vectors: np.ndarray, flagged: np.ndarray, sources: list[str]) -> None:
        self.ids = ids
        self.dim = vectors.shape[1] if vectors.ndim == 2 else 0
        self.flagged = flagged
        # With torch already loaded (the bundled embedder needs it), keep the matrix as float16: half
        # the memory and, the product being memory-bound, about half the time (23 vs 40 ms at 100k
        # here); scores differ from float32 by ~1e-4. Without torch, plain numpy float32.
        torch = sys.modules.get("torch")
        if torch is not None and len(ids):
            self._half = torch.from_numpy(np.ascontiguousarray(vectors)).to(torch.float16)
            self._vectors = None
        else:
            self._half = None
            self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.source_codes = {sid: n for n, sid in enumerate(dict.fromkeys(sources))}
        self.sources = np.fromiter(
            (self.source_codes[s] for s in sources), dtype=np.int32, count=len(sources)
        )

    def scores(self, q: np.ndarray) -> np.ndarray:
        """Cosine of every row with the unit vector ``q`` (float32)."""
        if self._half is not None:
            torch = sys.modules["torch"]
            qh = torch.from_numpy(q.astype(np.float16))
            # One intra-op thread unless an indexing batch holds torch right now (then don't wait for
            # it). A big matrix is split in row blocks computed on separate threads instead: the
            # product is memory-bound, and single-threaded blocks keep a busy machine from stalling
            # on torch's thread team (100k×384 here: 7.4 ms on one thread, 3.9 ms in two blocks).
            with one_torch_thread(wait=False):
                blocks = _split_rows(self._half, PARALLEL_MIN_ROWS)
                if len(blocks) == 1:
                    return torch.mv(self._half, qh).float().numpy()
                out = torch.empty(self._half.shape[0], dtype=torch.float16)
                pending = [
                    _score_pool().submit(torch.mv, block, qh, out=out[start:stop])
                    for start, stop, block in blocks[1:]
                ]
                start, stop, block = blocks[0]
                torch.mv(block, qh, out=out[start:stop])
                for future in pending:
                    future.result()
                return out.float().numpy()
        return self._vectors @ q

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
        self._count: tuple[int, int] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._df: dict[str, int] = {}  # FTS document frequency per query term, for the current revision

    def revision(self) -> int:
        row = self._store().connection.execute("SELECT value FROM vault_state WHERE key = 'revision'").fetchone()
        return int(row[0]) if row else 0

    def matrix(self, model: str) -> _Matrix:
        """The cached matrix, reloaded when the vault changed since it was built."""
        key = (model, self.revision())
        with self._lock:
            if self._matrix is not None and self._matrix_key == key:
                return self._matrix
        db = self._store().connection
        joined = """FROM vault_chunks c
               JOIN vault_files f ON f.id = c.file_id
               JOIN vault_embeddings e ON e.content_hash = c.content_hash AND e.model = ?"""
        n, dim = db.execute(f"SELECT COUNT(*), MAX(e.dim) {joined}", [model]).fetchone()
        # Filled row by row into one preallocated array: at 100k chunks the vectors alone are 150 MB.
        vectors = np.zeros((n, dim or 0), dtype=np.float32)
        ids = np.zeros(n, dtype=np.int64)
        flagged = np.zeros(n, dtype=bool)
        sources: list[str] = []
        rows = 0
        cursor = db.execute(
            f"SELECT c.id, c.flagged, f.source_id, e.dim, e.vector {joined} ORDER BY c.id", [model]
        )
        for cid, flag, source_id, row_dim, blob in cursor:
            if row_dim != dim or rows >= n:  # one model name means one size; a row added since COUNT waits
                continue
            vectors[rows] = np.frombuffer(blob, dtype="<f4")
            ids[rows], flagged[rows] = cid, bool(flag)
            sources.append(source_id)
            rows += 1
        matrix = _Matrix(ids[:rows], vectors[:rows], flagged[:rows], sources)
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
        pending = self._start_query_vector(query) if use_vectors else None
        keyword_ranked, bm25, texts, titles = self._keyword_candidates(
            parsed, pool, include_flagged, allowed_sources
        )
        if pending is not None:
            vector_ranked, cosines = self._vector_candidates(pending, pool, include_flagged, allowed_sources)
            lists.append(vector_ranked)
        lists.append(keyword_ranked)
        if parsed.literals:
            # Chunks holding an identifier or quoted phrase verbatim, definitions (a def/class/section
            # titled with it) first; the definitions also count as a list of their own.
            exact = [
                cid for cid in keyword_ranked if any(lit in texts[cid].lower() for lit in parsed.literals)
            ]
            defining = [cid for cid in keyword_ranked if _defines(titles[cid], parsed.literals)]
            first = set(defining)
            lists.append(defining + [cid for cid in exact if cid not in first])
            lists.append(defining)
        fused: dict[int, float] = {}
        for ranked in lists:
            for rank, cid in enumerate(ranked, 1):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank)
        if min_cosine is not None:
            fused = {
                cid: s for cid, s in fused.items() if cid in bm25 or cosines.get(cid, -1.0) >= min_cosine
            }
        keyword_rank = {cid: n for n, cid in enumerate(keyword_ranked)}
        # Ties (e.g. first in one list and second in the other) go to the better keyword match.
        best = sorted(fused.items(), key=lambda item: (-item[1], keyword_rank.get(item[0], pool), item[0]))[
            :k
        ]
        return self._hits(best, cosines, bm25, parsed)

    # -- the ranked lists -----------------------------------------------------------------------

    def _start_query_vector(self, query: str) -> tuple[_Matrix, Future] | None:
        """Embed the query on a helper thread while BM25 runs here (both release the GIL)."""
        embedder = self._embedder()
        matrix = self.matrix(embedder.name)
        if not len(matrix.ids):
            return None
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vault-query")
        return matrix, self._pool.submit(encode_query, embedder, query)

    def close(self) -> None:
        """Stop the helper thread (idle threads also end with the process)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def _vector_candidates(
        self, pending, pool, include_flagged, allowed
    ) -> tuple[list[int], dict[int, float]]:
        matrix, future = pending
        q = future.result()
        if q.shape[0] != matrix.dim:
            return [], {}
        scores = matrix.scores(q)
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
            return [], {}, {}, {}
        db = self._store().connection
        weights = ", ".join(str(w) for w in BM25_WEIGHTS)
        # A source filter goes inside the ranking query: a small source must not lose its matches
        # to the top of a big one. Flags are rare, so those are filtered afterwards.
        within, params = "", []
        if allowed is not None:
            marks = ",".join("?" * len(allowed)) or "NULL"
            within = (
                "AND rowid IN (SELECT c2.id FROM vault_chunks c2 JOIN vault_files f2 ON f2.id = c2.file_id "
                f"WHERE f2.source_id IN ({marks}))"
            )
            params = list(allowed)
        try:
            match = self._prune(db, parsed)
            rows = db.execute(
                f"""SELECT f.rowid, f.score, c.text, c.flagged, vf.source_id, c.title
                    FROM (SELECT rowid, bm25(vault_fts, {weights}) AS score FROM vault_fts
                          WHERE vault_fts MATCH ? {within} ORDER BY score LIMIT ?) AS f
                    JOIN vault_chunks c ON c.id = f.rowid
                    JOIN vault_files vf ON vf.id = c.file_id
                    ORDER BY f.score""",
                [match, *params, pool * 2],
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "fts5" not in str(exc).lower():
                raise
            return [], {}, {}, {}  # an odd query degrades to vector-only rather than failing
        ranked, bm25, texts, titles = [], {}, {}, {}
        for cid, score, text, flagged, source_id, title in rows:
            if (flagged and not include_flagged) or (allowed is not None and source_id not in allowed):
                continue
            ranked.append(cid)
            bm25[cid] = -float(score)
            texts[cid] = text
            titles[cid] = title
            if len(ranked) >= pool:
                break
        return ranked, bm25, texts, titles

    def _prune(self, db, parsed: ParsedQuery) -> str | None:
        """The MATCH expression without terms found in more than PRUNE_FRACTION of a big vault's chunks.

        BM25 is computed for every matching row, so one common word ("use") costs tens of milliseconds
        at 100k chunks while adding almost nothing to the ranking (its IDF is near zero). When every
        term is common, all of them must match instead (AND).
        """
        ops = parsed.operands
        total = self._chunk_count(db)
        if total < PRUNE_MIN_CHUNKS or len(ops) < 2:
            return parsed.match
        df = {op: self._doc_frequency(db, op) for op in ops}
        keep = [op for op in ops if 0 < df[op] <= total * PRUNE_FRACTION]
        if keep:
            return " OR ".join(keep)
        present = [op for op in ops if df[op]]
        return " AND ".join(present) if present else parsed.match

    def _chunk_count(self, db) -> int:
        revision = self.revision()
        if self._count is None or self._count[0] != revision:
            self._count = (revision, db.execute("SELECT count(*) FROM vault_chunks").fetchone()[0])
            self._df = {}
        return self._count[1]

    def _doc_frequency(self, db, operand: str) -> int:
        df = self._df.get(operand)
        if df is None:
            df = db.execute("SELECT count(*) FROM vault_fts WHERE vault_fts MATCH ?", [operand]).fetchone()[0]
            if len(self._df) > 10_000:
                self._df.clear()
            self._df[operand] = df
        return df

    # -- results -------------------------------------------------------------------------------

    def _hits(self, best, cosines, bm25, parsed: ParsedQuery) -> list[Hit]:
        if not best:
            return []
        ids = [cid for cid, _ in best]
        marks = ",".join("?" * len(ids))
        rows = {
            r[0]: r
            for r in self._store()
            .connection
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
