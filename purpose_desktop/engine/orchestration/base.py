"""What every orchestrated run shares: its error type, the store/RunMode scope, and a traced, scored run."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from purpose_desktop.engine.agents.team import StepResult
from purpose_desktop.engine.critic import PurposeFunction, Score, TestOutcome
from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.events import RunEvent, RunFinished, RunStarted, StepScored
from purpose_desktop.engine.learning.after_run import learn_from_run
from purpose_desktop.engine.memory.records import ALWAYS_KINDS, MemoryPolicy
from purpose_desktop.engine.memory.retrieval import MemoryRetriever
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.store.trace import TraceRecorder

Emit = Callable[[RunEvent], None]


class OrchestrationError(PurposeError):
    """A Flow, swarm, Council or LLMCompiler was set up or planned in a way that cannot run."""


def make_emit(on_event: Emit | None, *, locked: bool = False) -> Emit:
    """``on_event`` or a no-op; ``locked`` serialises calls that come from several threads."""
    if on_event is None:
        return lambda _e: None
    if not locked:
        return on_event
    lock = threading.Lock()

    def emit(event: RunEvent) -> None:
        with lock:
            on_event(event)

    return emit


@contextlib.contextmanager
def store_scope(store: Store | None, mode: RunMode) -> Iterator[Store]:
    """The run's store (opened here when none is given) inside ``store.run_mode(mode)``."""
    owns = store is None
    target = Store() if owns else store
    try:
        with target.run_mode(mode):
            yield target
    finally:
        if owns:
            target.close()


def critic_for(critic: PurposeFunction | None, model) -> PurposeFunction:
    """The given critic, or one judging with ``model`` (heuristics only when there is no model)."""
    return critic if critic is not None else PurposeFunction(model)


@dataclass(frozen=True)
class Recall:
    """The approved memories one Spark step carries: ``spark.run(**recall.kwargs)`` and their ids for credit."""

    memories: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()

    @property
    def kwargs(self) -> dict:
        return {"memories": list(self.memories), "rules": list(self.rules)}


class TracedRun:
    """One run in the traces: RunStarted → scored steps → RunFinished, written as the RunMode allows.

    Every write happens on the thread that created it (the store's thread); scores may be computed
    elsewhere and passed in.
    """

    def __init__(
        self,
        store: Store | None,
        mode: RunMode,
        critic: PurposeFunction,
        emit: Emit,
        *,
        task: str,
        name: str,
        roles: Sequence[str],
        purpose: str | None = None,
        meta: dict | None = None,
        policy: MemoryPolicy | None = None,
    ) -> None:
        self.mode = mode
        self.critic = critic
        self.emit = emit
        self.task = task
        self.trace = TraceRecorder(store, mode)
        self.steps: list = []
        self.tokens_work = 0
        self.tokens_judge = 0
        self.started = time.perf_counter()
        self.finished = False
        self.store = store
        self.kinds: dict[str, str] = {}  # role → kind ("code", "text" …) for distilling lessons
        self.policy = policy or MemoryPolicy()
        self.memory_errors: list[str] = []  # retrieval that failed (the run goes on without memories)
        self.trace.start(task=task, purpose=purpose, team=name, roles=list(roles), meta=meta or {})
        emit(RunStarted(self.trace.run_id, task, tuple(roles), mode.value))

    @property
    def run_id(self) -> str:
        return self.trace.run_id

    @property
    def next_step(self) -> int:
        return len(self.steps)

    def recall(
        self, role: str, task: str, *, tools: Sequence[str] = (), purpose: str | None = None
    ) -> Recall:
        """The approved memories for ``role``'s step on ``task``, chosen as a Team step chooses them
        (scope by role and tools, relevance × trust × utility, within the token budget).

        Call it on the store's thread (the caller's). Without a store nothing is recalled; a failing
        retrieval is noted in ``memory_errors`` and the step runs without memories.
        """
        if self.store is None:
            return Recall()
        try:
            chosen = MemoryRetriever(self.store, self.policy).for_step(
                task=task, role=role, tools=list(tools), purpose=purpose or ""
            )
        except Exception as exc:  # a broken embedder must not stop the work; the run says so
            self.memory_errors.append(f"retrieval failed for {role}: {exc}")
            return Recall()
        return Recall(
            memories=tuple(r.text for r in chosen),
            rules=tuple(r.text for r in chosen if r.kind in ALWAYS_KINDS),
            ids=tuple(r.memory_id for r in chosen),
        )

    def score(
        self,
        *,
        role: str,
        kind: str,
        output: str,
        tests: TestOutcome | None = None,
        code=None,
        task: str | None = None,
    ) -> Score:
        return self.critic.score_step(
            task=task or self.task, role=role, kind=kind, output=output, tests=tests, code=code
        )

    def recall_for(self, spark, task: str, *, purpose: str | None = None) -> Recall:
        """``recall`` for a Spark: its role and its tools."""
        return self.recall(spark.role.name, task, tools=[t.name for t in spark.tools], purpose=purpose)

    def record(
        self,
        role: str,
        output: str,
        *,
        kind: str = "text",
        attempt: int = 0,
        spark=None,
        score: Score | None = None,
        scored: bool = True,
        evidence: Sequence[str] = (),
        tests: TestOutcome | None = None,
        tool_calls: Sequence[dict] = (),
        tokens: int = 0,
        judge_tokens: int | None = None,
        elapsed_ms: float = 0.0,
        prompt: str = "",
        thoughts: Sequence[str] = (),
        value: float | None = None,
        task: str | None = None,
        memory_ids: Sequence[str] = (),
        grounded_by: str | None = None,
    ):
        """Trace one step. With ``spark`` (a SparkResult) its tokens, prompt and tool calls come along.
        ``memory_ids``: the approved memories the step's prompt carried (``recall``), credited after the run.
        ``grounded_by``: what the score rests on — the critic's own when it scored, else what the caller says
        (``judge``, i.e. not grounded, when nobody says).

        The critic scores the step unless ``score`` is given, ``value`` is given (an evidence-based
        score computed by the caller), or ``scored`` is False (plain code, not an answer).
        """
        if spark is not None:
            tokens = tokens or spark.tokens
            elapsed_ms = elapsed_ms or spark.elapsed_ms
            prompt = prompt or spark.prompt
            thoughts = thoughts or spark.thoughts
            tool_calls = tool_calls or [c.to_dict() for c in spark.tool_calls]
        if score is None and value is None and scored:
            score = self.score(role=role, kind=kind, output=output, tests=tests, task=task)
        self.kinds.setdefault(role, kind)
        ev = list(score.evidence) if score is not None else list(evidence)
        val = score.value if score is not None else value
        jt = judge_tokens if judge_tokens is not None else (score.judge_tokens if score is not None else 0)
        step = StepResult(
            role=role,
            attempt=attempt,
            output=output,
            score=val,
            evidence=ev,
            tool_calls=list(tool_calls),
            tokens=tokens,
            judge_tokens=jt,
            elapsed_ms=elapsed_ms,
            tests=tests.to_dict() if tests else None,
            flags=list(score.flags) if score is not None else [],
            memory_ids=list(memory_ids),
            grounded_by=grounded_by or (score.grounded_by if score is not None else "judge"),
        )
        self.steps.append(step)
        self.tokens_work += tokens
        self.tokens_judge += jt
        self.trace.add_step(
            {**step.to_dict(), "prompt": prompt, "thoughts": list(thoughts)}
        )
        if val is not None:
            self.emit(StepScored(self.run_id, len(self.steps) - 1, role, val, tuple(ev), step.grounded_by))
        return step

    def finish(self, *, answer: str, score: float | None, status: str, grounded_by: str | None = None) -> None:
        if self.finished:
            return
        self.finished = True
        self.trace.finish(
            status=status,
            answer=answer,
            score=score,
            tokens_work=self.tokens_work,
            tokens_judge=self.tokens_judge,
            meta={"grounded_by": grounded_by} if grounded_by else None,
        )
        self.emit(RunFinished(self.run_id, answer, score, status))

    def fail(self, exc: BaseException) -> None:
        """Close the trace of a run that raised; a broken store must not hide the original error."""
        with contextlib.suppress(Exception):
            self.finish(answer=f"{type(exc).__name__}: {exc}", score=None, status="failed")

    def result(self, cls, *, answer: str, score: float | None, status: str, **extra):
        """Finish the trace and build ``cls`` (RunResult or a subclass) from it.

        The run's ``grounded_by`` is ``extra["grounded_by"]`` when the orchestrator says, else that of
        the step whose score became the run's (the latest with that score), else ``judge``.
        """
        if "grounded_by" not in extra:
            answered = next((s for s in reversed(self.steps) if score is not None and s.score == score), None)
            extra["grounded_by"] = answered.grounded_by if answered is not None else "judge"
        self.finish(answer=answer, score=score, status=status, grounded_by=extra["grounded_by"])
        return cls(
            answer=answer,
            run_id=self.run_id,
            steps=list(self.steps),
            score=score,
            status=status,
            mode=self.mode.value,
            tokens_work=self.tokens_work,
            tokens_judge=self.tokens_judge,
            elapsed_ms=(time.perf_counter() - self.started) * 1000,
            **extra,
        )

    def learn(self, result, model=None, *, seed: int = 0, policy=None):
        """Feed this finished run to ``learning.learn_from_run`` as Team does: credit, then candidate lessons.

        Only complete LEARNING_TRAIN runs with a store teach; any failure lands in
        ``result.memory["errors"]`` and never fails the run (it already happened).
        """
        memory = getattr(result, "memory", None)
        if (
            memory is None
            or self.mode is not RunMode.LEARNING_TRAIN
            or result.status != "complete"
            or self.store is None
        ):
            return result
        errors: list[str] = []
        try:
            learned = learn_from_run(
                self.store,
                result.run_id,
                self.task,
                result.score,
                result.steps,
                model=model,
                policy=policy,
                seed=seed,
                kinds=self.kinds,
                grounded_by=getattr(result, "grounded_by", None),
                answer=result.answer,
            )
            errors += learned.pop("errors")
            memory.update(learned)
        except Exception as exc:  # learning is a bonus on top of a finished run; say what went wrong
            errors.append(f"learning skipped: {type(exc).__name__}: {exc}")
        memory["errors"] = errors
        return result


def mean_score(steps: Sequence) -> float | None:
    values = [s.score for s in steps if s.score is not None]
    return round(sum(values) / len(values), 1) if values else None


def unique_labels(names: Sequence[str]) -> list[str]:
    """Names made unique in order: two "coder"s become "coder" and "coder#2"."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out
