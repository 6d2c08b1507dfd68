"""MemoryManager: review what the app learned (list, show, decide, undo, edit, teach) and re-test it by replay."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.errors import InputError, ModelError

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

    def bank(self):
        """A MemoryBank on the engine's store with the person's policy (auto-promotion from the settings)."""
        from purpose_desktop.engine.memory.api import MemoryBank
        from purpose_desktop.engine.memory.records import MemoryPolicy

        return MemoryBank(self._engine.store, MemoryPolicy(auto_promote=self._engine.settings.auto_promote))

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

    def edit(self, memory_id: str, text: str, reason: str = ""):
        """New text: scanned again and back to review."""
        return self.bank().edit(memory_id, text, reason=reason)

    def teach(self, text: str, kind: str = "user_preference", scope: dict | None = None):
        """The person's own lesson ("Always add type hints"): scanned, then promoted (a SubmitResult)."""
        return self.bank().teach(text, kind=kind, scope=scope)

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
    ):
        """Replay A/B test now with the saved ``team`` (name or id), the team ``purpose`` builds, or — when
        neither is named — the team whose run produced the memory (the default coding team if none was recorded).

        ``model``: LOADED (the Engine's model; ModelError while none is loaded) or a model spec / object
        for the team (None: the team's default). Returns the ReplayEvidence (status "cancelled" when stopped).
        """
        from purpose_desktop.engine.learning.replay import retest

        arm = self.replay_arm(team=team, purpose=purpose, model=model, memory_id=memory_id)
        kwargs: dict[str, Any] = {"progress": progress, "cancel": cancel}
        if n is not None:
            kwargs["n"] = n
        from purpose_desktop.engine.models.backends import release_thread_models

        try:
            return retest(self.bank(), memory_id, arm, **kwargs)
        finally:
            release_thread_models(keep=(self._engine.model,))  # the replayed team's per-role models

    def replay_arm(
        self,
        *,
        team: str | None = None,
        purpose: str | None = None,
        model: Any = LOADED,
        memory_id: str | None = None,
    ):
        """The runner a re-test replays past tasks with (the one place the replay arm is built): the named
        ``team``, else the team ``purpose`` builds, else the team that produced ``memory_id``, else the default."""
        from purpose_desktop.engine.agents.replay_arms import replay_arm, replay_arm_for_memory
        from purpose_desktop.engine.agents.team import Team

        engine = self._engine
        if model is LOADED:
            model = engine.model
            if model is None:
                raise ModelError(
                    "Re-testing runs past tasks on the model, which is not loaded yet.",
                    "Wait for it to load.",
                )
        if team:
            return replay_arm(engine.store, model=model, team=Team.load(team, store=engine.store, model=model))
        if purpose is None and memory_id is not None:
            return replay_arm_for_memory(engine.store, memory_id, model=model)
        return replay_arm(engine.store, model=model, purpose=purpose or DEFAULT_PURPOSE)
