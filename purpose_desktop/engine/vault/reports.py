"""What an indexing run tells its caller: IndexProgress while it runs, IndexReport when it ends; TextItem input."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class IndexProgress:
    """Where an indexing run is. ``phase``: reading, embedding, done or cancelled.

    While reading, ``files_done`` counts files read; while embedding it counts files whose chunks are
    all embedded. ``chunks_total`` is the number of chunks this run must embed.
    """

    phase: str
    files_done: int
    files_total: int
    chunks_done: int
    chunks_total: int
    chunks_per_s: float | None = None
    eta_s: float | None = None
    current: str = ""

    @property
    def fraction(self) -> float:
        """0–1 for a progress bar (reading counts as the first 10 %)."""
        if self.phase in ("done", "cancelled"):
            return 1.0
        if self.phase == "reading":
            return 0.1 * (self.files_done / self.files_total if self.files_total else 0.0)
        return 0.1 + 0.9 * (self.chunks_done / self.chunks_total if self.chunks_total else 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "fraction": round(self.fraction, 4)}


@dataclass
class IndexReport:
    """What one run did. ``cancelled`` is not an error: run it again to resume."""

    source_ids: list[str] = field(default_factory=list)
    files_seen: int = 0
    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_embedded: int = 0
    chunks_flagged: int = 0
    cancelled: bool = False
    elapsed_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["skipped"] = [{"path": p, "reason": r} for p, r in self.skipped]
        return data


@dataclass(frozen=True)
class TextItem:
    """A text added without a file: ``name`` is shown in citations and picks the chunker (``notes.md``)."""

    name: str
    text: str
