"""PromptProposalRepo: proposed edits to a role's instructions with their suite results, on the Store's connection.

A proposal holds a role's instructions before and after, the demos (and the excluded ones, with why),
every candidate's suite results, and its history (proposed → applied → undone). The table is one of the
evaluation tables (``eval_…``): learning never reads it.
"""

from __future__ import annotations

import json
from typing import Any

from purpose_desktop.engine.errors import StoreError
from purpose_desktop.engine.store.database import new_id, now_iso

STATUSES = ("proposed", "applied", "undone", "dismissed")
_JSON = ("demos", "excluded", "candidates", "before", "after", "produced_by", "history")


def _row(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if not k.endswith("_json")}
    for key in _JSON:
        out[key] = json.loads(
            row.get(f"{key}_json") or ("{}" if key in ("before", "after", "produced_by") else "[]")
        )
    out["recommended"] = bool(out.get("recommended"))
    return out


class PromptProposalRepo:
    """Insert a proposal, read them back, and move one through its statuses (each move kept in its history)."""

    def __init__(self, store) -> None:
        self.store = store

    def add(self, proposal: dict[str, Any]) -> dict[str, Any]:
        now = now_iso()
        row = {
            "id": proposal.get("id") or new_id(),
            "created_at": now,
            "team_id": proposal["team_id"],
            "team_name": proposal.get("team_name") or "",
            "role": proposal["role"],
            "status": "proposed",
            "before_text": proposal["before_text"],
            "after_text": proposal["after_text"],
            "diff": proposal.get("diff") or "",
            "recommended": int(bool(proposal.get("recommended"))),
            "explanation": proposal.get("explanation") or "",
            "updated_at": now,
        }
        for key in _JSON:
            default: Any = {} if key in ("before", "after", "produced_by") else []
            row[f"{key}_json"] = json.dumps(proposal.get(key, default), default=str)
        row["history_json"] = json.dumps([{"at": now, "action": "proposed"}])
        with self.store._errors(), self.store.transaction("eval_prompt") as db:
            db["eval_prompt_proposals"].insert(row)
        return _row(row)

    def get(self, proposal_id: str) -> dict[str, Any]:
        """One proposal by id or unique id prefix."""
        with self.store._errors():
            rows = list(
                self.store.connection.query(
                    "SELECT * FROM eval_prompt_proposals WHERE id LIKE ? LIMIT 2", [proposal_id + "%"]
                )
            )
        if len(rows) != 1:
            raise StoreError(
                f"No prompt proposal {'matches' if not rows else 'is uniquely named by'} {proposal_id!r}.",
                "List them with `purpose-desktop team prompts TEAM` and use a longer id.",
            )
        return _row(rows[0])

    def list(self, team_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Proposals, newest first (of one team when ``team_id`` is given)."""
        sql = "SELECT * FROM eval_prompt_proposals" + (" WHERE team_id = ?" if team_id else "")
        sql += " ORDER BY created_at DESC LIMIT ?"
        with self.store._errors():
            rows = self.store.connection.query(sql, [team_id, limit] if team_id else [limit])
            return [_row(r) for r in rows]

    def set_status(self, proposal_id: str, status: str, note: str = "") -> dict[str, Any]:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}: use one of {STATUSES}")
        current = self.get(proposal_id)
        now = now_iso()
        history = [*current["history"], {"at": now, "action": status, **({"note": note} if note else {})}]
        with self.store._errors(), self.store.transaction("eval_prompt") as db:
            db["eval_prompt_proposals"].update(
                current["id"], {"status": status, "updated_at": now, "history_json": json.dumps(history)}
            )
        return self.get(current["id"])
