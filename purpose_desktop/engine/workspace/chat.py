"""A chat attached to a project: what the model is told about the folder, and its replies' file changes.

A reply proposes a change by writing ``File: relative/path`` on its own line followed by one fenced code
block with the file's whole new content; each such pair becomes a stored proposal (never a write), checked
exactly as an agent's ``write_file`` is.
"""

from __future__ import annotations

import re
from typing import Any

from purpose_desktop.engine.tools.base import ToolError
from purpose_desktop.engine.workspace.project import Project
from purpose_desktop.engine.workspace.proposals import PROPOSED, WorkspaceSession

#: What chat is told about the attached project: at most this many file names and this much file text.
CHAT_FILES_LISTED = 80
CHAT_FILE_CHARS = 6000
# A change in a chat reply: "File: path" (optionally bold or in backticks) on its own line, then a fence.
_FILE_BLOCK = re.compile(
    r"^[ \t]*(?:\*\*)?(?:File|Path)(?:\*\*)?:?(?:\*\*)?[ \t]*`?([^`\n]+?)`?[ \t]*\n+[ \t]*```[^\n]*\n(.*?)^[ \t]*```",
    re.MULTILINE | re.DOTALL | re.IGNORECASE,
)
CHAT_INSTRUCTIONS = (
    "You are working in the person's project folder {name}. To change a file, write a line "
    "`File: relative/path.py` and then one fenced code block with the file's whole new content. "
    "Nothing is written until the person applies it."
)


def chat_note(project: Project, text: str) -> str:
    """How to propose a change, the project's files, and the text of the files ``text`` names
    (read through the confined reader, within ``CHAT_FILE_CHARS``)."""
    files = project.files()
    parts = [CHAT_INSTRUCTIONS.format(name=project.name)]
    shown = files[:CHAT_FILES_LISTED]
    more = f" (and {len(files) - len(shown)} more)" if len(files) > len(shown) else ""
    parts.append("Files: " + ", ".join(shown) + more)
    budget = CHAT_FILE_CHARS
    for rel in files:
        if budget <= 0:
            break
        if rel in text or (
            "." in rel and re.search(rf"(?<![\w/.]){re.escape(rel.rsplit('/', 1)[-1])}\b", text)
        ):
            try:
                body = project.read(rel)[:budget]
            except ToolError:
                continue
            budget -= len(body)
            parts.append(f"Current {rel}:\n```\n{body}\n```")
    return "\n\n".join(parts)


def file_blocks(text: str) -> list[tuple[str, str]]:
    """The (path, content) pairs a reply proposes."""
    return [(path.strip(), body) for path, body in _FILE_BLOCK.findall(text or "")]


def propose_from_reply(
    project: Project, store, text: str, *, message_id: str | None = None
) -> dict[str, Any] | None:
    """Store the reply's changes as proposals; ``{"project", "proposals": [ids], "refused": [{"path", "reason"}]}``,
    or None when the reply proposes nothing."""
    blocks = file_blocks(text)
    if not blocks:
        return None
    session = WorkspaceSession(project, store, message_id=message_id)
    refused: list[dict[str, Any]] = []
    for path, body in blocks:
        try:
            session.propose(path, body)
        except ToolError as exc:
            refused.append({"path": path, "reason": exc.message})
    live = [p.id for p in session.proposals if p.status == PROPOSED]
    return {"project": project.key, "proposals": live, "refused": refused}
