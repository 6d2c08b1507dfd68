"""Backup and restore of the whole data folder, safe while the app runs.

A backup is one zip: ``manifest.json`` (when, schema, counts, files), ``purpose.db`` — a consistent
snapshot taken with SQLite's online backup API on a connection of its own, so a reply streaming on
the engine thread neither waits for it nor tears it — and every other file of the data folder
except logs, earlier safety copies and model files (``*.gguf``: large, and re-added from Models).

Restore first checks the backup (a zip with a manifest, an intact database no newer than this app),
then keeps the current data as a safety copy (itself a backup, under ``safety-copies/``), then
copies the backup's database *into* the live file through SQLite's backup API (connections that are
open elsewhere stay valid and see the restored data) and puts the other files back.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from purpose_desktop.engine import paths
from purpose_desktop.engine.errors import InputError

FORMAT = "purpose-desktop-backup/1"
MANIFEST = "manifest.json"
DB_NAME = paths.DB_FILENAME
SAFETY_DIR = "safety-copies"
#: Never copied into a backup: the live database files (the snapshot replaces them), logs, safety copies.
_SKIP_DIRS = frozenset({"logs", SAFETY_DIR})
_SKIP_SUFFIXES = (".gguf", ".part", ".tmp")
_COUNTED = ("conversations", "messages", "memories", "runs", "teams", "vault_sources", "vault_chunks")


@dataclass(frozen=True)
class BackupInfo:
    """What a backup holds (its manifest), and where it is."""

    path: str
    created_at: str
    schema: tuple[str, ...]
    counts: dict
    files: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    size_bytes: int = 0

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "created_at": self.created_at,
            "schema": list(self.schema),
            "counts": self.counts,
            "files": list(self.files),
            "skipped": list(self.skipped),
            "size_bytes": self.size_bytes,
        }

    def describe(self) -> str:
        return _describe_counts(self.counts)


@dataclass(frozen=True)
class RestorePlan:
    """What a restore would replace: the backup's contents next to the current data."""

    backup: BackupInfo
    current_counts: dict
    replaced_files: tuple[str, ...]
    data_dir: str
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        lines = [
            f"The backup, from {self.backup.created_at[:16].replace('T', ' ')} UTC:",
            "    " + _describe_counts(self.backup.counts),
            f"replaces what is in {self.data_dir} now:",
            "    " + _describe_counts(self.current_counts),
            "Files replaced: " + ", ".join(self.replaced_files) + ".",
            f"What is there now is kept first as a safety copy in {SAFETY_DIR}/.",
        ]
        return "\n".join(lines + list(self.warnings))


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _describe_counts(c: dict) -> str:
    return (
        f"{_plural(c.get('conversations', 0), 'chat', 'chats')} ({_plural(c.get('messages', 0), 'message', 'messages')}), "
        f"{_plural(c.get('memories', 0), 'memory', 'memories')}, {_plural(c.get('runs', 0), 'run', 'runs')}, "
        f"{_plural(c.get('teams', 0), 'team', 'teams')}, "
        f"{_plural(c.get('vault_sources', 0), 'Vault source', 'Vault sources')}"
    )


def _now() -> str:
    from purpose_desktop.engine.store import now_iso

    return now_iso()


def _counts(conn: sqlite3.Connection) -> dict:
    out = {}
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for name in _COUNTED:
        out[name] = conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0] if name in tables else 0
    return out


def _schema(conn: sqlite3.Connection) -> tuple[str, ...]:
    try:
        return tuple(
            r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY applied_at, name")
        )
    except sqlite3.Error:
        return ()


def _extra_files(data_dir: Path) -> tuple[list[Path], list[str]]:
    keep, skipped = [], []
    for path in sorted(data_dir.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(data_dir)
        if rel.parts[0] in _SKIP_DIRS or rel.name.startswith(DB_NAME):
            continue
        if rel.name.endswith(_SKIP_SUFFIXES):
            skipped.append(rel.as_posix())
            continue
        keep.append(path)
    return keep, skipped


def take_backup(dest: str | Path, *, data_dir: str | Path | None = None) -> BackupInfo:
    """Write a backup of the data folder to ``dest`` (a .zip, written atomically); safe while the app runs."""
    data_dir = Path(data_dir) if data_dir is not None else paths.data_dir()
    dest = Path(dest).expanduser()
    if dest.is_dir():
        raise InputError(f"{dest} is a folder.", "Give a file name for the backup, e.g. purpose-backup.zip.")
    try:
        if dest.resolve().is_relative_to(data_dir.resolve()) and not dest.resolve().is_relative_to(
            (data_dir / SAFETY_DIR).resolve()
        ):
            raise InputError(
                "The backup would be written inside the data folder it backs up.",
                "Save it somewhere else, e.g. your Documents folder or an external drive.",
            )
    except OSError:
        pass
    db_file = data_dir / DB_NAME
    if not db_file.exists():
        raise InputError(
            f"There is no database in {data_dir} to back up.", "Start Purpose Desktop once first."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pd-backup-", dir=dest.parent) as tmp:
        snapshot = Path(tmp) / DB_NAME
        # A connection of its own: the engine thread's connection (and its streaming reply) is untouched;
        # WAL lets the copy read one consistent state while others write.
        src = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(snapshot)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode = DELETE")
                counts, schema = _counts(dst), _schema(dst)
            finally:
                dst.close()
        finally:
            src.close()
        files, skipped = _extra_files(data_dir)
        info = BackupInfo(
            path=str(dest),
            created_at=_now(),
            schema=schema,
            counts=counts,
            files=tuple([DB_NAME] + [f.relative_to(data_dir).as_posix() for f in files]),
            skipped=tuple(skipped),
        )
        part = Path(tmp) / "backup.zip"
        with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(MANIFEST, json.dumps({"format": FORMAT, **info.to_dict()}, indent=2))
            z.write(snapshot, DB_NAME)
            for f in files:
                z.write(f, "data/" + f.relative_to(data_dir).as_posix())
        os.replace(part, dest)
    return BackupInfo(**{**info.__dict__, "size_bytes": dest.stat().st_size})


def read_backup(path: str | Path) -> BackupInfo:
    """The manifest of a backup file; InputError with what to do when it is not one."""
    path = Path(path).expanduser()
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if MANIFEST not in names or DB_NAME not in names:
                raise InputError(
                    f"{path.name} is not a Purpose Desktop backup (no manifest or database inside).",
                    "Pick a file made with Backup… or `purpose-desktop backup`.",
                )
            manifest = json.loads(z.read(MANIFEST))
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise InputError(
            f"{path.name} cannot be read as a backup ({exc}).",
            "Pick a file made with Backup… or `purpose-desktop backup`.",
        ) from exc
    if manifest.get("format") != FORMAT:
        raise InputError(
            f"{path.name} has an unknown backup format {manifest.get('format')!r}.", "Pick another backup."
        )
    return BackupInfo(
        path=str(path),
        created_at=str(manifest.get("created_at", "")),
        schema=tuple(manifest.get("schema") or ()),
        counts=dict(manifest.get("counts") or {}),
        files=tuple(manifest.get("files") or ()),
        skipped=tuple(manifest.get("skipped") or ()),
        size_bytes=path.stat().st_size,
    )


def plan_restore(path: str | Path, *, data_dir: str | Path | None = None) -> RestorePlan:
    """What restoring ``path`` would replace (shown for confirmation); checks the backup's database too."""
    from purpose_desktop.engine.store.migrations import KNOWN_MIGRATIONS

    data_dir = Path(data_dir) if data_dir is not None else paths.data_dir()
    info = read_backup(path)
    unknown = [m for m in info.schema if m not in KNOWN_MIGRATIONS]
    if unknown:
        raise InputError(
            f"This backup was made by a newer Purpose Desktop (schema {', '.join(unknown)}).",
            "Update Purpose Desktop, then restore it.",
        )
    current = {}
    db_file = data_dir / DB_NAME
    if db_file.exists():
        conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=30)
        try:
            current = _counts(conn)
        finally:
            conn.close()
    warnings = ()
    if info.skipped:
        warnings = (f"Not in the backup (add them again in Models): {', '.join(info.skipped)}.",)
    return RestorePlan(info, current, info.files, str(data_dir), warnings)


def restore_backup(path: str | Path, *, data_dir: str | Path | None = None) -> tuple[RestorePlan, BackupInfo]:
    """Restore ``path`` into the data folder; returns (the plan carried out, the safety copy of what was there).

    The database is copied into the live file through SQLite (open connections stay valid); the
    caller reopens or refreshes what it cached. Nothing is changed when the backup fails its checks.
    """
    data_dir = Path(data_dir) if data_dir is not None else paths.data_dir()
    plan = plan_restore(path, data_dir=data_dir)
    with tempfile.TemporaryDirectory(prefix="pd-restore-", dir=data_dir) as tmp:
        tmp = Path(tmp)
        with zipfile.ZipFile(path) as z:
            z.extract(DB_NAME, tmp)
            extras = [n for n in z.namelist() if n.startswith("data/") and not n.endswith("/")]
            for name in extras:
                rel = Path(name[len("data/") :])
                if rel.is_absolute() or ".." in rel.parts:
                    raise InputError(
                        f"The backup holds an unsafe path {name!r}.", "Pick a backup made by the app."
                    )
            z.extractall(tmp, members=extras)
        restored = tmp / DB_NAME
        check = sqlite3.connect(restored)
        try:
            ok = check.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            check.close()
        if ok != "ok":
            raise InputError(
                f"The backup's database is damaged ({ok}).", "Pick another backup; nothing was changed."
            )
        safety_dir = data_dir / SAFETY_DIR
        safety_dir.mkdir(exist_ok=True)
        stamp = _now().replace(":", "").replace("-", "")[:15]
        safety = take_backup(safety_dir / f"before-restore-{stamp}.zip", data_dir=data_dir)
        src = sqlite3.connect(restored)
        try:
            dst = sqlite3.connect(data_dir / DB_NAME, timeout=30)
            try:
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
        for name in extras:
            rel = Path(name[len("data/") :])
            target = data_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / name, target)
    return plan, safety


class Backups:
    """``engine.backups``: backup and restore for Settings and ``purpose-desktop backup|restore``."""

    def __init__(self, engine) -> None:
        self._engine = engine

    def _data_dir(self) -> Path:
        store = getattr(self._engine, "store", None)
        path = getattr(store, "path", None)
        return Path(path).parent if path is not None else paths.data_dir()

    def backup(self, dest: str | Path) -> BackupInfo:
        return take_backup(dest, data_dir=self._data_dir())

    def plan(self, path: str | Path) -> RestorePlan:
        return plan_restore(path, data_dir=self._data_dir())

    def restore(self, path: str | Path) -> tuple[RestorePlan, BackupInfo]:
        """Restore, then reopen the engine's database (migrating an older backup) and reload settings."""
        from purpose_desktop.engine.settings import load_settings
        from purpose_desktop.engine.store import Store

        engine = self._engine
        plan, safety = restore_backup(path, data_dir=self._data_dir())
        db_path = engine.store.path
        vault, engine._vault = getattr(engine, "_vault", None), None
        if vault is not None:
            vault.close()
        engine.store.close()
        engine.store = Store(db_path)
        settings_file = self._data_dir() / "settings.json"
        if settings_file.exists():
            try:
                engine.settings = load_settings(settings_file)
            except Exception:  # a settings file this version cannot read: keep the ones in use
                pass
        return plan, safety
