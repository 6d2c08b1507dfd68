"""Memory: seven kinds of lessons, their lifecycle, immune scan, approval and the evidence they carry.

Modules: records (Memory, kinds, statuses, policy, the auto-promotion bar), schema (migrations),
repo (SQLite, history), similarity (embeddings), index (numpy vector search), retrieval (what a
prompt gets), api (MemoryBank: submit, teach, approve, reject, edit, archive, undo, status).
Turning runs into evidence — distil, credit, replay A/B tests — lives in ``engine.learning``.

Names are imported lazily: engine/migrations.py imports ``memory.schema`` while the Store module
is still loading, so this package must not import the Store at import time.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "MemoryBank": "api",
    "SubmitResult": "api",
    "Memory": "records",
    "MemoryPolicy": "records",
    "ReplayEvidence": "records",
    "Scope": "records",
    "KINDS": "records",
    "STATUSES": "records",
    "MemoryRetriever": "retrieval",
    "Retrieved": "retrieval",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
