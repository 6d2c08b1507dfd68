"""EvalRepo: the evaluation suite's tasks and the append-only evaluation log, on the Store's connection.

Learning (credit, replay, distillation, promotion) never reads these tables: an evaluation's numbers
measure learning, they must not feed it.
"""

from __future__ import annotations

import json
from typing import Any

from purpose_desktop.engine.errors import InputError, StoreError
from purpose_desktop.engine.store.database import new_id, now_iso

SOURCES = ("added", "kept", "imported")


def _task_row(row: dict[str, Any]) -> dict[str, Any]:
    return dict(row)


def _log_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if not k.endswith("_json")}
    out["promoted"] = json.loads(row.get("promoted_json") or "[]")
    out["results"] = json.loads(row.get("results_json") or "[]")
    return out


class EvalRepo:
    """Suite tasks (``eval_suite`` writes) and evaluations (``eval_log`` writes, insert only)."""

    def __init__(self, store) -> None:
        self.store = store

    # -- suite ----------------------------------------------------------------------------------
    def tasks(self) -> list[dict[str, Any]]:
        with self.store._errors():
            rows = self.store.connection.query("SELECT * FROM eval_suite_tasks ORDER BY created_at, name")
            return [_task_row(r) for r in rows]

    def task(self, name_or_id: str) -> dict[str, Any]:
        with self.store._errors():
            rows = list(
                self.store.connection.query(
                    "SELECT * FROM eval_suite_tasks WHERE id = ? OR name = ?", [name_or_id, name_or_id]
                )
            )
        if not rows:
            raise StoreError(
                f"The evaluation suite has no task {name_or_id!r}.",
                "List the suite with `purpose-desktop eval list`.",
            )
        return _task_row(rows[0])

    def add_task(self, *, name: str, task: str, tests: str, source: str = "added", origin: str = "") -> dict:
        """Add a task to the suite, or replace the task of the same name (its tests were edited)."""
        name, task, tests = name.strip(), task.strip(), tests.strip()
        if not name:
            raise InputError(
                "The suite task needs a name.", "Give it a short name, e.g. the function's name."
            )
        if not task:
            raise InputError(f"The suite task {name!r} has no task text.", "Say what the code must do.")
        if not tests:
            raise InputError(
                f"The suite task {name!r} has no tests.",
                "An evaluation counts a task as passed only when its tests pass; add at least one test.",
            )
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}: use one of {SOURCES}")
        now = now_iso()
        with self.store._errors(), self.store.transaction("eval_suite") as db:
            existing = db.execute(
                "SELECT id, created_at FROM eval_suite_tasks WHERE name = ?", [name]
            ).fetchone()
            row = {
                "id": existing[0] if existing else new_id(),
                "name": name,
                "task": task,
                "tests": tests + "\n",
                "source": source,
                "origin": origin,
                "created_at": existing[1] if existing else now,
                "updated_at": now,
            }
            db["eval_suite_tasks"].upsert(row, pk="id")
        return row

    def remove_task(self, name_or_id: str) -> dict:
        row = self.task(name_or_id)
        with self.store._errors(), self.store.transaction("eval_suite") as db:
            db.execute("DELETE FROM eval_suite_tasks WHERE id = ?", [row["id"]])
        return row

    # -- log ------------------------------------------------------------------------------------
    def append(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Record one finished evaluation (the table refuses any later change)."""
        row = {
            "id": entry.get("id") or new_id(),
            "started_at": entry["started_at"],
            "finished_at": entry.get("finished_at") or now_iso(),
            "status": entry["status"],
            "model": entry.get("model") or "",
            "team": entry.get("team") or "",
            "n_tasks": int(entry["n_tasks"]),
            "n_passed": int(entry["n_passed"]),
            "n_grounded": int(entry["n_grounded"]),
            "pass_rate": entry.get("pass_rate"),
            "promoted_json": json.dumps(entry.get("promoted") or []),
            "results_json": json.dumps(entry.get("results") or []),
        }
        with self.store._errors(), self.store.transaction("eval_log") as db:
            db["eval_log"].insert(row)
        return _log_row(row)

    def evaluations(self, limit: int = 500) -> list[dict[str, Any]]:
        """Evaluations, oldest first (the learning curve's order)."""
        with self.store._errors():
            rows = self.store.connection.query(
                "SELECT * FROM (SELECT * FROM eval_log ORDER BY started_at DESC LIMIT ?) ORDER BY started_at",
                [limit],
            )
            return [_log_row(r) for r in rows]

    def evaluation(self, eval_id: str) -> dict[str, Any]:
        """One evaluation; ``eval_id`` may be a unique prefix."""
        with self.store._errors():
            rows = list(
                self.store.connection.query("SELECT * FROM eval_log WHERE id LIKE ? LIMIT 2", [eval_id + "%"])
            )
        if len(rows) != 1:
            raise StoreError(
                f"No evaluation {'matches' if not rows else 'is uniquely named by'} {eval_id!r}.",
                "List evaluations with `purpose-desktop eval show` (no id: the latest) or use a longer id.",
            )
        return _log_row(rows[0])
