"""ReplayQueue: memories are re-tested in the background, behind anything a person is waiting for.

A re-test replays up to 18 team runs; done on the engine thread it would hold chat for minutes. The queue
runs re-tests on its own thread ("replay") with its own connection to the same SQLite file, and reaches
the model only through ``models.gate.BackgroundModel``: a chat reply or a team run someone started takes
the model within one token, and the interrupted replay call runs again afterwards (same seed, same result).

Jobs run one at a time, oldest first. When auto-promotion is on and the model has been idle for
``idle_after_s`` seconds, the queue re-tests the next quarantined memory without evidence by itself (one
at a time, so a person who comes back waits at most one token). ``pause()`` holds the queue and stops the
re-test in progress — a stopped re-test stores nothing and starts over on ``resume()``.

Callbacks (``progress``, ``done``, ``failed``, ``on_status``) are called on the replay thread.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.models.gate import BackgroundModel

if TYPE_CHECKING:
    from purpose_desktop.engine.core import Engine

log = logging.getLogger(__name__)

#: How long the model must have been idle before auto-promotion starts a re-test by itself.
IDLE_AFTER_S = 20.0
#: With auto-promotion on, lessons are looked over for merges, splits and retirements this often (idle only).
EVOLVE_EVERY_S = 30 * 60.0
_ids = itertools.count(1)


@dataclass
class ReplayJob:
    """One re-test waiting or running. ``reason``: "asked" (a person pressed Re-test) or "auto"."""

    memory_id: str
    team: str | None = None
    reason: str = "asked"
    cancel: CancelToken = field(default_factory=CancelToken)
    progress: Callable[[Any], None] | None = None
    done: Callable[[Any], None] | None = None
    failed: Callable[[BaseException], None] | None = None
    id: str = field(default_factory=lambda: f"replay-{next(_ids)}")
    restarts: int = 0  # times a pause stopped it (it starts over on resume)
    _paused_stop: bool = False


@dataclass(frozen=True)
class ReplayQueueStatus:
    """What the Memory pane shows: what runs, what waits, whether the queue is paused or idle-promoting."""

    running: str | None  # memory id being re-tested
    running_reason: str | None
    done: int  # of the running re-test's replay runs
    total: int
    queued: tuple[str, ...]  # memory ids waiting
    paused: bool
    auto: bool  # auto-promotion on: idle re-tests happen by themselves
    finished: int  # re-tests completed since the app started
    preemptions: int  # replay calls interrupted so a person's request could start
    last_error: str | None = None
    proposed: int = 0  # lesson tidy-ups proposed while idle (merge, split, retire)

    @property
    def active(self) -> bool:
        return self.running is not None or bool(self.queued)


class ReplayQueue:
    """``engine.replays``: re-tests on a background thread at lower priority than chat and team runs."""

    def __init__(self, engine: Engine, *, idle_after_s: float = IDLE_AFTER_S) -> None:
        self._engine = engine
        self.idle_after_s = idle_after_s
        self._cond = threading.Condition()
        self._jobs: deque[ReplayJob] = deque()
        self._running: ReplayJob | None = None
        self._progress = (0, 0)
        self._paused = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._finished = 0
        self._last_error: str | None = None
        self._auto_skip: set[str] = set()  # auto re-tests that failed this session: not retried by themselves
        self.evolve_every_s = EVOLVE_EVERY_S
        self._last_evolve = time.monotonic()
        self.evolved: list = []  # proposals made while idle (learning.evolution.Proposal)
        self.on_status: Callable[[ReplayQueueStatus], None] | None = None

    # -- asking --------------------------------------------------------------------------------
    def submit(
        self,
        memory_id: str,
        *,
        team: str | None = None,
        progress: Callable[[Any], None] | None = None,
        done: Callable[[Any], None] | None = None,
        failed: Callable[[BaseException], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> ReplayJob:
        """Queue a re-test of ``memory_id``; ``done(evidence)`` or ``failed(exc)`` is called when it ends."""
        if self._engine.model is None:
            raise ModelError(
                "Re-testing runs past tasks on the model, which is not loaded yet.", "Wait for it to load."
            )
        job = ReplayJob(memory_id, team, "asked", cancel or CancelToken(), progress, done, failed)
        with self._cond:
            if self._closed:
                raise ModelError("The engine is closing.", "Start Purpose Desktop again to re-test.")
            self._jobs.append(job)
            self._ensure_thread()
            self._cond.notify_all()
        self._announce()
        return job

    def cancel(self, job_id: str) -> bool:
        """Stop a queued or running job; True if it was found."""
        with self._cond:
            for job in list(self._jobs):
                if job.id == job_id:
                    self._jobs.remove(job)
                    job.cancel.set()
                    break
            else:
                if self._running is None or self._running.id != job_id:
                    return False
                self._running.cancel.set()
                return True
        self._finish(job, None, cancelled=True)
        return True

    def pause(self) -> None:
        """Hold the queue; the re-test in progress stops (storing nothing) and starts over on resume."""
        with self._cond:
            self._paused = True
            if self._running is not None:
                self._running._paused_stop = True
                self._running.cancel.set()
            self._cond.notify_all()
        self._announce()

    def restart_running(self, why: str) -> None:
        """Stop the re-test in progress (it stores nothing) and queue it to start over — e.g. the model changed."""
        with self._cond:
            if self._running is not None:
                log.info("re-test of %s starts over: %s", self._running.memory_id, why)
                self._running._paused_stop = True
                self._running.cancel.set()
                self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._ensure_thread()
            self._cond.notify_all()
        self._announce()

    @property
    def paused(self) -> bool:
        return self._paused

    def kick(self) -> None:
        """Look again now (auto-promotion switched on, a model loaded): starts the thread if needed."""
        with self._cond:
            if self._engine.settings.auto_promote:
                self._ensure_thread()
            self._cond.notify_all()

    def status(self) -> ReplayQueueStatus:
        with self._cond:
            running = self._running
            return ReplayQueueStatus(
                running=running.memory_id if running else None,
                running_reason=running.reason if running else None,
                done=self._progress[0],
                total=self._progress[1],
                queued=tuple(j.memory_id for j in self._jobs),
                paused=self._paused,
                auto=bool(self._engine.settings.auto_promote),
                finished=self._finished,
                preemptions=self._engine.gate.preemptions,
                last_error=self._last_error,
                proposed=len(self.evolved),
            )

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing runs or waits (tests, the CLI); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._running is None and not self._jobs, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Stop the re-test in progress, drop the queue (each dropped job reports cancelled) and end the thread."""
        with self._cond:
            self._closed = True
            dropped = list(self._jobs)
            self._jobs.clear()
            if self._running is not None:
                self._running.cancel.set()
            self._cond.notify_all()
            thread = self._thread
        for job in dropped:
            job.cancel.set()
            self._finish(job, None, cancelled=True)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # -- the replay thread ---------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="replay", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        from purpose_desktop.engine.store import Store

        store = None
        try:
            store = Store(self._engine.store.path, recover=False)  # this thread's own connection
            while True:
                job = self._next_job(store)
                if job is None:
                    return
                self._run(job, store)
        except Exception as exc:  # never leave the thread dead silently
            log.exception("the replay queue stopped")
            self._last_error = f"the re-test queue stopped: {exc}"
        finally:
            if store is not None:
                store.close()
            with self._cond:
                self._running = None
                self._cond.notify_all()

    def _next_job(self, store) -> ReplayJob | None:
        with self._cond:
            while True:
                if self._closed:
                    return None
                if not self._paused and self._jobs:
                    job = self._jobs.popleft()
                    self._running, self._progress = job, (0, 0)
                    return job
                if not self._paused and self._auto_due() and self._evolve_due():
                    self._last_evolve = time.monotonic()
                    self._cond.release()
                    try:
                        self._evolve(store)
                    finally:
                        self._cond.acquire()
                    continue
                if not self._paused and self._auto_due():
                    job = self._auto_job(store)
                    if job is not None:
                        self._running, self._progress = job, (0, 0)
                        return job
                # Auto-promotion looks again once a second; jobs and resume() wake the thread at once.
                self._cond.wait(1.0 if self._engine.settings.auto_promote else None)

    def _auto_due(self) -> bool:
        engine = self._engine
        return (
            bool(engine.settings.auto_promote)
            and engine.model is not None
            and engine.gate.idle_for() >= self.idle_after_s
        )

    def _evolve_due(self) -> bool:
        return time.monotonic() - self._last_evolve >= self.evolve_every_s

    def _evolve(self, store) -> None:
        """Idle-time lesson evolution: merge/split/retire proposals land in review (never applied here)."""
        from purpose_desktop.engine.learning.evolution import evolve

        engine = self._engine
        try:
            model = engine.raw_model
            proposals = evolve(
                engine.memories.bank(store), model=BackgroundModel(model, engine.gate) if model else None
            )
        except Exception as exc:  # reported on the status line; the queue goes on
            log.warning("proposing lesson tidy-ups failed: %s", exc)
            self._last_error = f"proposing tidy-ups: {exc}"
            return
        if proposals:
            self.evolved += proposals
            self._announce()  # the Memory pane re-reads its list when ``proposed`` grows

    def _auto_job(self, store) -> ReplayJob | None:
        """The oldest quarantined memory with no evidence yet (and no failed auto re-test this session)."""
        from purpose_desktop.engine.memory.records import QUARANTINED
        from purpose_desktop.engine.memory.repo import MemoryRepo

        pending = [
            m
            for m in reversed(MemoryRepo(store).list(status=QUARANTINED))
            if not m.evidence and m.id not in self._auto_skip
        ]
        return ReplayJob(pending[0].id, None, "auto") if pending else None

    def _run(self, job: ReplayJob, store) -> None:
        self._announce()
        engine = self._engine
        evidence = None
        error: BaseException | None = None
        try:
            model = engine.model
            if model is None:
                raise ModelError("The model was unloaded before the re-test could start.", "Load a model, then re-test.")

            def progress(p) -> None:
                with self._cond:
                    self._progress = (p.done, p.total)
                if job.progress is not None:
                    job.progress(p)
                self._announce()

            evidence = engine.memories.retest(
                job.memory_id,
                team=job.team,
                model=BackgroundModel(model, engine.gate),
                progress=progress,
                cancel=job.cancel,
                store=store,
            )
        except BaseException as exc:  # reported to whoever asked; the queue goes on
            error = exc
            if job.reason == "auto":
                self._auto_skip.add(job.memory_id)
            log.warning("re-testing %s failed: %s", job.memory_id, exc)
        with self._cond:
            self._running, self._progress = None, (0, 0)
            requeue = job._paused_stop and not self._closed
            if requeue:  # paused: start it over when resumed (auto jobs are simply found again)
                job._paused_stop = False
                job.cancel = CancelToken()
                job.restarts += 1
                if job.reason == "asked":
                    self._jobs.appendleft(job)
            self._cond.notify_all()
        if requeue:
            self._announce()
            return
        if error is not None:
            self._last_error = f"{job.memory_id}: {error}"
            self._finish(job, error)
            return
        self._finished += getattr(evidence, "status", "complete") == "complete"
        self._finish(job, evidence, cancelled=getattr(evidence, "status", None) == "cancelled")

    def _finish(self, job: ReplayJob, result, *, cancelled: bool = False) -> None:
        try:
            if isinstance(result, BaseException):
                if job.failed is not None:
                    job.failed(result)
            elif job.done is not None:
                job.done(result if not cancelled or result is not None else _Cancelled(job.memory_id))
        except Exception:
            log.exception("a re-test callback failed")
        self._announce()

    def _announce(self) -> None:
        callback = self.on_status
        if callback is None:
            return
        try:
            callback(self.status())
        except Exception:
            log.exception("the re-test status callback failed")


@dataclass(frozen=True)
class _Cancelled:
    """What ``done`` receives for a job dropped before it ran (status "cancelled", like a stopped replay)."""

    memory_id: str
    status: str = "cancelled"
