"""Vault: local files → chunks → embeddings in SQLite → hybrid (FTS5 + cosine) search with citations.

``Vault`` and the rest are imported lazily so that importing the package (or ``vault.errors``) does not
load torch and the embedder; the tables are created by ``store/migrations.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.vault.errors import VaultError

if TYPE_CHECKING:
    from purpose_desktop.engine.vault.index import IndexJob
    from purpose_desktop.engine.vault.reports import IndexProgress, IndexReport
    from purpose_desktop.engine.vault.search import Hit
    from purpose_desktop.engine.vault.vault import SourceInfo, Vault, VaultSearchTool

__all__ = [
    "Hit",
    "IndexJob",
    "IndexProgress",
    "IndexReport",
    "SourceInfo",
    "Vault",
    "VaultError",
    "VaultSearchTool",
]

_LAZY = {
    "Vault": "vault",
    "VaultSearchTool": "vault",
    "SourceInfo": "vault",
    "Hit": "search",
    "IndexJob": "index",
    "IndexProgress": "reports",
    "IndexReport": "reports",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
