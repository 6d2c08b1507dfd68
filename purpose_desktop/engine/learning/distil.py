"""Distil: draw lessons from a finished train run — general guidance other tasks can use — as candidate drafts.

Only grounded evidence teaches: a run whose score is not grounded (``grounding.GROUNDED``) distils
nothing, and a step whose score is not grounded yields no model rule (a ``skill_card`` only from a
grounded passing step, a ``failure_pattern`` only from a grounded failure).

Three sources, none needing the model but the last:

* transfer lessons (``learning.transfer``): output format, naming exactly what was asked, a task
  family's edge cases, and a failure with its fix — general rules, not restatements of the task;
* the run's own record: a solution that passed its given tests becomes an ``episodic_case`` (kept,
  keyed by its task, for retrieval on near-identical tasks), and a tool failure becomes a
  ``tool_policy`` only when the stored traces show the same tool failing the same way in at least
  ``TOOL_POLICY_MIN_RUNS`` distinct runs — never from one failed call;
* the model, asked once under a JSON grammar for one general rule from the decisive code step; its
  answer is validated and dropped if it is empty, too long, code, or only restates the task.

Every draft's provenance names its run and the task's family. Drafts are submitted by the caller
(api.MemoryBank), which scans them and folds near-duplicates of existing memories into those
(strengthened, not proposed again).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from purpose_desktop.engine.critic import extract_code
from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.families import task_family
from purpose_desktop.engine.learning.drafts import (  # noqa: F401  (StepRecord, first_failure: re-exported)
    Draft,
    StepRecord,
    first_failure,
    passed,
    provenance,
)
from purpose_desktop.engine.learning.transfer import transfer_drafts
from purpose_desktop.engine.memory.records import Scope
from purpose_desktop.engine.models import GenerationSettings
from purpose_desktop.engine.models.local import close_truncated_json

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
_WORDS = re.compile(r"[a-z]{3,}")
_CODE_LIKE = re.compile(
    r"```|\bdef\s+\w+\s*\(|\blambda\b|\breturn\s+\w+\s*[-+*/%]|[{};]\s*$|==|\w\(\w*(?:,\s*\w+)*\)\s*:"
)


@dataclass
class DistilReport:
    drafts: list[Draft] = field(default_factory=list)
    model_tokens: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_ERROR_NAME = re.compile(r"\b(\w+(?:Error|Exception))\b")


def tool_failure_signature(call: dict) -> tuple[str, str] | None:
    """(tool, how it failed) for a failed tool call — the error's class name, else its first words."""
    if call.get("ok"):
        return None
    text = " ".join(str(call.get("output", "")).split())
    m = _ERROR_NAME.search(text)
    how = m.group(1) if m else " ".join(text.lower().split()[:6])
    return str(call.get("tool", "tool")), how


#: Advice per tool failure (the error's class name); anything else gets the general advice.
TOOL_ADVICE = {
    "SyntaxError": "make sure the code passed to it parses: complete blocks, balanced brackets, one indentation style",
    "IndentationError": "make sure the code passed to it is indented consistently with spaces",
    "NameError": "define or import every name the code passed to it uses",
    "ImportError": "use only modules that are installed and names they really export",
    "ModuleNotFoundError": "use only modules that are installed",
    "TimeoutError": "keep its work small and bounded: no endless loops, no waiting on input",
}
_GENERAL_TOOL_ADVICE = "check its input against what the tool expects, and read its error before calling it again"


def tool_policy_text(tool: str, how: str, runs: int) -> str:
    """A general rule for a tool that failed the same way in ``runs`` runs (not the one error message)."""
    advice = TOOL_ADVICE.get(how, _GENERAL_TOOL_ADVICE)
    return f"Before calling the {tool} tool, {advice}: it failed with {how} in {runs} separate runs."


def evidence_drafts(
    run_id: str,
    task: str,
    steps: Sequence[StepRecord],
    *,
    seen_tool_failures: Mapping[tuple[str, str], Sequence[str]] | frozenset | set = frozenset(),
) -> list[Draft]:
    """Lessons the run's own grounded record supports (no model involved): an episodic case, tool policies.

    ``seen_tool_failures``: tool failure signatures (see ``tool_failure_signature``) already seen in
    other runs — a mapping to those runs' ids, or just the signatures; only those become a
    ``tool_policy`` (one failed call is not a pattern).
    """
    drafts: list[Draft] = []
    family = task_family(task)
    code_steps = [s for s in steps if s.kind == "code" and s.grounded]
    given = [s for s in code_steps if s.tests and s.tests.get("source") == "given"]
    short_task = " ".join(task.split())[:160]
    winner = next((s for s in reversed(given) if passed(s.tests)), None)
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
                    provenance(run_id, winner, "tests passed", family=family, lesson="case"),
                )
            )
    proposed: set[tuple[str, str]] = set()
    for s in steps:
        for call in s.tool_calls or []:
            sig = tool_failure_signature(call)
            if sig is None or sig not in seen_tool_failures or sig in proposed:
                continue
            proposed.add(sig)
            others = seen_tool_failures.get(sig, ()) if isinstance(seen_tool_failures, Mapping) else ()
            run_ids = [run_id, *sorted(set(others) - {run_id})]
            tool, how = sig
            err = " ".join(str(call.get("output", "")).split())[:160]
            drafts.append(
                Draft(
                    "tool_policy",
                    tool_policy_text(tool, how, max(len(run_ids), TOOL_POLICY_MIN_RUNS)),
                    Scope(roles=(s.role,), tools=(tool,)),
                    provenance(
                        run_id,
                        s,
                        f"tool failed the same way in {TOOL_POLICY_MIN_RUNS}+ runs",
                        family=family,
                        lesson="tool_policy",
                        run_ids=run_ids,
                        evidence=err,
                    ),
                )
            )
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
    ok = passed(step.tests)
    if step.tests:
        outcome = (
            f"passed all {step.tests.get('passed')} tests"
            if ok
            else f"failed {step.tests.get('failed')} of {step.tests.get('passed', 0) + step.tests.get('failed', 0)} tests"
        )
        failure = None if ok else first_failure(step.tests.get("output", ""))
        if failure:
            outcome += f"; first failure: {failure}"
    else:
        outcome = f"scored {step.score}/10"
        ok = (step.score or 0) >= 7
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
    kind = "skill_card" if ok else "failure_pattern"
    return Draft(kind, rule, Scope(roles=(step.role,)), provenance(run_id, step, "model rule", family=task_family(task), lesson="model_rule")), tokens


def distil(
    model,
    run_id: str,
    task: str,
    steps: Sequence[StepRecord],
    *,
    seed: int = 0,
    grounded: bool = True,
    seen_tool_failures: Mapping[tuple[str, str], Sequence[str]] | frozenset | set = frozenset(),
) -> DistilReport:
    """Every draft this run supports; a model failure is reported, never raised (the run already happened).

    ``grounded`` False (the run's score is not grounded): nothing is distilled and ``notes`` says why.
    """
    if not grounded:
        return DistilReport(notes=[NOT_GROUNDED_NOTE])
    drafts = transfer_drafts(run_id, task, steps)
    drafts += evidence_drafts(run_id, task, steps, seen_tool_failures=seen_tool_failures)
    report = DistilReport(drafts=drafts)
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
