"""VaultError: what a person sees when a vault path, source or model cannot be used."""

from __future__ import annotations

from purpose_desktop.engine.errors import PurposeError


class VaultError(PurposeError):
    """A vault path, source or embedding model cannot be used; ``hint`` says what to do."""
