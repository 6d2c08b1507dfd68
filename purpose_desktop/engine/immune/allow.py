"""The person's allow-list: findings they overruled as false positives, which later scans report but do not block on.

An entry names the rule (or ``learned_detector``), the category and the excerpt that was flagged. A later
finding by the same rule, in the same category, on the same excerpt (case and spacing ignored) — or any
finding by that rule in the very text that was overruled — is kept in the report, marked allowed, and no
longer blocks. Entries live in SQLite (table ``immune_allowlist``); this module is pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def text_hash(text: str) -> str:
    """The key of a whole text in the allow-list."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def excerpt_key(excerpt: str) -> str:
    return " ".join(excerpt.lower().split())


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """One overruled finding."""

    rule: str
    category: str
    excerpt: str
    text_hash: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> AllowEntry:
        return cls(
            rule=str(data["rule"]),
            category=str(data["category"]),
            excerpt=str(data.get("excerpt") or ""),
            text_hash=str(data.get("text_hash") or ""),
        )


class AllowList:
    """Entries indexed for the scan: by (rule, category, excerpt) and by (text hash, rule, category)."""

    def __init__(self, entries: Iterable[AllowEntry | Mapping[str, Any]] = ()) -> None:
        self._by_excerpt: set[tuple[str, str, str]] = set()
        self._by_text: set[tuple[str, str, str]] = set()
        self.size = 0
        for entry in entries:
            e = entry if isinstance(entry, AllowEntry) else AllowEntry.from_mapping(entry)
            self.size += 1
            if e.excerpt.strip():
                self._by_excerpt.add((e.rule, e.category, excerpt_key(e.excerpt)))
            if e.text_hash:
                self._by_text.add((e.text_hash, e.rule, e.category))

    def __len__(self) -> int:
        return self.size

    def allows(self, rule: str, category: str, excerpt: str, whole_text_hash: str) -> bool:
        return (rule, category, excerpt_key(excerpt)) in self._by_excerpt or (
            whole_text_hash,
            rule,
            category,
        ) in self._by_text


def describe_entry(entry: Mapping[str, Any]) -> str:
    """One line a person reads: "Lessons in Welsh …", "injection · rule ignore_instructions · “…”"."""
    rule = entry.get("rule") or "?"
    excerpt = " ".join(str(entry.get("excerpt") or "").split())
    if rule == "unread_language":
        return f"Lessons in {excerpt or 'another language'} (a language the scan cannot read)"
    category = str(entry.get("category") or "").replace("_", " ")
    basis = "learned detector" if rule == "learned_detector" else f"rule {rule}"
    words = f"“{excerpt if len(excerpt) <= 70 else excerpt[:69] + '…'}”" if excerpt else "that exact lesson"
    return f"{category} · {basis} · {words}"
