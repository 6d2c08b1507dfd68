"""TeamManager: saved teams (catalog, propose, save, load, delete) and running a task on one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.errors import InputError, ModelError

if TYPE_CHECKING:
    from purpose_desktop.engine.cancel import CancelToken
    from purpose_desktop.engine.core import Engine


@dataclass(frozen=True)
class TeamSummary:
    id: str
    name: str
    purpose: str
    roles: tuple[str, ...]
    updated_at: str


@dataclass(frozen=True)
class TeamCatalog:
    """Saved teams plus what a role can be made of (role templates, tools, models)."""

    teams: tuple[TeamSummary, ...]
    role_templates: dict  # role name → RoleSpec dict
    tools: tuple[str, ...]
    models: tuple[tuple[str, str], ...]  # (model id or path, label) for the per-role model picker
    mcp_tools: tuple[tuple[str, str], ...] = ()  # (mcp:server/tool, label): tools of the MCP servers set up


class TeamManager:
    """``engine.teams``: what the Team pane and ``purpose-desktop run`` ask about teams."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def catalog(self) -> TeamCatalog:
        from purpose_desktop.engine.agents.roles import known_roles, role_template
        from purpose_desktop.engine.agents.toolbox import TOOL_NAMES
        from purpose_desktop.engine.models import discover_models

        engine = self._engine
        teams = []
        for row in engine.store.list_teams():
            spec = row.get("spec") or {}
            teams.append(
                TeamSummary(
                    id=row["id"],
                    name=row["name"],
                    purpose=str(spec.get("purpose", "")),
                    roles=tuple(r.get("name", "") for r in spec.get("roles", [])),
                    updated_at=row.get("updated_at", ""),
                )
            )
        templates = {name: role_template(name).to_dict() for name in known_roles()}
        models = tuple(
            (e.id, e.display_name) for e in discover_models(added=engine.settings.added_models) if e.usable
        )
        # Models on the OpenAI-compatible servers the person added (Models → Add server…).
        models += tuple(
            (row.spec(m), f"{m} @ {row.name}") for row in engine.servers.list() for m in row.models
        )
        return TeamCatalog(tuple(teams), templates, TOOL_NAMES, models, engine.mcp.role_tools())

    def propose(self, description: str) -> dict:
        """Turn a purpose ("Help me write Python code") into a proposed team spec (not saved)."""
        from purpose_desktop.engine.agents.roles import match_rule
        from purpose_desktop.engine.agents.team import purpose

        engine = self._engine
        if not description.strip():
            raise InputError("Describe what the team is for.", 'For example: "Help me write Python code".')
        if match_rule(description) is None and engine.model is None:
            raise ModelError(
                "Choosing roles for this purpose needs the model, which is not loaded yet.",
                "Wait for the model to load, or use words like code, research, write or data.",
            )
        team = purpose(description, model=engine.model, store=engine.store)
        names = {r["name"] for r in engine.store.list_teams()}
        spec = team.spec.to_dict()
        spec["name"] = _unique_name(spec["name"], names)
        return spec

    def save(self, spec: dict) -> dict:
        """Save ``spec`` (a TeamSpec dict) under its name; same id updates, a new id adds."""
        from purpose_desktop.engine.agents.team import TeamSpec
        from purpose_desktop.engine.store import now_iso

        try:
            team = TeamSpec.from_dict(spec)
        except (ValueError, TypeError) as exc:
            raise InputError(
                f"This team cannot be saved: {exc}.", "Give every role a name; keep at least one role."
            ) from exc
        if not team.name.strip():
            raise InputError("The team needs a name.", "Type a name above the roles.")
        self._engine.store.save_team(team.id, team.name.strip(), team.to_dict(), now_iso())
        saved = team.to_dict()
        saved["contract_state"] = self.record_contract(team)
        return saved

    def contract(self, spec: dict) -> dict:
        """The team's contract as the Team pane shows it: its text (the default when none was written) and state."""
        from purpose_desktop.engine.agents.contract import contract_text, current_contract
        from purpose_desktop.engine.agents.team import TeamSpec

        team = TeamSpec.from_dict(spec)
        current = current_contract(self._engine.store, team.id)
        text = current.text if current is not None else (team.contract or contract_text(team))
        state = {"status": "promoted", "memory_id": current.id} if current is not None else {"status": "unsaved"}
        return {"text": text, "default": contract_text(team), **state}

    def record_contract(self, team) -> dict:
        """Record ``team``'s contract (scanned; promoted by the person's save). Never fails the save itself:
        a blocked contract is reported, stored rejected, and kept out of every prompt."""
        from purpose_desktop.engine.agents.contract import record_contract

        result = record_contract(self._engine.store, team)
        m = result.memory
        state = {"status": m.status, "memory_id": m.id, "outcome": result.outcome, "text": m.text}
        if result.blocked:
            state["reason"] = m.status_reason
        return state

    def load(self, name_or_id: str) -> dict:
        from purpose_desktop.engine.agents.team import TeamSpec

        return TeamSpec.from_dict(self._engine.store.load_team(name_or_id)).to_dict()

    def delete(self, team_id: str) -> str:
        self._engine.store.delete_team(team_id)
        return team_id

    def run(
        self,
        spec: dict,
        task: str,
        *,
        tests: str | None = None,
        mode: str = "train",
        cancel: CancelToken | None = None,
        on_event: Callable[[Any], None] | None = None,
        approve_tool: Callable | None = None,
    ):
        """Run ``task`` on the team ``spec`` with the loaded model; returns the RunResult.

        ``approve_tool(ToolCallAsk, cancel) -> "allow" | "always" | "deny"`` puts each MCP tool call not
        marked "always allow" to the person; without it such calls do not run.
        """
        from purpose_desktop.engine.agents.team import Team, TeamSpec

        engine = self._engine
        if engine.model is None:
            raise ModelError(
                "No model is loaded yet.", "Wait for the model to finish loading, or pick one in Models."
            )
        if not task.strip():
            raise InputError("The task is empty.", "Describe what the team should do, then press Run.")
        from purpose_desktop.engine.models.backends import release_thread_models

        team = Team(
            TeamSpec.from_dict(spec),
            model=engine.model,
            store=engine.store,
            workspace=engine.workspace.current,
            memory_policy=engine.memories.policy(),  # auto-promotion and the learning methods the person chose
            critic=engine.memories.critic(engine.model),
        )
        team.mcp = engine.mcp.access(approve_tool)
        try:
            return team.run(task, tests=tests or None, mode=mode, cancel=cancel, on_event=on_event)
        finally:
            # Per-role models were loaded for this run: free them now, not at quit (the chat model stays).
            release_thread_models(keep=(engine.model, engine.raw_model))


def _unique_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name} {n}" in taken:
        n += 1
    return f"{name} {n}"
