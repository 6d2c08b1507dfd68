"""Memory: seven kinds of lessons, their lifecycle, immune scan, approval and the evidence they carry.

Modules: records (Memory, kinds, statuses, policy, the auto-promotion bar), repo (SQLite, history),
similarity (embeddings), index (numpy vector search), retrieval (what a prompt gets), api
(MemoryBank: submit, teach, approve, reject, edit, archive, undo, status). The tables are created by
``store/migrations.py``; turning runs into evidence — distil, credit, replay A/B tests — lives in
``engine.learning``.
"""

from __future__ import annotations

from purpose_desktop.engine.memory.api import MemoryBank, SubmitResult
from purpose_desktop.engine.memory.records import KINDS, STATUSES, Memory, MemoryPolicy, ReplayEvidence, Scope
from purpose_desktop.engine.memory.retrieval import MemoryRetriever, Retrieved

__all__ = [
    "KINDS",
    "STATUSES",
    "Memory",
    "MemoryBank",
    "MemoryPolicy",
    "MemoryRetriever",
    "ReplayEvidence",
    "Retrieved",
    "Scope",
    "SubmitResult",
]
