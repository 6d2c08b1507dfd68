"""What the engine thread does for the panes (models, settings, teams, runs, memory): plain Python, no Qt.

EngineWorker's slots call these with the Engine it owns and send the results back as facts; keeping
them here keeps bridge.py about threads and signals, and lets tests call them without a window.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

from purpose_desktop.engine import paths
from purpose_desktop.engine.agents.toolbox import TOOL_NAMES
from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.errors import InputError, ModelError
from purpose_desktop.engine.models.fit import estimate_ram, gpu_offload_available, memory_info
from purpose_desktop.engine.settings import FIELD_NAMES, save_settings
from purpose_desktop.ui.bridge_types import (
    MemoryDecision,
    MemoryList,
    ModelRow,
    ModelsReport,
    PrivacyReport,
    Protection,
    SettingsSnapshot,
    TeamCatalog,
    TeamSummary,
)

log = logging.getLogger(__name__)


# -- models ----------------------------------------------------------------------------------------
def scan_models(engine: Engine, added_id: str | None = None) -> ModelsReport:
    from purpose_desktop.engine.models import discover_models

    s = engine.settings
    rows = []
    for entry in discover_models(added=s.added_models):
        info = entry.info
        ram, ctx = estimate_ram(info, s.n_ctx) if info is not None else (None, None)
        rows.append(
            ModelRow(
                id=entry.id,
                path=str(entry.path),
                source=entry.source,
                name=entry.display_name,
                architecture=getattr(info, "architecture", None),
                size_label=getattr(info, "size_label", None),
                quantization=getattr(info, "quantization", None),
                context_length=getattr(info, "context_length", None),
                file_size=int(getattr(info, "file_size", 0) or _size(entry.path)),
                n_params=getattr(info, "n_params", None),
                has_chat_template=bool(getattr(info, "has_chat_template", True)),
                ram_bytes=ram,
                ram_context=ctx,
                error=entry.error,
            )
        )
    total, available = memory_info()
    return ModelsReport(
        models=tuple(rows),
        active_spec=s.model,
        added=tuple(s.added_models),
        n_ctx=s.n_ctx,
        n_threads=s.n_threads,
        n_gpu_layers=s.n_gpu_layers,
        gpu_offload=gpu_offload_available(),
        total_ram=total,
        available_ram=available,
        cpu_count=os.cpu_count(),
        added_id=added_id,
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def add_model(engine: Engine, path: str) -> ModelsReport:
    """Check ``path`` is a usable GGUF, remember it, and report (``added_id`` names it)."""
    from purpose_desktop.engine.models import read_gguf_info

    p = Path(path).expanduser()
    if p.is_dir():
        raise InputError(f"{p.name} is a folder.", "Pick a .gguf file inside it.")
    read_gguf_info(p)  # raises ModelError with a plain message for non-GGUF, truncated, unsupported
    real = str(p.resolve())
    if real not in engine.settings.added_models:
        update_settings(engine, {"added_models": (*engine.settings.added_models, real)})
    report = scan_models(engine)
    added = next((m.id for m in report.models if Path(m.path).resolve() == Path(real)), None)
    return dataclasses.replace(report, added_id=added)


def forget_model(engine: Engine, path: str) -> ModelsReport:
    real = str(Path(path).expanduser().resolve())
    kept = tuple(p for p in engine.settings.added_models if str(Path(p).expanduser().resolve()) != real)
    changes: dict[str, Any] = {"added_models": kept}
    if engine.settings.model and str(Path(engine.settings.model).expanduser().resolve()) == real:
        changes["model"] = None
    update_settings(engine, changes)
    return scan_models(engine)


# -- settings --------------------------------------------------------------------------------------
def update_settings(engine: Engine, changes: dict[str, Any]) -> None:
    """Validate, save atomically, then use: a bad value raises InputError and changes nothing."""
    if changes:
        new = engine.settings.with_changes(**changes)
        save_settings(new)
        engine.settings = new


def settings_snapshot(engine: Engine) -> SettingsSnapshot:
    return SettingsSnapshot(
        settings=engine.settings.to_dict(),
        data_dir=str(paths.data_dir()),
        database=str(paths.db_path()),
        log_dir=str(paths.log_dir()),
        fields=FIELD_NAMES,
    )


def privacy_report() -> PrivacyReport:
    try:
        from purpose_desktop.engine.tools.sandbox import protections, select_backend

        backend = select_backend()
        found = protections()
    except Exception as exc:  # the panel says what it could not check rather than failing
        log.warning("sandbox probe failed: %s", exc)
        return PrivacyReport((), "", f"The sandbox could not be checked: {exc}")
    rows = tuple(Protection(name, bool(p.get("active")), str(p.get("how", ""))) for name, p in found.items())
    return PrivacyReport(rows, backend)


# -- teams -----------------------------------------------------------------------------------------


def team_catalog(engine: Engine) -> TeamCatalog:
    from purpose_desktop.engine.agents.roles import known_roles, role_template
    from purpose_desktop.engine.models import discover_models

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
    return TeamCatalog(tuple(teams), templates, TOOL_NAMES, models)


def propose_team(engine: Engine, description: str) -> dict:
    from purpose_desktop.engine.agents.roles import match_rule
    from purpose_desktop.engine.agents.team import purpose

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


def _unique_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name} {n}" in taken:
        n += 1
    return f"{name} {n}"


def save_team(engine: Engine, spec: dict) -> dict:
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
    engine.store.save_team(team.id, team.name.strip(), team.to_dict(), now_iso())
    return team.to_dict()


def load_team(engine: Engine, name_or_id: str) -> dict:
    from purpose_desktop.engine.agents.team import TeamSpec

    return TeamSpec.from_dict(engine.store.load_team(name_or_id)).to_dict()


# -- runs ------------------------------------------------------------------------------------------
def load_run(engine: Engine, run_id: str) -> dict:
    """A run with its steps, each step's memories (id, kind, text) and the vault passages it cited."""
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
        step["citations"] = _citations(engine, step.get("tool_calls") or [])
    return run


_CITATION = re.compile(r"^\[(.+?):(\d+)-(\d+)\]", re.MULTILINE)


def _citations(engine: Engine, tool_calls: list[dict]) -> list[dict]:
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
                {"citation": f"{rel}:{first}-{last}", "rel_path": rel, "start_line": first, "end_line": last},
            )
    for item in out.values():
        try:
            row = (
                engine.store._db()
                .execute(
                    "SELECT path FROM vault_files WHERE rel_path = ? ORDER BY indexed_at DESC LIMIT 1",
                    [item["rel_path"]],
                )
                .fetchone()
            )
        except sqlite3.Error:  # an older database without vault tables: the citation stays text
            row = None
        item["path"] = row[0] if row else ""
    return list(out.values())


# -- memory ----------------------------------------------------------------------------------------
def memory_bank(engine: Engine):
    from purpose_desktop.engine.memory.api import MemoryBank
    from purpose_desktop.engine.memory.records import MemoryPolicy

    auto = engine.settings.auto_promote
    return MemoryBank(engine.store, MemoryPolicy(auto_promote=auto))


def list_memories(engine: Engine) -> MemoryList:
    bank = memory_bank(engine)
    memories = tuple(bank.list())
    counts: dict[str, int] = {}
    for m in memories:
        counts[m.status] = counts.get(m.status, 0) + 1
    return MemoryList(memories, counts)


def show_memory(engine: Engine, memory_id: str) -> dict:
    detail = memory_bank(engine).show(memory_id)
    runs = {p.get("run_id") for p in detail.get("provenance", []) if p.get("run_id")}
    tasks = {}
    for run_id in runs:
        try:
            run = engine.store.get_run(run_id)
            tasks[run_id] = run.get("task", "")
        except Exception:
            tasks[run_id] = ""
    detail["run_tasks"] = tasks
    return detail


def decide(engine: Engine, memory_ids: tuple[str, ...], action: str, reason: str) -> MemoryDecision:
    bank = memory_bank(engine)
    done, previous, failed = [], [], []
    for mid in memory_ids:
        try:
            before = bank.get(mid)
            if action == "approve":
                after = bank.approve(mid, reason=reason)
            elif action == "reject":
                after = bank.reject(mid, reason=reason)
            elif action == "archive":
                after = bank.archive(mid, reason=reason)
            elif action == "restore":
                after = bank.repo.transition(
                    before.id,
                    "quarantined",
                    actor="user",
                    action="restored",
                    reason=reason or "back to review",
                )
            else:
                raise InputError(f"Unknown decision {action!r}.", "Use approve, reject, archive or restore.")
        except InputError as exc:
            if len(memory_ids) == 1:
                raise
            failed.append((mid, exc.message))
            continue
        done.append(after)
        previous.append((before.id, before.status))
    return MemoryDecision(action, tuple(done), tuple(previous), tuple(failed))


def undo_decision(engine: Engine, previous: tuple[tuple[str, str], ...], undoing: str) -> MemoryDecision:
    """Move each memory back to its status before the last decision (recorded in its history as undone)."""
    bank = memory_bank(engine)
    done, back = [], []
    for mid, _status in previous:
        before = bank.get(mid)
        done.append(bank.undo(mid))
        back.append((mid, before.status))
    return MemoryDecision("undo", tuple(done), tuple(back))


def teach(engine: Engine, text: str, kind: str):
    return memory_bank(engine).teach(text, kind=kind)


def run_arm(engine: Engine):
    """The replay runner for re-tests: the engine's, when this build has one (see the module docstring)."""
    from purpose_desktop.engine.memory import replay

    if engine.model is None:
        raise ModelError(
            "Re-testing runs past tasks on the model, which is not loaded yet.", "Wait for it to load."
        )
    return replay.team_run_arm(engine.store, model=engine.model)


def edit_memory(engine: Engine, memory_id: str, text: str, reason: str):
    return memory_bank(engine).edit(memory_id, text, reason=reason)


def retest_memory(engine: Engine, memory_id: str, progress, cancel):
    return memory_bank(engine).retest(memory_id, run_arm(engine), progress=progress, cancel=cancel)
