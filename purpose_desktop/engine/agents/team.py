"""Team: roles in order (architect plans, coder writes, tester checks blind), scored by the critic, traced.

The replay arms built from a team (a named one, a purpose's, a memory's own) are in ``replay_arms.py``.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from purpose_desktop.engine.agents.code_phase import CodePhase
from purpose_desktop.engine.agents.results import RunResult, StepResult
from purpose_desktop.engine.agents.roles import RoleSpec, choose_roles, role_template
from purpose_desktop.engine.agents.spark import (
    DEFAULT_STEP_TOKENS,
    DEFAULT_TOKEN_BUDGET,
    STEP_TOKENS_RANGE,
    TOKEN_BUDGET_RANGE,
    Spark,
    SparkResult,
)
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.critic import PurposeFunction, Score
from purpose_desktop.engine.events import RunEvent, RunFinished, RunStarted, StepScored
from purpose_desktop.engine.learning.after_run import learn_from_run
from purpose_desktop.engine.learning.calibration import disagreement, load_calibration, submit_calibrations
from purpose_desktop.engine.learning.replay import ArmResult, RunArm, replay_pending, retest
from purpose_desktop.engine.memory.api import MemoryBank, SubmitResult
from purpose_desktop.engine.memory.records import ALWAYS_KINDS, Memory, MemoryPolicy, project_tag
from purpose_desktop.engine.memory.retrieval import MemoryRetriever
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.store.trace import TraceRecorder
from purpose_desktop.engine.workspace import Project, WorkspaceSession, open_project


@dataclass
class TeamSpec:
    """What the Team pane edits: a name, the purpose, and the roles in order."""

    name: str
    purpose: str
    roles: list[RoleSpec]
    chosen_by: str = "user"
    max_retries: int = 3
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # What the team is for, its roles and what "done" means, as the person wrote or accepted it ("" until
    # they do: the default from agents/contract.py). Saved, it becomes the team's purpose_contract memory.
    contract: str = ""
    #: Token budgets (answer tokens; a reasoning model's thinking is not counted): per step, per role.
    max_tokens_per_step: int = DEFAULT_STEP_TOKENS
    token_budget: int = DEFAULT_TOKEN_BUDGET
    #: When the person gave tests or the task shows examples, the coder's plain first answer is tried
    #: first; if it passes them the run ends there (no plan, no further checks): see CodePhase.try_first.
    stop_at_first_pass: bool = True
    #: The tester writes its checks as ``assert f(…) == …`` lines under a grammar, kept where its answers
    #: agree (agents/checkwriter.py), instead of one free-form answer. For small local models, which
    #: otherwise write the function again; off by default (bench/team_vs_raw.py --tester-assert-lines).
    tester_assert_lines: bool = False

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
            max_retries=int(data.get("max_retries", 3)),
            id=str(data.get("id") or uuid.uuid4().hex),
            contract=str(data.get("contract") or ""),
            max_tokens_per_step=_budget(data, "max_tokens_per_step", DEFAULT_STEP_TOKENS, STEP_TOKENS_RANGE),
            token_budget=_budget(data, "token_budget", DEFAULT_TOKEN_BUDGET, TOKEN_BUDGET_RANGE),
            stop_at_first_pass=bool(data.get("stop_at_first_pass", True)),
            tester_assert_lines=bool(data.get("tester_assert_lines", False)),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> TeamSpec:
        return cls.from_dict(json.loads(text))


def _budget(data: dict, name: str, default: int, bounds: tuple[int, int]) -> int:
    """A team's token budget from its spec (older specs have none: the default); ValueError out of range."""
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"{name} must be a whole number from {bounds[0]} to {bounds[1]}, not {value!r}")
    return value


def _slug(text: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", text)[:5]
    return " ".join(words).capitalize() or "Team"


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
        workspace=None,
    ) -> None:
        """``learn``: after a train run, credit the memories used and distil candidates (see memory/).

        ``spark_options`` go to every Spark (``max_tokens_per_step``, ``token_budget``, ``max_steps``).
        ``workspace`` (a project folder): roles with the files tool read in it and propose writes.
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
        #: The MCP servers (and approval gate) for roles' ``mcp:server/tool`` tools; None: from the settings,
        #: with nobody to ask (calls not marked "always allow" do not run).
        self.mcp = None
        self.workspace = workspace if workspace is None or isinstance(workspace, Project) else open_project(workspace)
        self._session: WorkspaceSession | None = None

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

        chosen = tools_by_name(role.tools, workspace=self._session, store=self.store, mcp=self.mcp)
        names = {t.name for t in chosen}
        return chosen + [t for t in self.extra_tools if t.name not in names]

    def spark(self, role: RoleSpec, **options) -> Spark:
        """A Spark for ``role``; ``options`` (a sample's ``temperature``, ``seed``) override the team's."""
        model = role.model or self.model
        settings = {
            "seed": self.seed,
            "temperature": self.temperature,
            "max_tokens_per_step": self.spec.max_tokens_per_step,
            "token_budget": self.spec.token_budget,
            **self.spark_options,  # a caller's explicit options win over the team's saved budgets
            **options,
        }
        return Spark(role, model=model, tools=self._tools_for(role), **settings)

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
                        grounded_by=result.grounded_by,
                        answer=result.answer,
                        project=self.workspace.name if self.workspace else None,
                    )
                    learned["errors"] = [*result.memory.get("errors", []), *errors, *learned["errors"]]
                    signals = result.memory.get("calibration_signals") or []
                    if signals and self.memory_policy.distil:
                        try:
                            learned["calibrations"] = submit_calibrations(store, signals, result.run_id, self.memory_policy)
                        except Exception as exc:  # a lesson about the critic must not fail the run
                            learned["errors"].append(f"critic calibration not submitted: {exc}")
                    result.memory.update(learned)
            return result
        finally:
            if owns_store:
                store.close()

    def _run(self, task, tests, mode, cancel, on_event, store, arms=((), ())) -> RunResult:
        """Roles in order; the coder and a tester after it run as the code phase (code_phase.py): a plain
        first answer, checks written blind, more candidates only while no candidate passes its checks, and
        the best-checked candidate — not the last — is the run's answer and score.
        """
        emit = on_event or (lambda _e: None)
        critic = self.critic()
        trace = TraceRecorder(store, mode)
        retriever = MemoryRetriever(store, self.memory_policy)
        include, exclude = arms
        memory_errors: list[str] = []
        contract = self._contract(store, memory_errors)
        calibration_signals: list[dict] = []  # where the judge and the checks disagreed (critic_calibration)
        try:
            critic.calibration = load_calibration(store)  # the person's approved calibrations
        except Exception as exc:
            memory_errors.append(f"reading critic calibrations failed: {exc}")
        prompt_purpose = contract.text if contract is not None else self.spec.purpose
        contract_ids = [contract.id] if contract is not None else []
        meta = {"tests": bool(tests), "tests_text": tests} if tests else {"tests": False}
        meta["team_spec"] = self.spec.to_dict()  # so a re-test can replay with the team that ran it
        if self.workspace is not None:
            meta["workspace"] = self.workspace.key
        trace.start(task=task, purpose=self.spec.purpose, team=self.spec.name, roles=self.roles, meta=meta)
        if self.workspace is not None:  # proposals are stored under the run as they are made
            self._session = WorkspaceSession(self.workspace, store, run_id=trace.run_id)
        emit(RunStarted(trace.run_id, task, tuple(self.roles), mode.value))
        started = time.perf_counter()
        steps: list[StepResult] = []
        outputs: dict[str, str] = {}
        final: dict = {"answer": "", "score": None, "tests": None, "grounded_by": "judge"}
        tokens = {"work": 0, "judge": 0}
        status = "complete"

        def work(
            role: RoleSpec, context: str, step: int | None = None, plain: bool = False, checks_for: str | None = None, **options
        ) -> tuple[SparkResult, list[str]]:
            """One role's turn; ``plain``: a plain answer's prompt (no purpose but a promoted contract);
            ``checks_for``: a tester's checks of that function (Spark.run)."""
            spark = self.spark(role, **options)
            try:
                chosen = retriever.for_step(
                    task=task,
                    role=role.name,
                    tools=[t.name for t in spark.tools],
                    purpose=self.spec.purpose,
                    include=include,
                    exclude=exclude,
                    tags=(project_tag(self.workspace.name),) if self.workspace else (),
                )
            except Exception as exc:  # a broken embedder must not stop the work; the run says so
                memory_errors.append(f"retrieval failed for {role.name}: {exc}")
                chosen = []
            res = spark.run(
                task,
                context=context,
                # the team's promoted purpose contract, else its purpose (a plain answer: the contract only)
                purpose=(contract.text if contract is not None else None) if plain else prompt_purpose,
                memories=[r.text for r in chosen],
                rules=[r.text for r in chosen if r.kind in ALWAYS_KINDS],
                cancel=cancel,
                on_event=emit,
                run_id=trace.run_id,
                step=len(steps) if step is None else step,
                plain=plain,
                checks_for=checks_for,
            )
            return res, contract_ids + [r.memory_id for r in chosen]

        def record(role, attempt, res, used_ids, tests_outcome=None, code_for_score=None, judge=True) -> tuple[StepResult, Score]:
            score = critic.score_step(
                task=task,
                role=role.name,
                kind=role.kind,
                output=res.answer,
                tests=tests_outcome,
                code=code_for_score,
                judge=judge,
            )
            tokens["work"] += res.tokens
            tokens["judge"] += score.judge_tokens
            signal = disagreement(score, task, role.name)
            if signal is not None:
                calibration_signals.append(signal)
            shown = tests_outcome or next(iter(score.checks), None)
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
                tests=shown.to_dict() if shown else None,
                flags=score.flags,
                memory_ids=list(used_ids),
                grounded_by=score.grounded_by,
            )
            steps.append(step)
            trace.add_step({**step.to_dict(), "prompt": res.prompt, "thoughts": res.thoughts})
            emit(
                StepScored(
                    trace.run_id, len(steps) - 1, role.name, score.value, tuple(score.evidence), score.grounded_by
                )
            )
            return step, score

        roles = list(self.spec.roles)
        coder = next((r for r in roles if r.kind == "code"), None)
        tester = None
        if coder is not None:
            after = roles[next(i for i, r in enumerate(roles) if r is coder) + 1 :]
            tester = next((r for r in after if r.kind == "test"), None)
        phase = None
        if coder is not None:
            phase = CodePhase(
                self, task=task, tests=tests, critic=critic, work=work, record=record,
                outputs=outputs, final=final, cancel=cancel, steps=steps,
            )
            early = phase.try_first(coder) if not cancel.is_set() else None
            if early is not None:  # the plain first answer passed the given tests or the task's examples
                status = early
                roles = []
        for role in roles:
            if cancel.is_set():
                status = "cancelled"
                break
            if role is tester:
                continue  # it ran inside the coder's phase, before the solution existed
            if role is coder:
                status = phase.run(coder, tester)
                if status == "cancelled":
                    break
                continue
            res, used = work(role, self._context(role, outputs, ""))
            step, _score = record(role, 0, res, used)
            if res.status == "cancelled":
                status = "cancelled"
                break
            outputs[role.name] = res.answer
            # With a coder, the code is the answer; a tester's asserts are never the answer.
            if coder is None and role.kind != "test":
                final.update(answer=res.answer.strip(), score=step.score, grounded_by=step.grounded_by)
        if not final["answer"] and steps and coder is None:
            last = next((s for s in reversed(steps) if self._kind_of(s.role) != "test"), None)
            if last is not None:
                final.update(answer=last.output, score=last.score, grounded_by=last.grounded_by)
        final_tests = final["tests"]
        trace.finish(
            status=status,
            answer=final["answer"],
            score=final["score"],
            tokens_work=tokens["work"],
            tokens_judge=tokens["judge"],
            meta={
                "grounded_by": final["grounded_by"],
                "steps_grounded_by": [s.grounded_by for s in steps],
                "selection": final.get("selection", {}),
            },
        )
        emit(RunFinished(trace.run_id, final["answer"], final["score"], status))
        return RunResult(
            answer=final["answer"],
            run_id=trace.run_id,
            steps=steps,
            score=final["score"],
            status=status,
            mode=mode.value,
            tokens_work=tokens["work"],
            tokens_judge=tokens["judge"],
            elapsed_ms=(time.perf_counter() - started) * 1000,
            tests=final_tests.to_dict() if final_tests else None,
            memory={
                "used": list(dict.fromkeys(m for s in steps for m in s.memory_ids)),
                "errors": memory_errors,
                "calibration_signals": calibration_signals,
            },
            grounded_by=final["grounded_by"],
            proposals=[p for p in (self._session.proposals if self._session else []) if p.status == "proposed"],
            checks=final.get("checks", ""),
            selection=final.get("selection", {}),
        )

    def _contract(self, store, errors: list[str]):
        """The team's promoted purpose contract (every role's prompt carries it), or None."""
        try:
            from purpose_desktop.engine.agents.contract import current_contract

            return current_contract(store, self.spec.id)
        except Exception as exc:  # a broken memory table must not stop the work; the run says so
            errors.append(f"reading the purpose contract failed: {exc}")
            return None

    # -- learning -------------------------------------------------------------------------------
    def _kind_of(self, role_name: str) -> str:
        return next((r.kind for r in self.spec.roles if r.name == role_name), "text")

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
        """The replay test's arm runner: this team, seeded, sampling, in LEARNING_VALIDATION, learning off.

        Each arm returns its score and how it was grounded; only grounded pairs decide the verdict.
        """
        target = store or self.store

        def run_arm(task, tests, seed, include, exclude, cancel) -> ArmResult:
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
                workspace=self.workspace,  # proposals in validation mode are never stored
            )
            result = arm.run(
                task,
                tests=tests,
                mode=RunMode.LEARNING_VALIDATION,
                cancel=cancel,
                include_memories=include,
                exclude_memories=exclude,
            )
            return ArmResult(result.score, result.grounded_by)

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
            if name == role.name or not text:
                continue
            if role.kind == "test" and self._kind_of(name) in ("code", "test"):
                continue  # a tester's checks are written before it sees any solution
            if role.kind == "code" and self._kind_of(name) == "test":
                continue  # the checks are evidence about the code, not a spec to special-case
            parts.append(f"{name.title()}'s work:\n{text[:2500]}")
        if failure_note and role.kind == "code":
            parts.append(failure_note)
        return "\n\n".join(parts)


def purpose(
    description: str,
    model=None,
    tools: Sequence | None = None,
    *,
    store=None,
    name: str | None = None,
    contract: bool = False,
) -> Team:
    """Build a Team for a purpose: whole-word rules first, the model when no rule matches.

    ``model`` is used for asking (only when no rule matches) and for every role without its own.
    ``contract=True`` (with a ``store``) records the purpose as the team's ``purpose_contract`` memory —
    scanned, and promoted by this call, the person's own act (see agents/contract.py); every role's
    prompt then carries it. Saving a team in the Team pane does the same.
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
    team = Team(spec, model=model, tools=tools, store=store)
    if contract:
        if store is None:
            raise ValueError("purpose(..., contract=True) needs the store to record the contract in")
        from purpose_desktop.engine.agents.contract import record_contract

        team.contract_result = record_contract(store, spec)
    return team

