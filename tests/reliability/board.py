"""The figures board: each battery records its latest numbers here; conftest prints (and saves) them."""

from __future__ import annotations

from typing import Any

FIGURES: dict[str, dict[str, Any]] = {}
REPORT_ENV = "PURPOSE_DESKTOP_RELIABILITY_JSON"


def record(battery: str, **figures: Any) -> None:
    """Merge ``figures`` into the board under ``battery``."""
    FIGURES.setdefault(battery, {}).update(figures)
