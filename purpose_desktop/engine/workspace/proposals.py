"""Proposed file changes: stored when proposed, shown as unified diffs, applied or rejected by the person.

An agent's ``write_file`` in a project never writes: ``ProposeWriteTool`` checks the path exactly as the
real write would (``WriteFileTool.check`` plus a confined read of what is there now) and stores a
proposal. ``ProposalBook.apply`` writes through ``WriteFileTool`` only if the file still holds what the
proposal was made against; anything else is "stale" and nothing is written.
"""

from __future__ import annotations

import difflib
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.store import now_iso
from purpose_desktop.engine.tools.base import Tool, ToolError, ToolResult
from purpose_desktop.engine.tools.files import MAX_PATH_CHARS, WriteFileTool, split_relative_path
from purpose_desktop.engine.workspace.project import Project

# "src/app.py", "File: src/app.py", "**Path:** `src/app.py`": what is left of the line is the path.
_PATH_LINE = re.compile(r"^[\s*`#>-]*(?:(?:file|path)\s*(?:\*\*)?\s*[:=])?[\s*`]*", re.IGNORECASE)
PROPOSED, APPLIED, REJECTED, STALE, SUPERSEDED = "proposed", "applied", "rejected", "stale", "superseded"
STATUSES = (PROPOSED, APPLIED, REJECTED, STALE, SUPERSEDED)


@dataclass
class Proposal:
    """One proposed change to one file. ``before`` None: the file does not exist yet."""

    id: str
    project: str
    path: str
    before: str | None
    after: str
    status: str = PROPOSED
    run_id: str | None = None
    message_id: str | None = None
    reason: str = ""
    checks: dict | None = None
    created_at: str = ""
    decided_at: str | None = None
    stored: bool = True  # False: kept in memory only (an eval run writes nothing to the database)

    @property
    def created(self) -> bool:
        return self.before is None

    def diff(self) -> str:
        """The unified diff (``a/path`` → ``b/path``; ``/dev/null`` for a new file)."""
        return unified_diff(self.path, self.before, self.after)

    def stats(self) -> tuple[int, int]:
        """(lines added, lines removed)."""
        added = removed = 0
        for line in self.diff().splitlines():
            if line.startswith("+") and not line.startswith("+++"):
                added += 1
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
        return added, removed

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["diff"] = self.diff()
        d["added"], d["removed"] = self.stats()
        return d


def unified_diff(path: str, before: str | None, after: str) -> str:
    old = (before or "").splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    for lines in (old, new):
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n\\ No newline at end of file\n"
    head = "/dev/null" if before is None else f"a/{path}"
    return "".join(difflib.unified_diff(old, new, head, f"b/{path}"))


def _from_row(row: Mapping[str, Any]) -> Proposal:
    return Proposal(
        id=row["id"],
        project=row["project"],
        path=row["path"],
        before=row["before_text"],
        after=row["after_text"],
        status=row["status"],
        run_id=row["run_id"],
        message_id=row["message_id"],
        reason=row["reason"] or "",
        checks=json.loads(row["checks_json"]) if row["checks_json"] else None,
        created_at=row["created_at"],
        decided_at=row["decided_at"],
    )


class ProposalBook:
    """The ``workspace_proposals`` table: add, list, decide. Proposals are "trace" data (train mode only)."""

    def __init__(self, store) -> None:
        self.store = store

    def add(self, p: Proposal) -> Proposal:
        """Store ``p`` (its earlier open proposals for the same file in the same run/message are superseded)."""
        p.created_at = p.created_at or now_iso()
        if not self.store.allows("trace"):
            p.stored = False
            return p
        with self.store.transaction("trace") as db:
            owner, value = ("run_id", p.run_id) if p.run_id else ("message_id", p.message_id)
            if value:
                db.execute(
                    f"UPDATE workspace_proposals SET status = ?, reason = ?, decided_at = ? "
                    f"WHERE {owner} = ? AND project = ? AND path = ? AND status = ?",
                    [
                        SUPERSEDED,
                        "a later proposal replaced it",
                        p.created_at,
                        value,
                        p.project,
                        p.path,
                        PROPOSED,
                    ],
                )
            db["workspace_proposals"].insert(
                {
                    "id": p.id,
                    "project": p.project,
                    "path": p.path,
                    "run_id": p.run_id,
                    "message_id": p.message_id,
                    "before_text": p.before,
                    "after_text": p.after,
                    "status": p.status,
                    "reason": p.reason,
                    "checks_json": json.dumps(p.checks) if p.checks else None,
                    "created_at": p.created_at,
                    "decided_at": p.decided_at,
                }
            )
        return p

    def get(self, proposal_id: str) -> Proposal:
        rows = list(
            self.store.connection.query(
                "SELECT * FROM workspace_proposals WHERE id LIKE ? LIMIT 2", [proposal_id + "%"]
            )
        )
        if len(rows) != 1:
            raise InputError(
                f"No proposal {'matches' if not rows else 'is uniquely named by'} {proposal_id!r}.",
                "List them with `purpose-desktop workspace proposals` and use a longer id.",
            )
        return _from_row(rows[0])

    def list(
        self,
        *,
        run_id: str | None = None,
        message_id: str | None = None,
        project: str | None = None,
        status: str | Iterable[str] | None = None,
    ) -> list[Proposal]:
        where, params = [], []
        for column, value in (("run_id", run_id), ("message_id", message_id), ("project", project)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            where.append(f"status IN ({', '.join('?' for _ in wanted)})")
            params += wanted
        sql = "SELECT * FROM workspace_proposals" + (f" WHERE {' AND '.join(where)}" if where else "")
        return [
            _from_row(r) for r in self.store.connection.query(sql + " ORDER BY created_at, rowid", params)
        ]

    def decide(self, proposal_id: str, status: str, reason: str = "", checks: dict | None = None) -> Proposal:
        if status not in STATUSES:
            raise ValueError(f"unknown proposal status {status!r}")
        with self.store.transaction("chat") as db:
            fields: dict[str, Any] = {"status": status, "reason": reason, "decided_at": now_iso()}
            if checks is not None:
                fields["checks_json"] = json.dumps(checks)
            db["workspace_proposals"].update(proposal_id, fields)
        return self.get(proposal_id)

    def set_checks(self, proposal_ids: Iterable[str], checks: dict) -> None:
        with self.store.transaction("chat") as db:
            for pid in proposal_ids:
                db["workspace_proposals"].update(pid, {"checks_json": json.dumps(checks)})


def apply(book: ProposalBook, project: Project, proposal: Proposal) -> Proposal:
    """Write ``proposal`` if the file still holds what it was made against; otherwise mark it stale.

    The write goes through ``WriteFileTool`` (the confined descriptor walk, ``.git`` refused, atomic).
    """
    if proposal.status != PROPOSED:
        raise InputError(
            f"{proposal.path}: this change is already {proposal.status}.",
            "Only proposed changes can be applied.",
        )
    if proposal.project != project.key:
        raise InputError(
            f"{proposal.path}: this change belongs to {proposal.project}, not to {project.key}.",
            "Open that project folder first.",
        )
    now = project.read_or_none(proposal.path)
    if now != proposal.before:
        what = "was created" if proposal.before is None else ("was deleted" if now is None else "changed")
        return book.decide(
            proposal.id, STALE, f"the file {what} after the change was proposed; nothing was written"
        )
    project.writer().write(proposal.path, proposal.after)
    return book.decide(proposal.id, APPLIED, "applied by the person")


class ProposeWriteTool(Tool):
    """``write_file`` for a project: the same checks as a real write, then a stored proposal — never a write."""

    name = "write_file"
    description = (
        "Propose the whole new text of a file in the project (relative path). Nothing is written until the "
        "person approves. Input: the path on the first line, then the file's content in a fenced code block."
    )
    parameters = WriteFileTool.parameters  # the same arguments as a real write; only the outcome differs

    def __init__(self, session: WorkspaceSession) -> None:
        self.session = session

    @staticmethod
    def args_from_text(text: str) -> dict | None:
        """``path`` on the first line, then the content (a fenced block's body, else the rest)."""
        from purpose_desktop.engine.critic import CODE_BLOCK

        lines = (text or "").strip().splitlines()
        if not lines:
            return None
        if lines[0].lstrip().startswith(("```", "~~~")):  # no path line: the fence's language is no path
            m = CODE_BLOCK.search(text)
            return {"path": "", "content": (m.group(2) if m else text).rstrip("\n") + "\n"}
        path = _PATH_LINE.sub("", lines[0]).strip().strip("`*").strip()
        rest = "\n".join(lines[1:])
        m = CODE_BLOCK.search(rest)
        content = m.group(2) if m else rest
        return {"path": path, "content": content.rstrip("\n") + "\n"}

    def execute(self, args: Mapping[str, Any], cancel: CancelToken | None) -> ToolResult:
        p = self.session.propose(args["path"], args["content"])
        added, removed = p.stats()
        kept = "" if p.stored else " (kept for this run only: an evaluation run stores nothing)"
        verb = "a new file" if p.created else f"+{added} −{removed} lines"
        return ToolResult(
            ok=True,
            output=f"Proposed a change to {p.path} ({verb}); it is written only if the person approves it{kept}.",
            data={
                "proposal_id": p.id,
                "path": p.path,
                "created": p.created,
                "added": added,
                "removed": removed,
            },
        )


class OverlayReadTool(Tool):
    """``read_file`` for a project: the confined read, showing this session's own proposals as if applied."""

    name = "read_file"
    description = "Read a text file from the project. The path is relative to the project folder."
    parameters = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "e.g. src/app.py", "maxLength": MAX_PATH_CHARS}
        },
        "required": ["path"],
        "additionalProperties": False,
    }

    def __init__(self, session: WorkspaceSession) -> None:
        self.session = session

    def execute(self, args: Mapping[str, Any], cancel: CancelToken | None) -> ToolResult:
        shown = "/".join(split_relative_path(args["path"]))  # refuses escapes before any lookup
        pending = self.session.pending.get(shown)
        if pending is not None:  # validated when proposed; served from memory, the disk is not touched
            return ToolResult(ok=True, output=pending.after, data={"path": shown, "proposed": True})
        text, data = self.session.project.reader().read(shown)
        return ToolResult(ok=True, output=text, data=data)


@dataclass
class WorkspaceSession:
    """One run's (or one chat reply's) view of a project: confined reads, writes turned into proposals."""

    project: Project
    store: Any = None  # None: proposals are kept in memory only
    run_id: str | None = None
    message_id: str | None = None
    proposals: list[Proposal] = field(default_factory=list)

    @property
    def pending(self) -> dict[str, Proposal]:
        return {p.path: p for p in self.proposals if p.status == PROPOSED}

    def tools(self, names: Iterable[str] = ("read_file", "write_file")) -> list[Tool]:
        wanted = set(names)
        out: list[Tool] = []
        if "read_file" in wanted:
            out.append(OverlayReadTool(self))
        if "write_file" in wanted:
            out.append(ProposeWriteTool(self))
        return out

    def propose(self, path: str, content: str) -> Proposal:
        """Check ``path`` as a real write would, read what is there now, and store the proposal."""
        _parts, shown, _payload = self.project.writer().check(path, content)
        try:
            before = self.project.read_or_none(shown)
        except ToolError as exc:
            raise ToolError(f"cannot propose a change: {exc.message}", hint=exc.hint) from None
        if before == content:
            raise ToolError(
                f"{shown}: the proposed content is the same as the file's", hint="nothing to change"
            )
        for old in self.proposals:
            if old.path == shown and old.status == PROPOSED:
                old.status = SUPERSEDED
        p = Proposal(
            id=uuid.uuid4().hex,
            project=self.project.key,
            path=shown,
            before=before,
            after=content,
            run_id=self.run_id,
            message_id=self.message_id,
        )
        if self.store is not None:
            ProposalBook(self.store).add(p)
        else:
            p.stored = False
        self.proposals.append(p)
        return p
