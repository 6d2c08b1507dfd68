"""Vault: the public face of the vault — add sources, query them, hand agents a cited ``vault_search`` tool.

A Vault is the whole vault in one SQLite file (all sources); ``from_directory`` and ``from_texts`` add a
source and return the Vault. Its Store belongs to the thread that made it; calls from another thread
(an agent's tool call, say) quietly open that thread's own read connection. Background indexing runs in
an IndexJob with its own connection.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.store import Store, now_iso
from purpose_desktop.engine.tools.base import Tool, ToolError, ToolResult
from purpose_desktop.engine.vault.embed import Embedder, SentenceTransformerEmbedder, default_embedder
from purpose_desktop.engine.vault.errors import VaultError
from purpose_desktop.engine.vault.index import WRITE_KIND, Indexer, IndexJob
from purpose_desktop.engine.vault.reports import IndexProgress, IndexReport, TextItem
from purpose_desktop.engine.vault.search import Hit, Searcher

TOOL_MIN_COSINE = 0.15  # vector-only passages less similar than this are noise to a small model
MAX_QUERY_CHARS = 500


@dataclass(frozen=True)
class SourceInfo:
    """A source as the Vault pane lists it: counts, status and when it was last indexed."""

    id: str
    kind: str  # directory | file | texts
    path: str
    name: str
    status: str  # indexing | ready | incomplete | failed
    files: int
    skipped: int
    chunks: int
    embedded: int
    flagged: int
    added_at: str
    indexed_at: str | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _resolve_embedder(embedder: Embedder | str | Path | None) -> Embedder:
    if embedder is None:
        return default_embedder()
    if isinstance(embedder, str | Path):
        return SentenceTransformerEmbedder(embedder)
    return embedder


class Vault:
    """Local documents and code as searchable knowledge (see the module docstring for threads)."""

    def __init__(
        self, store: Store | str | Path | None = None, *, embedder: Embedder | str | Path | None = None
    ):
        """``store``: a Store (not closed by the Vault), a database path, or None for the user's database.

        ``embedder``: an Embedder, a local sentence-transformers folder, or None for the bundled
        all-MiniLM-L6-v2 (loaded on first use, not here).
        """
        if isinstance(store, Store):
            self._own = store
            self._owns_store = False
        else:
            self._own = Store(store, recover=False) if store is not None else Store(recover=False)
            self._owns_store = True
        self.db_path: Path = self._own.path
        self.embedder: Embedder = _resolve_embedder(embedder)
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._searcher = Searcher(self._store, lambda: self.embedder)
        self._job: IndexJob | None = None
        self.last_report: IndexReport | None = None

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def from_directory(
        cls,
        path: str | Path,
        *,
        store: Store | str | Path | None = None,
        embedder: Embedder | str | Path | None = None,
        on_progress: Callable[[IndexProgress], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> Vault:
        """A Vault with ``path`` (a folder, or a file) added and indexed; ``last_report`` says what happened."""
        vault = cls(store, embedder=embedder)
        try:
            vault.add(path, on_progress=on_progress, cancel=cancel)
        except BaseException:
            vault.close()
            raise
        return vault

    @classmethod
    def from_texts(
        cls,
        texts: Sequence[str],
        *,
        names: Sequence[str] | None = None,
        source: str = "texts",
        store: Store | str | Path | None = None,
        embedder: Embedder | str | Path | None = None,
    ) -> Vault:
        """A Vault with ``texts`` indexed as the source ``texts:<source>`` (names pick chunkers: ``a.md``)."""
        vault = cls(store, embedder=embedder)
        try:
            vault.add_texts(texts, names=names, source=source)
        except BaseException:
            vault.close()
            raise
        return vault

    # -- adding --------------------------------------------------------------------------------

    def add(
        self,
        *paths: str | Path,
        on_progress: Callable[[IndexProgress], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> IndexReport:
        """Add (or refresh) folders and files on this thread; only what changed is read and embedded."""
        if not paths:
            raise VaultError("Nothing to add.", "Give one or more folders or files.")
        indexer = Indexer(self._store(), self.embedder, on_progress=on_progress, cancel=cancel)
        self.last_report = indexer.index_paths(paths)
        return self.last_report

    def add_file(self, path: str | Path, **kwargs: Any) -> IndexReport:
        """Add one file as its own source (same as ``add(path)``)."""
        if Path(path).expanduser().is_dir():
            raise VaultError(f"{path} is a folder.", "Use add() or from_directory() for folders.")
        return self.add(path, **kwargs)

    def add_texts(
        self,
        texts: Sequence[str],
        *,
        names: Sequence[str] | None = None,
        source: str = "texts",
        on_progress: Callable[[IndexProgress], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> IndexReport:
        """Index ``texts`` as one source; calling again with the same ``source`` replaces its texts."""
        items = self._text_items(texts, names)
        indexer = Indexer(self._store(), self.embedder, on_progress=on_progress, cancel=cancel)
        self.last_report = indexer.index_texts(source, items)
        return self.last_report

    def start_indexing(
        self,
        *paths: str | Path,
        on_progress: Callable[[IndexProgress], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> IndexJob:
        """Index on a background thread with its own connection; returns the running IndexJob."""
        if self._job is not None and self._job.running:
            raise VaultError("The vault is already indexing.", "Wait for it to finish, or cancel it first.")
        self._job = IndexJob(
            self.db_path,
            self.embedder,
            paths=paths,
            on_progress=on_progress,
            mode=self._own.mode,
            cancel=cancel,
        ).start()
        return self._job

    def embed_pending(
        self, *, on_progress: Callable[[IndexProgress], None] | None = None, cancel: CancelToken | None = None
    ) -> IndexReport:
        """Embed chunks that lack a vector for this Vault's model (after a model change; no re-chunking)."""
        indexer = Indexer(self._store(), self.embedder, on_progress=on_progress, cancel=cancel)
        self.last_report = indexer.embed_pending()
        return self.last_report

    def refresh(self, **kwargs: Any) -> IndexReport:
        """Re-index every folder and file source (texts are kept as they are)."""
        paths = [s.path for s in self.sources() if s.kind in ("directory", "file") and Path(s.path).exists()]
        if not paths:
            return self.embed_pending(**kwargs)
        return self.add(*paths, **kwargs)

    @staticmethod
    def _text_items(texts: Sequence[str], names: Sequence[str] | None) -> list[TextItem]:
        if isinstance(texts, str):
            raise VaultError("from_texts() takes a list of texts, not one string.", "Wrap it: [text].")
        if names is not None and len(names) != len(texts):
            raise VaultError(
                f"{len(texts)} texts but {len(names)} names.", "Give one name per text, or none."
            )
        items = []
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise VaultError(f"Text {i + 1} is a {type(text).__name__}, not text.", "Pass strings.")
            items.append(TextItem(names[i] if names is not None else f"text{i + 1}", text))
        if len({t.name for t in items}) != len(items):
            raise VaultError("Two texts have the same name.", "Give each text its own name.")
        return items

    # -- searching -----------------------------------------------------------------------------

    def query(
        self,
        text: str,
        k: int = 5,
        *,
        include_flagged: bool = False,
        sources: Iterable[str] | None = None,
        min_cosine: float | None = None,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``text`` (hybrid BM25 + cosine), each with path, line range and snippet.

        Chunks the immune scan flagged are left out unless ``include_flagged`` (for showing to a person,
        with ``flagged=True``). ``sources`` limits the search to some sources (ids, paths or names).
        """
        if not isinstance(text, str) or not text.strip():
            return []
        text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates cannot be tokenised
        source_ids = self._source_ids(sources) if sources is not None else None
        with self._store()._errors():
            return self._searcher.search(
                text[:MAX_QUERY_CHARS],
                k,
                include_flagged=include_flagged,
                source_ids=source_ids,
                min_cosine=min_cosine,
            )

    def as_tool(self, k: int = 4) -> VaultSearchTool:
        """A ``vault_search`` Tool for Spark/agents; flagged chunks never reach its output."""
        return VaultSearchTool(self, k=k)

    # -- sources -------------------------------------------------------------------------------

    def sources(self) -> list[SourceInfo]:
        """Every source, oldest first, with file/chunk/embedding/flag counts for this Vault's model."""
        store = self._store()
        with store._errors():
            rows = (
                store.connection
                .execute(
                    """
                SELECT s.id, s.kind, s.path, s.name, s.status, s.added_at, s.indexed_at, s.error,
                       COALESCE(SUM(f.status = 'indexed'), 0), COALESCE(SUM(f.status = 'skipped'), 0),
                       (SELECT COUNT(*) FROM vault_chunks c JOIN vault_files f2 ON f2.id = c.file_id
                        WHERE f2.source_id = s.id),
                       (SELECT COUNT(*) FROM vault_chunks c JOIN vault_files f2 ON f2.id = c.file_id
                        JOIN vault_embeddings e ON e.content_hash = c.content_hash AND e.model = ?
                        WHERE f2.source_id = s.id),
                       (SELECT COUNT(*) FROM vault_chunks c JOIN vault_files f2 ON f2.id = c.file_id
                        WHERE f2.source_id = s.id AND c.flagged = 1)
                FROM vault_sources s LEFT JOIN vault_files f ON f.source_id = s.id
                GROUP BY s.id ORDER BY s.added_at, s.id
                """,
                    [self.embedder.name],
                )
                .fetchall()
            )
        out = []
        for r in rows:
            status = r[4]
            if status == "ready" and r[11] < r[10]:
                status = "incomplete"  # e.g. the embedding model changed since it was indexed
            out.append(
                SourceInfo(r[0], r[1], r[2], r[3], status, r[8], r[9], r[10], r[11], r[12], r[5], r[6], r[7])
            )
        return out

    def files(self, source: str) -> list[dict[str, Any]]:
        """The files of one source with their status, chunk count and (for skipped files) the reason."""
        source_id = self._source_ids([source])[0]
        store = self._store()
        with store._errors():
            rows = store.connection.execute(
                "SELECT path, rel_path, kind, language, size, status, skip_reason, chunk_count, indexed_at "
                "FROM vault_files WHERE source_id = ? ORDER BY rel_path",
                [source_id],
            )
            keys = (
                "path",
                "rel_path",
                "kind",
                "language",
                "size",
                "status",
                "skip_reason",
                "chunks",
                "indexed_at",
            )
            return [dict(zip(keys, r, strict=True)) for r in rows]

    def file_path(self, rel_path: str) -> str:
        """The indexed file a citation's ``rel_path`` names (most recently indexed), or "" if gone."""
        return file_path(self._store(), rel_path)

    def remove_source(self, source: str) -> SourceInfo:
        """Remove a source (by id, id prefix, path or name) with its files, chunks and unused vectors."""
        if self._job is not None and self._job.running:
            self._job.cancel()
            self._job.wait()
        source_id = self._source_ids([source])[0]
        info = next(s for s in self.sources() if s.id == source_id)
        store = self._store()
        with store._errors(), store.transaction(WRITE_KIND) as db:
            db.execute("DELETE FROM vault_sources WHERE id = ?", [source_id])  # files, chunks, FTS cascade
            db.execute(
                "DELETE FROM vault_embeddings WHERE content_hash NOT IN (SELECT content_hash FROM vault_chunks)"
            )
            db.execute("UPDATE vault_state SET value = value + 1 WHERE key = 'revision'")
        return info

    def _source_ids(self, refs: Iterable[str]) -> list[str]:
        store = self._store()
        rows = store.connection.execute("SELECT id, path, name FROM vault_sources").fetchall()
        ids = []
        for ref in refs:
            ref = str(ref)
            resolved = str(Path(ref).expanduser().resolve()) if not ref.startswith("texts:") else ref
            matches = [r[0] for r in rows if ref == r[0] or resolved == r[1] or ref == r[1]]
            if not matches and len(ref) >= 4:
                matches = [r[0] for r in rows if r[0].startswith(ref)] or [r[0] for r in rows if r[2] == ref]
            if len(matches) != 1:
                known = ", ".join(f"{r[0][:8]} ({r[1]})" for r in rows) or "none"
                what = "matches several sources" if matches else "is not a vault source"
                raise VaultError(f"{ref!r} {what}.", f"Use a source id or path; sources: {known}.")
            ids.append(matches[0])
        return ids

    # -- plumbing ------------------------------------------------------------------------------

    def _store(self) -> Store:
        """This thread's Store: the Vault's own on its owner thread, else a per-thread connection."""
        if threading.get_ident() == self._owner:
            return self._own
        store = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.db_path, recover=False)
            store.mode = self._own.mode
            self._local.store = store
        return store

    def revision(self) -> int:
        """Goes up with every committed vault change (a cheap "did anything change?" for views)."""
        return self._searcher.revision()

    def close(self) -> None:
        """Stop a running background job, then close the database if this Vault opened it."""
        if self._job is not None and self._job.running:
            self._job.cancel()
            self._job.wait()
        self._searcher.close()
        if self._owns_store and threading.get_ident() == self._owner:
            self._own.close()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Vault {self.db_path} embedder={self.embedder.name!r}>"


def file_path(store: Store, rel_path: str) -> str:
    """The path of the file most recently indexed as ``rel_path``, or "" (also on a database without vault tables)."""
    try:
        row = (
            store.connection
            .execute(
                "SELECT path FROM vault_files WHERE rel_path = ? ORDER BY indexed_at DESC LIMIT 1",
                [rel_path],
            )
            .fetchone()
        )
    except sqlite3.Error:
        return ""
    return row[0] if row else ""


class VaultSearchTool(Tool):
    """``vault_search``: the person's documents and code as cited passages for an agent."""

    name = "vault_search"
    description = (
        "Search the user's own documents and code for passages about a question or an exact name "
        "(function, class, setting, error message). Returns passages cited as [file:start-end]."
    )
    parameters = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "what to look for", "maxLength": MAX_QUERY_CHARS},
            "k": {"type": "integer", "description": "how many passages (1-10)", "minimum": 1, "maximum": 10},
        },
        "required": ["query"],
        "additionalProperties": False,
    }

    def __init__(self, vault: Vault, *, k: int = 4) -> None:
        self.vault = vault
        self.k = k

    def execute(self, args: Mapping[str, Any], cancel: CancelToken | None) -> ToolResult:
        query = str(args["query"]).strip()
        if not query:
            raise ToolError(
                "the query is empty", hint="say what to look for, e.g. a question or a function name"
            )
        k = int(args.get("k") or self.k)
        # Ranked with flagged chunks present, so the output can say how many were withheld; their text
        # never leaves this method.
        ranked = self.vault.query(query, k * 2, include_flagged=True, min_cosine=TOOL_MIN_COSINE)
        hits: list[Hit] = []
        withheld = 0
        for hit in ranked:
            if len(hits) >= k:
                break
            if hit.flagged:
                withheld += 1
            else:
                hits.append(hit)
        lines = [f"[{h.citation}] {' '.join(h.snippet.split())}" for h in hits]
        if not hits:
            lines.append("No passages in the vault match this query.")
        if withheld:
            lines.append(
                f"({withheld} matching passage(s) withheld: flagged by the safety scan for the user to review.)"
            )
        data = {
            "query": query,
            "citations": [
                {
                    "citation": h.citation,
                    "path": h.path,
                    "start_line": h.start_line,
                    "end_line": h.end_line,
                    "page": h.page,
                    "score": h.score,
                    "snippet": h.snippet,
                }
                for h in hits
            ],
            "withheld": withheld,
            "at": now_iso(),
        }
        return ToolResult(ok=True, output="\n".join(lines), data=data)
