"""Memories out and in: export every memory as JSONL, import a JSONL file as quarantined candidates.

One line per memory: ``text``, ``kind``, ``scope``, ``provenance``, ``evidence`` (a summary of the
replay evidence), ``history``, plus ``status``, ``trust`` and ``utility`` as they were — for the
reader's information only. Importing never trusts the file: each line is scanned by the immune
system, and a clean one lands **quarantined** with the trust of a fresh lesson, whatever status the
file claims; a blocked line is rejected with its reason (and not stored), a malformed line is
reported with its line number, and the rest imports. A text already present is skipped.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from purpose_desktop.engine.errors import InputError

if TYPE_CHECKING:
    from purpose_desktop.engine.core import Engine

FORMAT = "purpose-desktop-memory/1"
MAX_IMPORT_BYTES = 50_000_000
MAX_HISTORY = 50


@dataclass
class ImportReport:
    """What an import did, line by line (line numbers count from 1)."""

    path: str
    imported: list[dict] = field(default_factory=list)  # {"line", "id", "kind", "claimed_status"}
    rejected: list[dict] = field(default_factory=list)  # {"line", "reason"}: the immune scan blocked it
    malformed: list[dict] = field(default_factory=list)  # {"line", "reason"}
    skipped: list[dict] = field(default_factory=list)  # {"line", "reason", "id"}: already present

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "imported": self.imported,
            "rejected": self.rejected,
            "malformed": self.malformed,
            "skipped": self.skipped,
        }

    def summary(self) -> str:
        parts = [f"{len(self.imported)} imported (quarantined for review)"]
        if self.rejected:
            parts.append(f"{len(self.rejected)} rejected by the immune scan")
        if self.skipped:
            parts.append(f"{len(self.skipped)} already present")
        if self.malformed:
            parts.append(f"{len(self.malformed)} malformed")
        return ", ".join(parts)

    def problems(self) -> list[str]:
        """One line per line that did not import, in file order."""
        rows = [(r["line"], f"line {r['line']}: rejected — {r['reason']}") for r in self.rejected]
        rows += [(r["line"], f"line {r['line']}: malformed — {r['reason']}") for r in self.malformed]
        rows += [(r["line"], f"line {r['line']}: skipped — {r['reason']}") for r in self.skipped]
        return [text for _, text in sorted(rows)]


def evidence_summary(evidence: dict | None) -> dict | None:
    """The replay evidence in brief: verdict, n, means, delta, grounding (no per-seed lists)."""
    if not evidence:
        return None
    keys = ("verdict", "n", "mean_with", "mean_without", "delta", "n_grounded", "grounded_delta", "p_value")
    out = {k: evidence.get(k) for k in keys if k in evidence}
    if evidence.get("verdict_reason"):
        out["reason"] = evidence["verdict_reason"]
    return out


def export_memories(engine: Engine, path: str | Path, *, statuses=None) -> int:
    """Write every memory (or those with ``statuses``) to ``path`` as JSONL, atomically; returns how many."""
    bank = engine.memories.bank()
    memories = bank.list(status=statuses)
    lines = []
    for m in sorted(memories, key=lambda m: (m.created_at, m.id)):
        lines.append(
            json.dumps(
                {
                    "format": FORMAT,
                    "id": m.id,
                    "text": m.text,
                    "kind": m.kind,
                    "scope": m.scope.to_dict(),
                    "provenance": m.provenance,
                    "evidence": evidence_summary(m.evidence),
                    "history": [h.to_dict() for h in bank.repo.history(m.id)][-MAX_HISTORY:],
                    "status": m.status,
                    "trust": round(m.trust, 4),
                    "utility": round(m.utility, 4),
                    "created_at": m.created_at,
                },
                ensure_ascii=False,
            )
        )
    _write_atomically(Path(path).expanduser(), "".join(line + "\n" for line in lines))
    return len(lines)


def import_memories(engine: Engine, path: str | Path) -> ImportReport:
    """Import a JSONL export: every clean line lands quarantined (see the module docstring)."""
    from purpose_desktop.engine.immune import scan
    from purpose_desktop.engine.immune.redact import redact
    from purpose_desktop.engine.memory import similarity
    from purpose_desktop.engine.memory.api import TRUST_DISTILLED, _block_reason
    from purpose_desktop.engine.memory.records import KINDS, MAX_TEXT_CHARS, QUARANTINED, Scope, content_hash

    path = Path(path).expanduser()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(
            f"Could not read {path}: {exc.strerror or exc}.",
            "Pick a .jsonl file exported by Purpose Desktop.",
        ) from exc
    if size > MAX_IMPORT_BYTES:
        raise InputError(
            f"{path.name} is {size:,} bytes; the limit is {MAX_IMPORT_BYTES:,}.", "Split the file."
        )
    try:
        raw_lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path.name} is not a UTF-8 text file ({exc}).", "Pick a .jsonl memory export."
        ) from exc
    report = ImportReport(str(path))
    repo = engine.memories.bank().repo
    for number, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except ValueError as exc:
            report.malformed.append({"line": number, "reason": f"not JSON ({exc.msg} at column {exc.colno})"})
            continue
        problem = _check_line(item, KINDS, MAX_TEXT_CHARS)
        if problem:
            report.malformed.append({"line": number, "reason": problem})
            continue
        text = item["text"].strip()
        verdict = scan(text, context="memory").to_dict()
        if verdict["blocked"]:
            report.rejected.append({"line": number, "reason": _block_reason(verdict)})
            continue
        text = redact(text).text
        same = repo.by_hash(content_hash(text))
        if same is not None:
            report.skipped.append(
                {"line": number, "reason": f"already here as memory {same.id[:8]}", "id": same.id}
            )
            continue
        claimed = str(item.get("status") or "")
        provenance = {
            "source": "imported",
            "file": path.name,
            "line": number,
            "claimed_status": claimed,
            "original_id": str(item.get("id") or ""),
            "original_provenance": _list_of_dicts(item.get("provenance"))[:20],
            "evidence_summary": item.get("evidence") if isinstance(item.get("evidence"), dict) else None,
            "history": _list_of_dicts(item.get("history"))[-MAX_HISTORY:],
        }
        reason = f"imported from {path.name} line {number}; held for review"
        if claimed and claimed != QUARANTINED:
            reason += f" (the file said {claimed!r}; imports are never trusted)"
        m = repo.create(
            kind=item["kind"],
            text=text,
            scope=Scope.from_dict(item.get("scope") or {}),
            provenance=provenance,
            scan=verdict,
            status=QUARANTINED,
            trust=TRUST_DISTILLED,
            actor="user",
            reason=reason,
            vector=similarity.embed([text])[0],
        )
        report.imported.append({"line": number, "id": m.id, "kind": m.kind, "claimed_status": claimed})
    return report


def _check_line(item, kinds, max_chars: int) -> str | None:
    if not isinstance(item, dict):
        return "each line must be a JSON object"
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        return 'missing "text"'
    if len(text) > max_chars:
        return f'"text" is {len(text):,} characters; a memory may have {max_chars:,}'
    if item.get("kind") not in kinds:
        return f'"kind" {item.get("kind")!r} is not one of {", ".join(kinds)}'
    scope = item.get("scope")
    if scope is not None:
        if not isinstance(scope, dict):
            return '"scope" must be an object with "roles", "tools" and "tags" lists'
        for key in ("roles", "tools", "tags"):
            value = scope.get(key)
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                return f'"scope.{key}" must be a list of text'
    return None


def _list_of_dicts(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
