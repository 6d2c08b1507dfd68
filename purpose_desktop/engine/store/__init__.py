"""Store: the one SQLite file — conversations, messages, runs and teams — with every migration in one place.

Modules: database (open, preflight, migrate, sqlite3 errors, RunMode, ``transaction``), conversations
(conversation + message CRUD), messages (editing, cutting, search), runs (traces, saved teams), trace
(TraceRecorder), migrations (the one ordered list). Feature packages (memory, vault) keep their own
repositories on top of ``Store.transaction`` and ``Store.connection``.
"""

from __future__ import annotations

from purpose_desktop.engine.store.conversations import Conversation, ConversationsMixin, Message
from purpose_desktop.engine.store.database import StoreDatabase, now_iso
from purpose_desktop.engine.store.messages import MessageHit, MessagesMixin
from purpose_desktop.engine.store.runs import RunsMixin

__all__ = ["Conversation", "Message", "MessageHit", "Store", "now_iso"]


class Store(RunsMixin, MessagesMixin, ConversationsMixin, StoreDatabase):
    """Conversations, messages, runs and teams in one SQLite file; every write is one committed transaction.

    ``Store(path=None, *, recover=True)``: None → paths.db_path(). See ``StoreDatabase`` for opening
    and the thread rule.
    """
