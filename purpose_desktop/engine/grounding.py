"""Grounding: what a score rests on (`grounded_by`), plain-words labels, and checks drawn from a task itself.

A code score is only as good as its evidence. This module names the kinds of evidence, strongest
first, and draws the evidence that needs no hand-written tests: examples written in the task
(``>>> f(2)`` / ``4``, "f(2) == 4", "f(2) returns 4", "f(2) -> 4") and static facts about the code
(it parses, no undefined names, the asked-for function exists with the asked-for parameters, the
asked-for arithmetic appears). Everything here is pure: no sandbox, no model.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
from dataclasses import dataclass

#: Strongest first. ``judge`` means ungrounded: only the model's opinion stood behind the score.
GROUNDS = ("given_tests", "tester_checks", "examples", "execution", "static", "judge")
#: Grounds that executed the code against an expectation: only these may teach (credit, replay, distil).
GROUNDED = frozenset({"given_tests", "tester_checks", "examples", "execution"})
#: Which TestOutcome.source grounds which kind of score.
SOURCE_GROUND = {"given": "given_tests", "tester": "tester_checks", "examples": "examples"}


def is_grounded(grounded_by: str | None) -> bool:
    """True when a score rests on executed checks (not on static facts or the judge alone)."""
    return grounded_by in GROUNDED


def strongest(grounds) -> str:
    """The strongest of ``grounds`` (``judge`` when empty)."""
    present = set(grounds)
    return next((g for g in GROUNDS if g in present), "judge")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def grounding_label(grounded_by: str | None, tests: dict | None = None) -> str:
    """Plain words for a badge: "grounded: 3 given tests passed", "not grounded: no tests ran" …

    ``tests`` (a TestOutcome dict, optional) adds counts and says when the sandbox refused.
    """
    tests = tests or {}
    passed, failed = int(tests.get("passed") or 0), int(tests.get("failed") or 0)
    total = passed + failed
    counts = ""
    if total:
        counts = f"all {total} passed" if not failed else f"{failed} of {total} failed"
    if grounded_by == "given_tests":
        return f"grounded: {_plural(total, 'given test')}" + (f", {counts}" if counts else "") if total else "grounded: the given tests"
    if grounded_by == "tester_checks":
        what = "tester checks written without seeing the solution"
        return f"grounded: {_plural(total, 'tester check')} ({counts}), written without seeing the solution" if total else f"grounded: {what}"
    if grounded_by == "examples":
        return f"grounded: {_plural(total, 'example')} from the task" + (f", {counts}" if counts else "") if total else "grounded: examples from the task"
    if grounded_by == "execution":
        return "grounded: the code was run"
    if grounded_by == "static":
        return "partly grounded: static checks only (no tests ran)"
    if grounded_by == "judge":
        if tests.get("refused"):
            return "not grounded: the sandbox refused to run the checks"
        return "not grounded: no tests ran"
    return "grounding not recorded"


# -- the asked-for function ----------------------------------------------------------------------
_CALLISH = re.compile(r"`?\b([A-Za-z_]\w*)\s*\(([^()]*)\)")
_PARAM = re.compile(r"^\*{0,2}[A-Za-z_]\w*$")
_NOT_FUNCTIONS = frozenset(dir(builtins)) | frozenset(keyword.kwlist)


@dataclass(frozen=True)
class Signature:
    name: str
    params: int | None  # None: the task does not say how many


def asked_signature(task: str) -> Signature | None:
    """The first ``name(param, …)`` in the task whose arguments are parameter names, not values."""
    for m in _CALLISH.finditer(task or ""):
        name, inner = m.group(1), m.group(2).strip()
        if name in _NOT_FUNCTIONS:
            continue
        params = [p.split(":")[0].split("=")[0].strip() for p in inner.split(",")] if inner else []
        if all(_PARAM.match(p) for p in params):
            starred = any(p.startswith("*") for p in params)
            return Signature(name, None if starred else len(params))
    return None


def signature_line(task: str) -> str | None:
    """The asked-for function's ``def`` line as the task words it (``def clamp(x, lo, hi):``), or None."""
    sig = asked_signature(task)
    if sig is None:
        return None
    m = re.search(rf"\b{re.escape(sig.name)}\s*\(([^()]*)\)", task)
    return f"def {sig.name}({m.group(1).strip()}):" if m else None


def _defined_functions(tree: ast.AST) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {
        node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _accepts(fn: ast.FunctionDef | ast.AsyncFunctionDef, n: int) -> bool:
    positional = list(fn.args.posonlyargs) + list(fn.args.args)
    if positional and positional[0].arg in ("self", "cls"):
        positional = positional[1:]
    required = len(positional) - len(fn.args.defaults)
    return required <= n and (n <= len(positional) or fn.args.vararg is not None)


# -- undefined names (a cheap pyflakes) ----------------------------------------------------------
def undefined_names(tree: ast.AST) -> list[str]:
    """Names read but bound nowhere in the module nor in builtins (lenient: any binding anywhere counts)."""
    bound = set(dir(builtins)) | {"__name__", "__file__", "__doc__", "__builtins__", "__spec__"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return []  # a star import binds names we cannot see
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound.update(node.names)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
    missing = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    return sorted({n for n in missing if n not in bound})


# -- the asked-for arithmetic --------------------------------------------------------------------
# Only nouns that name one operation unambiguously; "times", "power", "square" name too many things.
_OPERATIONS = (
    (re.compile(r"\bsum\b", re.I), "a sum", (ast.Add,), {"sum", "fsum", "accumulate"}),
    (re.compile(r"\bdifference\b", re.I), "a difference", (ast.Sub,), {"difference", "symmetric_difference"}),
    (re.compile(r"\bproduct\b", re.I), "a product", (ast.Mult,), {"prod", "product"}),
    (re.compile(r"\bquotient\b", re.I), "a quotient", (ast.Div, ast.FloorDiv), {"divmod", "truediv", "floordiv"}),
    (re.compile(r"\b(?:remainder|modulo)\b", re.I), "a remainder", (ast.Mod,), {"divmod", "fmod", "mod"}),
)


def _called_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "")
    return names


def missing_operations(task: str, tree: ast.AST) -> list[str]:
    """Operations the task names ("the sum of a and b") that the code never performs."""
    ops = {type(n) for n in ast.walk(tree) if isinstance(n, ast.operator)}
    called = _called_names(tree)
    return [
        what
        for pattern, what, nodes, funcs in _OPERATIONS
        if pattern.search(task or "") and not (ops & set(nodes)) and not (called & funcs)
    ]


@dataclass(frozen=True)
class StaticReport:
    """Static facts about a code answer: ``problems`` empty means it passed every static check."""

    parses: bool
    problems: list[str]
    facts: list[str]

    @property
    def ok(self) -> bool:
        return self.parses and not self.problems


def static_check(task: str, code: str) -> StaticReport:
    """Parse ``code`` and check it against what ``task`` asks for, without running anything."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return StaticReport(False, [f"code does not parse: line {exc.lineno}: {exc.msg}"], [])
    problems: list[str] = []
    facts = ["the code parses"]
    sig = asked_signature(task)
    if sig is not None:
        fn = _defined_functions(tree).get(sig.name)
        if fn is None:
            problems.append(f"the asked-for function {sig.name}() is not defined")
        elif sig.params is not None and not _accepts(fn, sig.params):
            problems.append(f"{sig.name}() does not take the {_plural(sig.params, 'parameter')} the task names")
        else:
            facts.append(f"{sig.name}() is defined with the asked-for parameters")
    undefined = undefined_names(tree)
    if undefined:
        problems.append("undefined names: " + ", ".join(undefined[:5]))
    for what in missing_operations(task, tree):
        problems.append(f"the task asks for {what} but the code never computes one")
    return StaticReport(True, problems, facts)


def runs_something(code: str) -> bool:
    """True when the module does work at import (calls, asserts, prints), not only definitions."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    for stmt in tree.body:
        if isinstance(stmt, ast.If) and "__main__" in ast.unparse(stmt.test):
            return True
        if isinstance(stmt, ast.Assert):
            return True
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            return True
    return False


# -- examples written in the task ----------------------------------------------------------------
_DOCTEST = re.compile(r"^[ \t]*>>>[ \t]?(.+)\n[ \t]*(?!>>>)(\S.*)$", re.MULTILINE)
_INLINE = re.compile(
    r"`?\b([A-Za-z_]\w*\((?:[^()]|\([^()]*\))*\))`?\s*(?:==|->|→|=>|returns?|should return|gives|is)\s+`?"
)


def _literal_prefix(text: str) -> str | None:
    """The longest prefix of ``text`` that is a literal-ish Python expression ("4", "[1, 2]", "True")."""
    text = text.split("\n", 1)[0].strip().rstrip("`")
    cuts = sorted({len(text)} | {i for i, ch in enumerate(text) if ch in " ,;`"}, reverse=True)
    for cut in cuts:
        candidate = text[:cut].strip().rstrip(".,;:`")
        if not candidate:
            continue
        try:
            node = ast.parse(candidate, mode="eval").body
        except SyntaxError:
            continue
        if all(
            isinstance(n, ast.Constant | ast.List | ast.Tuple | ast.Set | ast.Dict | ast.UnaryOp | ast.USub | ast.Load | ast.UAdd)
            or (isinstance(n, ast.Name) and n.id in ("True", "False", "None"))
            for n in ast.walk(node)
        ):
            return candidate
    return None


def task_examples(task: str) -> list[str]:
    """Checks drawn from examples in the task or its docstring, as ``assert (call) == (value)`` lines."""
    checks: list[str] = []
    for m in _DOCTEST.finditer(task or ""):
        expr, expected = m.group(1).strip(), _literal_prefix(m.group(2))
        if expected is not None and _is_expression(expr):
            checks.append(f"assert ({expr}) == ({expected})")
    for m in _INLINE.finditer(task or ""):
        call = m.group(1)
        name = call.split("(", 1)[0]
        expected = _literal_prefix(task[m.end() :])
        if name in _NOT_FUNCTIONS or expected is None or not _is_expression(call):
            continue
        if asked_signature(call) is not None and call.split("(", 1)[1].strip(") "):
            continue  # "add(a, b) returns …" names parameters, not values: not an example
        checks.append(f"assert ({call}) == ({expected})")
    return list(dict.fromkeys(checks))


def _is_expression(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    return True
