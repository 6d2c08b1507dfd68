"""A project's rules files (AGENTS.md, CONVENTIONS.md, .cursorrules …) offered as lessons scoped to it.

Each rule (a bullet, a numbered item or a plain paragraph; headings and code blocks are not rules)
becomes a candidate memory: immune-scanned by ``MemoryBank.submit``, quarantined for the person to
approve or reject in the Memory pane, kept to the project (scope tag ``project:<folder name>``). A rule already offered for this project
— whatever was decided — is not offered again.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.memory.records import (
    MAX_TEXT_CHARS,
    MemoryPolicy,
    Scope,
    content_hash,
    project_tag,
)
from purpose_desktop.engine.tools.base import ToolError
from purpose_desktop.engine.workspace.project import Project

RULE_KIND = "user_preference"  # a rule states how the person wants work done: it applies to every task
RULES_SOURCE = "project rules"
_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,3}[.)])\s+(.*)$")
_MIN_RULE_CHARS = 8


@dataclass(frozen=True)
class Rule:
    file: str
    line: int
    text: str


@dataclass(frozen=True)
class RuleOffer:
    """What happened to one rule: offered (quarantined), blocked by the scan, or already decided."""

    file: str
    line: int
    text: str
    outcome: str  # quarantined | rejected (blocked by the scan) | strengthened | already offered
    memory_id: str | None
    status: str  # the memory's status now
    reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def parse_rules(text: str, file: str) -> list[Rule]:
    """The rules in one rules file: list items (continuation lines joined) and plain paragraphs."""
    rules: list[Rule] = []
    current: list[str] = []
    start = 0
    fenced = False

    def flush() -> None:
        nonlocal current
        joined = " ".join(part.strip() for part in current).strip()
        if len(joined) >= _MIN_RULE_CHARS:
            rules.append(Rule(file, start, joined[:MAX_TEXT_CHARS]))
        current = []

    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if line.lstrip().startswith("```") or line.lstrip().startswith("~~~"):
            flush()
            fenced = not fenced
            continue
        if fenced:
            continue
        if not line.strip() or line.lstrip().startswith("#") or set(line.strip()) <= set("-=*_ "):
            flush()
            continue
        item = _ITEM.match(line)
        if item:
            flush()
            current, start = [item.group(1)], n
        elif current:
            current.append(line)
        else:
            current, start = [line], n
    flush()
    return rules


def project_rules(project: Project) -> list[Rule]:
    """Every rule in the project's rules files, in file order; unreadable files are skipped."""
    out: list[Rule] = []
    for name in project.rules_files():
        try:
            out += parse_rules(project.read(name), name)
        except ToolError:
            continue
    return out


def _already_offered(store, project: Project, text: str) -> tuple[str, str] | None:
    """(memory id, status) of this rule's memory for this project, if it was offered before."""
    rows = store.connection.execute(
        "SELECT id, status, scope_json FROM memories WHERE content_hash = ? ORDER BY created_at",
        [content_hash(text)],
    ).fetchall()
    tag = project_tag(project.name)
    for mid, status, scope_json in rows:
        if tag in ((json.loads(scope_json or "{}") or {}).get("tags") or []):
            return mid, status
    return None


def offer_rules(store, project: Project, policy: MemoryPolicy | None = None) -> list[RuleOffer]:
    """Submit each new rule of ``project`` as a candidate lesson scoped to it (scanned, then quarantined)."""
    bank = MemoryBank(store, policy or MemoryPolicy())
    offers: list[RuleOffer] = []
    for rule in project_rules(project):
        seen = _already_offered(store, project, rule.text)
        if seen is not None:
            offers.append(RuleOffer(rule.file, rule.line, rule.text, "already offered", seen[0], seen[1]))
            continue
        sub = bank.submit(
            rule.text,
            kind=RULE_KIND,
            scope=Scope.build(project=project.name),
            provenance={"source": RULES_SOURCE, "project": project.key, "file": rule.file, "line": rule.line},
            actor="user",
        )
        m = sub.memory
        offers.append(
            RuleOffer(rule.file, rule.line, rule.text, sub.outcome, m.id, m.status, m.status_reason)
        )
    return offers
