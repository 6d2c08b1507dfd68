"""Replay arms built from a team: a given team, the team a purpose picks, or the team that produced a memory."""

from __future__ import annotations

import os

from purpose_desktop.engine.agents.team import Team, TeamSpec, purpose
from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.learning.replay import RunArm
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.memory.records import Memory, MemoryPolicy

DEFAULT_REPLAY_PURPOSE = "Help me write Python code"
_team_for = purpose  # replay_arm's ``purpose`` parameter shadows the builder


def replay_arm(
    store,
    *,
    model=None,
    team: Team | None = None,
    purpose: str = DEFAULT_REPLAY_PURPOSE,
    policy: MemoryPolicy | None = None,
) -> RunArm:
    """The replay runner the app uses: ``team`` (or the team ``purpose`` picks) on ``model``, in validation mode."""
    team = team or _team_for(purpose, model=model, store=store)
    if policy is not None:
        team.memory_policy = policy
    return team.replay_runner(store)


def originating_team(store, memory: Memory | str, *, model=None) -> Team | None:
    """The team whose run produced ``memory`` (its first provenance run that recorded a team spec), or None.

    Runs record their TeamSpec in ``meta["team_spec"]``; a taught lesson, a memory from an
    orchestrated run, or one from before runs recorded it has none.
    """
    if isinstance(memory, str):
        memory = MemoryBank(store).get(memory)
    for p in memory.provenance:
        run_id = p.get("run_id") if isinstance(p, dict) else None
        if not run_id:
            continue
        try:
            run = store.get_run(run_id)
        except PurposeError:  # the run was deleted, or the id is not unique any more
            continue
        meta = run.get("meta") or {}
        spec = meta.get("team_spec") if isinstance(meta, dict) else None
        if isinstance(spec, dict):
            folder = meta.get("workspace")  # a project run replays in its project, when the folder still exists
            workspace = folder if isinstance(folder, str) and os.path.isdir(folder) else None
            try:
                return Team(TeamSpec.from_dict(spec), model=model, store=store, workspace=workspace)
            except (TypeError, ValueError):  # a spec this version cannot read: fall back
                continue
    return None


def replay_arm_for_memory(
    store, memory: Memory | str, *, model=None, policy: MemoryPolicy | None = None
) -> RunArm:
    """The replay runner for re-testing ``memory``: the team that produced it, else the default team.

    The one path for re-tests from the GUI and from ``purpose-desktop memory retest`` (without --team
    or --purpose).
    """
    return replay_arm(store, model=model, team=originating_team(store, memory, model=model), policy=policy)
