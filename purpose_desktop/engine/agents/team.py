"""Team: roles in order (architect plans, coder writes, tester checks), scored by the critic, traced."""

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
from purpose_desktop.engine.events import RunEvent, RunFinished, RunStarted, StepScored
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.trace import TraceRecorder


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
    ) -> None:
        self.spec = spec
        self.model = model
        self.extra_tools = list(tools or [])
        self.store = store
        self._critic = critic
        self.seed = seed

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def roles(self) -> list[str]:
        return [r.name for r in self.spec.roles]

    def critic(self) -> PurposeFunction:
        if self._critic is None:
            from purpose_desktop.engine.backends import resolve_backend

            self._critic = PurposeFunction(resolve_backend(self.model))
        return self._critic

    def _tools_for(self, role: RoleSpec) -> list:
        from purpose_desktop.engine.agents.toolbox import tools_by_name

        chosen = tools_by_name(role.tools)
        names = {t.name for t in chosen}
        return chosen + [t for t in self.extra_tools if t.name not in names]

    def spark(self, role: RoleSpec) -> Spark:
        model = role.model or self.model
        return Spark(role, model=model, tools=self._tools_for(role), seed=self.seed)

    # -- running --------------------------------------------------------------------------------
    def run(
        self,
        task: str,
        *,
        tests: str | None = None,
        mode: RunMode | str = RunMode.LEARNING_TRAIN,
        cancel: CancelToken | None = None,
        on_event: Callable[[RunEvent], None] | None = None,
    ) -> RunResult:
        mode = RunMode.parse(mode)
        owns_store = self.store is None
        store = Store() if owns_store else self.store
        try:
            with store.run_mode(mode):
                return self._run(task, tests, mode, cancel or CancelToken(), on_event, store)
        finally:
            if owns_store:
                store.close()

    def _run(self, task, tests, mode, cancel, on_event, store) -> RunResult:
        emit = on_event or (lambda _e: None)
        critic = self.critic()
        trace = TraceRecorder(store, mode)
        trace.start(task=task, purpose=self.spec.purpose, team=self.spec.name, roles=self.roles, meta={"tests": bool(tests)})
        emit(RunStarted(trace.run_id, task, tuple(self.roles), mode.value))
        started = time.perf_counter()
        steps: list[StepResult] = []
        outputs: dict[str, str] = {}
        code: str | None = None
        final_answer, final_score, final_tests = "", None, None
        tokens_work = tokens_judge = 0
        status = "complete"

        def record(role: RoleSpec, attempt: int, res: SparkResult, tests_outcome: TestOutcome | None, code_for_score=None):
            nonlocal tokens_work, tokens_judge
            score = critic.score_step(
                task=task, role=role.name, kind=role.kind, output=res.answer, tests=tests_outcome, code=code_for_score
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
            )
            steps.append(step)
            trace.add_step({**step.to_dict(), "prompt": res.prompt, "thoughts": res.thoughts, "memory_ids": []})
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
            res = self.spark(role).run(
                task, context=context, purpose=self.spec.purpose, cancel=cancel, on_event=emit,
                run_id=trace.run_id, step=len(steps),
            )
            if res.status == "cancelled":
                status = "cancelled"
                record(role, attempt, res, None)
                break
            outputs[role.name] = res.answer
            if role.kind == "code":
                code = extract_code(res.answer)
                given = critic.run_tests(code, tests) if (tests and code) else (
                    TestOutcome("given", 0, 1, "no code to test") if tests else None)
                step = record(role, attempt, res, given)
                final_answer, final_score, final_tests = _format_answer(res.answer, "code"), step.score, given
                no_tester_after = not any(r.kind == "test" for r in roles[i + 1 :])
                if given is not None and not given.all_passed and no_tester_after and attempt < self.spec.max_retries:
                    failure_note = _failure_note(code, given.output)
                    attempt += 1
                    continue
            elif role.kind == "test" and code is not None:
                asserts = extract_code(res.answer) or ""
                checks = critic.run_asserts(code, asserts) if asserts else TestOutcome("tester", 0, 1, "the tester wrote no checks")
                record(role, attempt, res, checks, code_for_score=asserts or None)
                given_failed = final_tests is not None and not final_tests.all_passed
                tester_failed = final_tests is None and checks.total > 0 and not checks.all_passed and bool(asserts)
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
        trace.finish(status=status, answer=final_answer, score=final_score, tokens_work=tokens_work, tokens_judge=tokens_judge)
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
        return Team(TeamSpec.from_dict(data), model=self.model, tools=self.extra_tools, store=self.store)

    def _context(self, role: RoleSpec, outputs: dict[str, str], failure_note: str) -> str:
        """Earlier roles' work products (never their instructions) that this role needs."""
        parts = []
        for name, text in outputs.items():
            if name != role.name and text:
                parts.append(f"{name.title()}'s work:\n{text[:2500]}")
        if failure_note and role.kind == "code":
            parts.append(failure_note)
        return "\n\n".join(parts)


def purpose(description: str, model=None, tools: Sequence | None = None, *, store=None, name: str | None = None) -> Team:
    """Build a Team for a purpose: whole-word rules first, the model when no rule matches.

    ``model`` is used for asking (only when no rule matches) and for every role without its own.
    """
    if not description or not description.strip():
        raise ValueError('Describe the purpose, e.g. purpose("Help me write Python code").')
    asker = None
    from purpose_desktop.engine.agents.roles import match_rule

    if match_rule(description) is None:
        from purpose_desktop.engine.backends import resolve_backend

        asker = resolve_backend(model)
    names, chosen_by = choose_roles(description, asker)
    spec = TeamSpec(name=name or _slug(description), purpose=description.strip(), roles=[role_template(n) for n in names], chosen_by=chosen_by)
    return Team(spec, model=model, tools=tools, store=store)
