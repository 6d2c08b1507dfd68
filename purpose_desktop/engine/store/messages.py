"""Store methods for chat editing and search: one message, cutting a chat from a point, search across chats."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from purpose_desktop.engine.errors import InputError, StoreError

SNIPPET_CHARS = 160
MAX_SEARCH_LIMIT = 500
MAX_QUERY_CHARS = 500


@dataclass(frozen=True)
class MessageHit:
    """One message that matched a search across chats, with the text around the match."""

    conversation_id: str
    conversation_title: str
    message_id: str
    role: str
    seq: int
    snippet: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def like_pattern(query: str) -> str:
    """``query`` as a LIKE pattern that matches it literally anywhere (``\\`` escapes ``%``, ``_``, ``\\``)."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def snippet_around(text: str, query: str, width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` around the first (case-insensitive) match, on one line."""
    flat = " ".join(text.split())
    pos = flat.casefold().find(" ".join(query.split()).casefold())
    if len(flat) <= width:
        return flat
    pos = max(pos, 0)
    start = max(0, min(pos - width // 3, len(flat) - width))
    end = start + width
    return ("…" if start else "") + flat[start:end].strip() + ("…" if end < len(flat) else "")


def _casefold(text: Any) -> str:
    return text.casefold() if isinstance(text, str) else ""


def _check_seq(seq: Any) -> int:
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise InputError(f"{seq!r} is not a message position.", "Positions are whole numbers from 1.")
    return seq


class MessagesMixin:
    """Mixed into Store: uses its connection, ``transaction``s and message helpers."""

    def get_message(self, id: str) -> Any:
        """A message by id; StoreError if there is none."""
        if not isinstance(id, str) or not id.strip():
            raise InputError("Which message?", "Give the message's id.")
        with self._errors():
            rows = list(self.connection.query("SELECT * FROM messages WHERE id = ?", [id]))
        if not rows:
            raise self._unknown("message", id)
        return self._to_message(rows[0])

    def _cut_from(self, db, conversation_id: str, seq: int) -> int:
        row = db.execute("SELECT deleted_at FROM conversations WHERE id = ?", [conversation_id]).fetchone()
        if row is None:
            raise self._unknown("chat", conversation_id)
        if row[0] is not None:
            raise StoreError("This chat was deleted.", "Restore it (Undo) before changing it.")
        cur = db.execute(
            "DELETE FROM messages WHERE conversation_id = ? AND seq >= ?", [conversation_id, seq]
        )
        return cur.rowcount

    def delete_messages_from(self, conversation_id: str, seq: int) -> int:
        """Remove the message at ``seq`` and every later one of the chat (one transaction); returns how many."""
        seq = _check_seq(seq)
        with self._errors(), self.transaction() as db:
            removed = self._cut_from(db, conversation_id, seq)
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", [self._now(), conversation_id])
        return removed

    def rewrite_from(
        self, conversation_id: str, seq: int, role: str, content: str, *, meta: dict | None = None
    ) -> tuple[int, Any]:
        """Cut the chat at ``seq`` and append a new message, in one transaction: (removed, the new Message).

        Used by edit-and-resend, so a crash leaves either the old chat or the edited one, never neither.
        """
        seq = _check_seq(seq)
        prepared = self._prepare_message(role, content, "complete", meta)
        with self._errors(), self.transaction() as db:
            removed = self._cut_from(db, conversation_id, seq)
            message = self._insert_message(db, conversation_id, *prepared)
        return removed, message

    def restore_tail(self, conversation_id: str, messages: Sequence[Any]) -> int:
        """Put back messages a regenerate or edit replaced (Undo), exactly as they were, in one transaction.

        Everything from the first of them on is removed first (the reply that replaced them), so the
        chat is again what it was before. Returns how many were restored.
        """
        messages = sorted(messages, key=lambda m: m.seq)
        if not messages:
            raise InputError("There is nothing to put back.", "Undo works right after a reply was replaced.")
        if any(m.conversation_id != conversation_id for m in messages):
            raise InputError("Those messages belong to another chat.", "Undo from the chat they came from.")
        for m in messages:
            _check_seq(m.seq)
            self._prepare_message(m.role, m.content, m.status, m.meta)  # the same checks as new ones
        with self._errors(), self.transaction() as db:
            self._cut_from(db, conversation_id, messages[0].seq)
            for m in messages:
                db.execute(
                    """INSERT INTO messages
                       (id, conversation_id, seq, role, content, status, meta_json, created_at, updated_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                    [
                        m.id,
                        conversation_id,
                        m.seq,
                        m.role,
                        m.content,
                        m.status,
                        json.dumps(m.meta or {}, ensure_ascii=False),
                        m.created_at,
                        m.updated_at or m.created_at,
                    ],
                )
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", [self._now(), conversation_id])
        return len(messages)

    def search_messages(self, query: str, limit: int = 50) -> list[MessageHit]:
        """Messages containing ``query`` (case-insensitive, literal) in chats not deleted, newest first."""
        if not isinstance(query, str):
            raise InputError("Search for text.", "Type a word or phrase.")
        query = query.strip()[:MAX_QUERY_CHARS]
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InputError(f"{limit!r} is not a result limit.", "Use a whole number from 1.")
        if not query:
            return []
        if query.isascii():  # SQLite's LIKE folds ASCII case only, which is all this query needs
            match, needle = "m.content LIKE ? ESCAPE '\\'", like_pattern(query)
        else:  # "Über" must find "über": full Unicode case folding, done by Python
            db = self.connection
            db.conn.create_function("pd_casefold", 1, _casefold, deterministic=True)
            match, needle = "instr(pd_casefold(m.content), ?) > 0", query.casefold()
        with self._errors():
            rows = self.connection.execute(
                f"""
                SELECT m.conversation_id, c.title, m.id, m.role, m.seq, m.content, m.created_at
                FROM messages m JOIN conversations c ON c.id = m.conversation_id
                WHERE c.deleted_at IS NULL AND {match}
                ORDER BY m.created_at DESC, m.rowid DESC
                LIMIT ?
                """,
                [needle, min(limit, MAX_SEARCH_LIMIT)],
            ).fetchall()
        return [
            MessageHit(cid, title, mid, role, seq, snippet_around(content, query), created_at)
            for cid, title, mid, role, seq, content, created_at in rows
        ]
