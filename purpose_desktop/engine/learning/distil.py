"""Distil: draw lessons from a finished train run — what scored well and what failed — as candidate drafts.

Only grounded evidence teaches: a run whose score is not grounded (``grounding.GROUNDED``) distils
nothing, and a step whose score is not grounded yields no lesson (a ``skill_card`` only from a
grounded passing step, a ``failure_pattern`` only from a grounded failure). A ``tool_policy`` needs a
pattern across runs: the same tool failing the same way in at least ``TOOL_POLICY_MIN_RUNS`` runs.

Two sources. Evidence the run itself produced needs no model and is always well-formed: a solution
that passed its tests becomes an ``episodic_case``, a failed check (and the fix that passed, when
a retry found one) a ``failure_pattern``, a tool failure seen in other runs too a ``tool_policy``. Then the model is
asked once, under a JSON grammar, for one general rule from the decisive code step (``skill_card``
when it passed, ``failure_pattern`` when it failed); its answer is validated and dropped if it is
empty, too long or only restates the task. Drafts are submitted by the caller (api.MemoryBank),
which scans and de-duplicates them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from purpose_desktop.engine.critic import extract_code
from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.grounding import SOURCE_GROUND, is_grounded
from purpose_desktop.engine.memory.records import Scope
from purpose_desktop.engine.models import GenerationSettings
from purpose_desktop.engine.models.local import close_truncated_json
from purpose_desktop.engine.models.thinking import strip_thinking

MAX_CASE_CODE_CHARS = 700
#: A tool_policy needs the same tool failing the same way in at least this many runs (this one included).
TOOL_POLICY_MIN_RUNS = 2
NOT_GROUNDED_NOTE = "nothing distilled: the run's score is not grounded (no tests or checks ran), so it teaches nothing"
MAX_RULE_CHARS = 300
RULE_MAX_TOKENS = 40
RULE_SCHEMA = {
    "type": "object",
    "properties": {"rule": {"type": "string"}},
    "required": ["rule"],
}
_SYSTEM = (
    "You turn the outcome of a coding step into one short general rule for future coding tasks, "
    "written as an imperative sentence. The rule must also help with other, similar tasks: do not "
    "restate the task. Reply as JSON."
)
_ASSERT = re.compile(r"^E\s+(assert .+)$", re.MULTILINE)
_ERROR = re.compile(r"^E\s+(\w+(?:Error|Exception)\b.*)$", re.MULTILINE)
_WORDS = re.compile(r"[a-z]{3,}")
_CODE_LIKE = re.compile(
    r"```|\bdef\s+\w+\s*\(|\blambda\b|\breturn\s+\w+\s*[-+*/%]|[{};]\s*$|==|\w\(\w*(?:,\s*\w+)*\)\s*:"
)


@dataclass(frozen=True)
class StepRecord:
    """What distil reads from a step (Team's StepResult has these fields)."""

    seq: int
    role: str
    kind: str  # plan | code | test | text
    output: str
    score: float | None
    tests: dict | None = None
    tool_calls: list[dict] = field(default_factory=list)
    attempt: int = 0
    grounded_by: str | None = None  # None: grounded only when its tests say so (given/tester/examples)

    def __post_init__(self) -> None:
        # Lessons are drawn from answers, never from a reasoning model's <think> block.
        object.__setattr__(self, "output", strip_thinking(self.output or ""))

    @property
    def grounded(self) -> bool:
        if self.grounded_by is not None:
            return is_grounded(self.grounded_by)
        return is_grounded(SOURCE_GROUND.get((self.tests or {}).get("source") or ""))


@dataclass(frozen=True)
class Draft:
    """A lesson before the immune scan and de-duplication."""

    kind: str
    text: str
    scope: Scope
    provenance: dict

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "text": self.text,
            "scope": self.scope.to_dict(),
            "provenance": self.provenance,
        }


@dataclass
class DistilReport:
    drafts: list[Draft] = field(default_factory=list)
    model_tokens: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _prov(run_id: str, step: StepRecord | None, how: str) -> dict:
    p = {"source": "distilled", "how": how, "run_id": run_id}
    if step is not None:
        p.update(step=step.seq, role=step.role, score=step.score)
    return p


def first_failure(output: str) -> str | None:
    """The first failing assert (or error) line in pytest output."""
    m = _ASSERT.search(output or "") or _ERROR.search(output or "")
    return m.group(1).strip()[:200] if m else None


def _passed(tests: dict | None) -> bool:
    return (
        bool(tests) and tests.get("passed", 0) > 0 and not tests.get("failed") and not tests.get("timed_out")
    )


_ERROR_NAME = re.compile(r"\b(\w+(?:Error|Exception))\b")


def tool_failure_signature(call: dict) -> tuple[str, str] | None:
    """(tool, how it failed) for a failed tool call — the error's class name, else its first words."""
    if call.get("ok"):
        return None
    text = " ".join(str(call.get("output", "")).split())
    m = _ERROR_NAME.search(text)
    how = m.group(1) if m else " ".join(text.lower().split()[:6])
    return str(call.get("tool", "tool")), how


def evidence_drafts(
    run_id: str,
    task: str,
    steps: Sequence[StepRecord],
    *,
    seen_tool_failures: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
) -> list[Draft]:
    """Lessons the run's own grounded evidence supports (no model involved).

    ``seen_tool_failures``: tool failure signatures (see ``tool_failure_signature``) already seen in
    other runs; only those become a ``tool_policy`` (one failed call is not a pattern).
    """
    drafts: list[Draft] = []
    code_steps = [s for s in steps if s.kind == "code" and s.grounded]
    given = [s for s in code_steps if s.tests and s.tests.get("source") == "given"]
    short_task = " ".join(task.split())[:160]
    winner = next((s for s in reversed(given) if _passed(s.tests)), None)
    if winner is not None:
        code = extract_code(winner.output) or ""
        if code and len(code) <= MAX_CASE_CODE_CHARS:
            body = f"```python\n{code.rstrip()}\n```"
        else:
            sigs = [ln.strip() for ln in code.splitlines() if ln.lstrip().startswith(("def ", "class "))]
            body = "its definitions: " + "; ".join(sigs[:4]) if sigs else ""
        if body:
            drafts.append(
                Draft(
                    "episodic_case",
                    f"Past case: {short_task}\nA solution that passed all its tests: {body}",
                    Scope(roles=(winner.role,)),
                    _prov(run_id, winner, "tests passed"),
                )
            )
    for s in given:
        if _passed(s.tests):
            continue
        failure = first_failure((s.tests or {}).get("output", ""))
        if not failure:
            continue
        fixed = winner is not None and winner.seq > s.seq
        text = f"Task: {short_task}\nA first solution failed the check `{failure}`"
        text += (
            "; a corrected solution then passed." if fixed else ". Make sure the code satisfies that check."
        )
        drafts.append(
            Draft("failure_pattern", text, Scope(roles=(s.role,)), _prov(run_id, s, "tests failed"))
        )
        break  # one failure per run: the first is the informative one
    for s in steps:
        for call in s.tool_calls or []:
            sig = tool_failure_signature(call)
            if sig is None or sig not in seen_tool_failures:
                continue
            err = " ".join(str(call.get("output", "")).split())[:160]
            tool = call.get("tool", "tool")
            drafts.append(
                Draft(
                    "tool_policy",
                    f"The {tool} tool failed with: {err}. Check its input before calling it again.",
                    Scope(roles=(s.role,), tools=(tool,)),
                    _prov(run_id, s, f"tool failed the same way in {TOOL_POLICY_MIN_RUNS}+ runs"),
                )
            )
            break
    return drafts


def valid_rule(rule: str, task: str) -> str | None:
    """The model's rule cleaned up, or None when it is unusable."""
    rule = " ".join((rule or "").split()).strip(" \"'`")
    if not rule or len(rule) > MAX_RULE_CHARS or len(rule.split()) < 4 or not rule[0].isalpha():
        return None
    if _CODE_LIKE.search(rule):
        return None  # code is not a rule (and an episodic case already keeps passing code)
    words = rule.split()
    if sum(w.strip(".,;:!?()").isalpha() for w in words) < 0.6 * len(words):
        return None
    words = set(_WORDS.findall(rule.lower()))
    task_words = set(_WORDS.findall(task.lower()))
    if words and len(words & task_words) / len(words) >= 0.8:
        return None  # a restatement of the task teaches nothing
    if not rule.endswith((".", "!")):
        rule += "."
    return rule[0].upper() + rule[1:]


def _complete_json(model, messages: list[dict], settings: GenerationSettings) -> dict:
    """``complete_json``, but a reply cut off mid-string is salvaged rather than lost.

    Small models often run to ``max_tokens`` inside the string, sometimes with raw newlines in it;
    the grammar kept the prefix well-formed, so closing it and parsing leniently recovers the rule.
    """
    pieces: list[str] = []
    try:
        return model.complete_json(messages, RULE_SCHEMA, settings=settings, on_token=pieces.append)
    except ModelError:
        text = "".join(pieces)
        if not text:
            raise
        try:
            value = json.loads(close_truncated_json(text), strict=False)
        except ValueError:
            raise ModelError(
                "The model's lesson was not valid JSON.", "It is skipped; the run's evidence lessons stand."
            ) from None
        return value if isinstance(value, dict) else {}


def model_draft(
    model, run_id: str, task: str, steps: Sequence[StepRecord], *, seed: int = 0
) -> tuple[Draft | None, int]:
    """One rule from the decisive code step (the last one), JSON-constrained; (None, tokens) if unusable."""
    code_steps = [s for s in steps if s.kind == "code"]
    if not code_steps or model is None:
        return None, 0
    step = code_steps[-1]
    if not step.grounded:
        return None, 0  # a skill card or failure pattern needs a grounded pass or failure
    passed = _passed(step.tests)
    if step.tests:
        outcome = (
            f"passed all {step.tests.get('passed')} tests"
            if passed
            else f"failed {step.tests.get('failed')} of {step.tests.get('passed', 0) + step.tests.get('failed', 0)} tests"
        )
        failure = None if passed else first_failure(step.tests.get("output", ""))
        if failure:
            outcome += f"; first failure: {failure}"
    else:
        outcome = f"scored {step.score}/10"
        passed = (step.score or 0) >= 7
    code = extract_code(step.output) or step.output
    messages = [
        {"role": "system", "content": _SYSTEM},
        {
            "role": "user",
            "content": f"TASK: {task[:400]}\nCODE:\n{code[:1200]}\nOUTCOME: the code {outcome}\nWrite the rule.",
        },
    ]
    reply = _complete_json(
        model, messages, GenerationSettings(max_tokens=RULE_MAX_TOKENS, temperature=0.0, seed=seed)
    )
    tokens = sum(len(m["content"]) // 4 for m in messages) + RULE_MAX_TOKENS
    rule = valid_rule(str(reply.get("rule", "")), task)
    if rule is None:
        return None, tokens
    kind = "skill_card" if passed else "failure_pattern"
    return Draft(kind, rule, Scope(roles=(step.role,)), _prov(run_id, step, "model rule")), tokens


def distil(
    model,
    run_id: str,
    task: str,
    steps: Sequence[StepRecord],
    *,
    seed: int = 0,
    grounded: bool = True,
    seen_tool_failures: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
) -> DistilReport:
    """Every draft this run supports; a model failure is reported, never raised (the run already happened).

    ``grounded`` False (the run's score is not grounded): nothing is distilled and ``notes`` says why.
    """
    if not grounded:
        return DistilReport(notes=[NOT_GROUNDED_NOTE])
    report = DistilReport(drafts=evidence_drafts(run_id, task, steps, seen_tool_failures=seen_tool_failures))
    decisive = next((s for s in reversed(steps) if s.kind == "code"), None)
    if decisive is not None and not decisive.grounded:
        report.notes.append(f"no model rule: step {decisive.seq} ({decisive.role}) is not grounded")
    try:
        draft, tokens = model_draft(model, run_id, task, steps, seed=seed)
        report.model_tokens = tokens
        if draft is not None:
            report.drafts.append(draft)
    except Exception as exc:  # the model is optional here; evidence drafts stand on their own
        report.errors.append(f"model rule skipped: {exc}")
    return report
