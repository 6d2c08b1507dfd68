"""Store methods for traces (runs, steps) and saved teams; mixed into Store, same connection."""

from __future__ import annotations

import json
from typing import Any

from purpose_desktop.engine.errors import StoreError

_RUN_FIELDS = ("status", "answer", "score", "tokens_work", "tokens_judge", "finished_at", "meta_json")


def _with_grounding(run: dict[str, Any]) -> dict[str, Any]:
    """Lift ``grounded_by`` (kept in the run's meta) onto the run and each step; None when not recorded."""
    meta = run.get("meta") or {}
    run["grounded_by"] = meta.get("grounded_by")
    per_step = meta.get("steps_grounded_by") or []
    for step in run.get("steps") or []:
        seq = step.get("seq", -1)
        step["grounded_by"] = per_step[seq] if 0 <= seq < len(per_step) else None
    return run


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if key.endswith("_json"):
            out[key[:-5]] = json.loads(value) if value else None
        else:
            out[key] = value
    return out


class RunsMixin:
    """Runs and steps are "trace" writes; teams are "chat"-level user data (always allowed in train)."""

    # -- traces ---------------------------------------------------------------------------------
    def insert_run(self, row: dict[str, Any]) -> None:
        with self._errors(), self.transaction("trace") as db:
            db["runs"].insert(row)

    def insert_step(self, row: dict[str, Any]) -> None:
        with self._errors(), self.transaction("trace") as db:
            db["steps"].insert(row)

    def finish_run(self, run_id: str, fields: dict[str, Any]) -> None:
        unknown = set(fields) - set(_RUN_FIELDS)
        if unknown:
            raise ValueError(f"not run fields: {sorted(unknown)}")
        with self._errors(), self.transaction("trace") as db:
            db["runs"].update(run_id, fields)

    def list_runs(self, limit: int = 100, team: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM runs" + (" WHERE team = ?" if team else "") + " ORDER BY started_at DESC LIMIT ?"
        params = [team, limit] if team else [limit]
        with self._errors():
            return [_with_grounding(_decode(r)) for r in self.connection.query(sql, params)]

    def get_run(self, run_id: str) -> dict[str, Any]:
        """A run with its steps, oldest first; ``run_id`` may be a unique prefix."""
        with self._errors():
            rows = list(self.connection.query("SELECT * FROM runs WHERE id LIKE ? LIMIT 2", [run_id + "%"]))
            if len(rows) != 1:
                raise StoreError(
                    f"No run {'matches' if not rows else 'is uniquely named by'} {run_id!r}.",
                    "List runs with `purpose-desktop runs list` and use a longer id.",
                )
            run = _decode(rows[0])
            run["steps"] = [
                _decode(s) for s in self.connection.query("SELECT * FROM steps WHERE run_id = ? ORDER BY seq", [run["id"]])
            ]
            return _with_grounding(run)

    # -- teams ----------------------------------------------------------------------------------
    def save_team(self, team_id: str, name: str, spec: dict[str, Any], now: str) -> None:
        with self._errors(), self.transaction("chat") as db:
            existing = db.execute("SELECT created_at FROM teams WHERE id = ?", [team_id]).fetchone()
            clash = db.execute("SELECT id FROM teams WHERE name = ? AND id != ?", [name, team_id]).fetchone()
            if clash:
                raise StoreError(f"A team named {name!r} already exists.", "Pick another name, or load and edit that team.")
            db["teams"].upsert(
                {
                    "id": team_id,
                    "name": name,
                    "spec_json": json.dumps(spec),
                    "created_at": existing[0] if existing else now,
                    "updated_at": now,
                },
                pk="id",
            )

    def list_teams(self) -> list[dict[str, Any]]:
        with self._errors():
            return [_decode(r) for r in self.connection.query("SELECT * FROM teams ORDER BY updated_at DESC")]

    def load_team(self, name_or_id: str) -> dict[str, Any]:
        with self._errors():
            rows = list(self.connection.query("SELECT * FROM teams WHERE id = ? OR name = ?", [name_or_id, name_or_id]))
        if not rows:
            raise StoreError(f"No saved team named {name_or_id!r}.", "Save the team first, or check the name.")
        return _decode(rows[0])["spec"]

    def delete_team(self, name_or_id: str) -> None:
        with self._errors(), self.transaction("chat") as db:
            db.execute("DELETE FROM teams WHERE id = ? OR name = ?", [name_or_id, name_or_id])
