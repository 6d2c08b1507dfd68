"""The network log: every time the app went online, when, why and to where (the privacy report shows it).

The app is offline by design; the only traffic is what a person asks for (today: model downloads). Each
event is one line of JSON in ``<data folder>/network.jsonl``; the file keeps the last ``KEEP`` events.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from purpose_desktop.engine import paths

log = logging.getLogger(__name__)
FILENAME = "network.jsonl"
KEEP = 200
_LOCK = threading.Lock()


@dataclass(frozen=True)
class NetworkEvent:
    """One time the app went online: when (UTC ISO-8601), why, which host and URL, and how it ended."""

    at: str
    reason: str
    host: str
    url: str
    outcome: str


def log_path() -> Path:
    return paths.data_dir() / FILENAME


def record(reason: str, url: str, outcome: str) -> None:
    """Append one event; a log that cannot be written never stops the download (it is logged instead)."""
    parts = urllib.parse.urlsplit(url)
    # Credentials in a URL (user:pass@host, ?token=) never reach the log.
    clean = urllib.parse.urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))
    event = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reason": reason,
        "host": parts.hostname or "",
        "url": clean,
        "outcome": outcome,
    }
    try:
        with _LOCK:
            path = log_path()
            lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
            lines.append(json.dumps(event, ensure_ascii=False))
            path.write_text("\n".join(lines[-KEEP:]) + "\n", encoding="utf-8")
    except OSError as exc:
        log.warning("network log not written: %s", exc)


def events(limit: int = 50) -> list[NetworkEvent]:
    """The most recent events, newest first."""
    try:
        lines = log_path().read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    out: list[NetworkEvent] = []
    for line in reversed(lines):
        try:
            d = json.loads(line)
            out.append(NetworkEvent(d["at"], d["reason"], d["host"], d["url"], d["outcome"]))
        except (ValueError, KeyError, TypeError):
            continue
        if len(out) >= limit:
            break
    return out


def last_online() -> NetworkEvent | None:
    found = events(1)
    return found[0] if found else None
