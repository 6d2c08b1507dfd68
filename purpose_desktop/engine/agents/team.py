"""Team: roles in order (architect plans, coder writes, tester checks), scored by the critic, traced.

Also the replay arms built from a team: ``replay_arm`` (a given team, or the one a purpose picks) and
``replay_arm_for_memory`` (the team that produced the memory, when its run recorded one).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from purpose_desktop.engine.agents.roles import RoleSpec, choose_roles, role_template
from purpose_desktop.engine.agents.spark import Spark, SparkResult
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.critic import PurposeFunction, TestOutcome, extract_code
from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.events import RunEvent, RunFinished, RunStarted, StepScored
from purpose_desktop.engine.learning.after_run import learn_from_run
from purpose_desktop.engine.learning.replay import RunArm, replay_pending, retest
from purpose_desktop.engine.memory.api import MemoryBank, SubmitResult
from purpose_desktop.engine.memory.records import ALWAYS_KINDS, Memory, MemoryPolicy
from purpose_desktop.engine.memory.retrieval import MemoryRetriever
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.store.trace import TraceRecorder


@dataclass
class TeamSpec:
    """What the Team pane edits: a name, the purpose, and the roles in order."""

    name: str
    purpose: str
    roles: list[RoleSpec]
    chosen_by: str = "user"
    max_retries: int = 2
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["roles"] = [r.to_dict() for r in self.roles]
        return d

    @classmethod
    def from_dict(cls, data: dict) -> TeamSpec:
        roles = [RoleSpec.from_dict(r) for r in data.get("roles", [])]
        if not roles:
            raise ValueError("a team needs at least one role")
        return cls(
            name=str(data.get("name") or "Team"),
            purpose=str(data.get("purpose") or ""),
            roles=roles,
            chosen_by=str(data.get("chosen_by") or "user"),
            max_retries=int(data.get("max_retries", 2)),
            id=str(data.get("id") or uuid.uuid4().hex),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> TeamSpec:
        return cls.from_dict(json.loads(text))


@dataclass
class StepResult:
    role: str
    attempt: int
    output: str
    score: float | None
    evidence: list[str]
    tool_calls: list[dict]
    tokens: int
    judge_tokens: int
    elapsed_ms: float
    tests: dict | None = None
    flags: list[str] = field(default_factory=list)
    memory_ids: list[str] = field(default_factory=list)  # the memories this step's prompt carried

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RunResult:
    """What a run produced: the final answer itself (code plus explanation), never a transcript."""

    answer: str
    run_id: str
    steps: list[StepResult]
    score: float | None
    status: str
    mode: str
    tokens_work: int
    tokens_judge: int
    elapsed_ms: float
    tests: dict | None = None
    # What the run did to memory: ids used, credit applied, candidates distilled, errors (train runs).
    memory: dict = field(default_factory=dict)

    @property
    def scores(self) -> list[float | None]:
        return [s.score for s in self.steps]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["steps"] = [s.to_dict() for s in self.steps]
        return d


def _slug(text: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", text)[:5]
    return " ".join(words).capitalize() or "Team"


def _format_answer(output: str, kind: str) -> str:
    """A coder's answer with its code fenced, so every view can highlight and copy it."""
    if kind != "code" or "```" in output:
        return output.strip()
    code = extract_code(output)
    if code and code.strip() == output.strip():
        return f"```python\n{code.rstrip()}\n```"
    return output.strip()


def _failure_note(code: str | None, output: str) -> str:
    return (
        "Your previous solution failed these checks. Fix it.\n"
        f"Previous solution:\n```python\n{code or ''}```\nTest output:\n{output[-1500:]}"
    )


class Team:
    """A team of Sparks built from a TeamSpec; ``run`` executes the roles in order."""

    def __init__(
        self,
        spec: TeamSpec,
        *,
        model=None,
        tools: Sequence | None = None,
        store=None,
        critic: PurposeFunction | None = None,
        seed: int = 0,
        temperature: float = 0.0,
        memory_policy: MemoryPolicy | None = None,
        learn: bool = True,
        spark_options: dict | None = None,
    ) -> None:
        """``learn``: after a train run, credit the memories used and distil candidates (see memory/).

        ``spark_options`` go to every Spark (``max_tokens_per_step``, ``token_budget``, ``max_steps``).
        """
        self.spec = spec
        self.model = model
        self.extra_tools = list(tools or [])
        self.store = store
        self._critic = critic
        self.seed = seed
        self.temperature = temperature
        self.memory_policy = memory_policy or MemoryPolicy()
        self.learn = learn
        self.spark_options = dict(spark_options or {})

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def roles(self) -> list[str]:
        return [r.name for r in self.spec.roles]

    def critic(self) -> PurposeFunction:
        if self._critic is None:
            from purpose_desktop.engine.models.backends import resolve_backend

            self._critic = PurposeFunction(resolve_backend(self.model))
        return self._critic

    def _tools_for(self, role: RoleSpec) -> list:
        from purpose_desktop.engine.agents.toolbox import tools_by_name

        chosen = tools_by_name(role.tools, store=self.store)
        names = {t.name for t in chosen}
        return chosen + [t for t in self.extra_tools if t.name not in names]

    def spark(self, role: RoleSpec) -> Spark:
        model = role.model or self.model
        return Spark(
            role,
            model=model,
            tools=self._tools_for(role),
            seed=self.seed,
            temperature=self.temperature,
            **self.spark_options,
        )

    # -- running --------------------------------------------------------------------------------
    def run(
        self,
        task: str,
        *,
        tests: str | None = None,
        mode: RunMode | str = RunMode.LEARNING_TRAIN,
        cancel: CancelToken | None = None,
        on_event: Callable[[RunEvent], None] | None = None,
        include_memories: Sequence[Memory] = (),
        exclude_memories: Sequence[str] = (),
    ) -> RunResult:
        """Run the roles on ``task``; ``include_memories``/``exclude_memories`` are the replay test's two arms."""
        mode = RunMode.parse(mode)
        owns_store = self.store is None
        store = Store() if owns_store else self.store
        arms = (list(include_memories), list(exclude_memories))
        try:
            with store.run_mode(mode):
                result = self._run(task, tests, mode, cancel or CancelToken(), on_event, store, arms)
                if mode is RunMode.LEARNING_TRAIN and result.status == "complete" and self.learn:
                    model, errors = self._distil_model()
                    kinds = {r.name: r.kind for r in reversed(self.spec.roles)}  # the first of a name wins
                    learned = learn_from_run(
                        store,
                        result.run_id,
                        task,
                        result.score,
                        result.steps,
                        model=model,
                        policy=self.memory_policy,
                        seed=self.seed,
                        kinds=kinds,
                    )
                    learned["errors"] = [*result.memory.get("errors", []), *errors, *learned["errors"]]
                    result.memory.update(learned)
            return result
        finally:
            if owns_store:
                store.close()

    def _run(self, task, tests, mode, cancel, on_event, store, arms=((), ())) -> RunResult:
        emit = on_event or (lambda _e: None)
        critic = self.critic()
        trace = TraceRecorder(store, mode)
        retriever = MemoryRetriever(store, self.memory_policy)
        include, exclude = arms
        memory_errors: list[str] = []
        meta = {"tests": bool(tests), "tests_text": tests} if tests else {"tests": False}
        meta["team_spec"] = self.spec.to_dict()  # so a re-test can replay with the team that ran it
        trace.start(task=task, purpose=self.spec.purpose, team=self.spec.name, roles=self.roles, meta=meta)
        emit(RunStarted(trace.run_id, task, tuple(self.roles), mode.value))
        started = time.perf_counter()
        steps: list[StepResult] = []
        outputs: dict[str, str] = {}
        code: str | None = None
        final_answer, final_score, final_tests = "", None, None
        tokens_work = tokens_judge = 0
        status = "complete"

        def recall(role: RoleSpec, spark: Spark) -> list:
            try:
                return retriever.for_step(
                    task=task,
                    role=role.name,
                    tools=[t.name for t in spark.tools],
                    purpose=self.spec.purpose,
                    include=include,
                    exclude=exclude,
                )
            except Exception as exc:  # a broken embedder must not stop the work; the run says so
                memory_errors.append(f"retrieval failed for {role.name}: {exc}")
                return []

        def record(
            role: RoleSpec,
            attempt: int,
            res: SparkResult,
            tests_outcome: TestOutcome | None,
            code_for_score=None,
        ):
            nonlocal tokens_work, tokens_judge
            score = critic.score_step(
                task=task,
                role=role.name,
                kind=role.kind,
                output=res.answer,
                tests=tests_outcome,
                code=code_for_score,
            )
            tokens_work += res.tokens
            tokens_judge += score.judge_tokens
            step = StepResult(
                role=role.name,
                attempt=attempt,
                output=res.answer,
                score=score.value,
                evidence=score.evidence,
                tool_calls=[c.to_dict() for c in res.tool_calls],
                tokens=res.tokens,
                judge_tokens=score.judge_tokens,
                elapsed_ms=res.elapsed_ms,
                tests=tests_outcome.to_dict() if tests_outcome else None,
                flags=score.flags,
                memory_ids=list(used_ids),
            )
            steps.append(step)
            trace.add_step({**step.to_dict(), "prompt": res.prompt, "thoughts": res.thoughts})
            emit(StepScored(trace.run_id, len(steps) - 1, role.name, score.value, tuple(score.evidence)))
            return step

        roles = list(self.spec.roles)
        coder = next((r for r in roles if r.kind == "code"), None)
        i, attempt = 0, 0
        failure_note = ""
        while i < len(roles):
            if cancel.is_set():
                status = "cancelled"
                break
            role = roles[i]
            context = self._context(role, outputs, failure_note)
            spark = self.spark(role)
            chosen = recall(role, spark)
            used_ids = [r.memory_id for r in chosen]
            res = spark.run(
                task,
                context=context,
                purpose=self.spec.purpose,
                memories=[r.text for r in chosen],
                rules=[r.text for r in chosen if r.kind in ALWAYS_KINDS],
                cancel=cancel,
                on_event=emit,
                run_id=trace.run_id,
                step=len(steps),
            )
            if res.status == "cancelled":
                status = "cancelled"
                record(role, attempt, res, None)
                break
            outputs[role.name] = res.answer
            if role.kind == "code":
                code = extract_code(res.answer)
                given = (
                    critic.run_tests(code, tests)
                    if (tests and code)
                    else (TestOutcome("given", 0, 1, "no code to test") if tests else None)
                )
                step = record(role, attempt, res, given)
                final_answer, final_score, final_tests = _format_answer(res.answer, "code"), step.score, given
                no_tester_after = not any(r.kind == "test" for r in roles[i + 1 :])
                if (
                    given is not None
                    and not given.all_passed
                    and no_tester_after
                    and attempt < self.spec.max_retries
                ):
                    failure_note = _failure_note(code, given.output)
                    attempt += 1
                    continue
            elif role.kind == "test" and code is not None:
                asserts = extract_code(res.answer) or ""
                checks = (
                    critic.run_asserts(code, asserts)
                    if asserts
                    else TestOutcome("tester", 0, 1, "the tester wrote no checks")
                )
                record(role, attempt, res, checks, code_for_score=asserts or None)
                given_failed = final_tests is not None and not final_tests.all_passed
                tester_failed = (
                    final_tests is None and checks.total > 0 and not checks.all_passed and bool(asserts)
                )
                if (given_failed or tester_failed) and coder is not None and attempt < self.spec.max_retries:
                    failure_note = _failure_note(code, final_tests.output if given_failed else checks.output)
                    attempt += 1
                    i = roles.index(coder)
                    continue
            else:
                step = record(role, attempt, res, None)
                if role.kind != "plan" or coder is None:
                    final_answer, final_score = res.answer.strip(), step.score
            failure_note = ""
            i += 1
        if not final_answer and steps:
            final_answer = steps[-1].output
        trace.finish(
            status=status,
            answer=final_answer,
            score=final_score,
            tokens_work=tokens_work,
            tokens_judge=tokens_judge,
        )
        emit(RunFinished(trace.run_id, final_answer, final_score, status))
        return RunResult(
            answer=final_answer,
            run_id=trace.run_id,
            steps=steps,
            score=final_score,
            status=status,
            mode=mode.value,
            tokens_work=tokens_work,
            tokens_judge=tokens_judge,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            tests=final_tests.to_dict() if final_tests else None,
            memory={
                "used": list(dict.fromkeys(m for s in steps for m in s.memory_ids)),
                "errors": memory_errors,
            },
        )

    # -- learning -------------------------------------------------------------------------------
    def _distil_model(self) -> tuple[object | None, list[str]]:
        """The model that wrote the code (it writes the lessons), resolved only when the policy distils."""
        if not self.memory_policy.distil:
            return None, []
        try:
            from purpose_desktop.engine.models.backends import resolve_backend

            coder = next((r for r in self.spec.roles if r.kind == "code" and r.model), None)
            return resolve_backend(coder.model if coder else self.model), []
        except Exception as exc:
            return None, [f"no model for distilling: {exc}"]

    # -- memory ---------------------------------------------------------------------------------
    def _with_store(self, fn):
        store = self.store or Store()
        try:
            return fn(store)
        finally:
            if store is not self.store:
                store.close()

    def teach(self, text: str, *, kind: str = "user_preference", scope: dict | None = None) -> SubmitResult:
        """Teach a lesson ("Always add type hints"): scanned, then promoted — the user is its approver.

        A lesson the immune scan blocks is stored as rejected (for audit) and never reaches a prompt;
        teaching the same lesson again strengthens the one memory.
        """
        return self._with_store(
            lambda store: MemoryBank(store, self.memory_policy).teach(text, kind=kind, scope=scope)
        )

    def status(self) -> dict:
        """Memories by kind and status, this team's runs and their recent scores."""

        def build(store) -> dict:
            info = MemoryBank(store, self.memory_policy).status()
            runs = store.list_runs(limit=10, team=self.name)
            scores = [r["score"] for r in runs if r["score"] is not None]
            info.update(
                team=self.name,
                roles=self.roles,
                team_recent_scores=scores,
                team_recent_runs=[
                    {"run_id": r["id"], "task": r["task"][:80], "score": r["score"], "mode": r["mode"]}
                    for r in runs
                ],
            )
            return info

        return self._with_store(build)

    def replay_runner(self, store=None) -> RunArm:
        """The replay test's arm runner: this team, seeded, sampling, in LEARNING_VALIDATION, learning off."""
        target = store or self.store

        def run_arm(task, tests, seed, include, exclude, cancel) -> float | None:
            arm = Team(
                self.spec,
                model=self.model,
                tools=self.extra_tools,
                store=target,
                critic=self._critic,
                seed=seed,
                temperature=self.memory_policy.replay_temperature,
                memory_policy=self.memory_policy,
                learn=False,
                spark_options=self.spark_options,
            )
            result = arm.run(
                task,
                tests=tests,
                mode=RunMode.LEARNING_VALIDATION,
                cancel=cancel,
                include_memories=include,
                exclude_memories=exclude,
            )
            return result.score

        return run_arm

    def retest(
        self, memory_id: str, *, n: int | None = None, progress=None, cancel: CancelToken | None = None
    ):
        """A/B replay of one memory with this team (see learning.replay.retest); returns the evidence."""
        return self._with_store(
            lambda store: retest(
                MemoryBank(store, self.memory_policy),
                memory_id,
                self.replay_runner(store),
                n=n,
                progress=progress,
                cancel=cancel,
            )
        )

    def replay_pending(self, *, limit: int = 10, progress=None, cancel: CancelToken | None = None):
        """Re-test the quarantined memories that have no evidence yet."""
        return self._with_store(
            lambda store: replay_pending(
                MemoryBank(store, self.memory_policy),
                self.replay_runner(store),
                limit=limit,
                progress=progress,
                cancel=cancel,
            )
        )

    # -- saving -------------------------------------------------------------------------------
    def save(self, store=None) -> None:
        """Save (or update) this team's spec under its name."""
        from purpose_desktop.engine.store import now_iso

        target = store or self.store or Store()
        try:
            target.save_team(self.spec.id, self.spec.name, self.spec.to_dict(), now_iso())
        finally:
            if target is not store and target is not self.store:
                target.close()

    @classmethod
    def load(cls, name: str, store=None, **kwargs) -> Team:
        target = store or Store()
        try:
            spec = TeamSpec.from_dict(target.load_team(name))
        finally:
            if target is not store:
                target.close()
        return cls(spec, store=store, **kwargs)

    def copy(self, name: str) -> Team:
        """A duplicate with a new id and name (the Team pane's Duplicate)."""
        data = self.spec.to_dict()
        data.update(id=uuid.uuid4().hex, name=name)
        return Team(
            TeamSpec.from_dict(data),
            model=self.model,
            tools=self.extra_tools,
            store=self.store,
            seed=self.seed,
            temperature=self.temperature,
            memory_policy=self.memory_policy,
            learn=self.learn,
            spark_options=self.spark_options,
        )

    def _context(self, role: RoleSpec, outputs: dict[str, str], failure_note: str) -> str:
        """Earlier roles' work products (never their instructions) that this role needs."""
        parts = []
        for name, text in outputs.items():
            if name != role.name and text:
                parts.append(f"{name.title()}'s work:\n{text[:2500]}")
        if failure_note and role.kind == "code":
            parts.append(failure_note)
        return "\n\n".join(parts)


def purpose(
    description: str, model=None, tools: Sequence | None = None, *, store=None, name: str | None = None
) -> Team:
    """Build a Team for a purpose: whole-word rules first, the model when no rule matches.

    ``model`` is used for asking (only when no rule matches) and for every role without its own.
    """
    if not description or not description.strip():
        raise ValueError('Describe the purpose, e.g. purpose("Help me write Python code").')
    asker = None
    from purpose_desktop.engine.agents.roles import match_rule

    if match_rule(description) is None:
        from purpose_desktop.engine.models.backends import resolve_backend

        asker = resolve_backend(model)
    names, chosen_by = choose_roles(description, asker)
    spec = TeamSpec(
        name=name or _slug(description),
        purpose=description.strip(),
        roles=[role_template(n) for n in names],
        chosen_by=chosen_by,
    )
    return Team(spec, model=model, tools=tools, store=store)


DEFAULT_REPLAY_PURPOSE = "Help me write Python code"
_team_for = purpose  # replay_arm's ``purpose`` parameter shadows the builder


def replay_arm(
    store,
    *,
    model=None,
    team: Team | None = None,
    purpose: str = DEFAULT_REPLAY_PURPOSE,
    policy: MemoryPolicy | None = None,
) -> RunArm:
    """The replay runner the app uses: ``team`` (or the team ``purpose`` picks) on ``model``, in validation mode."""
    team = team or _team_for(purpose, model=model, store=store)
    if policy is not None:
        team.memory_policy = policy
    return team.replay_runner(store)


def originating_team(store, memory: Memory | str, *, model=None) -> Team | None:
    """The team whose run produced ``memory`` (its first provenance run that recorded a team spec), or None.

    Runs record their TeamSpec in ``meta["team_spec"]``; a taught lesson, a memory from an
    orchestrated run, or one from before runs recorded it has none.
    """
    if isinstance(memory, str):
        memory = MemoryBank(store).get(memory)
    for p in memory.provenance:
        run_id = p.get("run_id") if isinstance(p, dict) else None
        if not run_id:
            continue
        try:
            run = store.get_run(run_id)
        except PurposeError:  # the run was deleted, or the id is not unique any more
            continue
        meta = run.get("meta") or {}
        spec = meta.get("team_spec") if isinstance(meta, dict) else None
        if isinstance(spec, dict):
            try:
                return Team(TeamSpec.from_dict(spec), model=model, store=store)
            except (TypeError, ValueError):  # a spec this version cannot read: fall back
                continue
    return None


def replay_arm_for_memory(
    store, memory: Memory | str, *, model=None, policy: MemoryPolicy | None = None
) -> RunArm:
    """The replay runner for re-testing ``memory``: the team that produced it, else the default team.

    The one path for re-tests from the GUI and from ``purpose-desktop memory retest`` (without --team
    or --purpose).
    """
    return replay_arm(store, model=model, team=originating_team(store, memory, model=model), policy=policy)
