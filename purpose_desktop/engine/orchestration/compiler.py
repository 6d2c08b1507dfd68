"""LLMCompiler: a planner's JSON DAG of tool calls, checked, run in parallel waves, answered by a joiner."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from purpose_desktop.engine.agents.team import RunResult
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.critic import PurposeFunction
from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.events import PlanMade, TokenReceived, ToolCalled
from purpose_desktop.engine.models import GenerationSettings, count_tokens
from purpose_desktop.engine.models.backends import resolve_backend
from purpose_desktop.engine.models.thinking import strip_thinking
from purpose_desktop.engine.orchestration.base import (
    OrchestrationError,
    TracedRun,
    critic_for,
    make_emit,
    store_scope,
)
from purpose_desktop.engine.orchestration.plan import (
    CallOutcome,
    Plan,
    PlanError,
    PlannedCall,
    coerce_args,
    describe_outcomes,
    drop_cut_entry,
    plan_schema,
    substitute,
    validate_plan,
)
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.tools.base import ToolRegistry

PLANNER, JOINER = "planner", "joiner"


@dataclass
class CompilerResult(RunResult):
    """The joiner's answer plus the plan that ran, each call's outcome, the waves and the tool time."""

    plan: list[dict] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    waves: list[list[str]] = field(default_factory=list)
    replanned: bool = False
    execution_s: float = 0.0


JOIN_SCHEMA = {
    "type": "object",
    "properties": {
        "thought": {"type": "string", "maxLength": 160},
        "action": {"type": "string", "enum": ["answer", "replan"]},
    },
    "required": ["thought", "action"],
}


class LLMCompiler:
    """Plan a task as a DAG of tool calls, run independent calls together, and answer from the results.

    ``planner_llm`` plans (JSON-constrained, see ``plan_schema``) and, unless ``joiner_llm`` is
    given, joins. ``max_workers=1`` runs the calls one at a time (the bench's serial baseline).
    When a call fails the joiner may ask for one new plan (``max_replans``); an invalid plan also
    gets one more try with the error shown to the planner before PlanError is raised.
    """

    def __init__(
        self,
        planner_llm=None,
        tool_registry: ToolRegistry | None = None,
        *,
        joiner_llm=None,
        critic: PurposeFunction | None = None,
        store=None,
        max_workers: int = 8,
        max_calls: int = 6,
        max_replans: int = 1,
        plan_tokens: int = 256,
        answer_tokens: int = 256,
        seed: int = 0,
    ) -> None:
        if tool_registry is None or not len(tool_registry):
            raise OrchestrationError(
                "The compiler needs tools to plan with.", "Pass tool_registry=ToolRegistry([...])."
            )
        self.planner_spec = planner_llm
        self.joiner_spec = joiner_llm
        self.registry = tool_registry
        self.store = store
        self.max_workers = max(1, max_workers)
        self.max_calls = max_calls
        self.max_replans = max_replans
        self.plan_tokens = plan_tokens
        self.answer_tokens = answer_tokens
        self.seed = seed
        self._critic = critic

    @property
    def planner(self):
        return resolve_backend(self.planner_spec)

    @property
    def joiner(self):
        return resolve_backend(self.joiner_spec) if self.joiner_spec is not None else self.planner

    # -- planning -------------------------------------------------------------------------------
    def _plan_messages(self, task: str, feedback: str = "", lessons: Sequence[str] = ()) -> list[dict]:
        system = (
            "You are the Planner. Turn the task into tool calls that run as a graph.\nTools:\n"
            + self.registry.prompt_text()
            + "\nEach call has an integer id (1, 2, 3 …), a tool, its args, and deps: the ids of the calls it "
            'needs first. Inside an argument, $N stands for the output of call N (for example "$1 * 2"). '
            "Calls that do not need each other get no deps and run at the same time. Use as few calls as "
            "the task needs. Reply as JSON."
        ) + _lessons_text(lessons)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": f"Task: {task}"}]
        if feedback:
            messages.append({"role": "user", "content": feedback})
        return messages

    def plan(
        self,
        task: str,
        *,
        feedback: str = "",
        cancel: CancelToken | None = None,
        lessons: Sequence[str] = (),
    ) -> tuple[Plan, dict, int]:
        """Ask the planner for a plan and check it: (plan, raw reply, tokens). PlanError when invalid.

        ``lessons``: approved memories for the planner's prompt (``TracedRun.recall``)."""
        messages = self._plan_messages(task, feedback, lessons)
        settings = GenerationSettings(max_tokens=self.plan_tokens, temperature=0.0, seed=self.seed)
        planner = self.planner
        raw = planner.complete_json(
            messages, plan_schema(self.registry, self.max_calls), settings=settings, cancel=cancel
        )
        tokens = count_tokens(planner, messages[0]["content"] + messages[-1]["content"] + json.dumps(raw))
        return validate_plan(drop_cut_entry(raw), self.registry), raw, tokens

    # -- executing ------------------------------------------------------------------------------
    def execute(
        self,
        plan: Plan,
        *,
        cancel: CancelToken | None = None,
        on_call: Callable[[CallOutcome], None] | None = None,
        max_workers: int | None = None,
    ) -> tuple[dict[str, CallOutcome], float]:
        """Run the plan wave by wave (a wave's calls in parallel): (outcomes by id, seconds taken).

        A call whose dependency failed is skipped, not run on a broken input.
        """
        workers = max(1, max_workers or self.max_workers)
        by_id = {c.id: c for c in plan.calls}
        outcomes: dict[str, CallOutcome] = {}
        started = time.perf_counter()
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="compiler") if workers > 1 else None
        try:
            for w, wave in enumerate(plan.waves):
                jobs = []
                for cid in wave:
                    call = by_id[cid]
                    failed = [d for d in call.deps if not outcomes[d].ok]
                    if failed or (cancel is not None and cancel.is_set()):
                        why = f"call {failed[0]} failed" if failed else "cancelled"
                        outcomes[cid] = CallOutcome(
                            cid, call.tool, call.args, False, "", why, 0.0, w, skipped=True
                        )
                    else:
                        jobs.append(call)
                if pool is not None and len(jobs) > 1:
                    done = list(pool.map(lambda c, w=w: self._call(c, outcomes, cancel, w), jobs))
                else:
                    done = [self._call(c, outcomes, cancel, w) for c in jobs]
                for out in done:
                    outcomes[out.id] = out
                for cid in wave:
                    if on_call is not None:
                        on_call(outcomes[cid])
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        return outcomes, time.perf_counter() - started

    def _call(self, call: PlannedCall, outcomes: Mapping[str, CallOutcome], cancel, wave: int) -> CallOutcome:
        tool = self.registry.get(call.tool)
        args = coerce_args(substitute(call.args, outcomes), tool.parameters)
        res = self.registry.call(call.tool, args, cancel)
        return CallOutcome(
            call.id,
            call.tool,
            args,
            res.ok,
            res.output,
            None if res.ok else (res.error or res.output),
            res.elapsed_ms,
            wave,
        )

    # -- the whole loop -------------------------------------------------------------------------
    def compile_and_execute(
        self,
        task: str,
        *,
        mode: RunMode | str = RunMode.LEARNING_TRAIN,
        cancel: CancelToken | None = None,
        on_event=None,
        store=None,
    ) -> CompilerResult:
        """Plan, run, maybe re-plan once, and answer; traced as a run with planner and joiner steps."""
        if not task or not str(task).strip():
            raise OrchestrationError("The compiler needs a task.", 'compile_and_execute("Calculate X and Y")')
        mode = RunMode.parse(mode)
        cancel = cancel or CancelToken()
        emit = make_emit(on_event)
        with store_scope(store or self.store, mode) as db:
            run = TracedRun(
                db,
                mode,
                critic_for(self._critic, self.joiner),
                emit,
                task=task,
                name="compiler",
                roles=[PLANNER, JOINER],
                meta={"kind": "compiler", "tools": self.registry.names()},
            )
            try:
                return self._run(run, task, cancel, emit)
            except BaseException as exc:
                run.fail(exc)
                raise

    def _run(self, run: TracedRun, task: str, cancel: CancelToken, emit) -> CompilerResult:
        replans_left = self.max_replans
        feedback, attempt = "", 0
        recalled = run.recall(PLANNER, task, tools=self.registry.names())
        total_s = 0.0
        while True:
            try:
                plan, _raw, tokens = self.plan(
                    task, feedback=feedback, cancel=cancel, lessons=recalled.memories
                )
            except PlanError as exc:
                run.record(
                    PLANNER,
                    f"invalid plan: {exc.message}",
                    attempt=attempt,
                    value=0.0,
                    evidence=[f"the plan was rejected: {exc.message}"],
                    memory_ids=recalled.ids,
                )
                if replans_left <= 0 or cancel.is_set():
                    raise
                replans_left -= 1
                attempt += 1
                feedback = f"Your previous plan was invalid: {exc.message} {exc.hint} Make a valid plan."
                continue
            emit(PlanMade(run.run_id, attempt, tuple(plan.to_dicts()), tuple(tuple(w) for w in plan.waves)))
            step_index = run.next_step

            def on_call(out: CallOutcome, step_index=step_index) -> None:
                emit(
                    ToolCalled(
                        run.run_id,
                        step_index,
                        PLANNER,
                        out.tool,
                        out.args,
                        out.ok,
                        (out.output or out.error or "")[:500],
                    )
                )

            outcomes, seconds = self.execute(plan, cancel=cancel, on_call=on_call)
            total_s += seconds
            ok = sum(o.ok for o in outcomes.values())
            evidence = [
                f"plan of {len(plan.calls)} calls in {len(plan.waves)} waves, run in {seconds:.2f} s",
                f"{ok} of {len(plan.calls)} tool calls succeeded",
            ]
            evidence += [
                f"call {o.id} ({o.tool}) {'skipped' if o.skipped else 'failed'}: {(o.error or '')[:200]}"
                for o in outcomes.values()
                if not o.ok
            ]
            run.record(
                PLANNER,
                json.dumps(plan.to_dicts(), indent=1),
                attempt=attempt,
                value=round(10.0 * ok / len(plan.calls), 1),
                evidence=evidence,
                tool_calls=[o.to_dict() for o in outcomes.values()],
                tokens=tokens,
                elapsed_ms=seconds * 1000,
                memory_ids=recalled.ids,
            )
            results = describe_outcomes(plan, outcomes)
            if cancel.is_set():
                return run.result(
                    CompilerResult,
                    answer="",
                    score=None,
                    status="cancelled",
                    plan=plan.to_dicts(),
                    calls=[o.to_dict() for o in outcomes.values()],
                    waves=plan.waves,
                    replanned=attempt > 0,
                    execution_s=total_s,
                )
            if ok < len(plan.calls) and replans_left > 0 and self._wants_replan(task, results, cancel):
                replans_left -= 1
                attempt += 1
                feedback = (
                    f"Your previous plan:\n{json.dumps(plan.to_dicts())}\nResults:\n{results}\n"
                    "Some calls failed. Make a new plan that avoids the failure."
                )
                continue
            break
        answer, step = self._join(run, task, results, cancel, emit)
        status = "cancelled" if cancel.is_set() else "complete"
        result = run.result(
            CompilerResult,
            answer=answer,
            score=step.score,
            status=status,
            plan=plan.to_dicts(),
            calls=[o.to_dict() for o in outcomes.values()],
            waves=plan.waves,
            replanned=attempt > 0,
            execution_s=total_s,
        )
        return run.learn(result, self.joiner, seed=self.seed)

    def _join_messages(self, task: str, results: str, lessons: Sequence[str] = ()) -> list[dict]:
        return [
            {
                "role": "system",
                "content": "You are the Joiner. Answer the task using only the results of the tool calls below. "
                "If a result is missing or failed, say what is missing instead of guessing."
                + _lessons_text(lessons),
            },
            {"role": "user", "content": f"Task: {task}\n\nResults:\n{results}"},
        ]

    def _wants_replan(self, task: str, results: str, cancel) -> bool:
        ask = [
            *self._join_messages(task, results),
            {
                "role": "user",
                "content": 'Some calls failed. Reply with JSON: "thought" and "action": "answer" '
                '(the results are enough) or "replan" (make a new plan).',
            },
        ]
        settings = GenerationSettings(max_tokens=64, temperature=0.0, seed=self.seed)
        try:
            decision = self.joiner.complete_json(ask, JOIN_SCHEMA, settings=settings, cancel=cancel)
        except PurposeError:
            return True  # a joiner that cannot decide gets the one re-plan it is allowed
        return decision.get("action") == "replan"

    def _join(self, run: TracedRun, task: str, results: str, cancel, emit):
        joiner = self.joiner
        recalled = run.recall(JOINER, task)
        messages = self._join_messages(task, results, recalled.memories)
        step_index = run.next_step

        def on_token(piece: str) -> None:
            emit(TokenReceived(run.run_id, step_index, JOINER, piece))

        reply = joiner.chat(
            messages,
            settings=GenerationSettings(max_tokens=self.answer_tokens, temperature=0.0, seed=self.seed),
            cancel=cancel,
            on_token=on_token,
        )
        answer = strip_thinking(reply.text).strip()
        tokens = reply.n_tokens + count_tokens(joiner, messages[0]["content"] + messages[1]["content"])
        step = run.record(
            JOINER,
            answer,
            tokens=tokens,
            elapsed_ms=reply.elapsed_ms,
            prompt=f"{messages[0]['content']}\n\n{messages[1]['content']}",
            memory_ids=recalled.ids,
        )
        return answer, step


def _lessons_text(lessons: Sequence[str]) -> str:
    """Approved memories for a planner or joiner prompt, in the words a Spark's prompt uses."""
    if not lessons:
        return ""
    return "\n\nLessons approved by the user:\n" + "\n".join(f"- {m}" for m in lessons)
