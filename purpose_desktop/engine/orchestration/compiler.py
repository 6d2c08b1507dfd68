"""LLMCompiler: a planner's JSON DAG of tool calls, checked, run in parallel waves, answered by a joiner."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from purpose_desktop.engine.agents.team import RunResult
from purpose_desktop.engine.backends import resolve_backend
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.critic import PurposeFunction
from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.events import PlanMade, TokenReceived, ToolCalled
from purpose_desktop.engine.models import GenerationSettings
from purpose_desktop.engine.orchestration.base import (
    OrchestrationError,
    TracedRun,
    count_tokens,
    critic_for,
    make_emit,
    store_scope,
)
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.tools.base import ToolRegistry

# "$$" is a literal dollar; "$2" and "${2}" mean call 2's output; "${2.error}" its error, "${2.ok}" true/false.
REFERENCE = re.compile(r"\$\$|\$\{\s*([A-Za-z0-9_-]+)(?:\.([A-Za-z_]+))?\s*\}|\$(\d+)")
REF_FIELDS = ("output", "error", "ok")
PLANNER, JOINER = "planner", "joiner"
_ARG_MAX_CHARS = (
    200  # the grammar's string bound per argument: long enough for expressions, short for a grammar
)
_RESULT_CHARS = 1500


class PlanError(OrchestrationError):
    """A plan that cannot run: no calls, unknown tools, bad references or dependencies, or a cycle."""


@dataclass
class PlannedCall:
    id: str
    tool: str
    args: dict
    deps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Plan:
    """Checked calls in plan order and the waves (lists of ids) they run in."""

    calls: list[PlannedCall]
    waves: list[list[str]]

    def to_dicts(self) -> list[dict]:
        return [c.to_dict() for c in self.calls]


@dataclass
class CallOutcome:
    id: str
    tool: str
    args: dict
    ok: bool
    output: str
    error: str | None
    elapsed_ms: float
    wave: int
    skipped: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class CompilerResult(RunResult):
    """The joiner's answer plus the plan that ran, each call's outcome, the waves and the tool time."""

    plan: list[dict] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    waves: list[list[str]] = field(default_factory=list)
    replanned: bool = False
    execution_s: float = 0.0


def _references(value) -> list[tuple[str, str]]:
    """Every (call id, field) an argument value refers to, at any depth."""
    if isinstance(value, str):
        out = []
        for m in REFERENCE.finditer(value):
            if m.group(0) != "$$":
                out.append((m.group(1) or m.group(3), m.group(2) or "output"))
        return out
    if isinstance(value, Mapping):
        return [r for v in value.values() for r in _references(v)]
    if isinstance(value, list | tuple):
        return [r for v in value for r in _references(v)]
    return []


def _cycle(deps: dict[str, list[str]], left: set[str]) -> list[str]:
    """One cycle among ``left`` (the calls Kahn's algorithm could not order), as ids."""
    start = min(left)
    seen: list[str] = []
    node = start
    while node not in seen:
        seen.append(node)
        node = next(d for d in deps[node] if d in left)
    return [*seen[seen.index(node) :], node]


def validate_plan(raw, registry: ToolRegistry) -> Plan:
    """Check a planner's reply (``{"calls": [...]}`` or a bare list) and order it into waves.

    Raises PlanError naming the call at fault for: no calls, a repeated id, an unknown tool, args
    that are not an object, a dependency or ``$N`` reference to a call not in the plan, an unknown
    reference field, or a cycle. A reference implies a dependency.
    """
    items = raw.get("calls") if isinstance(raw, Mapping) else raw
    if not isinstance(items, list) or not items:
        raise PlanError(
            "The plan has no calls.",
            'The planner must reply {"calls": [{"id": 1, "tool": ..., "args": {...}, "deps": []}]}.',
        )
    calls: list[PlannedCall] = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            raise PlanError(f"Plan entry {n} is not an object.", "Each call is {id, tool, args, deps}.")
        cid = str(item.get("id", n)).strip()
        if not cid or any(ch.isspace() for ch in cid):
            raise PlanError(f"Plan entry {n} has no usable id.", "Use ids like 1, 2, 3.")
        if any(c.id == cid for c in calls):
            raise PlanError(f"Two calls in the plan have the id {cid}.", "Give every call its own id.")
        tool = item.get("tool")
        if not isinstance(tool, str) or tool not in registry:
            raise PlanError(
                f"Call {cid} uses the unknown tool {tool!r}.",
                f"Available tools: {', '.join(registry.names()) or 'none'}.",
            )
        args = item.get("args") if item.get("args") is not None else {}
        if not isinstance(args, Mapping):
            raise PlanError(
                f"Call {cid}'s args must be an object, not {type(args).__name__}.", 'args: {"name": value}'
            )
        deps = item.get("deps") if item.get("deps") is not None else []
        if not isinstance(deps, list):
            raise PlanError(f"Call {cid}'s deps must be a list of call ids.", "deps: [1, 2]")
        calls.append(PlannedCall(cid, tool, dict(args), [str(d).strip() for d in deps]))
    ids = {c.id for c in calls}
    for call in calls:
        for ref, attr in _references(call.args):
            if ref not in ids:
                raise PlanError(
                    f"Call {call.id} refers to ${ref}, but the plan has no call {ref}.",
                    f"Refer only to calls in the plan ({', '.join(sorted(ids))}); write $$ for a literal dollar.",
                )
            if attr not in REF_FIELDS:
                raise PlanError(
                    f"Call {call.id} refers to ${{{ref}.{attr}}}; a call has no {attr!r}.",
                    f"Use ${{{ref}}} or ${{{ref}.output}}, ${{{ref}.error}}, ${{{ref}.ok}}.",
                )
            if ref not in call.deps:
                call.deps.append(ref)
        for dep in call.deps:
            if dep not in ids:
                raise PlanError(
                    f"Call {call.id} depends on call {dep}, which is not in the plan.", "Fix deps."
                )
    deps = {c.id: list(dict.fromkeys(c.deps)) for c in calls}
    level: dict[str, int] = {}
    left = set(ids)
    while left:
        ready = sorted((c for c in left if all(d in level for d in deps[c])), key=[c.id for c in calls].index)
        if not ready:
            raise PlanError(
                "The plan has a cycle: " + " → ".join(_cycle(deps, left)) + ".",
                "A call cannot wait for itself.",
            )
        for c in ready:
            level[c] = 1 + max((level[d] for d in deps[c]), default=-1)
            left.discard(c)
    waves = [[c.id for c in calls if level[c.id] == w] for w in range(max(level.values()) + 1)]
    for call in calls:
        call.deps = deps[call.id]
    return Plan(calls, waves)


def substitute(value, outcomes: Mapping[str, CallOutcome]):
    """``value`` with every reference replaced by the referred call's output (or error / ok)."""
    if isinstance(value, str):

        def repl(m: re.Match) -> str:
            if m.group(0) == "$$":
                return "$"
            out = outcomes[m.group(1) or m.group(3)]
            attr = m.group(2) or "output"
            return (
                str(out.ok).lower() if attr == "ok" else (out.error or "") if attr == "error" else out.output
            )

        return REFERENCE.sub(repl, value)
    if isinstance(value, Mapping):
        return {k: substitute(v, outcomes) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(v, outcomes) for v in value]
    return value


def _coerce(args: dict, parameters: Mapping) -> dict:
    """A number-typed argument that became a string through a reference goes back to a number."""
    props = parameters.get("properties", {}) if isinstance(parameters, Mapping) else {}
    out = dict(args)
    for key, value in args.items():
        kind = (props.get(key) or {}).get("type")
        if isinstance(value, str) and kind in ("integer", "number"):
            try:
                number = json.loads(value.strip())
            except ValueError:
                continue
            if isinstance(number, int | float) and not isinstance(number, bool):
                out[key] = number
    return out


def _grammar_args(parameters: Mapping) -> dict:
    """A tool's argument schema made fit for a decoding grammar: no descriptions, short strings."""
    out = {k: v for k, v in parameters.items() if k != "description"}
    if isinstance(out.get("properties"), Mapping):
        out["properties"] = {k: _grammar_args(v) for k, v in out["properties"].items()}
        out["required"] = list(out.get("required") or out["properties"])
    if out.get("type") == "string":
        out["maxLength"] = min(int(out.get("maxLength", _ARG_MAX_CHARS)), _ARG_MAX_CHARS)
    return out


def plan_schema(registry: ToolRegistry, max_calls: int = 6) -> dict:
    """The planner's grammar: a list of calls, each one tool from the registry with that tool's args."""
    options = []
    for name in registry.names():
        tool = registry.get(name)
        options.append(
            {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "tool": {"const": name},
                    "args": _grammar_args(tool.parameters),
                    "deps": {"type": "array", "items": {"type": "integer"}, "maxItems": max_calls},
                },
                "required": ["id", "tool", "args", "deps"],
            }
        )
    item = options[0] if len(options) == 1 else {"anyOf": options}
    return {
        "type": "object",
        "properties": {"calls": {"type": "array", "items": item, "minItems": 1, "maxItems": max_calls}},
        "required": ["calls"],
    }


JOIN_SCHEMA = {
    "type": "object",
    "properties": {
        "thought": {"type": "string", "maxLength": 160},
        "action": {"type": "string", "enum": ["answer", "replan"]},
    },
    "required": ["thought", "action"],
}


def describe_outcomes(plan: Plan, outcomes: Mapping[str, CallOutcome]) -> str:
    lines = []
    for call in plan.calls:
        out = outcomes.get(call.id)
        args = ", ".join(f"{k}={v!r}" for k, v in (out.args if out else call.args).items())
        if out is None:
            what = "not run"
        elif out.skipped:
            what = f"skipped ({out.error})"
        elif out.ok:
            what = out.output[:_RESULT_CHARS]
        else:
            what = f"failed: {(out.error or out.output)[:_RESULT_CHARS]}"
        lines.append(f"Call {call.id}: {call.tool}({args}) → {what}")
    return "\n".join(lines)


def _drop_cut_entry(raw):
    """Without the last call when the token limit cut it short (closed JSON, but no tool or args).

    A grammar-constrained reply cut by ``max_tokens`` is closed rather than lost (LocalModel), so a
    plan may end in a stub; the complete calls before it are still a plan.
    """
    calls = raw.get("calls") if isinstance(raw, Mapping) else None
    if isinstance(calls, list) and len(calls) > 1 and isinstance(calls[-1], Mapping):
        last = calls[-1]
        if "tool" not in last or "args" not in last or last.get("id") in ("", None):
            return {**raw, "calls": calls[:-1]}
    return raw


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
    def _plan_messages(self, task: str, feedback: str = "") -> list[dict]:
        system = (
            "You are the Planner. Turn the task into tool calls that run as a graph.\nTools:\n"
            + self.registry.prompt_text()
            + "\nEach call has an integer id (1, 2, 3 …), a tool, its args, and deps: the ids of the calls it "
            'needs first. Inside an argument, $N stands for the output of call N (for example "$1 * 2"). '
            "Calls that do not need each other get no deps and run at the same time. Use as few calls as "
            "the task needs. Reply as JSON."
        )
        messages = [{"role": "system", "content": system}, {"role": "user", "content": f"Task: {task}"}]
        if feedback:
            messages.append({"role": "user", "content": feedback})
        return messages

    def plan(
        self, task: str, *, feedback: str = "", cancel: CancelToken | None = None
    ) -> tuple[Plan, dict, int]:
        """Ask the planner for a plan and check it: (plan, raw reply, tokens). PlanError when invalid."""
        messages = self._plan_messages(task, feedback)
        settings = GenerationSettings(max_tokens=self.plan_tokens, temperature=0.0, seed=self.seed)
        planner = self.planner
        raw = planner.complete_json(
            messages, plan_schema(self.registry, self.max_calls), settings=settings, cancel=cancel
        )
        tokens = count_tokens(planner, messages[0]["content"] + messages[-1]["content"] + json.dumps(raw))
        return validate_plan(_drop_cut_entry(raw), self.registry), raw, tokens

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
        args = _coerce(substitute(call.args, outcomes), tool.parameters)
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
        total_s = 0.0
        while True:
            try:
                plan, _raw, tokens = self.plan(task, feedback=feedback, cancel=cancel)
            except PlanError as exc:
                run.record(
                    PLANNER,
                    f"invalid plan: {exc.message}",
                    attempt=attempt,
                    value=0.0,
                    evidence=[f"the plan was rejected: {exc.message}"],
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
        return run.result(
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

    def _join_messages(self, task: str, results: str) -> list[dict]:
        return [
            {
                "role": "system",
                "content": "You are the Joiner. Answer the task using only the results of the tool calls below. "
                "If a result is missing or failed, say what is missing instead of guessing.",
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
        messages = self._join_messages(task, results)
        step_index = run.next_step

        def on_token(piece: str) -> None:
            emit(TokenReceived(run.run_id, step_index, JOINER, piece))

        reply = joiner.chat(
            messages,
            settings=GenerationSettings(max_tokens=self.answer_tokens, temperature=0.0, seed=self.seed),
            cancel=cancel,
            on_token=on_token,
        )
        answer = reply.text.strip()
        tokens = reply.n_tokens + count_tokens(joiner, messages[0]["content"] + messages[1]["content"])
        step = run.record(
            JOINER,
            answer,
            tokens=tokens,
            elapsed_ms=reply.elapsed_ms,
            prompt=f"{messages[0]['content']}\n\n{messages[1]['content']}",
        )
        return answer, step
