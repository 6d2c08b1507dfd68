"""ModelOwner: the one thread that runs model jobs, taken from a fair queue (round-robin between clients).

Fairness is **per request**: each client (the request's ``user`` field, else its address and port) has its
own line, and the owner takes one job from each line in turn, so a client sending many requests cannot
make another wait behind all of them. Jobs are not token-interleaved: llama.cpp keeps one KV cache per
context, and switching it every token would re-evaluate prompts for nothing.

The owner runs each job either on an Engine it builds on its own thread (the CLI's ``serve``) or hands it
to a thread that already owns the model (the app's engine thread) through ``handoff`` and waits for it.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.cancel import CancelToken

if TYPE_CHECKING:
    from purpose_desktop.engine.core import Engine

log = logging.getLogger(__name__)

#: How many finished jobs the owner remembers (the request log, tests and the bench read them).
HISTORY = 200

_ids = itertools.count(1)


class JobCancelled(Exception):
    """The job's client went away before the owner reached it."""


@dataclass(eq=False)
class Job:
    """One piece of work for the model owner: ``fn(engine)`` for ``client``, stoppable with ``cancel``."""

    client: str
    fn: Callable[[Engine], Any]
    cancel: CancelToken = field(default_factory=CancelToken)
    label: str = ""
    seq: int = field(default_factory=lambda: next(_ids))
    queued_at: float = field(default_factory=time.perf_counter)
    started_at: float | None = None
    finished_at: float | None = None
    result: Any = None
    error: BaseException | None = None
    on_done: Callable[[Job], None] | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def cancelled(self) -> bool:
        return isinstance(self.error, JobCancelled)


class FairQueue:
    """One FIFO line per client; ``get`` serves the lines in turn (round-robin)."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._lines: OrderedDict[str, deque[Job]] = OrderedDict()
        self._closed = False

    def put(self, job: Job) -> None:
        with self._cv:
            if self._closed:
                raise RuntimeError("the queue is closed")
            self._lines.setdefault(job.client, deque()).append(job)
            self._cv.notify()

    def get(self, timeout: float | None = None) -> Job | None:
        """The next job (the head of the line whose turn it is); None when closed or timed out."""
        with self._cv:
            if not self._cv.wait_for(lambda: self._lines or self._closed, timeout):
                return None
            if not self._lines:
                return None
            client, line = next(iter(self._lines.items()))
            job = line.popleft()
            if line:
                self._lines.move_to_end(client)  # this client's next job waits for everyone else's
            else:
                del self._lines[client]
            return job

    def pending(self) -> int:
        with self._cv:
            return sum(len(line) for line in self._lines.values())

    def close(self) -> list[Job]:
        """Refuse new jobs and return those still waiting."""
        with self._cv:
            self._closed = True
            left = [job for line in self._lines.values() for job in line]
            self._lines.clear()
            self._cv.notify_all()
            return left


class ModelOwner:
    """Runs queued jobs one at a time on the thread that owns the model.

    ``engine_factory``: the owner builds the Engine on its own thread and closes it on stop (CLI).
    ``handoff``: ``handoff(fn)`` runs ``fn(engine)`` on the thread that owns the app's Engine and returns
    its result (or raises); the owner's thread only keeps the order (GUI).
    """

    def __init__(
        self,
        *,
        engine_factory: Callable[[], Engine] | None = None,
        handoff: Callable[[Callable[[Engine], Any]], Any] | None = None,
    ) -> None:
        if (engine_factory is None) == (handoff is None):
            raise ValueError("give exactly one of engine_factory and handoff")
        self._factory = engine_factory
        self._handoff = handoff
        self.queue = FairQueue()
        self.history: deque[Job] = deque(maxlen=HISTORY)
        self.running: Job | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._history_lock = threading.Lock()

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self, timeout: float | None = None) -> None:
        """Start the owner thread; with an engine factory, wait until the Engine (and model) is ready."""
        self._thread = threading.Thread(target=self._main, name="serve-model-owner", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the model owner did not start in time")
        if self._start_error is not None:
            raise self._start_error

    def stop(self, timeout: float = 30.0) -> None:
        """Cancel what waits and what runs, then end the thread (closing an Engine it built)."""
        for job in self.queue.close():
            job.cancel.set()
            self._finish(job, error=JobCancelled())
        running = self.running
        if running is not None:
            running.cancel.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- work ---------------------------------------------------------------------------------------
    def submit(
        self,
        client: str,
        fn: Callable[[Engine], Any],
        *,
        cancel: CancelToken | None = None,
        label: str = "",
        on_done: Callable[[Job], None] | None = None,
    ) -> Job:
        """Queue ``fn(engine)`` in ``client``'s line; ``on_done(job)`` is called from the owner thread."""
        job = Job(client=client, fn=fn, cancel=cancel or CancelToken(), label=label, on_done=on_done)
        self.queue.put(job)
        return job

    def call(self, fn: Callable[[Engine], Any], client: str = "local", timeout: float | None = None) -> Any:
        """Run ``fn(engine)`` through the queue and wait for it (from a thread that is not the owner)."""
        job = self.submit(client, fn, label="call")
        if not job.done.wait(timeout):
            job.cancel.set()
            raise TimeoutError("the model owner did not answer in time")
        if job.error is not None:
            raise job.error
        return job.result

    def recent(self) -> list[Job]:
        with self._history_lock:
            return list(self.history)

    def _main(self) -> None:
        engine = None
        try:
            if self._factory is not None:
                engine = self._factory()
        except BaseException as exc:  # reported to start(): the server must not come up half-made
            self._start_error = exc
            self._ready.set()
            return
        self._ready.set()
        if engine is not None:

            def execute(fn):
                return fn(engine)

        else:
            execute = self._handoff
        try:
            while True:
                job = self.queue.get()
                if job is None:
                    break
                if job.cancel.is_set():
                    self._finish(job, error=JobCancelled())
                    continue
                self.running = job
                job.started_at = time.perf_counter()
                try:
                    result = execute(job.fn)
                except BaseException as exc:
                    self._finish(job, error=exc)
                else:
                    self._finish(job, result=result)
                finally:
                    self.running = None
        finally:
            if engine is not None:
                try:
                    engine.close()
                except Exception:
                    log.exception("closing the served engine failed")

    def _finish(self, job: Job, *, result: Any = None, error: BaseException | None = None) -> None:
        job.result, job.error = result, error
        job.finished_at = time.perf_counter()
        with self._history_lock:
            self.history.append(job)
        job.done.set()
        if job.on_done is not None:
            try:
                job.on_done(job)
            except Exception:
                log.exception("a job's completion callback failed")
