"""Shared bench helpers: a temp data dir, the offscreen Qt app, and llama-style timing maths."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PURPOSE_DESKTOP_HOME", tempfile.mkdtemp(prefix="pd-bench-"))

PROMPT = "Write a long, detailed tutorial about Python lists with many code examples."


def rate(stamps: list[float]) -> float | None:
    """Tokens per second over the generation, as the app reports it: (n - 1) / (last - first)."""
    if len(stamps) < 2 or stamps[-1] <= stamps[0]:
        return None
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
