"""Indexing: folders, files and texts → chunks (scanned) → embeddings, incrementally, cancellably, with progress.

Two passes over one Store (the caller's thread, or an IndexJob's own thread and connection):
*reading* stats every file, re-reads only files whose size or mtime changed, re-chunks only files whose
content hash changed, and removes files that are gone; *embedding* embeds every chunk whose text has
no vector for the current model yet, committing each batch. Unchanged text is never embedded twice
(vectors are keyed by content hash and model), so a cancelled run resumes where it stopped and a new
model re-embeds without re-chunking.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.immune import SCANNER_VERSION, scan
from purpose_desktop.engine.immune.redact import redact
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import Store, now_iso
from purpose_desktop.engine.vault.chunking import Chunk, chunk_document, identifier_terms
from purpose_desktop.engine.vault.embed import DEFAULT_MODEL_NAME, Embedder
from purpose_desktop.engine.vault.errors import VaultError
from purpose_desktop.engine.vault.ingest import (
    Document,
    Skip,
    classify,
    content_hash,
    load_bytes,
    too_large,
    walk,
)
from purpose_desktop.engine.vault.reports import IndexProgress, IndexReport, TextItem

WRITE_KIND = "vault"
FLUSH_FILES = 64  # files per reading transaction
FLUSH_SECONDS = 0.5
EMBED_WINDOW = 256  # pending chunks sorted by length together, so batches carry little padding
PROGRESS_SECONDS = 0.2


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@dataclass
class _Prepared:
    """One file's new state, computed without the database and written in a batch."""

    path: str
    rel_path: str
    kind: str | None
    language: str | None
    size: int | None
    mtime_ns: int | None
    digest: str | None
    status: str  # indexed | skipped
    skip_reason: str | None = None
    chunks: list[tuple] | None = None  # None: keep the stored chunks (only the stat changed)
    file_id: str | None = None


def _bump(db) -> None:
    db.execute("UPDATE vault_state SET value = value + 1 WHERE key = 'revision'")


class Indexer:
    """Runs indexing on the thread that owns ``store``; see the module docstring for the passes."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        on_progress: Callable[[IndexProgress], None] | None = None,
        cancel: CancelToken | None = None,
        batch_size: int = 32,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.on_progress = on_progress
        self.cancel = cancel or CancelToken()
        self.batch_size = max(1, batch_size)
        self._last_progress = 0.0
        self._scan_cache: dict[str, tuple[int, str | None]] = {}
        self._texts: dict[str, TextItem] = {}

    # -- public --------------------------------------------------------------------------------

    def index_paths(self, paths: Iterable[str | Path]) -> IndexReport:
        """Add (or refresh) each folder or file as a source and index it."""
        report = IndexReport()
        with self._marking_failures(report):
            return self._index_paths(paths, report)

    def _index_paths(self, paths: Iterable[str | Path], report: IndexReport) -> IndexReport:
        roots = []
        for raw in paths:
            path = Path(raw).expanduser()
            if not path.exists():
                raise VaultError(
                    f"{path} does not exist.", "Check the path, or remove the source if it moved."
                )
            roots.append(path.resolve())
        started = time.perf_counter()
        plans: list[tuple[str, Path, list[Path]]] = []
        for root in roots:
            kind = "directory" if root.is_dir() else "file"
            source_id = self._upsert_source(kind, str(root), root.name or str(root))
            report.source_ids.append(source_id)
            plans.append((source_id, root, walk(root) if kind == "directory" else [root]))
        total = sum(len(files) for _, _, files in plans)
        done = 0
        for source_id, root, files in plans:
            base = root if root.is_dir() else root.parent
            items = ((str(p), p, p.relative_to(base).as_posix() if root.is_dir() else p.name) for p in files)
            done = self._read_source(source_id, items, report, done, total)
            if self.cancel.is_set():
                break
        return self._finish(report, started)

    def index_texts(self, source_name: str, texts: Sequence[TextItem]) -> IndexReport:
        """Index ``texts`` as the source ``texts:<source_name>`` (replacing what that source held)."""
        started = time.perf_counter()
        report = IndexReport()
        with self._marking_failures(report):
            source_id = self._upsert_source("texts", f"texts:{source_name}", source_name)
            report.source_ids.append(source_id)
            # Lone surrogates (undecodable bytes smuggled into a str) cannot be stored as UTF-8: keep
            # the rest of the text and mark each with "?".
            texts = [
                dataclasses.replace(t, text=t.text.encode("utf-8", "replace").decode("utf-8"))
                if _has_surrogates(t.text)
                else t
                for t in texts
            ]
            self._texts = {f"texts:{source_name}/{t.name}": t for t in texts}
            items = ((key, None, t.name) for key, t in self._texts.items())
            self._read_source(source_id, items, report, 0, len(texts))
            return self._finish(report, started)

    def embed_pending(self) -> IndexReport:
        """Embed every chunk that has no vector for this embedder (after switching models, or to resume)."""
        return self._finish(IndexReport(), time.perf_counter())

    @contextlib.contextmanager
    def _marking_failures(self, report: IndexReport) -> Iterator[None]:
        """On an error, mark this run's sources failed (with the message) before it propagates."""
        try:
            yield
        except BaseException as exc:
            message = exc.message if isinstance(exc, PurposeError) else f"{type(exc).__name__}: {exc}"
            status = "incomplete" if isinstance(exc, KeyboardInterrupt) else "failed"
            try:
                with self.store.transaction(WRITE_KIND) as db:
                    for source_id in report.source_ids:
                        db.execute(
                            "UPDATE vault_sources SET status = ?, error = ?, updated_at = ? WHERE id = ?",
                            [status, message[:500], now_iso(), source_id],
                        )
            except Exception:  # noqa: BLE001 — the original error is the one worth reporting
                pass
            raise

    # -- reading -------------------------------------------------------------------------------

    def _upsert_source(self, kind: str, path: str, name: str) -> str:
        now = now_iso()
        with self.store._errors(), self.store.transaction(WRITE_KIND) as db:
            row = db.execute("SELECT id FROM vault_sources WHERE path = ?", [path]).fetchone()
            if row:
                db.execute(
                    "UPDATE vault_sources SET status = 'indexing', error = NULL, updated_at = ? WHERE id = ?",
                    [now, row[0]],
                )
                return row[0]
            source_id = uuid.uuid4().hex
            db.execute(
                """INSERT INTO vault_sources (id, kind, path, name, status, added_at, updated_at)
                   VALUES (?, ?, ?, ?, 'indexing', ?, ?)""",
                [source_id, kind, path, name, now, now],
            )
            _bump(db)
        return source_id

    def _read_source(self, source_id: str, items, report: IndexReport, done: int, total: int) -> int:
        """Bring one source's files up to date; ``items`` yields (key, path or None for texts, rel_path)."""
        db = self.store.connection
        existing = {
            r[0]: {"id": r[1], "size": r[2], "mtime_ns": r[3], "hash": r[4], "status": r[5], "reason": r[6]}
            for r in db.execute(
                "SELECT path, id, size, mtime_ns, content_hash, status, skip_reason FROM vault_files "
                "WHERE source_id = ?",
                [source_id],
            )
        }
        seen: set[str] = set()
        pending: list[_Prepared] = []
        last_flush = time.monotonic()
        for key, path, rel in items:
            if self.cancel.is_set():
                break
            seen.add(key)
            report.files_seen += 1
            prepared = self._prepare(key, path, rel, existing.get(key), report)
            if prepared is not None:
                pending.append(prepared)
            done += 1
            self._progress(IndexProgress("reading", done, total, 0, 0, current=rel), force=done == total)
            if len(pending) >= FLUSH_FILES or (pending and time.monotonic() - last_flush > FLUSH_SECONDS):
                self._write_files(source_id, pending, report)
                pending, last_flush = [], time.monotonic()
        self._write_files(source_id, pending, report)
        if not self.cancel.is_set():
            gone = [row for key, row in existing.items() if key not in seen]
            if gone:
                self._remove_files(gone, report)
        return done

    def _prepare(
        self, key: str, path: Path | None, rel: str, row: dict | None, report: IndexReport
    ) -> _Prepared | None:
        """The file's new state, or None when its size and mtime say it is unchanged."""
        size = mtime_ns = None
        if path is not None:
            try:
                st = path.stat()
            except OSError as exc:
                return self._skipped(key, rel, None, None, f"unreadable ({exc.strerror or exc})", row, report)
            size, mtime_ns = st.st_size, st.st_mtime_ns
            if row and row["size"] == size and row["mtime_ns"] == mtime_ns:
                report.files_unchanged += 1
                if row["status"] == "skipped":
                    report.skipped.append((key, row["reason"] or "skipped"))
                return None
            kind = classify(path)
            if isinstance(kind, Skip):
                return self._skipped(key, rel, size, mtime_ns, kind.reason, row, report)
            skip = too_large(size, kind[0])
            if skip:
                return self._skipped(key, rel, size, mtime_ns, skip.reason, row, report)
            try:
                data = path.read_bytes()
            except OSError as exc:
                return self._skipped(
                    key, rel, size, mtime_ns, f"unreadable ({exc.strerror or exc})", row, report
                )
            doc = load_bytes(data, *kind)
        else:
            item = self._texts[key]
            kind = classify(Path(item.name))
            kind = ("text", "text") if isinstance(kind, Skip) or kind[0] == "pdf" else kind
            doc = Document(kind[0], kind[1], item.text.replace("\r\n", "\n"), content_hash(item.text))
            size = len(item.text)
        if isinstance(doc, Skip):
            return self._skipped(key, rel, size, mtime_ns, doc.reason, row, report)
        prepared = _Prepared(key, rel, doc.kind, doc.language, size, mtime_ns, doc.content_hash, "indexed")
        if row and row["hash"] == doc.content_hash and row["status"] == "indexed":
            report.files_unchanged += 1
            prepared.file_id = row["id"]
            return prepared  # touched (mtime) but the same bytes: keep its chunks
        if row:
            report.files_changed += 1
        else:
            report.files_new += 1
        prepared.file_id = row["id"] if row else None
        prepared.chunks = self._chunk_rows(doc, rel)
        return prepared

    def _skipped(self, key, rel, size, mtime_ns, reason, row, report) -> _Prepared:
        report.skipped.append((key, reason))
        if row is None:
            report.files_new += 1
        else:
            report.files_changed += 1
        return _Prepared(
            key, rel, None, None, size, mtime_ns, None, "skipped", reason, [], row["id"] if row else None
        )

    def _chunk_rows(self, doc: Document, rel: str) -> list[tuple]:
        chunks: list[Chunk] = chunk_document(doc)
        hashes = [content_hash(c.text) for c in chunks]
        self._load_scans(hashes)
        rows = []
        for seq, (chunk, digest) in enumerate(zip(chunks, hashes, strict=True)):
            verdict = self._scan_cache.get(digest)
            if verdict is None:
                result = scan(chunk.text, context="vault", compute_embedding=False)  # see _scan_with_vectors
                report_json = json.dumps(result.to_dict(), ensure_ascii=False) if result.reasons else None
                verdict = (1 if result.blocked else 0, report_json)
                self._scan_cache[digest] = verdict
            if verdict[1] is not None and '"category": "secret"' in verdict[1]:
                # A credential in a document is never stored, embedded or shown to a model.
                chunk = dataclasses.replace(chunk, text=redact(chunk.text).text)
                digest = content_hash(chunk.text)
            terms = f"{rel} {identifier_terms(chunk.text)}".strip()
            rows.append(
                (
                    seq,
                    chunk.start_line,
                    chunk.end_line,
                    chunk.page,
                    chunk.kind,
                    chunk.title,
                    chunk.text,
                    terms,
                    digest,
                )
                + verdict
            )
        return rows

    def _load_scans(self, hashes: list[str]) -> None:
        """Reuse stored verdicts for texts already scanned by this scanner version (unchanged chunks)."""
        wanted = [h for h in set(hashes) if h not in self._scan_cache]
        db = self.store.connection
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            marks = ",".join("?" * len(part))
            for digest, flagged, scan_json in db.execute(
                f"SELECT content_hash, flagged, scan_json FROM vault_chunks "
                f"WHERE content_hash IN ({marks}) AND scanner = ?",
                [*part, SCANNER_VERSION],
            ):
                self._scan_cache[digest] = (flagged, scan_json)

    def _write_files(self, source_id: str, prepared: list[_Prepared], report: IndexReport) -> None:
        if not prepared:
            return
        now = now_iso()
        with self.store._errors(), self.store.transaction(WRITE_KIND) as db:
            for p in prepared:
                if p.file_id is None:
                    p.file_id = uuid.uuid4().hex
                    db.execute(
                        """INSERT INTO vault_files (id, source_id, path, rel_path, kind, language, size, mtime_ns,
                               content_hash, status, skip_reason, chunk_count, indexed_at)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)""",
                        [p.file_id, source_id, p.path, p.rel_path, p.kind, p.language, p.size, p.mtime_ns,
                         p.digest, p.status, p.skip_reason, now],
                    )  # fmt: skip
                else:
                    db.execute(
                        """UPDATE vault_files SET rel_path = ?, kind = ?, language = ?, size = ?, mtime_ns = ?,
                               content_hash = ?, status = ?, skip_reason = ?, indexed_at = ? WHERE id = ?""",
                        [p.rel_path, p.kind, p.language, p.size, p.mtime_ns, p.digest, p.status, p.skip_reason,
                         now, p.file_id],
                    )  # fmt: skip
                if p.chunks is None:
                    continue
                removed = db.execute("DELETE FROM vault_chunks WHERE file_id = ?", [p.file_id]).rowcount
                report.chunks_removed += max(removed, 0)
                db.conn.executemany(
                    """INSERT INTO vault_chunks (file_id, seq, start_line, end_line, page, kind, title, text, terms,
                           content_hash, flagged, scan_json, scanner, created_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    [(p.file_id, *row, SCANNER_VERSION, now) for row in p.chunks],
                )
                db.execute("UPDATE vault_files SET chunk_count = ? WHERE id = ?", [len(p.chunks), p.file_id])
                report.chunks_added += len(p.chunks)
                report.chunks_flagged += sum(1 for row in p.chunks if row[9])
            _bump(db)

    def _remove_files(self, rows: list[dict], report: IndexReport) -> None:
        with self.store._errors(), self.store.transaction(WRITE_KIND) as db:
            for row in rows:
                removed = db.execute(
                    "SELECT COUNT(*) FROM vault_chunks WHERE file_id = ?", [row["id"]]
                ).fetchone()[0]
                db.execute(
                    "DELETE FROM vault_files WHERE id = ?", [row["id"]]
                )  # chunks cascade, FTS triggers
                report.chunks_removed += removed
                report.files_removed += 1
            _bump(db)

    def _rescan_stale(self) -> None:
        """Re-scan chunks scanned by an older immune-scanner version (rare: after an upgrade)."""
        db = self.store.connection
        stale = db.execute(
            "SELECT id, text FROM vault_chunks WHERE scanner IS NOT ? LIMIT 5000", [SCANNER_VERSION]
        ).fetchall()
        if not stale:
            return
        vectors = self._stored_vectors([chunk_id for chunk_id, _ in stale])
        updates = []
        for chunk_id, text in stale:
            result = scan(text, context="vault", embedding=vectors.get(chunk_id), compute_embedding=False)
            report_json = json.dumps(result.to_dict(), ensure_ascii=False) if result.reasons else None
            updates.append((1 if result.blocked else 0, report_json, SCANNER_VERSION, chunk_id))
        with self.store._errors(), self.store.transaction(WRITE_KIND) as wdb:
            wdb.conn.executemany(
                "UPDATE vault_chunks SET flagged = ?, scan_json = ?, scanner = ? WHERE id = ?", updates
            )
            _bump(wdb)

    # -- embedding -----------------------------------------------------------------------------

    def _embed_pending(self, report: IndexReport, run_files: set[str]) -> None:
        db = self.store.connection
        model = self.embedder.name
        rows = db.execute(
            """SELECT c.content_hash, c.file_id, c.id, length(c.text) FROM vault_chunks c
               WHERE NOT EXISTS (SELECT 1 FROM vault_embeddings e WHERE e.content_hash = c.content_hash AND e.model = ?)
               ORDER BY c.id""",
            [model],
        ).fetchall()
        first_id: dict[str, tuple[int, int]] = {}
        files_of: dict[str, set[str]] = {}
        for digest, file_id, chunk_id, length in rows:
            first_id.setdefault(digest, (chunk_id, length))
            files_of.setdefault(digest, set()).add(file_id)
        remaining: dict[str, int] = {}
        for files in files_of.values():
            for f in files:
                remaining[f] = remaining.get(f, 0) + 1
        files_total = len(run_files)
        files_done = len(run_files - remaining.keys())
        order = list(first_id.items())  # file order (ids grow as files are read), so files finish in turn
        total, done = len(order), 0
        started = time.perf_counter()
        self._progress(IndexProgress("embedding", files_done, files_total, 0, total), force=True)
        for w in range(0, total, EMBED_WINDOW):
            window = sorted(order[w : w + EMBED_WINDOW], key=lambda item: item[1][1])
            for b in range(0, len(window), self.batch_size):
                if self.cancel.is_set():
                    return
                batch = window[b : b + self.batch_size]
                ids = [item[1][0] for item in batch]
                marks = ",".join("?" * len(ids))
                texts = dict(
                    db.execute(f"SELECT id, text FROM vault_chunks WHERE id IN ({marks})", ids).fetchall()
                )
                vectors = self._encode([texts[i] for i in ids])
                escalated = self._scan_with_vectors(batch, [texts[i] for i in ids], vectors)
                now = now_iso()
                with self.store._errors(), self.store.transaction(WRITE_KIND) as wdb:
                    if escalated:
                        wdb.conn.executemany(
                            "UPDATE vault_chunks SET flagged = 1, scan_json = ? "
                            "WHERE content_hash = ? AND flagged = 0",
                            escalated,
                        )
                    wdb.conn.executemany(
                        "INSERT OR REPLACE INTO vault_embeddings (content_hash, model, dim, vector, created_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        [
                            (digest, model, vectors.shape[1], vectors[n].tobytes(), now)
                            for n, (digest, _) in enumerate(batch)
                        ],
                    )
                    _bump(wdb)
                done += len(batch)
                report.chunks_embedded += len(batch)
                for digest, _ in batch:
                    for f in files_of[digest]:
                        remaining[f] -= 1
                        if remaining[f] == 0 and f in run_files:
                            files_done += 1
                elapsed = time.perf_counter() - started
                rate = done / elapsed if elapsed > 0 else None
                eta = (total - done) / rate if rate else None
                self._progress(
                    IndexProgress("embedding", files_done, files_total, done, total, rate, eta),
                    force=done == total,
                )

    def _reads_embeddings(self) -> bool:
        """Whether the learned immune detector can read this Vault's vectors (its embedding head was
        trained on all-MiniLM-L6-v2)."""
        return self.embedder.name == DEFAULT_MODEL_NAME

    def _scan_with_vectors(self, batch, texts: list[str], vectors: np.ndarray) -> list[tuple[str, str]]:
        """Chunks the scan blocks once it also reads their fresh embeddings: (scan report, content hash)
        for each. Chunks are scanned when read, before they are embedded; this second look only ever
        withholds more (a chunk already withheld stays so)."""
        if not self._reads_embeddings():
            return []
        out = []
        for n, (digest, _) in enumerate(batch):
            result = scan(texts[n], context="vault", embedding=vectors[n], compute_embedding=False)
            if result.blocked:
                out.append((json.dumps(result.to_dict(), ensure_ascii=False), digest))
        return out

    def _stored_vectors(self, chunk_ids: list[int]) -> dict[int, np.ndarray]:
        """The stored embeddings of these chunks, when the immune detector can read them."""
        if not chunk_ids or not self._reads_embeddings():
            return {}
        out: dict[int, np.ndarray] = {}
        db = self.store.connection
        for lo in range(0, len(chunk_ids), 500):
            part = chunk_ids[lo : lo + 500]
            marks = ",".join("?" * len(part))
            for chunk_id, blob in db.execute(
                f"""SELECT c.id, e.vector FROM vault_chunks c JOIN vault_embeddings e
                    ON e.content_hash = c.content_hash AND e.model = ? WHERE c.id IN ({marks})""",
                [self.embedder.name, *part],
            ):
                out[chunk_id] = np.frombuffer(blob, dtype="<f4")
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self.embedder.encode(texts), dtype="<f4")
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise VaultError(
                f"The embedding model {self.embedder.name!r} returned {vectors.shape} for {len(texts)} texts.",
                "Use a sentence-transformers model that returns one vector per text.",
            )
        return np.ascontiguousarray(vectors)

    # -- finishing -----------------------------------------------------------------------------

    def _finish(self, report: IndexReport, started: float) -> IndexReport:
        db = self.store.connection
        run_files: set[str] = set()
        for source_id in report.source_ids:
            run_files.update(
                r[0]
                for r in db.execute(
                    "SELECT id FROM vault_files WHERE source_id = ? AND status = 'indexed'", [source_id]
                )
            )
        if not self.cancel.is_set():
            self._rescan_stale()
            self._embed_pending(report, run_files)
        cancelled = self.cancel.is_set()
        with self.store._errors(), self.store.transaction(WRITE_KIND) as wdb:
            if report.chunks_removed:
                wdb.execute(
                    "DELETE FROM vault_embeddings WHERE content_hash NOT IN (SELECT content_hash FROM vault_chunks)"
                )
            now = now_iso()
            for source_id in report.source_ids:
                if cancelled:
                    wdb.execute(
                        "UPDATE vault_sources SET status = 'incomplete', updated_at = ? WHERE id = ?",
                        [now, source_id],
                    )
                else:
                    wdb.execute(
                        "UPDATE vault_sources SET status = 'ready', updated_at = ?, indexed_at = ? WHERE id = ?",
                        [now, now, source_id],
                    )
            _bump(wdb)
        report.cancelled = cancelled
        report.elapsed_s = round(time.perf_counter() - started, 3)
        files = len(run_files)
        self._progress(
            IndexProgress(
                "cancelled" if cancelled else "done",
                files,
                files,
                report.chunks_embedded,
                report.chunks_embedded,
            ),
            force=True,
        )
        return report

    def _progress(self, progress: IndexProgress, *, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if force or now - self._last_progress >= PROGRESS_SECONDS:
            self._last_progress = now
            self.on_progress(progress)


class IndexJob:
    """Indexing on its own thread with its own Store connection, so the owner's thread stays free.

    ``on_progress`` is called on the worker thread (a GUI must hand it to its own thread). ``cancel()``
    stops after the current file or batch; finished work is kept and the next run resumes from it.
    """

    def __init__(
        self,
        db_path: Path,
        embedder: Embedder,
        *,
        paths: Sequence[str | Path] = (),
        on_progress: Callable[[IndexProgress], None] | None = None,
        mode: RunMode = RunMode.LEARNING_TRAIN,
        cancel: CancelToken | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.embedder = embedder
        self.paths = list(paths)
        self.on_progress = on_progress
        self.mode = mode
        self.cancel_token = cancel or CancelToken()
        self.report: IndexReport | None = None
        self.error: BaseException | None = None
        self.progress: IndexProgress | None = None
        self._thread = threading.Thread(target=self._run, name="vault-index", daemon=True)

    def start(self) -> IndexJob:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self.cancel_token.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> IndexReport | None:
        """The report once finished (None on timeout); re-raises the worker's error, if any."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            return None
        if self.error is not None:
            raise self.error
        return self.report

    def _note(self, progress: IndexProgress) -> None:
        self.progress = progress
        if self.on_progress is not None:
            self.on_progress(progress)

    def _run(self) -> None:
        store = None
        try:
            store = Store(self.db_path, recover=False)
            with store.run_mode(self.mode):
                indexer = Indexer(store, self.embedder, on_progress=self._note, cancel=self.cancel_token)
                self.report = indexer.index_paths(self.paths)
        except BaseException as exc:  # noqa: BLE001 — handed to wait(); a worker must not die silently
            self.error = exc
        finally:
            if store is not None:
                store.close()
