"""TraceRecorder: runs and steps (prompt, output, tool calls, memory ids, score, evidence, tokens, timings)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from purpose_desktop.engine.immune.redact import redact
from purpose_desktop.engine.runmode import RunMode


def _clean(value):
    """``value`` with every credential in its text replaced (strings inside lists and dicts too)."""
    if isinstance(value, str):
        return redact(value).text if value else value
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class TraceRecorder:
    """Writes a run's trace to the store when the RunMode allows it, else keeps it only in memory.

    In EVAL_TEST and LEARNING_VALIDATION nothing here touches the database; the store's own guard
    would refuse it anyway (see ``Store.run_mode``).
    """

    store: object | None
    mode: RunMode
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    steps: list[dict] = field(default_factory=list)

    @property
    def persistent(self) -> bool:
        return self.store is not None and self.mode.allows("trace")

    def start(self, *, task: str, purpose: str | None, team: str | None, roles: list[str], meta: dict | None = None) -> str:
        self.run = {
            "id": self.run_id,
            "task": _clean(task),
            "purpose": purpose,
            "team": team,
            "roles_json": json.dumps(roles),
            "mode": self.mode.value,
            "status": "running",
            "answer": None,
            "score": None,
            "tokens_work": 0,
            "tokens_judge": 0,
            "started_at": _now(),
            "finished_at": None,
            "meta_json": json.dumps(meta or {}),
        }
        if self.persistent:
            self.store.insert_run(self.run)
        return self.run_id

    def add_step(self, step: dict) -> dict:
        row = {
            "id": uuid.uuid4().hex,
            "run_id": self.run_id,
            "seq": len(self.steps),
            "role": step["role"],
            "attempt": step.get("attempt", 0),
            "prompt": _clean(step.get("prompt", "")),
            "output": _clean(step.get("output", "")),
            "thoughts_json": json.dumps(_clean(step.get("thoughts", []))),
            "tool_calls_json": json.dumps(_clean(step.get("tool_calls", []))),
            "memory_ids_json": json.dumps(step.get("memory_ids", [])),
            "score": step.get("score"),
            "evidence_json": json.dumps(_clean(step.get("evidence", []))),
            "tests_json": json.dumps(_clean(step.get("tests"))),
            "tokens": step.get("tokens", 0),
            "judge_tokens": step.get("judge_tokens", 0),
            "elapsed_ms": step.get("elapsed_ms", 0.0),
            "created_at": _now(),
        }
        self.steps.append(row)
        if self.persistent:
            self.store.insert_step(row)
        return row

    def finish(
        self,
        *,
        status: str,
        answer: str,
        score: float | None,
        tokens_work: int,
        tokens_judge: int,
        meta: dict | None = None,
    ) -> None:
        """Close the run; ``meta`` (e.g. ``grounded_by``) is merged into the run's meta_json."""
        self.run.update(
            status=status,
            answer=_clean(answer),
            score=score,
            tokens_work=tokens_work,
            tokens_judge=tokens_judge,
            finished_at=_now(),
        )
        keys = ["status", "answer", "score", "tokens_work", "tokens_judge", "finished_at"]
        if meta:
            self.run["meta_json"] = json.dumps({**json.loads(self.run.get("meta_json") or "{}"), **meta})
            keys.append("meta_json")
        if self.persistent:
            self.store.finish_run(self.run_id, {k: self.run[k] for k in keys})
