"""RunHistory: past team runs, each step with the memories it used and the Vault passages it cited."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from purpose_desktop.engine.core import Engine

log = logging.getLogger(__name__)

_CITATION = re.compile(r"^\[(.+?):(\d+)-(\d+)\]", re.MULTILINE)


class RunHistory:
    """``engine.runs``: what the Runs pane and ``purpose-desktop runs`` show."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def list(self, limit: int = 500, team: str | None = None) -> list[dict[str, Any]]:
        """Past runs, newest first."""
        return self._engine.store.list_runs(limit=limit, team=team)

    def load(self, run_id: str) -> dict:
        """A run with its steps, each step's memories (id, kind, text) and the vault passages it cited."""
        engine = self._engine
        run = engine.store.get_run(run_id)
        ids = [mid for s in run["steps"] for mid in (s.get("memory_ids") or [])]
        memories: dict[str, dict] = {}
        if ids:
            try:
                from purpose_desktop.engine.memory.repo import MemoryRepo

                for m in MemoryRepo(engine.store).get_many(ids):
                    memories[m.id] = {"id": m.id, "kind": m.kind, "text": m.text, "status": m.status}
            except Exception:  # an older database without memories: show ids only
                log.exception("looking up a run's memories failed")
        for step in run["steps"]:
            step["memories"] = [
                memories.get(mid, {"id": mid, "kind": "", "text": "", "status": "gone"})
                for mid in step.get("memory_ids") or []
            ]
            step["citations"] = self._citations(step.get("tool_calls") or [])
        return run

    def _citations(self, tool_calls: list[dict]) -> list[dict]:
        """Vault passages a step saw, from its vault_search calls ("[rel_path:1-20] snippet" lines), each
        with the file's path where the vault still has it (so the Runs pane can open it at those lines)."""
        out: dict[str, dict] = {}
        for call in tool_calls:
            if call.get("tool") != "vault_search":
                continue
            for m in _CITATION.finditer(str(call.get("output", ""))):
                rel, first, last = m.group(1), int(m.group(2)), int(m.group(3))
                out.setdefault(
                    f"{rel}:{first}-{last}",
                    {
                        "citation": f"{rel}:{first}-{last}",
                        "rel_path": rel,
                        "start_line": first,
                        "end_line": last,
                    },
                )
        if out:
            from purpose_desktop.engine.vault.vault import file_path

            for item in out.values():
                item["path"] = file_path(self._engine.store, item["rel_path"])
        return list(out.values())
