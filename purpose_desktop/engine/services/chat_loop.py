"""ChatLoop: chat inside the learning loop — run an answer's code (and attached tests) in the sandbox,
say an answer was good (credit), and draft a lesson from an answer (a quarantined candidate).

Runs are recorded on the answer (``meta["code_runs"]``, keyed by code-block index) so the chat view
shows them after a restart. A sandbox that refuses to run (essential protections missing and not
approved) gives a run with status ``not_run`` and the reason: never "failed".
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.errors import InputError, PurposeError
from purpose_desktop.engine.store import now_iso

if TYPE_CHECKING:
    from purpose_desktop.engine.cancel import CancelToken
    from purpose_desktop.engine.core import Engine

#: The same limits an agent's python tool gets (tools/python_exec.PythonExecTool defaults).
RUN_TIMEOUT_S = 10.0
RUN_MEMORY_MB = 512
#: pytest needs longer to start than a plain script (the critic gives given tests 20 s).
TESTS_TIMEOUT_S = 20.0
MAX_TEST_FILE_BYTES = 200_000
#: The module name the answer's code is saved as when tests run against it (tests import it).
SOLUTION_MODULE = "solution"
_PYTEST_COUNTS = re.compile(r"(\d+) (passed|failed|error|errors)\b")
_TEST_NAME = re.compile(r"^test_[A-Za-z0-9_]*\.py$|^[A-Za-z0-9_]*_test\.py$")
_QUESTION_CHARS = 160
_GIST_CHARS = 600


class ChatLoop:
    """``engine.chat_loop``: what the chat pane and the CLI ask about one answer beyond streaming it."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def _store(self):
        return self._engine.store

    # -- attached tests -------------------------------------------------------------------------
    def attach_tests(
        self,
        conversation_id: str,
        path: str | Path | None = None,
        *,
        name: str | None = None,
        text: str | None = None,
    ) -> dict:
        """Attach a pytest file to a chat (read from ``path``, or ``name`` + ``text``); replaces one of the same name."""
        self._store.get_conversation(conversation_id)  # StoreError with a hint for an unknown chat
        if path is not None:
            path = Path(path).expanduser()
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise InputError(
                    f"Could not read the test file {path}: {exc.strerror or exc}.",
                    "Pick a readable .py file.",
                ) from exc
            if len(raw) > MAX_TEST_FILE_BYTES:
                raise InputError(
                    f"{path.name} is {len(raw):,} bytes; a test file may be {MAX_TEST_FILE_BYTES:,}.",
                    "Attach the test module that covers this chat's code.",
                )
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"{path.name} is not UTF-8 text.", "Attach a Python test file.") from exc
            name = name or path.name
        if not isinstance(text, str) or not isinstance(name, str):
            raise InputError("Give a test file to attach.", "Pick a test_*.py file.")
        name = Path(name).name
        if not _TEST_NAME.match(name):
            raise InputError(
                f"{name!r} is not a pytest file name.",
                "Name it test_something.py (pytest only collects files named test_*.py or *_test.py).",
            )
        if "\x00" in text:
            raise InputError(f"{name} contains NUL bytes.", "Attach a Python test file.")
        now = now_iso()
        row = {
            "id": uuid.uuid4().hex,
            "conversation_id": conversation_id,
            "kind": "tests",
            "name": name,
            "text": text,
            "created_at": now,
        }
        with self._store._errors(), self._store.transaction("chat") as db:
            db.execute(
                "DELETE FROM chat_attachments WHERE conversation_id = ? AND kind = 'tests' AND name = ?",
                [conversation_id, name],
            )
            db["chat_attachments"].insert(row)
        return _public(row)

    def attachments(self, conversation_id: str) -> list[dict]:
        """The files attached to a chat, oldest first (``id``, ``kind``, ``name``, ``lines``, ``created_at``)."""
        with self._store._errors():
            rows = self._store.connection.execute(
                "SELECT id, conversation_id, kind, name, text, created_at FROM chat_attachments "
                "WHERE conversation_id = ? ORDER BY created_at, id",
                [conversation_id],
            ).fetchall()
        keys = ("id", "conversation_id", "kind", "name", "text", "created_at")
        return [_public(dict(zip(keys, r, strict=True))) for r in rows]

    def detach(self, attachment_id: str) -> None:
        with self._store._errors(), self._store.transaction("chat") as db:
            db.execute("DELETE FROM chat_attachments WHERE id = ?", [attachment_id])

    def _test_files(self, conversation_id: str) -> dict[str, str]:
        with self._store._errors():
            rows = self._store.connection.execute(
                "SELECT name, text FROM chat_attachments WHERE conversation_id = ? AND kind = 'tests'",
                [conversation_id],
            ).fetchall()
        return {name: text for name, text in rows}

    # -- running code -----------------------------------------------------------------------------
    def run_block(
        self, message_id: str, index: int, *, tests: bool = False, cancel: CancelToken | None = None
    ) -> dict:
        """Run code block ``index`` of an answer in the sandbox (with the chat's tests when ``tests``).

        Returns the run record, also saved on the answer: ``status`` is "passed", "failed" or
        "not_run" (with ``reason``); ``stdout``/``stderr`` are redacted; test runs add ``passed``/``failed`` counts.
        """
        from purpose_desktop.engine.chat.code_blocks import code_blocks
        from purpose_desktop.engine.immune.redact import redact
        from purpose_desktop.engine.tools.python_exec import describe_failure
        from purpose_desktop.engine.tools.sandbox import run_python

        message = self._answer(message_id)
        blocks = code_blocks(message.content)
        if not isinstance(index, int) or not 0 <= index < len(blocks):
            raise InputError(
                f"This answer has no code block {index!r} (it has {len(blocks)}).",
                "Pick one of its code blocks.",
            )
        block = blocks[index]
        if not block.is_python:
            raise InputError(
                f"Code block {index + 1} is {block.language or 'not Python'}; only Python runs here.",
                "Copy it and run it where it belongs.",
            )
        files: dict[str, str] = {}
        if tests:
            files = self._test_files(message.conversation_id)
            if not files:
                raise InputError(
                    "This chat has no tests attached.",
                    "Attach a test file first (Attach tests… in the chat).",
                )
        record: dict[str, Any] = {"index": index, "kind": "tests" if tests else "code", "at": now_iso()}
        timeout = TESTS_TIMEOUT_S if tests else RUN_TIMEOUT_S
        started = time.perf_counter()
        try:
            if tests:
                result = run_python(
                    files={f"{SOLUTION_MODULE}.py": block.source, **files},
                    args=["-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header", *sorted(files)],
                    timeout_s=timeout,
                    memory_mb=RUN_MEMORY_MB,
                    cancel=cancel,
                )
            else:
                result = run_python(block.source, timeout_s=timeout, memory_mb=RUN_MEMORY_MB, cancel=cancel)
        except PurposeError as exc:  # the sandbox refused (or could not start): not run, never "failed"
            record.update(status="not_run", reason=exc.message, hint=getattr(exc, "hint", "") or "")
        else:
            stdout, stderr = redact(result.stdout or "").text, redact(result.stderr or "").text
            record.update(
                stdout=stdout[-8000:],
                stderr=stderr[-4000:],
                returncode=result.returncode,
                killed_reason=result.killed_reason,
                backend=result.backend,
                unprotected=result.unprotected,
                elapsed_ms=round(result.elapsed_ms, 1),
            )
            if result.killed_reason == "cancelled":
                record.update(status="not_run", reason="stopped before it finished")
            elif tests:
                counts = {"passed": 0, "failed": 0}
                for n, what in _PYTEST_COUNTS.findall(stdout + stderr):
                    counts["passed" if what == "passed" else "failed"] += int(n)
                if result.returncode not in (0, 1) and counts["failed"] == 0:
                    counts["failed"] = 1  # collection error or crash: nothing passed for real
                ok = result.ok and counts["passed"] > 0 and counts["failed"] == 0
                record.update(counts, status="passed" if ok else "failed")
                if not ok:
                    record["reason"] = describe_failure(result, timeout) or (
                        f"{counts['failed']} test(s) failed" if counts["failed"] else "no test ran"
                    )
            else:
                error = describe_failure(result, timeout)
                record.update(status="failed" if error else "passed")
                if error:
                    record["reason"] = error
        record["duration_s"] = round(time.perf_counter() - started, 3)
        runs = dict(message.meta.get("code_runs") or {})
        runs[str(index)] = record
        self._store.update_message(message.id, meta={"code_runs": runs}, touch=False)
        return record

    # -- feedback ---------------------------------------------------------------------------------
    def mark_good(self, message_id: str, note: str = "") -> dict:
        """The person says this answer was good: credit every lesson that shaped it (stronger with a passing run).

        One verdict per answer (as ``Engine.mark_wrong``): an answer already marked either way changes nothing.
        Returns ``{"message_id", "already_marked", "evidence", "memories": [{"id", "verdict", "utility_after"}]}``.
        """
        from purpose_desktop.engine.learning.credit import apply_good_feedback

        if not isinstance(note, str):
            raise InputError("The note must be text.", "Say what was good, or leave it empty.")
        message = self._answer(message_id)
        feedback = message.meta.get("feedback")
        if isinstance(feedback, dict) and feedback.get("verdict") in ("good", "wrong"):
            return {
                "message_id": message.id,
                "already_marked": True,
                "verdict": feedback["verdict"],
                "evidence": feedback.get("evidence", ""),
                "memories": [],
            }
        passing = passing_runs(message.meta)
        evidence = _evidence_text(passing)
        report = apply_good_feedback(
            self._store, message.id, used_memory_ids(message.meta), passed_run=bool(passing)
        )
        self._store.update_message(
            message.id,
            meta={
                "feedback": {
                    "verdict": "good",
                    "note": note.strip()[:2000],
                    "evidence": evidence,
                    "at": now_iso(),
                }
            },
            touch=False,
        )
        return {
            "message_id": message.id,
            "already_marked": False,
            "verdict": "good",
            "evidence": evidence,
            "memories": [
                {"id": u.memory_id, "verdict": u.verdict, "utility_after": u.utility_after}
                for u in report.updates
            ],
        }

    # -- teaching from an answer ------------------------------------------------------------------
    def draft_lesson(self, message_id: str) -> dict:
        """A candidate lesson drafted from an answer, for the person to edit: ``{"text", "kind", "scope", "evidence"}``.

        With a passing run the draft is an ``episodic_case`` holding the code that passed; otherwise a
        ``skill_card`` with the gist of the answer. Nothing is stored until ``teach_from_answer``.
        """
        from purpose_desktop.engine.chat.code_blocks import code_blocks

        message = self._answer(message_id)
        question = self._question_for(message)
        short = " ".join(question.split())[:_QUESTION_CHARS] or "a question in chat"
        passing = passing_runs(message.meta)
        blocks = code_blocks(message.content)
        if passing:
            run = passing[0]
            code = blocks[run["index"]].source.rstrip() if run["index"] < len(blocks) else ""
            how = "passed the chat's tests" if run["kind"] == "tests" else "ran without errors"
            text = f"Past case: {short}\nA solution that {how}:\n```python\n{code}\n```"
            kind = "episodic_case"
        else:
            gist = _gist(message.content)
            text = f"When asked: {short}\nA good answer: {gist}"
            kind = "skill_card"
        return {
            "text": text[:1900],
            "kind": kind,
            "scope": {"roles": ["assistant", "coder"], "tools": [], "tags": []},
            "evidence": _evidence_text(passing),
        }

    def teach_from_answer(
        self, message_id: str, text: str, *, kind: str = "skill_card", scope: dict | None = None
    ):
        """Submit the (edited) draft as a candidate: scanned, quarantined for replay and approval (a SubmitResult).

        Unlike Teach, it is never promoted at once: an answer is the model's work, not the person's rule.
        """
        message = self._answer(message_id)
        tests = self._test_files(message.conversation_id)
        provenance = {
            "source": "chat answer",
            "conversation_id": message.conversation_id,
            "message_id": message.id,
            "evidence": _evidence_text(passing_runs(message.meta)),
            # What a re-test replays: the question, against the chat's tests when it has some.
            "task": self._question_for(message)[:4000],
            "tests": "\n\n".join(tests[name] for name in sorted(tests))[:MAX_TEST_FILE_BYTES] or None,
        }
        from purpose_desktop.engine.services.memories import _scope

        result = self._engine.memories.bank().submit(
            text, kind=kind, scope=_scope(scope), provenance=provenance, actor="user"
        )
        return result

    # -- helpers --------------------------------------------------------------------------------------
    def _answer(self, message_id: str):
        message = self._store.get_message(message_id)
        if message.role != "assistant":
            raise InputError("That is not an answer.", "Pick one of the assistant's replies.")
        return message

    def _question_for(self, message) -> str:
        earlier = [
            m
            for m in self._store.messages(message.conversation_id)
            if m.seq < message.seq and m.role == "user"
        ]
        return earlier[-1].content if earlier else ""


def used_memory_ids(meta: dict) -> list[str]:
    """The ids of the approved lessons that shaped an answer (``meta["context"]["memories"]``)."""
    context = meta.get("context")
    used = context.get("memories") if isinstance(context, dict) else None
    return [m["id"] for m in used or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]


def passing_runs(meta: dict) -> list[dict]:
    """The answer's passing sandbox runs, test runs first (they are the stronger evidence)."""
    runs = meta.get("code_runs") if isinstance(meta, dict) else None
    ok = [r for r in (runs or {}).values() if isinstance(r, dict) and r.get("status") == "passed"]
    return sorted(ok, key=lambda r: (r.get("kind") != "tests", r.get("index", 0)))


def _evidence_text(passing: list[dict]) -> str:
    if not passing:
        return "your word (no code from this answer was run)"
    run = passing[0]
    if run.get("kind") == "tests":
        return f"code block {run['index'] + 1} passed {run.get('passed', 0)} attached test(s) in the sandbox"
    return f"code block {run['index'] + 1} ran without errors in the sandbox"


def _gist(text: str) -> str:
    """The answer's prose, without code blocks, cut to a lesson's length."""
    from purpose_desktop.engine.chat.code_blocks import code_blocks

    prose = text
    for block in code_blocks(text):
        prose = prose.replace(block.source, "")
    prose = re.sub(r"```[^\n]*\n?", "", prose)
    prose = " ".join(prose.split())
    return (prose[:_GIST_CHARS].rstrip() + "…") if len(prose) > _GIST_CHARS else prose


def _public(row: dict) -> dict:
    text = row.get("text") or ""
    return {
        "id": row["id"],
        "conversation_id": row["conversation_id"],
        "kind": row["kind"],
        "name": row["name"],
        "lines": text.count("\n") + (1 if text and not text.endswith("\n") else 0),
        "created_at": row["created_at"],
    }
