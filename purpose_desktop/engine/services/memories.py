"""MemoryManager: review what the app learned (list, show, decide, undo, edit, teach) and re-test it by replay."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.errors import InputError, ModelError
from purpose_desktop.engine.memory.records import KINDS as MEMORY_KINDS

__all__ = ["MEMORY_KINDS", "MemoryDecision", "MemoryList", "MemoryManager"]

if TYPE_CHECKING:
    from purpose_desktop.engine.cancel import CancelToken
    from purpose_desktop.engine.core import Engine

#: The team a re-test replays with when none is named (the GUI's and the CLI's default).
DEFAULT_PURPOSE = "Help me write Python code"
#: ``retest(model=LOADED)``: replay on the Engine's loaded model (ModelError while none is loaded).
LOADED: Any = object()


@dataclass(frozen=True)
class MemoryList:
    memories: tuple  # Memory objects (frozen engine dataclasses)
    counts: dict  # status → count


@dataclass(frozen=True)
class MemoryDecision:
    """What a decision did: the memories as they now are, and how to undo it."""

    action: str
    memories: tuple
    previous: tuple[tuple[str, str], ...]  # (memory id, status before)
    failed: tuple[tuple[str, str], ...] = ()  # (memory id, why)


class MemoryManager:
    """``engine.memories``: the Memory pane's and ``purpose-desktop memory``'s one way into the MemoryBank."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def policy(self):
        """The person's memory policy from the settings: auto-promotion and the learning methods turned off."""
        from purpose_desktop.engine.memory.records import MemoryPolicy

        settings = self._engine.settings
        return MemoryPolicy(
            auto_promote=settings.auto_promote, methods_off=frozenset(settings.learning_methods_off)
        )

    def critic(self, model):
        """The critic for a team run with ``model`` as its judge, calibrated unless the person turned the
        "critic_calibration" method off."""
        from purpose_desktop.engine.critic import PurposeFunction
        from purpose_desktop.engine.models.backends import resolve_backend

        return PurposeFunction(resolve_backend(model), calibrated=self.policy().uses("critic_calibration"))

    def bank(self, store=None):
        """A MemoryBank on the engine's store (or ``store``: the replay thread's own connection to the same
        file) with the person's policy (``policy``)."""
        from purpose_desktop.engine.memory.api import MemoryBank

        return MemoryBank(store or self._engine.store, self.policy())

    def list(
        self, *, status: str | None = None, kind: str | None = None, limit: int | None = None
    ) -> MemoryList:
        """Memories (every one by default) plus counts by status."""
        memories = tuple(self.bank().list(status=status, kind=kind, limit=limit))
        counts: dict[str, int] = {}
        for m in memories:
            counts[m.status] = counts.get(m.status, 0) + 1
        return MemoryList(memories, counts)

    def show(self, memory_id: str) -> dict:
        """One memory with history, evidence runs, credits and (``run_tasks``) its runs' tasks."""
        detail = self.bank().show(memory_id)
        runs = {p.get("run_id") for p in detail.get("provenance", []) if p.get("run_id")}
        tasks = {}
        for run_id in runs:
            try:
                tasks[run_id] = self._engine.store.get_run(run_id).get("task", "")
            except Exception:
                tasks[run_id] = ""
        detail["run_tasks"] = tasks
        return detail

    def decide(self, memory_ids, action: str, reason: str = "") -> MemoryDecision:
        """``action`` ("approve" | "reject" | "archive" | "restore") on each of ``memory_ids``, with ``reason``."""
        memory_ids = tuple(memory_ids)
        bank = self.bank()
        done, previous, failed = [], [], []
        for mid in memory_ids:
            try:
                before = bank.get(mid)
                replaced: list[tuple[str, str]] = []
                if action == "approve":
                    replaced = _statuses(bank, _evolved_from(before))
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
                    raise InputError(
                        f"Unknown decision {action!r}.", "Use approve, reject, archive or restore."
                    )
            except InputError as exc:
                if len(memory_ids) == 1:
                    raise
                failed.append((mid, exc.message))
                continue
            done.append(after)
            previous.append((before.id, before.status))
            # an approved merge/split archived the lessons it replaces: one Undo brings them back too
            previous += [(rid, st) for rid, st in replaced if bank.get(rid).status != st]
        return MemoryDecision(action, tuple(done), tuple(previous), tuple(failed))

    def undo(self, previous) -> MemoryDecision:
        """Reverse the person's last decision on each memory of ``previous`` ((id, status before) pairs)."""
        bank = self.bank()
        done, back = [], []
        for mid, _status in previous:
            before = bank.get(mid)
            done.append(bank.undo(mid))
            back.append((mid, before.status))
        return MemoryDecision("undo", tuple(done), tuple(back))

    def evolve(self, *, model: Any = LOADED, limit: int = 3) -> list:
        """Propose merges of near-duplicate lessons, splits of lessons that help one kind of task and hurt
        another, and retirements of lessons whose utility keeps falling — each lands in review (a list of
        ``learning.evolution.Proposal``). ``model``: LOADED (the engine's, when one is loaded) writes merged
        lessons; None joins them."""
        from purpose_desktop.engine.learning.evolution import evolve

        if model is LOADED:
            model = self._engine.model
        return evolve(self.bank(), model=model, limit=limit)

    def edit(
        self, memory_id: str, text: str, reason: str = "", *, scope: dict | None = None, kind: str | None = None
    ):
        """New text (and, when given, a new scope or kind): scanned again and back to review."""
        return self.bank().edit(memory_id, text, reason=reason, scope=_scope(scope), kind=kind)

    def overrule(self, memory_id: str, reason: str):
        """The scan was wrong about this memory: allow-list its findings and send it back to review."""
        return self.bank().overrule(memory_id, reason=reason)

    def allowlist(self, limit: int = 500) -> list[dict]:
        """Findings the person overruled, newest first (the scan reports them as allowed), each with a
        ``description`` a person reads ("Lessons in Welsh …")."""
        from purpose_desktop.engine.immune.allow import describe_entry
        from purpose_desktop.engine.store.allowlist import list_entries

        return [{**e, "description": describe_entry(e)} for e in list_entries(self._engine.store, limit)]

    def disallow(self, entry_id: str) -> dict:
        """Take an overruled finding off the allow-list: later scans block it again (memories it already
        let through stay where they are). Returns the removed entry."""
        from purpose_desktop.engine.immune.allow import describe_entry
        from purpose_desktop.engine.store.allowlist import remove_entry

        entry = remove_entry(self._engine.store, entry_id)
        if entry is None:
            raise InputError(f"No allow-list entry {entry_id!r}.", "It was removed already; refresh the list.")
        return {**entry, "description": describe_entry(entry)}

    def teach(self, text: str, kind: str = "user_preference", scope: dict | None = None):
        """The person's own lesson ("Always add type hints"): scanned, then promoted (a SubmitResult).

        ``scope`` may name a ``project`` besides ``roles``, ``tools`` and ``tags``.
        """
        return self.bank().teach(text, kind=kind, scope=_scope(scope))

    def export(self, path, *, statuses=None) -> int:
        """Write every memory to ``path`` as JSONL (text, kind, scope, provenance, evidence, history)."""
        from purpose_desktop.engine.services.memory_transfer import export_memories

        return export_memories(self._engine, path, statuses=statuses)

    def import_file(self, path):
        """Import a JSONL export: scanned, every clean line quarantined; an ImportReport says line by line."""
        from purpose_desktop.engine.services.memory_transfer import import_memories

        return import_memories(self._engine, path)

    def retest(
        self,
        memory_id: str,
        *,
        team: str | None = None,
        purpose: str | None = None,
        model: Any = LOADED,
        n: int | None = None,
        progress: Callable[[Any], None] | None = None,
        cancel: CancelToken | None = None,
        store=None,
    ):
        """Replay A/B test now with the saved ``team`` (name or id), the team ``purpose`` builds, or — when
        neither is named — the team whose run produced the memory (the default coding team if none was recorded).

        ``store``: the connection to use (the replay thread passes its own; default the engine's).
        ``model``: LOADED (the Engine's model; ModelError while none is loaded) or a model spec / object
        for the team (None: the team's default). Returns the ReplayEvidence (status "cancelled" when stopped).
        """
        from purpose_desktop.engine.learning.replay import retest

        arm = self.replay_arm(team=team, purpose=purpose, model=model, memory_id=memory_id, store=store)
        kwargs: dict[str, Any] = {"progress": progress, "cancel": cancel}
        if n is not None:
            kwargs["n"] = n
        from purpose_desktop.engine.models.backends import release_thread_models

        try:
            return retest(self.bank(store), memory_id, arm, **kwargs)
        finally:
            # the replayed team's per-role models, cached on this (the replay) thread
            release_thread_models(keep=(self._engine.model, self._engine.raw_model))

    def replay_arm(
        self,
        *,
        team: str | None = None,
        purpose: str | None = None,
        model: Any = LOADED,
        memory_id: str | None = None,
        store=None,
    ):
        """The runner a re-test replays past tasks with (the one place the replay arm is built): the named
        ``team``, else the team ``purpose`` builds, else the team that produced ``memory_id``, else the default."""
        from purpose_desktop.engine.agents.replay_arms import replay_arm, replay_arm_for_memory
        from purpose_desktop.engine.agents.team import Team

        engine = self._engine
        store = store or engine.store
        if model is LOADED:
            model = engine.model
            if model is None:
                raise ModelError(
                    "Re-testing runs past tasks on the model, which is not loaded yet.",
                    "Wait for it to load.",
                )
        if team:
            return replay_arm(store, model=model, team=Team.load(team, store=store, model=model))
        if purpose is None and memory_id is not None:
            return replay_arm_for_memory(store, memory_id, model=model)
        return replay_arm(store, model=model, purpose=purpose or DEFAULT_PURPOSE)


def _evolved_from(m) -> list[str]:
    """The lessons a proposed merge or split was made from (what approving it replaces)."""
    return [
        old_id
        for p in m.provenance
        if p.get("source") == "evolution" and p.get("action") in ("merge", "split")
        for old_id in p.get("of") or []
    ]


def _statuses(bank, ids) -> list[tuple[str, str]]:
    out = []
    for mid in ids:
        try:
            out.append((mid, bank.get(mid).status))
        except Exception:  # gone: nothing to bring back
            continue
    return out


def _scope(scope: dict | None):
    """A Scope from the GUI's or CLI's dict (``roles``, ``tools``, ``tags``, ``project``)."""
    from purpose_desktop.engine.memory.records import Scope

    if scope is None:
        return None
    if not isinstance(scope, dict):
        raise InputError("A scope must name roles, tools or a project.", "Leave it empty to apply everywhere.")
    return Scope.build(scope.get("roles") or (), scope.get("tools") or (), scope.get("project"), scope.get("tags") or ())
