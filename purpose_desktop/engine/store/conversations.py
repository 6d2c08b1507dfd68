"""Conversations and their messages: the records, their CRUD and the checks every message passes."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from purpose_desktop.engine.errors import InputError, StoreError
from purpose_desktop.engine.store.database import new_id, now_iso

ROLES = ("system", "user", "assistant")
STATUSES = ("complete", "streaming", "cancelled", "failed")
MAX_CONTENT_BYTES = 2 * 1024 * 1024
MAX_TITLE_CHARS = 500


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
    #: This chat's own generation settings (overrides of the app's; empty: the app's settings apply).
    settings: dict = field(default_factory=dict)
    #: Whether this chat offers the tools of the person's MCP servers to the model.
    mcp_tools: bool = False

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


def _settings_of(row: dict[str, Any]) -> dict:
    try:
        value = json.loads(row.get("settings_json") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class ConversationsMixin:
    """Conversation and message CRUD on the Store's connection; every write is one committed transaction."""

    def _conversation_row(self, id: str) -> dict[str, Any] | None:
        rows = list(
            self.connection.query(
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
            settings=_settings_of(row),
            mcp_tools=bool(row.get("mcp_tools")),
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
        cid = new_id()
        with self._errors(), self.transaction() as db:
            db.execute(
                "INSERT INTO conversations (id, title, model, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                [cid, title, model, now, now],
            )
        return Conversation(cid, title, now, now, model, 0)

    def list_conversations(self, *, include_deleted: bool = False) -> list[Conversation]:
        """Newest activity first; soft-deleted chats are hidden unless ``include_deleted``."""
        where = "" if include_deleted else "WHERE c.deleted_at IS NULL"
        with self._errors():
            rows = self.connection.query(
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

    def set_conversation_mcp_tools(self, id: str, on: bool) -> Conversation:
        """Offer (or stop offering) the MCP servers' tools in this chat."""
        with self._errors(), self.transaction() as db:
            cur = db.execute(
                "UPDATE conversations SET mcp_tools = ? WHERE id = ? AND deleted_at IS NULL", [int(bool(on)), id]
            )
            if cur.rowcount == 0:
                raise self._unknown("chat", id)
        return self.get_conversation(id)

    def set_conversation_settings(self, id: str, settings: dict[str, Any]) -> Conversation:
        """Replace the chat's own generation settings (already validated; ``{}`` clears them)."""
        text = json.dumps(settings, ensure_ascii=False) if settings else None
        with self._errors(), self.transaction() as db:
            cur = db.execute(
                "UPDATE conversations SET settings_json = ? WHERE id = ? AND deleted_at IS NULL", [text, id]
            )
            if cur.rowcount == 0:
                raise self._unknown("chat", id)
        return self.get_conversation(id)

    def rename_conversation(self, id: str, title: str) -> Conversation:
        title = _check_title(title)
        with self._errors(), self.transaction() as db:
            cur = db.execute(
                "UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?", [title, now_iso(), id]
            )
            if cur.rowcount == 0:
                raise self._unknown("chat", id)
        return self.get_conversation(id, include_deleted=True)

    def delete_conversation(self, id: str) -> None:
        """Soft delete: hidden from lists until restored or purged (so the GUI can offer Undo)."""
        with self._errors(), self.transaction() as db:
            cur = db.execute(
                "UPDATE conversations SET deleted_at = COALESCE(deleted_at, ?) WHERE id = ?", [now_iso(), id]
            )
            if cur.rowcount == 0:
                raise self._unknown("chat", id)

    def restore_conversation(self, id: str) -> Conversation:
        with self._errors(), self.transaction() as db:
            cur = db.execute("UPDATE conversations SET deleted_at = NULL WHERE id = ?", [id])
            if cur.rowcount == 0:
                raise self._unknown("chat", id)
        return self.get_conversation(id)

    def purge_deleted(self, older_than_s: float = 0) -> int:
        """Really remove chats soft-deleted at least ``older_than_s`` ago (messages cascade); returns how many."""
        cutoff = (datetime.now(UTC) - timedelta(seconds=max(0.0, older_than_s))).isoformat(
            timespec="microseconds"
        )
        with self._errors(), self.transaction() as db:
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
        with self._errors(), self.transaction() as db:
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
        mid = new_id()
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
        with self._errors(), self.transaction() as db:
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
                db.execute(
                    "UPDATE conversations SET updated_at = ? WHERE id = ?", [now, current.conversation_id]
                )
        return dataclasses.replace(
            current, content=new_content, status=new_status, meta=new_meta, updated_at=now
        )

    def messages(self, conversation_id: str) -> list[Message]:
        """Oldest first (by ``seq``); StoreError if the chat does not exist at all."""
        with self._errors():
            db = self.connection
            if db.execute("SELECT 1 FROM conversations WHERE id = ?", [conversation_id]).fetchone() is None:
                raise self._unknown("chat", conversation_id)
            rows = db.query(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq", [conversation_id]
            )
            return [self._to_message(r) for r in rows]

    def recover_interrupted(self) -> int:
        """Mark replies a crash left "streaming" as "cancelled" with meta ``interrupted: true``; returns how many."""
        now = now_iso()
        with self._errors(), self.transaction() as db:
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
