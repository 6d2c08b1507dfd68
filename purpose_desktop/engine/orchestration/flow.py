"""Flow: a graph of Sparks, Teams and plain functions over a state dict — edges, conditions, fan-out, joins, loops."""

from __future__ import annotations

import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from purpose_desktop.engine.agents.spark import Spark
from purpose_desktop.engine.agents.team import RunResult, Team
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.critic import PurposeFunction, extract_code
from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.events import NodeRouted, StepStarted
from purpose_desktop.engine.orchestration.base import (
    OrchestrationError,
    TracedRun,
    critic_for,
    make_emit,
    mean_score,
    store_scope,
)
from purpose_desktop.engine.runmode import RunMode

BEGIN = "__begin__"
DONE_SIGNAL = "__done__"
_ENDS = (BEGIN, DONE_SIGNAL)
DEFAULT_LOOP_CAP = 20  # node executions, for a flow with a cycle and no max_steps (the seed's default)
_CONTEXT_CHARS = 2500


def _label(name: str) -> str:
    return {BEGIN: "BEGIN", DONE_SIGNAL: "DONE_SIGNAL"}.get(name, repr(name))


def _as_targets(value) -> list[str]:
    return list(value) if isinstance(value, list | tuple) else [value]


@dataclass
class _Node:
    name: str
    obj: object
    kind: str  # "spark" | "team" | "function"
    input_key: str
    output_key: str


@dataclass
class _Conditional:
    fn: Callable[[dict], object]
    mapping: dict | None


@dataclass
class FlowResult(RunResult):
    """A Flow run: the usual run fields plus the final state and the nodes in the order they ran."""

    state: dict = field(default_factory=dict)
    path: list[str] = field(default_factory=list)
    cap_hit: bool = False  # the step cap ended the run while nodes were still waiting
    max_steps: int | None = None  # the cap the run used (DEFAULT_LOOP_CAP when a loop had none)

    def to_dict(self) -> dict:
        keys = (
            "answer",
            "run_id",
            "score",
            "status",
            "mode",
            "tokens_work",
            "tokens_judge",
            "elapsed_ms",
            "tests",
        )
        d = {k: getattr(self, k) for k in keys}
        d["steps"] = [s.to_dict() for s in self.steps]
        d["path"] = list(self.path)
        d["cap_hit"] = self.cap_hit
        d["max_steps"] = self.max_steps
        d["state"] = {
            k: v if isinstance(v, str | int | float | bool | None) else repr(v) for k, v in self.state.items()
        }
        return d


class Flow:
    """Nodes joined by edges; ``run(state)`` walks them from BEGIN until every branch reaches DONE_SIGNAL.

    A node is a Spark (reads ``state[input]``, writes its answer to ``state[output]``), a Team (the
    same, run as a whole team) or a plain function ``fn(state) -> dict | None`` whose returned dict
    (or in-place changes) are merged into the state. Several edges out of a node fan out: plain
    functions of one wave run in threads, Sparks and Teams one after another (a model has one owner
    thread). A node with several incoming edges waits until no branch that could still reach it is
    running (a join). Each node execution is one step; a flow with a loop and no ``max_steps`` stops
    after DEFAULT_LOOP_CAP (20) steps with a warning, and ``result.cap_hit`` says the cap ended it.
    """

    def __init__(
        self,
        name: str = "flow",
        *,
        model=None,
        critic: PurposeFunction | None = None,
        store=None,
        max_steps: int | None = None,
        purpose: str | None = None,
        max_workers: int = 8,
    ) -> None:
        self.name = name
        self.model = model
        self.store = store
        self.max_steps = max_steps
        self.purpose = purpose
        self.max_workers = max_workers
        self._critic = critic
        self._nodes: dict[str, _Node] = {}
        self._edges: dict[str, list[str]] = {}
        self._conditional: dict[str, _Conditional] = {}

    # -- building -------------------------------------------------------------------------------
    def add_node(self, name: str, node, *, input: str = "task", output: str | None = None) -> Flow:
        """Add ``node`` (Spark, Team or callable) under ``name``; returns the flow for chaining."""
        if not isinstance(name, str) or not name.strip() or name in _ENDS:
            raise OrchestrationError(
                f"{name!r} cannot name a node.", "Use a short, non-empty name such as 'research'."
            )
        if name in self._nodes:
            raise OrchestrationError(f"The flow already has a node named {name!r}.", "Pick another name.")
        if isinstance(node, Spark):
            kind = "spark"
        elif isinstance(node, Team):
            kind = "team"
        elif callable(node):
            kind = "function"
        else:
            raise OrchestrationError(
                f"Node {name!r} is a {type(node).__name__}, which a flow cannot run.",
                "Use a Spark, a Team, or a function taking the state dict.",
            )
        self._nodes[name] = _Node(name, node, kind, input, output or name)
        return self

    def add_edge(self, src: str, dst: str) -> Flow:
        """After ``src`` runs, ``dst`` runs (or the branch ends, for DONE_SIGNAL)."""
        if src == DONE_SIGNAL or dst == BEGIN:
            raise OrchestrationError(
                f"An edge cannot go {'out of DONE_SIGNAL' if src == DONE_SIGNAL else 'into BEGIN'}.",
                "Edges run from BEGIN or a node to a node or DONE_SIGNAL.",
            )
        targets = self._edges.setdefault(src, [])
        if dst not in targets:
            targets.append(dst)
        return self

    def add_conditional_edge(
        self, src: str, fn: Callable[[dict], object], mapping: Mapping | None = None
    ) -> Flow:
        """After ``src`` runs, ``fn(state)`` picks the next node(s): a key of ``mapping``, or a name itself."""
        if src == DONE_SIGNAL or not callable(fn):
            raise OrchestrationError(
                "A conditional edge needs a source node and a function.",
                "add_conditional_edge('write', fn, {...})",
            )
        if src in self._conditional:
            raise OrchestrationError(
                f"Node {src!r} already has a conditional edge.",
                "Put every choice in one function and mapping.",
            )
        if mapping is not None:
            for targets in mapping.values():
                if any(t == BEGIN for t in _as_targets(targets)):
                    raise OrchestrationError(
                        "A conditional edge cannot lead to BEGIN.", "Name the first node instead."
                    )
        self._conditional[src] = _Conditional(fn, dict(mapping) if mapping is not None else None)
        return self

    # -- checking -------------------------------------------------------------------------------
    def _static_targets(self, src: str) -> list[str]:
        out = list(self._edges.get(src, []))
        cond = self._conditional.get(src)
        if cond is not None:
            if cond.mapping is None:
                out += [*self._nodes, DONE_SIGNAL]
            else:
                for targets in cond.mapping.values():
                    out += _as_targets(targets)
        return list(dict.fromkeys(out))

    def _join_preds(self, node: str) -> set[str]:
        """Sources whose edge names ``node`` explicitly (plain edges and mapped conditionals)."""
        preds = {s for s, ts in self._edges.items() if node in ts}
        for s, cond in self._conditional.items():
            if cond.mapping is not None and any(node in _as_targets(t) for t in cond.mapping.values()):
                preds.add(s)
        return preds

    def validate(self, max_steps: int | None = None) -> None:
        """Raise OrchestrationError for unknown nodes, a dead end or an unreachable DONE_SIGNAL.

        A cycle needs no cap: a run without one stops after DEFAULT_LOOP_CAP steps (see effective_cap).
        """
        known = set(self._nodes)
        if not self._edges.get(BEGIN) and BEGIN not in self._conditional:
            raise OrchestrationError(
                "The flow has no edge from BEGIN.", "Add flow.add_edge(BEGIN, 'first node')."
            )
        for src in [*self._edges, *self._conditional]:
            if src not in known and src != BEGIN:
                raise OrchestrationError(
                    f"An edge starts at {src!r}, but there is no node with that name.",
                    f"Nodes: {', '.join(sorted(known)) or 'none'}. Add the node or fix the edge.",
                )
            for dst in self._static_targets(src):
                if dst not in known and dst not in _ENDS:
                    raise OrchestrationError(
                        f"The edge {_label(src)} → {dst!r} leads to no node.",
                        f"Nodes: {', '.join(sorted(known)) or 'none'}. Add the node or fix the edge.",
                    )
        reachable, stack = set(), [BEGIN]
        while stack:
            for dst in self._static_targets(stack.pop()):
                if dst not in reachable:
                    reachable.add(dst)
                    stack.append(dst)
        for name in self._nodes:
            if name in reachable and not self._static_targets(name):
                raise OrchestrationError(
                    f"Node {name!r} has no outgoing edge, so its branch never ends.",
                    f"Add flow.add_edge({name!r}, DONE_SIGNAL) or an edge to the next node.",
                )
        if DONE_SIGNAL not in reachable:
            raise OrchestrationError(
                "DONE_SIGNAL cannot be reached from BEGIN, so the flow would never finish.",
                "Add an edge (or a conditional edge choice) to DONE_SIGNAL.",
            )

    def has_cycle(self) -> bool:
        """True when some node can be reached again from itself (a loop the step cap bounds)."""
        reachable, stack = set(), [BEGIN]
        while stack:
            for dst in self._static_targets(stack.pop()):
                if dst not in reachable:
                    reachable.add(dst)
                    stack.append(dst)
        return self._find_cycle(reachable & set(self._nodes)) is not None

    def effective_cap(self, max_steps: int | None = None) -> int | None:
        """The step cap a run uses: the one given, else the flow's, else DEFAULT_LOOP_CAP for a loop."""
        cap = max_steps if max_steps is not None else self.max_steps
        if cap is None and self.has_cycle():
            return DEFAULT_LOOP_CAP
        return cap

    def _find_cycle(self, nodes: set[str]) -> list[str] | None:
        colour: dict[str, int] = {}
        path: list[str] = []

        def visit(n: str) -> list[str] | None:
            colour[n] = 1
            path.append(n)
            for m in self._static_targets(n):
                if m not in nodes:
                    continue
                if colour.get(m) == 1:
                    return [*path[path.index(m) :], m]
                if m not in colour and (found := visit(m)):
                    return found
            colour[n] = 2
            path.pop()
            return None

        for n in self._nodes:
            if n in nodes and n not in colour and (found := visit(n)):
                return found
        return None

    # -- running --------------------------------------------------------------------------------
    def _critic_model(self):
        if self.model is not None:
            from purpose_desktop.engine.models.backends import resolve_backend

            return resolve_backend(self.model)
        for node in self._nodes.values():
            if node.kind == "spark":
                return node.obj.model
        return None

    def run(
        self,
        state: Mapping | str | None = None,
        *,
        max_steps: int | None = None,
        tests: str | None = None,
        mode: RunMode | str = RunMode.LEARNING_TRAIN,
        cancel: CancelToken | None = None,
        on_event=None,
        store=None,
    ) -> FlowResult:
        """Run from BEGIN; ``state`` is a dict (a string becomes ``{"task": text}``).

        The run is traced like a Team run: each Spark/Team node's step is scored by the critic
        (``tests`` are run against code-writing Sparks), plain functions are traced unscored.
        """
        self.validate(max_steps)
        mode = RunMode.parse(mode)
        state = {"task": state} if isinstance(state, str) else dict(state or {})
        cap = self.effective_cap(max_steps)
        default_cap = cap is not None and max_steps is None and self.max_steps is None
        emit = make_emit(on_event, locked=True)
        cancel = cancel or CancelToken()
        task = str(state.get("task") or state.get("input") or self.name)
        with store_scope(store or self.store, mode) as db:
            critic = critic_for(self._critic, self._critic_model() if self._critic is None else None)
            run = TracedRun(
                db,
                mode,
                critic,
                emit,
                task=task,
                name=f"flow:{self.name}",
                roles=list(self._nodes),
                purpose=self.purpose,
                meta={"kind": "flow", "max_steps": cap},
            )
            try:
                result = self._run(run, state, cap, tests, mode, cancel, emit, db)
            except BaseException as exc:
                run.fail(exc)
                raise
        if result.cap_hit and default_cap:
            warnings.warn(
                f"Flow {self.name!r} has a loop and no max_steps; it stopped after the default cap of "
                f"{cap} steps (result.cap_hit is True). Pass max_steps to choose the cap.",
                RuntimeWarning,
                stacklevel=2,
            )
        return result

    def _run(self, run: TracedRun, state: dict, cap, tests, mode, cancel, emit, db) -> FlowResult:
        pending: OrderedDict[str, set[str]] = OrderedDict()
        for dst in self._route(BEGIN, state):
            if dst != DONE_SIGNAL:
                pending.setdefault(dst, set()).add(BEGIN)
        outputs: OrderedDict[str, str] = OrderedDict()
        runs: dict[str, int] = {}
        path: list[str] = []
        done_by: list[tuple[str, int]] = []  # (node, step index) that reached DONE_SIGNAL
        status = "complete"
        cap_hit = False
        while pending:
            if cancel.is_set():
                status = "cancelled"
                break
            wave = [n for n in pending if self._ready(n, pending)] or [next(iter(pending))]
            if cap is not None and len(path) + len(wave) > cap:
                wave = wave[: max(0, cap - len(path))]
                if not wave:
                    status, cap_hit = "incomplete", True
                    break
            for n in wave:
                del pending[n]
            results = self._run_wave(wave, run, state, outputs, runs, tests, mode, cancel, emit, db)
            cancelled = False
            for name, (updates, text, _step, step_status) in zip(wave, results, strict=True):
                state.update(updates)
                if text:
                    outputs.pop(name, None)
                    outputs[name] = text
                runs[name] = runs.get(name, 0) + 1
                path.append(name)
                cancelled = cancelled or step_status == "cancelled"
            if cancelled:
                status = "cancelled"
                break
            for name, (_u, _t, step_index, _s) in zip(wave, results, strict=True):
                targets = self._route(name, state)
                emit(NodeRouted(run.run_id, step_index, name, tuple(targets)))
                for dst in targets:
                    if dst == DONE_SIGNAL:
                        done_by.append((name, step_index))
                    else:
                        pending.setdefault(dst, set()).add(name)
            if cap is not None and len(path) >= cap and pending:
                status, cap_hit = "incomplete", True
                break
        if status == "complete" and not done_by:
            status = "incomplete"
        answer, score = self._answer(state, outputs, done_by, run, path)
        result = run.result(
            FlowResult,
            answer=answer,
            score=score,
            status=status,
            state=state,
            path=path,
            cap_hit=cap_hit,
            max_steps=cap,
        )
        return run.learn(result, run.critic.model)

    def _answer(self, state, outputs, done_by, run: TracedRun, path) -> tuple[str, float | None]:
        producer = done_by[-1][0] if done_by else (path[-1] if path else None)
        if "answer" in state and state["answer"] is not None:
            answer = str(state["answer"])
        elif producer is not None and outputs.get(producer):
            answer = outputs[producer]
        else:
            answer = next(reversed(outputs.values()), "")
        step = run.steps[done_by[-1][1]] if done_by and done_by[-1][1] < len(run.steps) else None
        score = step.score if step is not None and step.score is not None else mean_score(run.steps)
        return answer.strip(), score

    def _ready(self, node: str, pending: Mapping[str, set[str]]) -> bool:
        """A join fires once no predecessor it still lacks can be reached from another pending node."""
        missing = self._join_preds(node) - pending[node]
        if not missing:
            return True
        seen = {n for n in pending if n != node}
        stack = list(seen)
        while stack:
            for m in self._static_targets(stack.pop()):
                if m != node and m not in seen and m not in _ENDS:
                    seen.add(m)
                    stack.append(m)
        return not (missing & seen)

    def _route(self, src: str, state: dict) -> list[str]:
        targets = list(self._edges.get(src, []))
        cond = self._conditional.get(src)
        if cond is not None:
            try:
                key = cond.fn(state)
            except PurposeError:
                raise
            except Exception as exc:
                raise OrchestrationError(
                    f"The conditional edge after {_label(src)} failed: {type(exc).__name__}: {exc}",
                    "Fix the routing function; it receives the state dict.",
                ) from exc
            if cond.mapping is None:
                chosen = _as_targets(key)
            else:
                try:
                    chosen = _as_targets(cond.mapping[key])
                except (KeyError, TypeError):
                    raise OrchestrationError(
                        f"The conditional edge after {_label(src)} returned {key!r}, which the mapping does not have.",
                        "Expected one of: " + ", ".join(map(repr, cond.mapping)),
                    ) from None
            for dst in chosen:
                if dst not in self._nodes and dst != DONE_SIGNAL:
                    raise OrchestrationError(
                        f"The conditional edge after {_label(src)} chose {dst!r}, which is not a node.",
                        f"Nodes: {', '.join(sorted(self._nodes))}, or DONE_SIGNAL.",
                    )
            targets += [t for t in chosen if t not in targets]
        return targets

    def _run_wave(
        self, wave, run: TracedRun, state, outputs, runs, tests, mode, cancel, emit, db
    ) -> list[tuple]:
        """Run one wave: functions in threads (each on a copy of the state), agents in order here."""
        snapshot = dict(state)
        funcs = [n for n in wave if self._nodes[n].kind == "function"]
        futures = {}
        pool = ThreadPoolExecutor(max_workers=min(self.max_workers, len(funcs))) if len(funcs) > 1 else None
        try:
            for name in funcs:
                if pool is not None:
                    futures[name] = pool.submit(_call_function, self._nodes[name], dict(snapshot))
            results: dict[str, tuple] = {}
            for name in wave:
                node = self._nodes[name]
                if node.kind == "function":
                    continue
                results[name] = self._run_agent(
                    node, run, snapshot, outputs, runs, tests, mode, cancel, emit, db
                )
            for name in funcs:
                node = self._nodes[name]
                emit(StepStarted(run.run_id, run.next_step, name, runs.get(name, 0)))
                t0 = time.perf_counter()
                updates, text, error = (
                    futures[name].result() if pool is not None else _call_function(node, dict(snapshot))
                )
                elapsed = (time.perf_counter() - t0) * 1000
                if error is not None:
                    run.record(
                        name,
                        f"failed: {error}",
                        attempt=runs.get(name, 0),
                        scored=False,
                        evidence=[f"plain function raised {error}"],
                        elapsed_ms=elapsed,
                    )
                    raise OrchestrationError(
                        f"Flow node {name!r} failed: {error}",
                        "Fix the function; the run's trace shows its step.",
                    ) from error
                changed = ", ".join(sorted(map(str, updates))) or "nothing"
                run.record(
                    name,
                    text or f"updated: {changed}",
                    attempt=runs.get(name, 0),
                    scored=False,
                    evidence=[f"plain function (not judged); updated {changed}"],
                    elapsed_ms=elapsed,
                )
                results[name] = (updates, text, run.next_step - 1, "complete")
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        return [results[name] for name in wave]

    def _run_agent(
        self, node: _Node, run: TracedRun, state, outputs, runs, tests, mode, cancel, emit, db
    ) -> tuple:
        if node.input_key not in state:
            raise OrchestrationError(
                f"Flow node {node.name!r} reads state[{node.input_key!r}], which is not set.",
                f"Put {node.input_key!r} in the initial state or have an earlier node write it.",
            )
        task = str(state[node.input_key])
        context = self._context(node.name, outputs, state)
        attempt = runs.get(node.name, 0)
        if node.kind == "team":
            team: Team = node.obj
            copy = Team(
                team.spec,
                model=team.model,
                tools=team.extra_tools,
                store=db,
                critic=getattr(team, "_critic", None) or run.critic,
                seed=team.seed,
            )
            emit(StepStarted(run.run_id, run.next_step, node.name, attempt))
            res = copy.run(
                task + (f"\n\n{context}" if context else ""),
                tests=tests,
                mode=mode,
                cancel=cancel,
                on_event=emit,
            )
            evidence = [f"team run {res.run_id[:8]}: {len(res.steps)} steps, {res.status}"]
            evidence += res.steps[-1].evidence if res.steps else []
            calls = [c for s in res.steps for c in s.tool_calls]
            run.record(
                node.name,
                res.answer,
                attempt=attempt,
                value=res.score,
                evidence=evidence,
                tool_calls=calls,
                tokens=res.tokens_work,
                judge_tokens=res.tokens_judge,
                elapsed_ms=res.elapsed_ms,
                task=task,
            )
            return {node.output_key: res.answer}, res.answer, run.next_step - 1, res.status
        spark: Spark = node.obj
        recall = run.recall_for(spark, task, purpose=self.purpose)
        res = spark.run(
            task,
            context=context,
            purpose=self.purpose,
            **recall.kwargs,
            cancel=cancel,
            on_event=emit,
            run_id=run.run_id,
            step=run.next_step,
        )
        kind = spark.role.kind
        outcome = None
        if tests and kind == "code" and res.status != "cancelled":
            code = extract_code(res.answer)
            outcome = run.critic.run_tests(code, tests) if code else None
        run.record(
            node.name, res.answer, kind=kind, attempt=attempt, spark=res, tests=outcome, task=task,
            memory_ids=recall.ids,
        )
        return {node.output_key: res.answer}, res.answer, run.next_step - 1, res.status

    def _context(self, name: str, outputs: Mapping[str, str], state: Mapping) -> str:
        """Other nodes' latest work (and this node's own previous work in a loop), plus any feedback."""
        parts = []
        for other, text in outputs.items():
            if text:
                who = "Your previous work" if other == name else f"{other.replace('_', ' ').title()}'s work"
                parts.append(f"{who}:\n{text[:_CONTEXT_CHARS]}")
        feedback = state.get("feedback")
        if feedback:
            parts.append(f"Feedback:\n{str(feedback)[:_CONTEXT_CHARS]}")
        return "\n\n".join(parts)


def _call_function(node: _Node, state: dict) -> tuple[dict, str, BaseException | None]:
    """Run a plain-function node on its own copy of the state: (updates, text output, error)."""
    before = dict(state)
    try:
        returned = node.obj(state)
    except Exception as exc:  # reported by the caller with the node's name
        return {}, "", exc
    if returned is None or returned is state:
        updates = {k: v for k, v in state.items() if k not in before or before[k] is not v}
    elif isinstance(returned, Mapping):
        updates = {k: v for k, v in returned.items() if k not in before or before[k] is not v}
    else:
        updates = {node.output_key: returned}
    text = updates.get(node.output_key)
    return updates, text if isinstance(text, str) else "", None
