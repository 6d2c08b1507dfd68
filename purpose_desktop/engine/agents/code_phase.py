"""The code phase of a team run: candidate solutions, grounded checks, and the best-checked choice.

Candidate 0 is the coder's plain answer, asked exactly as one plain chat answer is (the concise
instruction as the system message, the task as the user's; plus the person's approved lessons and
promoted contract, when there are any) — no plan, no tool loop — so the team cannot lose what one plain
answer gets. When the person gave tests or the task shows examples, that answer is made first of all
(``try_first``): if it passes them the run ends there, at about the cost of one plain answer. Otherwise
the tester writes its checks blind (from the task and the plan, never a solution). Every code answer
any role wrote is a candidate: the coder's attempts, code in the architect's plan, a function the
tester defined beside its asserts. If a candidate passes all its checks (given tests, else the task's
examples and the tester's checks) nothing more is generated. Otherwise the coder tries again — first a
repair shown the failing checks, then the same plain prompt told the exact ``def`` line the task asks
for (a 135M model often names or shapes the function differently), then fresh samples (temperature >
0, distinct seeds: plain, with the ``def`` line, with the plan, in turn) — within the team's retries and
token budget, stopping at the first pass. The answer is the best-checked candidate (see selection.py),
never simply the last. Only the first answer is judged: the judge moves a score inside the band its
evidence allows, and the checks, not the judge, choose among candidates. A sandbox that refused is no
evidence and triggers no retry.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from purpose_desktop.engine.agents.attempts import _failure_note, _format_answer
from purpose_desktop.engine.agents.roles import RoleSpec, role_template
from purpose_desktop.engine.agents.selection import (
    CheckSet,
    Probe,
    agreement,
    build_checks,
    passes_all,
    probe,
    split_tester_code,
)
from purpose_desktop.engine.critic import Score, TestOutcome, extract_checks, extract_code
from purpose_desktop.engine.grounding import asked_signature, signature_line, static_check, task_examples

PLAIN_INSTRUCTIONS = "You are a helpful Python programmer. Answer with one complete Python code block."
#: Temperature of the fresh samples after the first answer and its repair.
SAMPLE_TEMPERATURE = 0.7
#: The first (greedy, plain) answer counts this much in a cluster of alike-behaving candidates: two
#: temperature samples that agree with each other outvote it, one does not.
FIRST_PRIOR = 1.5


@dataclass
class Candidate:
    """One code answer: who wrote it, its text and code, its probe, and (once scored) its step."""

    label: str  # "coder attempt 0", "architect's plan" …
    role: str
    answer: str
    code: str | None
    attempt: int = 0
    probe: Probe | None = None
    given: TestOutcome | None = None
    static_ok: bool = False
    step: object | None = None  # StepResult, once recorded
    score: Score | None = None

    def passed(self, checks: CheckSet, tests: str | None) -> bool:
        if not self.code or not self.static_ok:
            return False
        if tests:
            return self.given is not None and self.given.all_passed
        return passes_all(checks, self.probe)

    @property
    def refused(self) -> bool:
        return bool((self.probe and self.probe.refused) or (self.given and self.given.refused))


def _without_python(role: RoleSpec, **changes) -> RoleSpec:
    """The role without the python tool (the critic runs the code itself; a tool loop only costs)."""
    return dataclasses.replace(role, tools=[t for t in role.tools if t != "python"], **changes)


def _plain(role: RoleSpec) -> RoleSpec:
    """The coder for a plain answer: its own instructions if the person wrote them, else the concise one."""
    try:
        default = role_template(role.name).instructions
    except Exception:
        default = None
    custom = role.instructions.strip() and role.instructions != default
    return _without_python(role, instructions=role.instructions if custom else PLAIN_INSTRUCTIONS)


class CodePhase:
    """One run's code phase. ``work(role, context, step=None, plain=False, **spark_options)`` runs a role;
    ``record(role, attempt, res, used, outcome, code)`` scores and traces a step (see Team._run)."""

    def __init__(self, team, *, task, tests, critic, work, record, outputs, final, cancel, steps) -> None:
        self.team = team
        self.spec = team.spec
        self.task = task
        self.tests = tests
        self.critic = critic
        self.work = work
        self.record = record
        self.outputs = outputs
        self.final = final
        self.cancel = cancel
        self.steps = steps
        sig = asked_signature(task)
        self.name = sig.name if sig else None
        self.def_line = signature_line(task)
        self.checks = CheckSet()
        self.candidates: list[Candidate] = []
        self.tokens = 0
        self.first: Candidate | None = None  # made early by try_first (and recorded then)
        self.repaired = False

    # -- candidates -------------------------------------------------------------------------------
    def _evaluate(self, cand: Candidate) -> Candidate:
        if cand.code:
            cand.static_ok = static_check(self.task, cand.code).ok
            if self.checks.checks or self.checks.calls:
                cand.probe = probe(self.critic.runner, cand.code, self.checks)
            if self.tests:
                cand.given = self.critic.run_tests(cand.code, self.tests)
        self.candidates.append(cand)
        return cand

    def _outcome(self, cand: Candidate) -> TestOutcome | None:
        """What grounds a coder step's score: the given tests, else the tester's checks (or None)."""
        if self.tests:
            return cand.given if cand.code else TestOutcome("given", 0, 1, "no code to test")
        if self.checks.of("tester"):
            if not cand.code:
                return TestOutcome("tester", 0, 1, "no code to check")
            return cand.probe.outcome(self.checks, "tester") if cand.probe else None
        return None

    def _coder_attempt(self, coder: RoleSpec, attempt: int, res, used) -> Candidate:
        code = extract_code(res.answer)
        cand = self._evaluate(Candidate(f"coder attempt {attempt}", coder.name, res.answer, code, attempt))
        outcome = self._outcome(cand)
        cand.step, cand.score = self.record(coder, attempt, res, used, outcome, code, judge=attempt == 0)
        return cand

    def _others(self) -> None:
        """Code in the earlier roles' work (an architect who wrote the implementation) is a candidate too."""
        for role in self.spec.roles:
            text = self.outputs.get(role.name, "")
            if role.kind in ("code", "test") or not text:
                continue
            code = extract_code(text)
            if code and (self.name is None or f"def {self.name}" in code):
                self._evaluate(Candidate(f"{role.name}'s {role.kind}", role.name, text, code, 0))

    def _done(self) -> bool:
        return any(c.passed(self.checks, self.tests) for c in self.candidates)

    def _failure(self) -> str:
        """What a repair is told: the best candidate so far and what failed."""
        best = self._best()
        outcome = best.given if self.tests else (best.probe.outcome(self.checks, "tester") if best.probe else None)
        if self.checks.of("examples") and best.probe and not self.tests:
            examples = best.probe.outcome(self.checks, "examples")
            if examples and not examples.all_passed and (outcome is None or outcome.all_passed):
                outcome = examples
        if not best.code:
            return _failure_note(None, "")
        text = outcome.output if outcome is not None and not outcome.all_passed else ""
        if not text and best.score is not None:
            text = "\n".join(e for e in best.score.evidence if "failed" in e or "not defined" in e or "not" in e)
        return _failure_note(best.code, text or "static checks failed")

    def _failing(self) -> bool:
        """True when the best candidate so far has something to repair (no code, a failing check)."""
        best = self._best()
        if not best.code or not best.static_ok:
            return True
        if self.tests:
            return best.given is not None and best.given.ran and not best.given.all_passed
        return best.probe is not None and any(not best.probe.passed(i) for i in range(len(self.checks.checks)))

    def _best(self) -> Candidate:
        prior = [FIRST_PRIOR if c.label == "coder attempt 0" else 1.0 for c in self.candidates]
        scores = agreement(self.checks, [c.probe for c in self.candidates], [c.code for c in self.candidates], prior)

        def key(k: int):
            c = self.candidates[k]
            given = c.given.fraction_passed if (c.given and c.given.ran) else 0.0
            return (bool(c.code), c.static_ok, given, scores[k], -k)

        return self.candidates[max(range(len(self.candidates)), key=key)]

    # -- the phase --------------------------------------------------------------------------------
    def try_first(self, coder: RoleSpec) -> str | None:
        """Before any other role: the plain first answer against the given tests or the task's examples.

        Returns the run's status when that settles it ("complete": it passed them, so the plan and the
        tester's checks are not needed; "cancelled"), else None and the team goes on with this answer
        as candidate 0. Nothing happens (None) without tests or examples, or when the team says not to.
        """
        examples = task_examples(self.task)
        if not self.spec.stop_at_first_pass or not (self.tests or examples):
            return None
        res, used = self.work(_plain(coder), "", step=len(self.steps), plain=True)
        self.tokens += res.tokens
        if res.status == "cancelled":
            self.record(coder, 0, res, used)
            return "cancelled"
        self.checks = build_checks(examples, [], "", self.name, self.task)
        self.first = self._coder_attempt(coder, 0, res, used)
        if not self.first.passed(self.checks, self.tests):
            return None
        skipped = [r.name for r in self.spec.roles if r is not coder]
        status = self._finish(coder, None, "", "complete", first_passed=True)
        if not self.tests:  # the task's examples grounded the run: they are what "Keep these tests" offers
            self.final["checks"] = "".join(f"{c.code}\n" for c in self.checks.checks)
        self.final["selection"]["skipped"] = skipped
        self.final["selection"]["why"] = (
            "the first answer passed the given tests" if self.tests else "the first answer passed the task's examples"
        )
        return status

    def run(self, coder: RoleSpec, tester: RoleSpec | None) -> str:
        asserts_text = ""
        res = used = None
        if self.first is None:
            res, used = self.work(_plain(coder), "", plain=True)
            self.tokens += res.tokens
            if res.status == "cancelled":
                self.record(coder, 0, res, used)
                return "cancelled"
        t_res = None
        if tester is not None:  # the checks are written now, without the solution in sight
            t_res, t_used = self.work(
                _without_python(tester),
                self.team._context(tester, self.outputs, ""),
                step=len(self.steps) + (0 if self.first is not None else 1),
                checks_for=self.name if self.spec.tester_assert_lines else None,
            )
            raw = (extract_checks(t_res.answer) or "") if t_res.status != "cancelled" else ""
            setup, asserts, tester_def = split_tester_code(raw, self.name)
            asserts_text = "\n".join(filter(None, [setup, *asserts])) + ("\n" if asserts else "")
            if not asserts:
                asserts_text = ""
        else:
            setup, asserts, tester_def = "", [], None
        examples = task_examples(self.task)
        self.checks = build_checks(examples, asserts, setup, self.name, self.task)
        if self.first is None:
            first = self._coder_attempt(coder, 0, res, used)
        else:  # made before the plan: probed again now that the tester's checks exist
            first = self.first
            if first.code and (self.checks.checks or self.checks.calls):
                first.probe = probe(self.critic.runner, first.code, self.checks)
        if t_res is not None:
            shown = first.probe.outcome(self.checks, "tester") if first.probe and asserts else None
            self.record(tester, 0, t_res, t_used, shown, asserts_text or None)
            if t_res.status == "cancelled":
                return self._finish(coder, tester, asserts_text, "cancelled", first_passed=False)
        first_passed = first.passed(self.checks, self.tests)
        self._others()
        if tester_def:
            self._evaluate(Candidate(f"{tester.name}'s own definition", tester.name, tester_def, tester_def, 0))
        status = "complete"
        attempt = 1
        while attempt <= self.spec.max_retries and not self._done():
            if any(c.refused for c in self.candidates):
                break  # the sandbox refused: no evidence either way, nothing to retry for
            nothing_to_compare = not (self.tests or self.checks.checks or self.checks.calls)
            if nothing_to_compare and first.code and first.static_ok:
                break  # no check and no input could tell a better answer from this one
            if self.tokens >= self.spec.token_budget:
                break
            if self.cancel.is_set():
                status = "cancelled"
                break
            res, used = self._retry(coder, attempt)
            self.tokens += res.tokens
            if res.status == "cancelled":
                self.record(coder, attempt, res, used)
                status = "cancelled"
                break
            self._coder_attempt(coder, attempt, res, used)
            attempt += 1
        return self._finish(coder, tester, asserts_text, status, first_passed=first_passed)

    def _retry(self, coder: RoleSpec, attempt: int):
        """One more coder answer: a repair first when a check failed, then the ``def``-line answer, then
        samples — plain, with the ``def`` line, with the plan — in turn."""
        if attempt == 1 and self._failing():
            self.repaired = True
            return self.work(_without_python(coder), self.team._context(coder, self.outputs, self._failure()))
        samples = ["plain sample"] + (["def line sample"] if self.def_line else []) + ["plan sample"]
        kinds = (["def line"] if self.def_line else []) + samples  # after them, the samples again in turn
        n = attempt - 1 - int(self.repaired)
        kind = kinds[n] if n < len(kinds) else samples[(n - len(kinds)) % len(samples)]
        hint = f"Start your code with `{self.def_line}`." if self.def_line else ""
        if kind == "def line":
            return self.work(_plain(coder), hint, plain=True)
        if kind == "plan sample":
            return self.work(_without_python(coder), self.team._context(coder, self.outputs, ""), **self._sampling(attempt))
        return self.work(_plain(coder), hint if kind == "def line sample" else "", plain=True, **self._sampling(attempt))

    def _sampling(self, attempt: int) -> dict:
        return {
            "temperature": max(self.team.temperature, SAMPLE_TEMPERATURE),
            "seed": self.team.seed + 7919 * attempt,
        }

    def _finish(self, coder: RoleSpec, tester: RoleSpec | None, asserts_text: str, status: str, *, first_passed: bool) -> str:
        scored = [c for c in self.candidates if c.step is not None or c.code]
        if not scored:
            return status
        best = self._best()
        if best.step is None:  # another role's code: scored now as a code answer, traced as that role's step
            role = next(r for r in self.spec.roles if r.name == best.role)
            answer = f"```python\n{best.code.rstrip()}\n```"
            from purpose_desktop.engine.agents.spark import SparkResult

            res = SparkResult(role=role.name, answer=answer, status="complete", prompt="(a candidate from this role's earlier work)")
            best.answer = answer
            best.step, best.score = self.record(
                dataclasses.replace(role, kind="code"), 1, res, [], self._outcome(best), best.code
            )
        self.outputs[coder.name] = best.answer
        if tester is not None:
            self.outputs[tester.name] = asserts_text
            self.final["checks"] = "" if self.tests else asserts_text  # given tests replace them
        self.final.update(
            answer=_format_answer(best.answer, "code"),
            score=best.step.score,
            tests=next(iter(best.score.checks), None) if best.score else None,
            grounded_by=best.step.grounded_by,
        )
        self.final["selection"] = {
            "candidates": [c.label for c in self.candidates],
            "chosen": best.label,
            "first_passed": first_passed,
            "checks": {"examples": len(self.checks.of("examples")), "tester": len(self.checks.of("tester"))},
        }
        return status
