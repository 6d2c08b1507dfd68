"""Transfer lessons: general guidance a different task can use, drawn from a grounded run's failed checks.

Four kinds of lesson, none of which restates the task it came from:

* **format** — the coder's answer lost its code: no opening ```python fence, several blocks, prose inside
  the code, or no code block at all (``skill_card`` for any task: tag ``family:any``);
* **naming** — the asked-for function name or its parameters were missing or different, or the code
  used a name it never defined (``skill_card`` for any task; the rule, not the task's name);
* **edge cases** — failing checks called the function on empty input, zero, negatives, duplicates,
  None or a single item (``skill_card`` kept to the task's family, ``families.task_family``);
* **a failure and its fix** — an attempt failed its checks and a later attempt passed: what changed
  (a guard added, a bound moved, an operator swapped, the logic rewritten), generalised, with the
  failing check as evidence (``failure_pattern`` kept to the family).

Each draft's provenance names its run, step, family and evidence. The texts are fixed per lesson (and
per family) so the same lesson learned again from another run strengthens the existing memory (the
bank's de-duplication) instead of adding a near-copy. Everything here is pure: no model, no sandbox.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections import Counter
from collections.abc import Sequence

from purpose_desktop.engine.critic import CODE_BLOCK, extract_code
from purpose_desktop.engine.families import ANY_FAMILY_TAG, GENERAL, family_tag, task_family
from purpose_desktop.engine.grounding import asked_signature, static_check
from purpose_desktop.engine.learning.drafts import (
    Draft,
    StepRecord,
    failing_checks,
    first_failure,
    passed,
    provenance,
)
from purpose_desktop.engine.memory.records import Scope

_FENCE = re.compile(r"^[ \t]*```", re.MULTILINE)
_CODE_LINE = re.compile(r"^\s*(?:def|class|import|from|return|for|while|if)\b")
_PROSE_LINE = re.compile(r"^\s*[A-Z][a-z']+(?:\s+[A-Za-z',()]+){3,}[.:!]?\s*$")
_PY_LANGS = ("", "python", "py", "python3")
_BUILTIN_NAMES = frozenset(dir(builtins))

FORMAT_LESSONS = {
    "no_opening_fence": (
        "When writing a Python function, start the code block with ```python on its own line and end it "
        "with ```: code whose opening fence is missing may not be found, and then no check can run."
    ),
    "no_code_block": (
        "When a task asks for a Python function, answer with the code itself in one ```python block, "
        "not only a description of it: without a code block there is nothing to run or check."
    ),
    "several_blocks": (
        "When writing a Python function, put the complete solution in a single ```python block; keep "
        "helpers and example calls out of extra blocks, because the blocks are joined and run together."
    ),
    "prose_in_code": (
        "When writing a Python function, keep explanations outside the ```python block (use # comments "
        "inside it): a plain sentence inside the code stops it from parsing, so no check can run."
    ),
}
NAMING_LESSONS = {
    "name": (
        "When a task names the Python function to write, define it with exactly that name: the checks "
        "import and call the function by the name the task gives, so a renamed function fails them all."
    ),
    "params": (
        "When a task writes the Python function as name(a, b), give it exactly those parameters in that "
        "order: the checks call it with the arguments the task lists."
    ),
    "undefined": (
        "Before answering with Python code, check that every name it uses is defined in it (parameters, "
        "loop variables, imports): a name used but never bound raises NameError on the first check."
    ),
}
EDGE_LESSONS = {
    "empty": "handle empty input (an empty list, string or dict) first and return the natural value "
    "for it (0, an empty list, an empty string, or what the task says) instead of indexing into it",
    "zero": "check what the function returns for 0: loops that start at 1 and divisions by the input "
    "are where zero goes wrong",
    "negative": "make the function work for negative numbers too; do not assume the inputs are positive",
    "duplicates": "expect repeated items: decide whether each repeat counts, is kept once or is dropped, as "
    "the task says, and keep the original order unless the task asks for sorting",
    "none": "handle None as an input or a result explicitly, as the task describes",
    "single": "check a single-item input: the first and the last item are then the same one",
}
FIX_ADVICE = {
    "guard": "when a check fails on an edge input, add an early return for that input at the top of the "
    "function (empty, zero, negative or one item) before the main logic",
    "bound": "when a check is off by one item or one step, look at the loop and slice bounds first: "
    "range(a, b) stops before b and s[i:j] leaves out j",
    "operator": "when a check gets a wrong value, compare each operator (+, -, *, /, //, %, <, <=) with the "
    "words of the task; one wrong operator is a common cause",
    "logic": "when a check fails, work that exact input through the code by hand, compare the result with "
    "the expected value and change the logic, never the check",
}
#: At most this many edge-case lessons per run (the first kinds the failing checks show).
MAX_EDGE_LESSONS = 2


# -- format ---------------------------------------------------------------------------------------
def format_defects(output: str) -> list[str]:
    """How an answer's code was packaged wrong: keys of FORMAT_LESSONS (empty when the format is fine)."""
    text = output or ""
    fences = _FENCE.findall(text)
    if len(fences) % 2 == 1:
        head = text[: _FENCE.search(text).start()]
        if any(_CODE_LINE.match(line) for line in head.splitlines()):
            return ["no_opening_fence"]
    blocks = [body for lang, body in CODE_BLOCK.findall(text) if lang.lower() in _PY_LANGS]
    if not fences:
        return [] if extract_code(text) is not None else ["no_code_block"]
    defects = []
    if len([b for b in blocks if b.strip()]) >= 2:
        defects.append("several_blocks")
    if any(_prose_inside(b) for b in blocks):
        defects.append("prose_in_code")
    return defects


def _prose_inside(block: str) -> bool:
    """True when a block does not parse but does once its plain-English lines are taken out."""
    if _parses(block):
        return False
    lines = block.splitlines()
    kept = [ln for ln in lines if not _PROSE_LINE.match(ln)]
    return len(kept) < len(lines) and bool("".join(kept).strip()) and _parses("\n".join(kept))


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


# -- naming ---------------------------------------------------------------------------------------
def naming_defect(task: str, code: str | None) -> str | None:
    """"name" when the asked-for function is missing, "params" when its parameters differ, "undefined"
    when the code uses a name it never binds, else None."""
    if not code:
        return None
    report = static_check(task, code)
    if not report.parses:
        return None
    for problem in report.problems:
        if problem.startswith("the asked-for function"):
            return "name"
        if "does not take the" in problem:
            return "params"
    if any(p.startswith("undefined names") for p in report.problems):
        return "undefined"
    return None


# -- edge cases -----------------------------------------------------------------------------------
def edge_cases(check: str, function: str | None = None) -> list[str]:
    """The edge inputs a check calls the function with (keys of EDGE_LESSONS), in EDGE_LESSONS order."""
    try:
        tree = ast.parse(check)
    except SyntaxError:
        return []
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        if (function and node.func.id != function) or (not function and node.func.id in _BUILTIN_NAMES):
            continue
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            found |= _edge_kinds(arg)
    return [k for k in EDGE_LESSONS if k in found]


def _edge_kinds(arg: ast.expr) -> set[str]:
    kinds: set[str] = set()
    if isinstance(arg, ast.Constant):
        v = arg.value
        if v is None:
            kinds.add("none")
        elif isinstance(v, str | bytes) and not v:
            kinds.add("empty")
        elif isinstance(v, int | float) and not isinstance(v, bool) and v == 0:
            kinds.add("zero")
    elif isinstance(arg, ast.UnaryOp) and isinstance(arg.op, ast.USub) and isinstance(arg.operand, ast.Constant):
        kinds.add("negative")
    elif isinstance(arg, ast.List | ast.Tuple | ast.Set | ast.Dict):
        elts = arg.keys if isinstance(arg, ast.Dict) else arg.elts
        if not elts:
            kinds.add("empty")
        elif len(elts) == 1:
            kinds.add("single")
        dumps = [ast.dump(e) for e in elts if e is not None]
        if len(dumps) != len(set(dumps)):
            kinds.add("duplicates")
        if any(isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub) for e in elts if e is not None):
            kinds.add("negative")
    elif isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name) and arg.func.id in ("list", "dict", "set", "tuple", "str"):
        if not arg.args and not arg.keywords:
            kinds.add("empty")
    return kinds


# -- a failure and its fix ------------------------------------------------------------------------
def fix_changes(before: str, after: str) -> list[str]:
    """What changed from failing code to passing code, as keys of FIX_ADVICE (most specific first)."""
    try:
        a, b = ast.parse(before), ast.parse(after)
    except SyntaxError:
        return ["logic"]
    changes = []
    if _guards(b) > _guards(a):
        changes.append("guard")
    if _bounds(a) != _bounds(b):
        changes.append("bound")
    if _operators(a) != _operators(b):
        changes.append("operator")
    return changes or ["logic"]


def _guards(tree: ast.AST) -> int:
    return sum(
        isinstance(n, ast.If) and any(isinstance(s, ast.Return | ast.Raise) for s in n.body) for n in ast.walk(tree)
    )


def _bounds(tree: ast.AST) -> list[str]:
    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "range":
            out.append(ast.dump(n))
        elif isinstance(n, ast.Slice):
            out.append(ast.dump(n))
    return sorted(out)


def _operators(tree: ast.AST) -> Counter:
    ops: Counter = Counter()
    for n in ast.walk(tree):
        if isinstance(n, ast.BinOp | ast.AugAssign):
            ops[type(n.op).__name__] += 1
        elif isinstance(n, ast.Compare):
            ops.update(type(o).__name__ for o in n.ops)
    return ops


# -- drafts ---------------------------------------------------------------------------------------
def family_words(family: str) -> str:
    return "any kind" if family == GENERAL else family


def transfer_drafts(run_id: str, task: str, steps: Sequence[StepRecord]) -> list[Draft]:
    """The transfer lessons a grounded run's code steps support (the caller checks the run is grounded).

    Only a code step whose checks ran (given tests, tester checks or the task's examples) and did not
    all pass teaches; a later step of the same role that passed them makes it a failure with its fix.
    """
    family = task_family(task)
    sig = asked_signature(task)
    code_steps = [s for s in steps if s.kind == "code"]
    failed = [s for s in code_steps if s.checked and not passed(s.tests)]
    drafts: list[Draft] = []

    def add(kind: str, text: str, step: StepRecord, how: str, *, scoped: bool, **extra) -> None:
        tags = (family_tag(family) if scoped else ANY_FAMILY_TAG,)
        prov = provenance(run_id, step, how, family=family, lesson=extra.pop("lesson"), **extra)
        if all(d.text != text for d in drafts):
            drafts.append(Draft(kind, text, Scope.build(roles=(step.role,), tags=tags), prov))

    edge_seen: list[str] = []
    for s in failed:
        out = (s.tests or {}).get("output", "")
        checks = failing_checks(out)
        evidence = checks[0] if checks else first_failure(out) or " ".join(out.split())[:160]
        for defect in format_defects(s.output):
            add("skill_card", FORMAT_LESSONS[defect], s, f"format: {defect}", scoped=False, lesson="format", evidence=evidence)
        code = extract_code(s.output)
        naming = naming_defect(task, code)
        if naming is not None:
            add("skill_card", NAMING_LESSONS[naming], s, f"naming: {naming}", scoped=False, lesson="naming", evidence=evidence)
        for check in checks:
            for case in edge_cases(check, sig.name if sig else None):
                if case in edge_seen or len(edge_seen) >= MAX_EDGE_LESSONS:
                    continue
                edge_seen.append(case)
                text = f"In tasks on {family_words(family)}: {EDGE_LESSONS[case]}."
                add("skill_card", text, s, f"edge case: {case}", scoped=True, lesson="edge_case", evidence=check)
    fix = _failure_and_fix(code_steps, failed, task)
    if fix is not None:
        before, after, change, check = fix
        text = (
            f"In tasks on {family_words(family)}: {FIX_ADVICE[change]}. Evidence: the check `{check}` "
            "failed, then passed after that change."
        )
        add("failure_pattern", text, before, f"fix: {change}", scoped=True, lesson="fix", evidence=check, fixed_by_step=after.seq)
    return drafts


def _failure_and_fix(code_steps, failed, task) -> tuple[StepRecord, StepRecord, str, str] | None:
    """(failing step, passing step, what changed, failing check) for the last failure a later attempt fixed.

    A fix that was only a format or naming repair is left to those lessons."""
    winner = next((s for s in reversed(code_steps) if s.checked and passed(s.tests)), None)
    if winner is None:
        return None
    before = next((s for s in reversed(failed) if s.seq < winner.seq and s.role == winner.role), None)
    if before is None:
        return None
    old, new = extract_code(before.output), extract_code(winner.output)
    if old is None or new is None or format_defects(before.output) or naming_defect(task, old):
        return None
    out = (before.tests or {}).get("output", "")
    checks = failing_checks(out)
    check = checks[0] if checks else first_failure(out)
    if not check:
        return None
    return before, winner, fix_changes(old, new)[0], check
