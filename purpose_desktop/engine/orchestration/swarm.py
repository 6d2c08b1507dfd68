"""swarm: many tasks at once — tools in parallel threads, each model's calls queued fairly on its one owner thread."""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from purpose_desktop.engine.agents.spark import Spark
from purpose_desktop.engine.agents.team import RunResult, Team, TeamSpec
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.critic import PurposeFunction, extract_code
from purpose_desktop.engine.models.backends import resolve_backend
from purpose_desktop.engine.orchestration.base import (
    OrchestrationError,
    Recall,
    TracedRun,
    make_emit,
    store_scope,
)
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import Store


class FairQueue:
    """Work items per key, served round-robin: each ``get`` takes from the next key that has work."""

    def __init__(self) -> None:
        self._queues: OrderedDict[Hashable, deque] = OrderedDict()
        self._order: list[Hashable] = []
        self._next = 0
        self._closed = False
        self._cond = threading.Condition()

    def put(self, key: Hashable, item) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the queue is closed")
            if key not in self._queues:
                self._queues[key] = deque()
                self._order.append(key)
            self._queues[key].append(item)
            self._cond.notify()

    def get(self):
        """The next item in turn; blocks while empty; None once closed and drained."""
        with self._cond:
            while True:
                n = len(self._order)
                for i in range(n):
                    key = self._order[(self._next + i) % n]
                    if self._queues[key]:
                        self._next = (self._next + i + 1) % n
                        return self._queues[key].popleft()
                if self._closed:
                    return None
                self._cond.wait()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class ModelOwner:
    """The one thread that calls a model (llama contexts are not thread-safe); requests wait in a FairQueue."""

    def __init__(self, model, name: str = "") -> None:
        self.model = model
        self.queue = FairQueue()
        self.thread = threading.Thread(
            target=self._loop, name=f"model-owner:{name or model!r}"[:60], daemon=True
        )
        self.thread.start()

    def call(self, key: Hashable, method: str, *args, **kwargs):
        future: Future = Future()
        self.queue.put(key, (future, method, args, kwargs))
        return future.result()

    def _loop(self) -> None:
        while (item := self.queue.get()) is not None:
            future, method, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(getattr(self.model, method)(*args, **kwargs))
            except BaseException as exc:  # handed to the caller's thread, which raises it there
                future.set_exception(exc)

    def close(self) -> None:
        self.queue.close()
        self.thread.join()


class QueuedModel:
    """A model as one swarm task sees it: chat and complete_json go through the model's owner thread."""

    def __init__(self, owner: ModelOwner, key: Hashable) -> None:
        self._owner = owner
        self._key = key
        self.display_name = getattr(owner.model, "display_name", "model")
        self.n_ctx = getattr(owner.model, "n_ctx", 4096)
        self.info = getattr(owner.model, "info", None)

    def chat(self, messages, **kwargs):
        return self._owner.call(self._key, "chat", messages, **kwargs)

    def complete_json(self, messages, schema, **kwargs):
        return self._owner.call(self._key, "complete_json", messages, schema, **kwargs)

    def count_tokens(self, text: str) -> int:
        # Tokenizing reads only the vocabulary, never the context, so it needs no turn in the queue
        # (llama.cpp's own server tokenizes on its HTTP threads while decoding).
        counter = getattr(self._owner.model, "count_tokens", None)
        return int(counter(text)) if counter is not None else max(1, len(text) // 4)

    def close(self) -> None:
        """The model belongs to whoever passed it in; a task must not close it."""


@dataclass
class SwarmResult(RunResult):
    """One task's outcome, in input order; ``status`` "failed" with ``error`` when the task raised."""

    index: int = 0
    task: str = ""
    agent: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status != "failed"


def _label(agent) -> str:
    if isinstance(agent, Spark):
        return agent.role.name
    if isinstance(agent, Team):
        return agent.name
    return getattr(agent, "__name__", type(agent).__name__)


def _answer_of(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return str(value.get("answer", value))
    return str(getattr(value, "answer", value))


class _Owners:
    """One ModelOwner per distinct model object, created on demand."""

    def __init__(self) -> None:
        self._owners: dict[int, ModelOwner] = {}
        self._lock = threading.Lock()

    def proxy(self, model, key: Hashable):
        if model is None:
            return None
        with self._lock:
            owner = self._owners.get(id(model))
            if owner is None:
                owner = self._owners[id(model)] = ModelOwner(model, getattr(model, "display_name", ""))
        return QueuedModel(owner, key)

    def close(self) -> None:
        for owner in self._owners.values():
            owner.close()


def swarm(
    tasks: Sequence[str],
    agents=None,
    *,
    model=None,
    tools: Sequence | None = None,
    critic: PurposeFunction | None = None,
    tests: str | None = None,
    store=None,
    mode: RunMode | str = RunMode.LEARNING_TRAIN,
    cancel: CancelToken | None = None,
    on_event=None,
    max_workers: int | None = None,
) -> list[SwarmResult]:
    """Run ``tasks`` concurrently; task i goes to ``agents[i % len(agents)]`` (Spark, Team or ``fn(task)``).

    Tool calls and Python runs proceed in parallel threads; every call to a model goes through that
    model's single owner thread, served round-robin between tasks. Each task is its own traced,
    scored run. Results come back in input order; a task that raises returns a "failed" result
    and the others carry on. ``on_event`` may be called from worker threads, one call at a time.
    """
    tasks = list(tasks)
    if not tasks:
        return []
    if agents is None:
        agents = [Spark("assistant", model=model, tools=tools)]
    elif isinstance(agents, Spark | Team) or callable(agents):
        agents = [agents]
    agents = list(agents)
    for agent in agents:
        if not (isinstance(agent, Spark | Team) or callable(agent)):
            raise OrchestrationError(
                f"A swarm agent must be a Spark, a Team or a function, not {type(agent).__name__}.",
                "Pass agents=[Spark(...), ...].",
            )
    if not agents:
        raise OrchestrationError("A swarm needs at least one agent.", "Pass agents=[Spark(...)].")
    mode = RunMode.parse(mode)
    cancel = cancel or CancelToken()
    emit = make_emit(on_event, locked=True)
    # Models are resolved here, on the caller's thread, then lent to their owner threads: the caller
    # waits for the swarm, so no one else uses them meanwhile.
    judge_model = critic.model if critic is not None else None
    if critic is None:
        first = next((a for a in agents if isinstance(a, Spark)), None)
        judge_model = resolve_backend(model) if model is not None else (first.model if first else None)
    judge = critic or PurposeFunction(judge_model)
    assigned = [agents[i % len(agents)] for i in range(len(tasks))]
    owners = _Owners()
    swarm_id = uuid.uuid4().hex
    results: list[SwarmResult | None] = [None] * len(tasks)
    models = {id(a): _models_of(a) for a in agents}  # a model that cannot load fails before any run starts
    with store_scope(store, mode) as db:
        runs: dict[int, TracedRun] = {}
        for i, (task, agent) in enumerate(zip(tasks, assigned, strict=True)):
            if not isinstance(agent, Team):
                label = _label(agent)
                runs[i] = TracedRun(
                    db,
                    mode,
                    judge,
                    emit,
                    task=task,
                    name=f"swarm:{label}",
                    roles=[label],
                    meta={"kind": "swarm", "swarm_id": swarm_id, "index": i},
                )
        workers = max_workers or min(len(tasks), 8)
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="swarm") as pool:
                futures = {}
                recalls: dict[int, Recall] = {}
                for i, (task, agent) in enumerate(zip(tasks, assigned, strict=True)):
                    task_judge = PurposeFunction(
                        owners.proxy(judge.model, i),
                        judge.runner,
                        judge_max_tokens=judge.judge_max_tokens,
                        seed=judge.seed,
                    )
                    run_id = runs[i].run_id if i in runs else ""
                    recall = runs[i].recall_for(agent, task) if isinstance(agent, Spark) else Recall()
                    recalls[i] = recall
                    job = _Job(
                        i,
                        task,
                        agent,
                        models[id(agent)],
                        owners,
                        task_judge,
                        tests,
                        mode,
                        cancel,
                        emit,
                        run_id,
                        db,
                        recall,
                    )
                    futures[pool.submit(job.run)] = i
                for future in as_completed(futures):
                    i = futures[future]
                    # Distilling may ask the model for a rule: through its owner thread, like any call.
                    learner = owners.proxy(judge.model, ("learn", i))
                    results[i] = _collect(
                        i, tasks[i], assigned[i], future, runs.get(i), mode, learner, recalls[i].ids
                    )
        finally:
            owners.close()
            for run in runs.values():
                if not run.finished:
                    run.finish(answer="", score=None, status="failed")
    return [r for r in results if r is not None]


def _models_of(agent) -> dict:
    """The model objects an agent will call, resolved on the caller's thread."""
    if isinstance(agent, Spark):
        return {"spark": agent.model}
    if isinstance(agent, Team):
        found = {"team": resolve_backend(agent.model)}
        for role in agent.spec.roles:
            if role.model:
                found[role.name] = resolve_backend(role.model)
        return found
    return {}


@dataclass
class _Job:
    index: int
    task: str
    agent: object
    models: dict
    owners: _Owners
    judge: PurposeFunction
    tests: str | None
    mode: RunMode
    cancel: CancelToken
    emit: Callable
    run_id: str
    db: Store
    recall: Recall = Recall()  # chosen on the caller's (the store's) thread before the job starts

    def run(self) -> tuple:
        """Runs on a worker thread; returns what the caller's thread records."""
        started = time.perf_counter()
        if isinstance(self.agent, Spark):
            clone = copy.copy(self.agent)
            clone._model = self.owners.proxy(self.models["spark"], self.index)  # this task's queued view
            res = clone.run(
                self.task,
                **self.recall.kwargs,
                cancel=self.cancel,
                on_event=self.emit,
                run_id=self.run_id,
                step=0,
            )
            outcome = None
            if self.tests and clone.role.kind == "code" and res.status != "cancelled":
                code = extract_code(res.answer)
                outcome = self.judge.run_tests(code, self.tests) if code else None
            score = self.judge.score_step(
                task=self.task, role=clone.role.name, kind=clone.role.kind, output=res.answer, tests=outcome
            )
            return "spark", res, score, outcome, started
        if isinstance(self.agent, Team):
            return "team", self._run_team(), None, None, started
        value = self.agent(self.task)
        answer = _answer_of(value)
        score = self.judge.score_step(task=self.task, role=_label(self.agent), kind="text", output=answer)
        return "function", answer, score, None, started

    def _run_team(self) -> RunResult:
        team: Team = self.agent
        spec = TeamSpec.from_dict(team.spec.to_dict())
        for role in spec.roles:
            if role.name in self.models:
                role.model = self.owners.proxy(
                    self.models[role.name], self.index
                )  # in this private copy only
        own_store = Store(self.db.path, recover=False)  # a Store belongs to one thread; WAL lets two write
        try:
            copy_ = Team(
                spec,
                model=self.owners.proxy(self.models["team"], self.index),
                tools=team.extra_tools,
                store=own_store,
                critic=self.judge,
                seed=team.seed,
            )
            return copy_.run(
                self.task, tests=self.tests, mode=self.mode, cancel=self.cancel, on_event=self.emit
            )
        finally:
            own_store.close()


def _collect(
    i: int,
    task: str,
    agent,
    future: Future,
    run: TracedRun | None,
    mode: RunMode,
    learner=None,
    recall_ids: tuple[str, ...] = (),
) -> SwarmResult:
    """Record a finished task on the caller's thread (the store's) and build its result."""
    label = _label(agent)
    try:
        kind, payload, score, outcome, started = future.result()
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        if run is not None:
            run.fail(exc)
            return SwarmResult(
                answer="",
                run_id=run.run_id,
                steps=list(run.steps),
                score=None,
                status="failed",
                mode=mode.value,
                tokens_work=run.tokens_work,
                tokens_judge=run.tokens_judge,
                elapsed_ms=0.0,
                index=i,
                task=task,
                agent=label,
                error=error,
            )
        return SwarmResult(
            answer="",
            run_id="",
            steps=[],
            score=None,
            status="failed",
            mode=mode.value,
            tokens_work=0,
            tokens_judge=0,
            elapsed_ms=0.0,
            index=i,
            task=task,
            agent=label,
            error=error,
        )
    elapsed = (time.perf_counter() - started) * 1000
    if kind == "team":
        res: RunResult = payload
        fields = {k: getattr(res, k) for k in RunResult.__dataclass_fields__}
        return SwarmResult(**fields, index=i, task=task, agent=label)
    if kind == "spark":
        step = run.record(
            label,
            payload.answer,
            kind=agent.role.kind,
            spark=payload,
            score=score,
            tests=outcome,
            memory_ids=recall_ids,
        )
        status = payload.status
        answer = payload.answer
    else:
        step = run.record(label, payload, score=score, elapsed_ms=elapsed)
        status, answer = "complete", payload
    result = run.result(
        SwarmResult, answer=answer.strip(), score=step.score, status=status, index=i, task=task, agent=label
    )
    return run.learn(result, learner)
