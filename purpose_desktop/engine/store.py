"""Store: the one SQLite file (conversations, messages; later runs, memories, vault) and its migrations.

Thread rule: a ``Store`` belongs to the thread that opened it. Its sqlite3 connection keeps
``check_same_thread``, so using it from another thread raises ``sqlite3.ProgrammingError``. A second
thread that needs the database (vault indexing) opens its own ``Store(path, recover=False)``; WAL lets
the two connections read while one writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from purpose_desktop.engine import paths
from purpose_desktop.engine.errors import InputError, RunModeError, StoreError
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store_messages import MessageHit, MessagesMixin
from purpose_desktop.engine.store_runs import RunsMixin

ROLES = ("system", "user", "assistant")
STATUSES = ("complete", "streaming", "cancelled", "failed")
MAX_CONTENT_BYTES = 2 * 1024 * 1024
MAX_TITLE_CHARS = 500
BUSY_TIMEOUT_MS = 5000

from purpose_desktop.engine.migrations import KNOWN_MIGRATIONS, migrations  # noqa: E402


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    created_at: str
    updated_at: str
    model: str | None
    message_count: int
    _: KW_ONLY
    deleted_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Message:
    id: str
    conversation_id: str
    role: str
    content: str
    status: str
    created_at: str
    meta: dict = field(default_factory=dict)
    _: KW_ONLY
    seq: int = 0
    updated_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def now_iso() -> str:
    """The current time as ISO-8601 UTC with microseconds (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _new_id() -> str:
    return uuid.uuid4().hex


def _connect(path: Path) -> sqlite3.Connection:
    """The read-write connection (a seam tests use to simulate a read-only file as root)."""
    return sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)


def _corrupt_error(path: Path) -> StoreError:
    return StoreError(
        f"{path} is not a Purpose Desktop database, or it is damaged.",
        "The file was left untouched. Move it somewhere else (or restore a backup) and start "
        "Purpose Desktop again to begin with a fresh database.",
    )


def _translate(exc: sqlite3.Error, path: Path) -> StoreError | None:
    """A StoreError a person can act on for an sqlite3 error, or None for a programming error."""
    if isinstance(exc, sqlite3.ProgrammingError | sqlite3.IntegrityError | sqlite3.InterfaceError):
        return None
    text = str(exc).lower()
    folder = path.parent
    if "database or disk is full" in text:
        return StoreError(
            "The disk holding Purpose Desktop's database is full; the last change was not saved.",
            f"Free some space on the drive that holds {path} and try again. Nothing saved earlier was lost.",
        )
    if "readonly" in text or "read-only" in text:
        return StoreError(
            "Purpose Desktop cannot write to its database.",
            f"{path} (or its folder {folder}) is read-only. Make it writable, or set "
            f"{paths.HOME_ENV} to a folder you can write to.",
        )
    if "unable to open database file" in text:
        return StoreError(
            "Purpose Desktop cannot open its database.",
            f"Check that the folder {folder} exists, is a folder, and is writable, or set "
            f"{paths.HOME_ENV} to a folder you can write to.",
        )
    if "database is locked" in text or "database table is locked" in text:
        return StoreError(
            "The database is busy: another program is writing to it.",
            f"Another Purpose Desktop window may be using {path}; close it and try again.",
        )
    if "not a database" in text or "malformed" in text:
        return _corrupt_error(path)
    if "disk i/o error" in text:
        return StoreError(
            "Reading or writing the database failed (disk I/O error).",
            f"Check the drive that holds {path} (is it removable, full or failing?) and try again.",
        )
    return StoreError(f"Database error: {exc}.", f"The database is {path}.")


__all__ = ["Conversation", "Message", "MessageHit", "Store", "now_iso"]


class Store(RunsMixin, MessagesMixin):
    """Conversations and messages in one SQLite file; every write is one committed transaction."""

    def __init__(self, path: Path | str | None = None, *, recover: bool = True) -> None:
        """Open (creating if needed) and migrate the database.

        ``recover=True`` marks replies left "streaming" by a crash as cancelled; a secondary
        connection opened while the main one may be streaming must pass ``recover=False``.
        Raises StoreError when the folder or file is unusable, read-only, full, corrupt or newer.
        """
        self.db: sqlite_utils.Database | None = None
        self.mode = RunMode.LEARNING_TRAIN
        try:
            self.path = Path(path) if path is not None else paths.db_path()
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            where = Path(path) if path is not None else os.environ.get(paths.HOME_ENV) or "the data folder"
            raise StoreError(
                f"Purpose Desktop cannot create its data folder ({exc.strerror or exc}).",
                f"Check that {where} is a writable folder (not a file), or set {paths.HOME_ENV} "
                "to a folder you can write to.",
            ) from exc
        self._preflight()
        try:
            conn = _connect(self.path)
        except sqlite3.Error as exc:
            raise (_translate(exc, self.path) or StoreError(str(exc))) from exc
        try:
            self.db = sqlite_utils.Database(conn)
            with self._errors():
                self._configure()
                self._migrate()
                if recover:
                    self.recover_interrupted()
        except BaseException:
            conn.close()
            self.db = None
            raise

    # -- opening -------------------------------------------------------------------------------

    def _preflight(self) -> None:
        """Refuse a corrupt or newer file before anything could write to it (read-only look)."""
        if self.path.is_dir():
            raise StoreError(
                f"{self.path} is a folder, not a database file.",
                f"Move that folder away, or set {paths.HOME_ENV} to another folder.",
            )
        # Never open() the file ourselves: closing any descriptor of a database drops every POSIX
        # lock this process holds on it, so another process would think our open connections gone,
        # checkpoint and delete the WAL under them, and the file would be corrupted. SQLite defers
        # closing its own descriptors while locks are held, so the look goes through SQLite.
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(
                f"Purpose Desktop cannot read its database ({exc.strerror or exc}).",
                f"Check the permissions of {self.path}.",
            ) from exc
        if size == 0:
            return  # an empty file is a valid empty database
        ro: sqlite3.Connection | None = None
        try:
            ro = sqlite3.connect(self.path.absolute().as_uri() + "?mode=ro", uri=True)
            self._check_not_newer(sqlite_utils.Database(ro, execute_plugins=False))
        except sqlite3.Error as exc:
            raise (_translate(exc, self.path) or StoreError(str(exc))) from exc
        finally:
            if ro is not None:
                ro.close()

    def _check_not_newer(self, db: sqlite_utils.Database) -> None:
        unknown = [m.name for m in migrations.applied(db) if m.name not in KNOWN_MIGRATIONS]
        if unknown:
            raise StoreError(
                f"{self.path} was created by a newer Purpose Desktop (it has changes this version "
                f"does not know: {', '.join(unknown)}).",
                "Update Purpose Desktop, or set "
                f"{paths.HOME_ENV} to another folder to use this version; the file was left untouched.",
            )

    def _configure(self) -> None:
        assert self.db is not None
        self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(
                f"Purpose Desktop could not switch its database to WAL mode (got {mode!r}).",
                f"Keep {self.path} on a local drive (WAL does not work on network shares).",
            )
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA foreign_keys = ON")

    def _migrate(self) -> None:
        # One IMMEDIATE transaction: a second process opening at the same moment waits instead of
        # racing us through the same migrations, and the newer-schema check sees the final state.
        with self._write("schema") as db:
            self._check_not_newer(db)
            migrations.apply(db)
            # A no-op write: SQLite opens a read-only file without complaint, and we want to say so
            # now rather than when the person's first message fails to save.
            db.execute("UPDATE conversations SET id = id WHERE 0")

    # -- plumbing ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            translated = _translate(exc, self.path)
            if translated is None:
                raise
            raise translated from exc

    @contextlib.contextmanager
    def run_mode(self, mode: RunMode) -> Iterator[Store]:
        """Within this block only what ``mode`` allows may be written (see RunMode.allows).

        EVAL_TEST also sets ``PRAGMA query_only`` so that SQLite itself refuses any write: an
        evaluation leaves the database file byte-for-byte unchanged.
        """
        previous = self.mode
        self.mode = mode
        db = self._db()
        db.execute(f"PRAGMA query_only = {1 if mode is RunMode.EVAL_TEST else 0}")
        try:
            yield self
        finally:
            self.mode = previous
            if self.db is not None:
                self.db.execute(f"PRAGMA query_only = {1 if previous is RunMode.EVAL_TEST else 0}")

    def allows(self, kind: str) -> bool:
        return self.mode.allows(kind)

    @contextlib.contextmanager
    def _write(self, kind: str = "chat") -> Iterator[sqlite_utils.Database]:
        """One write transaction; BEGIN IMMEDIATE avoids read→write lock upgrades ("database is locked")."""
        if kind != "schema" and not self.mode.allows(kind):
            raise RunModeError(
                f"{self.mode.name} does not allow writing {kind} data.",
                "This is enforced so evaluation numbers can be trusted; run in train mode to record it.",
            )
        db = self._db()
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.conn.execute("COMMIT")
        except BaseException:
            if db.conn.in_transaction:
                db.conn.rollback()
            raise

    def _db(self) -> sqlite_utils.Database:
        if self.db is None:
            raise StoreError("The database is closed.", "This is a bug in Purpose Desktop; restart it.")
        return self.db

    def _conversation_row(self, id: str) -> dict[str, Any] | None:
        rows = list(
            self._db().query(
                """
                SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count
                FROM conversations c WHERE c.id = ?
                """,
                [id],
            )
        )
        return rows[0] if rows else None

    @staticmethod
    def _to_conversation(row: dict[str, Any]) -> Conversation:
        return Conversation(
            id=row["id"],
            title=row["title"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            model=row["model"],
            message_count=row["message_count"],
            deleted_at=row["deleted_at"],
        )

    @staticmethod
    def _to_message(row: dict[str, Any]) -> Message:
        try:
            meta = json.loads(row["meta_json"] or "{}")
        except ValueError:
            meta = {}
        return Message(
            id=row["id"],
            conversation_id=row["conversation_id"],
            role=row["role"],
            content=row["content"],
            status=row["status"],
            created_at=row["created_at"],
            meta=meta if isinstance(meta, dict) else {},
            seq=row["seq"],
            updated_at=row["updated_at"],
        )

    @staticmethod
    def _unknown(what: str, id: str) -> StoreError:
        return StoreError(
            f"There is no {what} with id {id!r}.", "It may have been deleted; refresh the list."
        )

    # -- conversations -------------------------------------------------------------------------

    def create_conversation(self, title: str = "New chat", model: str | None = None) -> Conversation:
        title = _check_title(title)
        now = now_iso()
        cid = _new_id()
        with self._errors(), self._write() as db:
            db.execute(
                "INSERT INTO conversations (id, title, model, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                [cid, title, model, now, now],
            )
        return Conversation(cid, title, now, now, model, 0)

    def list_conversations(self, *, include_deleted: bool = False) -> list[Conversation]:
        """Newest activity first; soft-deleted chats are hidden unless ``include_deleted``."""
        where = "" if include_deleted else "WHERE c.deleted_at IS NULL"
        with self._errors():
            rows = self._db().query(
                f"""
                SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count
                FROM conversations c {where}
                ORDER BY c.updated_at DESC, c.rowid DESC
                """
            )
            return [self._to_conversation(r) for r in rows]

    def get_conversation(self, id: str, *, include_deleted: bool = False) -> Conversation:
        """StoreError if unknown (or soft-deleted, unless ``include_deleted``)."""
        with self._errors():
            row = self._conversation_row(id)
        if row is None or (row["deleted_at"] is not None and not include_deleted):
            raise self._unknown("chat", id)
        return self._to_conversation(row)

    def rename_conversation(self, id: str, title: str) -> Conversation:
        title = _check_title(title)
        with self._errors(), self._write() as db:
            cur = db.execute(
                "UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?", [title, now_iso(), id]
            )
            if cur.rowcount == 0:
                raise self._unknown("chat", id)
        return self.get_conversation(id, include_deleted=True)

    def delete_conversation(self, id: str) -> None:
        """Soft delete: hidden from lists until restored or purged (so the GUI can offer Undo)."""
        with self._errors(), self._write() as db:
            cur = db.execute(
                "UPDATE conversations SET deleted_at = COALESCE(deleted_at, ?) WHERE id = ?", [now_iso(), id]
            )
            if cur.rowcount == 0:
                raise self._unknown("chat", id)

    def restore_conversation(self, id: str) -> Conversation:
        with self._errors(), self._write() as db:
            cur = db.execute("UPDATE conversations SET deleted_at = NULL WHERE id = ?", [id])
            if cur.rowcount == 0:
                raise self._unknown("chat", id)
        return self.get_conversation(id)

    def purge_deleted(self, older_than_s: float = 0) -> int:
        """Really remove chats soft-deleted at least ``older_than_s`` ago (messages cascade); returns how many."""
        cutoff = (datetime.now(UTC) - timedelta(seconds=max(0.0, older_than_s))).isoformat(
            timespec="microseconds"
        )
        with self._errors(), self._write() as db:
            cur = db.execute(
                "DELETE FROM conversations WHERE deleted_at IS NOT NULL AND deleted_at <= ?", [cutoff]
            )
            return cur.rowcount

    # -- messages ------------------------------------------------------------------------------

    def add_message(
        self,
        conversation_id: str,
        role: str,
        content: str,
        *,
        status: str = "complete",
        meta: dict | None = None,
    ) -> Message:
        """Append a message (next ``seq``) and bump the chat's ``updated_at``, in one transaction."""
        prepared = self._prepare_message(role, content, status, meta)
        with self._errors(), self._write() as db:
            return self._insert_message(db, conversation_id, *prepared)

    @staticmethod
    def _now() -> str:
        return now_iso()

    @staticmethod
    def _prepare_message(role: str, content: str, status: str, meta: dict | None) -> tuple:
        """Validate a new message before any transaction starts: (role, content, status, meta)."""
        if role not in ROLES:
            raise InputError(f"Unknown message role {role!r}.", f"Use one of: {', '.join(ROLES)}.")
        _check_status(status)
        _check_content(content)
        meta = dict(meta or {})
        _dump_meta(meta)
        return role, content, status, meta

    def _insert_message(
        self,
        db: sqlite_utils.Database,
        conversation_id: str,
        role: str,
        content: str,
        status: str,
        meta: dict,
    ) -> Message:
        """Insert inside the caller's write transaction (the chat must exist and not be deleted)."""
        now = now_iso()
        mid = _new_id()
        row = db.execute("SELECT deleted_at FROM conversations WHERE id = ?", [conversation_id]).fetchone()
        if row is None:
            raise self._unknown("chat", conversation_id)
        if row[0] is not None:
            raise StoreError("This chat was deleted.", "Restore it (Undo) before adding to it.")
        seq = db.execute(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?", [conversation_id]
        ).fetchone()[0]
        db.execute(
            """
            INSERT INTO messages
                (id, conversation_id, seq, role, content, status, meta_json, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [mid, conversation_id, seq, role, content, status, _dump_meta(meta), now, now],
        )
        db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", [now, conversation_id])
        return Message(mid, conversation_id, role, content, status, now, meta, seq=seq, updated_at=now)

    def update_message(
        self,
        id: str,
        *,
        content: str | None = None,
        status: str | None = None,
        meta: dict | None = None,
        touch: bool = True,
    ) -> Message:
        """Change a message; ``meta`` is merged (shallow) into the stored meta. Works on deleted chats too.

        ``touch=False`` leaves the chat's ``updated_at`` (and so its place in the list) alone, for
        annotations such as feedback that are not new conversation.
        """
        if content is not None:
            _check_content(content)
        if status is not None:
            _check_status(status)
        now = now_iso()
        with self._errors(), self._write() as db:
            rows = list(db.query("SELECT * FROM messages WHERE id = ?", [id]))
            if not rows:
                raise self._unknown("message", id)
            current = self._to_message(rows[0])
            new_meta = {**current.meta, **meta} if meta else current.meta
            new_content = current.content if content is None else content
            new_status = current.status if status is None else status
            db.execute(
                "UPDATE messages SET content = ?, status = ?, meta_json = ?, updated_at = ? WHERE id = ?",
                [new_content, new_status, _dump_meta(new_meta), now, id],
            )
            if touch:
                db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", [now, current.conversation_id])
        return dataclasses.replace(
            current, content=new_content, status=new_status, meta=new_meta, updated_at=now
        )

    def messages(self, conversation_id: str) -> list[Message]:
        """Oldest first (by ``seq``); StoreError if the chat does not exist at all."""
        with self._errors():
            db = self._db()
            if db.execute("SELECT 1 FROM conversations WHERE id = ?", [conversation_id]).fetchone() is None:
                raise self._unknown("chat", conversation_id)
            rows = db.query(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq", [conversation_id]
            )
            return [self._to_message(r) for r in rows]

    def recover_interrupted(self) -> int:
        """Mark replies a crash left "streaming" as "cancelled" with meta ``interrupted: true``; returns how many."""
        now = now_iso()
        with self._errors(), self._write() as db:
            rows = db.execute("SELECT id, meta_json FROM messages WHERE status = 'streaming'").fetchall()
            for mid, meta_json in rows:
                try:
                    meta = json.loads(meta_json or "{}")
                except ValueError:
                    meta = {}
                meta = {**(meta if isinstance(meta, dict) else {}), "interrupted": True}
                db.execute(
                    "UPDATE messages SET status = 'cancelled', meta_json = ?, updated_at = ? WHERE id = ?",
                    [json.dumps(meta), now, mid],
                )
        return len(rows)

    # -- bookkeeping ---------------------------------------------------------------------------

    def schema_version(self) -> list[str]:
        """Names of the applied migrations, in the order they were applied."""
        with self._errors():
            return [m.name for m in migrations.applied(self._db())]

    def close(self) -> None:
        """Close the connection (the last one to close checkpoints the WAL); safe to call twice."""
        if self.db is not None:
            db, self.db = self.db, None
            db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_title(title: str) -> str:
    if not isinstance(title, str):
        raise InputError("A chat title must be text.", "Type a title.")
    title = " ".join(title.split())
    if not title:
        raise InputError("A chat title cannot be empty.", "Type a title, or keep the old one.")
    if len(title) > MAX_TITLE_CHARS:
        raise InputError(f"A chat title can be at most {MAX_TITLE_CHARS} characters.", "Shorten the title.")
    return title


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise InputError(f"Unknown message status {status!r}.", f"Use one of: {', '.join(STATUSES)}.")


def _check_content(content: str) -> None:
    if not isinstance(content, str):
        raise InputError("A message must be text.", "Paste or type text.")
    try:
        size = len(content.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise InputError(
            "The message contains characters that cannot be saved.", "Paste it again as plain text."
        ) from exc
    if size > MAX_CONTENT_BYTES:
        raise InputError(
            f"The message is {size / 1024 / 1024:.1f} MB; the limit is {MAX_CONTENT_BYTES // (1024 * 1024)} MB.",
            "Attach large files through the Vault instead, or paste only the part that matters.",
        )


def _dump_meta(meta: dict) -> str:
    try:
        return json.dumps(meta, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"Message metadata cannot be saved as JSON ({exc}).", "Pass plain dicts, lists, text and numbers."
        ) from exc
