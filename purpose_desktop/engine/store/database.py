"""The database under Store: open, preflight, migrate, translate sqlite3 errors, RunMode, one write transaction.

Thread rule: a ``Store`` belongs to the thread that opened it. Its sqlite3 connection keeps
``check_same_thread``, so using it from another thread raises ``sqlite3.ProgrammingError``. A second
thread that needs the database (vault indexing) opens its own ``Store(path, recover=False)``; WAL lets
the two connections read while one writes.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import sqlite_utils

from purpose_desktop.engine import paths
from purpose_desktop.engine.errors import RunModeError, StoreError
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store.migrations import KNOWN_MIGRATIONS, migrations

BUSY_TIMEOUT_MS = 5000


def now_iso() -> str:
    """The current time as ISO-8601 UTC with microseconds (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def new_id() -> str:
    """A new row id: uuid4 hex."""
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


class StoreDatabase:
    """One SQLite file, opened, checked and migrated; ``transaction`` is the only way to write."""

    def __init__(self, path: Path | str | None = None, *, recover: bool = True) -> None:
        """Open (creating if needed) and migrate the database.

        ``recover=True`` marks replies left "streaming" by a crash as cancelled; a secondary
        connection opened while the main one may be streaming must pass ``recover=False``.
        Raises StoreError when the folder or file is unusable, read-only, full, corrupt or newer.
        """
        self._db: sqlite_utils.Database | None = None
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
            self._db = sqlite_utils.Database(conn)
            with self._errors():
                self._configure()
                self._migrate()
                if recover:
                    self.recover_interrupted()
        except BaseException:
            conn.close()
            self._db = None
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
        db = self.connection
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(
                f"Purpose Desktop could not switch its database to WAL mode (got {mode!r}).",
                f"Keep {self.path} on a local drive (WAL does not work on network shares).",
            )
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")

    def _migrate(self) -> None:
        # One IMMEDIATE transaction: a second process opening at the same moment waits instead of
        # racing us through the same migrations, and the newer-schema check sees the final state.
        with self.transaction("schema") as db:
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
    def run_mode(self, mode: RunMode) -> Iterator[Self]:
        """Within this block only what ``mode`` allows may be written (see RunMode.allows).

        EVAL_TEST also sets ``PRAGMA query_only`` so that SQLite itself refuses any write: an
        evaluation leaves the database file byte-for-byte unchanged.
        """
        previous = self.mode
        self.mode = mode
        db = self.connection
        db.execute(f"PRAGMA query_only = {1 if mode is RunMode.EVAL_TEST else 0}")
        try:
            yield self
        finally:
            self.mode = previous
            if self._db is not None:
                self._db.execute(f"PRAGMA query_only = {1 if previous is RunMode.EVAL_TEST else 0}")

    def allows(self, kind: str) -> bool:
        return self.mode.allows(kind)

    @contextlib.contextmanager
    def transaction(self, kind: str = "chat") -> Iterator[sqlite_utils.Database]:
        """One write transaction of ``kind`` data (RunModeError when the RunMode forbids it).

        BEGIN IMMEDIATE avoids read→write lock upgrades ("database is locked"); an exception rolls back.
        """
        if kind != "schema" and not self.mode.allows(kind):
            raise RunModeError(
                f"{self.mode.name} does not allow writing {kind} data.",
                "This is enforced so evaluation numbers can be trusted; run in train mode to record it.",
            )
        db = self.connection
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
            db.conn.execute("COMMIT")
        except BaseException:
            if db.conn.in_transaction:
                db.conn.rollback()
            raise

    @property
    def connection(self) -> sqlite_utils.Database:
        """The open sqlite-utils database, for reads (writes go through ``transaction``); StoreError once closed."""
        if self._db is None:
            raise StoreError("The database is closed.", "This is a bug in Purpose Desktop; restart it.")
        return self._db

    def recover_interrupted(self) -> int:
        """Repair what a crash left half-done on open (the conversations layer marks streaming replies)."""
        return 0

    # -- bookkeeping ---------------------------------------------------------------------------

    def schema_version(self) -> list[str]:
        """Names of the applied migrations, in the order they were applied."""
        with self._errors():
            return [m.name for m in migrations.applied(self.connection)]

    def close(self) -> None:
        """Close the connection (the last one to close checkpoints the WAL); safe to call twice."""
        if self._db is not None:
            db, self._db = self._db, None
            db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
