"""Chat export: a conversation as Markdown (with its sources and lessons), written atomically to a file."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from purpose_desktop.engine.errors import InputError, StoreError
from purpose_desktop.engine.store import Conversation, Message

HEADINGS = {"user": "### You", "assistant": "### Assistant", "system": "### System"}


def _day(iso: str | None) -> str:
    try:
        return datetime.fromisoformat(iso or "").strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso or ""


def _sources_line(context: dict) -> str | None:
    cites = [
        f"[{v.get('n')}] {v.get('rel_path')}:{v.get('start_line')}-{v.get('end_line')}"
        for v in context.get("vault") or []
        if isinstance(v, dict)
    ]
    return "Sources: " + " · ".join(cites) if cites else None


def to_markdown(
    conversation: Conversation, messages: Sequence[Message], *, exported_at: str | None = None
) -> str:
    """The chat as Markdown: title, dates, each message verbatim under its heading, sources and lessons."""
    exported = exported_at or datetime.now(UTC).isoformat()
    lines = [
        f"# {conversation.title}",
        "",
        f"*Chat started {_day(conversation.created_at)}; exported from Purpose Desktop {_day(exported)}.*",
    ]
    for m in messages:
        lines += ["", HEADINGS.get(m.role, f"### {m.role.title()}"), "", m.content]
        if m.status == "cancelled":
            lines += ["", "*(stopped before it finished)*"]
        elif m.status == "failed":
            lines += ["", f"*(the reply failed: {m.meta.get('error') or 'unknown error'})*"]
        context = m.meta.get("context") if m.role == "assistant" else None
        if isinstance(context, dict):
            sources = _sources_line(context)
            if sources:
                lines += ["", sources]
            lessons = [x.get("text", "") for x in context.get("memories") or [] if isinstance(x, dict)]
            if lessons:
                lines += ["", "Lessons used:", *(f"- {t}" for t in lessons)]
            withheld = [
                f"{w.get('rel_path')}:{w.get('start_line')}-{w.get('end_line')}"
                for w in context.get("withheld") or []
                if isinstance(w, dict)
            ]
            if withheld:
                lines += ["", "Withheld (flagged by the safety scan): " + ", ".join(withheld)]
        calls = m.meta.get("tool_calls") if m.role == "assistant" else None
        if isinstance(calls, list) and calls:
            lines += ["", "Tool calls:", *(_call_line(c) for c in calls if isinstance(c, dict))]
        feedback = m.meta.get("feedback")
        if isinstance(feedback, dict) and feedback.get("verdict") == "wrong":
            note = f": {feedback['note']}" if feedback.get("note") else ""
            lines += ["", f"*Marked wrong{note}*"]
    return "\n".join(lines).rstrip() + "\n"


def _call_line(call: dict) -> str:
    """One MCP tool call of a reply: what was called with what, and how it ended (never withheld text)."""
    args = json.dumps(call.get("arguments") or {}, ensure_ascii=False)
    status = str(call.get("status") or "")
    line = f"- `{call.get('server', '')}/{call.get('tool', '')}` {args} — {status}"
    if status == "done":
        output = str(call.get("output") or "")
        line += ": " + (output if len(output) <= 200 else output[:200] + "…").replace("\n", " ")
    elif status == "withheld":
        line += f" ({call.get('reason', '')})"
    elif status == "failed":
        line += f" ({call.get('error', '')})"
    return line


def write_atomically(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temp file in the same folder + fsync + os.replace.

    A failure leaves an existing file exactly as it was and no temp file behind.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise InputError(f"{path} is a folder.", "Choose a file name inside it, e.g. chat.md.")
    if not path.parent.is_dir():
        raise InputError(f"The folder {path.parent} does not exist.", "Choose a folder that exists.")
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise StoreError(
            f"The chat could not be exported ({exc.strerror or exc}).",
            f"Check that {path.parent} is writable and the disk is not full, then try again.",
        ) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path
