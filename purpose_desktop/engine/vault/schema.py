"""The vault tables: migrations registered, in order, by engine/migrations.py."""

from __future__ import annotations


def register(migration) -> None:
    """Register this package's migrations with ``migration`` (a decorator), oldest first."""
