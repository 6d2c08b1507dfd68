"""Reliability batteries: print the figures board at the end of the run (and save it as JSON on request).

``PURPOSE_DESKTOP_RELIABILITY_JSON=path`` writes the board to ``path``, so docs/RELIABILITY.md can be
refreshed from a real run.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tests.reliability.board import FIGURES, REPORT_ENV


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for battery in sorted(FIGURES):
        shown = ", ".join(f"{k}={_short(v)}" for k, v in FIGURES[battery].items())
        terminalreporter.write_line(f"{battery}: {shown}")
    target = os.environ.get(REPORT_ENV)
    if target:
        with open(target, "w", encoding="utf-8") as fh:
            json.dump(FIGURES, fh, indent=2, sort_keys=True, default=str)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 240 else text[:237] + "…"
