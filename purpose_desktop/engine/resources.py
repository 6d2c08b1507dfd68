"""Finds the repo-level ``resources/`` folder in a checkout, an editable install or a frozen app."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """The folder holding role templates, icons and the .desktop file."""
    frozen = getattr(sys, "_MEIPASS", None)
    candidates = [Path(frozen) / "resources"] if frozen else []
    candidates.append(Path(__file__).resolve().parents[2] / "resources")
    for path in candidates:
        if path.is_dir():
            return path
    raise FileNotFoundError(f"Purpose Desktop resources folder not found (looked in {', '.join(map(str, candidates))})")


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
