"""Choosing among candidate solutions with grounded checks (CodeT / AlphaCode-style dual agreement).

Every code answer a run produced is a candidate. Each one is *probed* once in the sandbox: every check
(examples from the task, the tester's blind asserts) runs on its own, and every call of the asked-for
function that the checks make is evaluated and its result recorded. Candidates that return the same
results on those inputs form a cluster. A candidate's agreement score is (weight of the checks it
passes + a little) × (size of its cluster): a check written in the task weighs more than one the
tester wrote, and a check that no candidate passes is suspect (a 135M tester often writes a wrong
expected value) and weighs a quarter. Given tests, when the person supplied them, outrank all of
this. Ties go to the earlier candidate, so the plain first answer is kept unless checks say otherwise.
Nothing here reads hidden tests or asks a model.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field

from purpose_desktop.engine.critic import TestOutcome
from purpose_desktop.engine.errors import PurposeError

#: How much one passed check counts, by where it came from.
WEIGHTS = {"examples": 3.0, "tester": 1.0}
#: A check no candidate passes is suspect: it counts this fraction of its weight.
SUSPECT = 0.25
_MARKER = "@@purpose-desktop-probe@@"


@dataclass(frozen=True)
class Check:
    source: str  # "examples" | "tester"
    code: str  # one statement (usually an assert)


@dataclass
class CheckSet:
    """The checks a run's candidates are probed with, their set-up, and the inputs they call with."""

    checks: list[Check] = field(default_factory=list)
    setup: str = ""
    calls: list[str] = field(default_factory=list)  # expressions calling the asked-for function

    def of(self, source: str) -> list[int]:
        return [i for i, c in enumerate(self.checks) if c.source == source]


def _calls_of(node: ast.AST, name: str | None) -> list[str]:
    """The outermost calls in ``node`` of the asked-for function (any plain-name call when unknown)."""
    found: list[str] = []

    def visit(n: ast.AST) -> None:
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and (name is None or n.func.id == name):
            found.append(ast.unparse(n))
            return
        for child in ast.iter_child_nodes(n):
            visit(child)

    visit(node)
    return found


def split_tester_code(code: str, name: str | None) -> tuple[str, list[str], str | None]:
    """A tester's code as (set-up, assert statements, its own definition of the asked-for function).

    A tester that also defines the function under test would otherwise replace every candidate's with
    its own in the set-up; its definition is taken out (it becomes a candidate of its own).
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return "", [], None
    setup, asserts, defined = [], [], []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and stmt.name == name:
            defined.append(ast.unparse(stmt))
        elif isinstance(stmt, ast.Import | ast.ImportFrom) and any(
            (a.asname or a.name) == name or a.name == "*" for a in stmt.names
        ):
            continue  # "from solution import add": the harness already provides the names
        elif any(isinstance(n, ast.Assert) for n in ast.walk(stmt)):
            asserts.append(ast.unparse(stmt))
        else:
            setup.append(ast.unparse(stmt))
    return "\n".join(setup), asserts, ("\n\n".join(defined) + "\n") if defined else None


def build_checks(
    examples: list[str], tester_asserts: list[str], setup: str, name: str | None, task: str = ""
) -> CheckSet:
    """The checks, and the inputs candidates are compared on: the checks' own calls of the asked-for
    function, then (up to 8 in all) plain inputs chosen by its parameter names (see ``probe_inputs``)."""
    checks = [Check("examples", c) for c in examples] + [Check("tester", c) for c in tester_asserts]
    calls: list[str] = []
    for c in checks:
        try:
            calls.extend(_calls_of(ast.parse(c.code), name))
        except SyntaxError:
            continue
    calls = list(dict.fromkeys(calls))[:24]
    if task and len(calls) < 8:
        calls += [c for c in probe_inputs(task, name) if c not in calls][: 8 - len(calls)]
    return CheckSet(checks, setup, calls)


_INTS = ("0", "1", "2", "3", "5", "10")
_TEXTS = ("''", "'a'", "'hello'", "'Hello World'", "'racecar'", "'abc cba'")
_LISTS = ("[]", "[1]", "[3, 1, 2]", "[1, 2, 2, 3]", "[-5, -2, -9]", "[4, 4, 0, 7]")
_KINDS = (
    (re.compile(r"^(s|st|str|string|text|word|words|sentence|name|line|phrase|char|ch|c|sub|prefix|suffix)\d?$"), _TEXTS),
    (re.compile(r"^(nums|numbers|items|lst|list|values|arr|array|xs|seq|sequence|data|elements|l|scores)\d?$"), _LISTS),
)


def probe_inputs(task: str, name: str | None) -> list[str]:
    """Calls of the asked-for function on plain inputs chosen by its parameter names in the task
    (``n`` → small non-negative ints, ``s``/``text`` → short strings, ``nums``/``items`` → small lists).

    They carry no expected value: they only show which candidates behave alike. [] when the task
    names no signature.
    """
    if not name:
        return []
    m = re.search(rf"\b{re.escape(name)}\s*\(([^()]*)\)", task or "")
    if m is None:
        return []
    params = [p.split(":")[0].split("=")[0].strip() for p in m.group(1).split(",") if p.strip()]
    if not params or not all(re.match(r"^[A-Za-z_]\w*$", p) for p in params) or len(params) > 3:
        return []
    pools = [next((vals for pat, vals in _KINDS if pat.match(p.lower())), _INTS) for p in params]
    calls = []
    for i in range(6):
        args = [pool[(i + 2 * j) % len(pool)] for j, pool in enumerate(pools)]
        calls.append(f"{name}({', '.join(args)})")
    return list(dict.fromkeys(calls))


@dataclass
class Probe:
    """What one candidate did on the checks: each check's error (None: passed), each call's result."""

    results: list[str | None]
    outputs: list[str]
    refused: bool = False
    note: str = ""

    def passed(self, i: int) -> bool:
        return i < len(self.results) and self.results[i] is None

    def outcome(self, checkset: CheckSet, source: str) -> TestOutcome | None:
        """The checks of one source as a TestOutcome (what the critic grounds a score on); None if none."""
        idx = checkset.of(source)
        if not idx:
            return None
        if self.refused:
            return TestOutcome(source, 0, 0, f"checks not run: {self.note}", refused=True)
        lines = []
        for i in idx:
            err = self.results[i] if i < len(self.results) else "not run"
            lines.append(f"{'ok  ' if err is None else 'FAIL'} {checkset.checks[i].code}" + ("" if err is None else f"  -> {err}"))
        passed = sum(self.passed(i) for i in idx)
        return TestOutcome(source, passed, len(idx) - passed, "\n".join(lines)[-4000:])


def probe(runner, code: str, checkset: CheckSet, timeout_s: float = 20.0) -> Probe:
    """Run every check and evaluate every call against ``code`` in one sandbox run."""
    checks = [c.code for c in checkset.checks]
    n = len(checks)
    harness = (
        "import json, sys\n"
        "class _Sink:\n"
        "    def write(self, s):\n"
        "        return len(s)\n"
        "    def flush(self):\n"
        "        pass\n"
        "_out, sys.stdout = sys.stdout, _Sink()\n"
        "import signal\n"
        "class _Slow(Exception):\n"
        "    pass\n"
        "def _alarm(*_):\n"
        "    raise _Slow('took over 1 s')\n"
        "signal.signal(signal.SIGALRM, _alarm)\n"
        "results, outputs = [], []\n"
        "try:\n"
        "    import solution\n"
        "    ns = {k: v for k, v in vars(solution).items() if not k.startswith('__')}\n"
        f"    exec(compile({checkset.setup!r}, 'setup', 'exec'), ns)\n"
        "except BaseException as exc:\n"
        f"    results = ['the solution could not be loaded: %s' % type(exc).__name__] * {n}\n"
        f"    outputs = ['!load'] * {len(checkset.calls)}\n"
        "else:\n"
        f"    for i, src in enumerate({checks!r}):\n"
        "        try:\n"
        "            signal.setitimer(signal.ITIMER_REAL, 1.0)\n"
        "            exec(compile(src, 'check %d' % i, 'exec'), dict(ns))\n"
        "            results.append(None)\n"
        "        except BaseException as exc:\n"
        "            results.append('%s: %s' % (type(exc).__name__, str(exc)[:200]))\n"
        "        finally:\n"
        "            signal.setitimer(signal.ITIMER_REAL, 0)\n"
        f"    for src in {checkset.calls!r}:\n"
        "        try:\n"
        "            signal.setitimer(signal.ITIMER_REAL, 1.0)\n"
        "            outputs.append(repr(eval(compile(src, 'call', 'eval'), dict(ns)))[:300])\n"
        "        except BaseException as exc:\n"
        "            outputs.append('!' + type(exc).__name__)\n"
        "        finally:\n"
        "            signal.setitimer(signal.ITIMER_REAL, 0)\n"
        f"sys.stdout = _out\nprint('\\n{_MARKER}' + json.dumps([results, outputs]))\n"
    )
    try:
        res = runner(files={"solution.py": code, "probe.py": harness}, args=["probe.py"], timeout_s=timeout_s)
    except PurposeError as exc:
        return Probe([], [], refused=True, note=exc.message)
    out = res.stdout or ""
    if _MARKER not in out:
        why = "timed out" if res.timed_out else ((res.stderr or "").strip().splitlines() or ["no result"])[-1][:200]
        return Probe([f"the checks did not finish: {why}"] * n, ["!" + why[:40]] * len(checkset.calls), note=why)
    try:
        results, outputs = json.loads(out.rsplit(_MARKER, 1)[1].strip())
    except ValueError:
        return Probe(["unreadable result"] * n, ["!unreadable"] * len(checkset.calls))
    return Probe(list(results), list(outputs))


def weights(checkset: CheckSet, probes: list[Probe | None]) -> list[float]:
    """Each check's weight: by its source, a quarter when no candidate passes it."""
    ran = [p for p in probes if p is not None and not p.refused]
    out = []
    for i, c in enumerate(checkset.checks):
        w = WEIGHTS.get(c.source, 1.0)
        out.append(w if any(p.passed(i) for p in ran) else w * SUSPECT)
    return out


def agreement(
    checkset: CheckSet, probes: list[Probe | None], codes: list[str | None], prior: list[float] | None = None
) -> list[float]:
    """Each candidate's dual-agreement score (0 for a candidate without code or whose probe was refused).

    score = (weight of the checks it passes + 0.5) × (how many candidates behave exactly as it does,
    each counted at its ``prior``, default 1); without inputs to compare on, candidates agree only when
    their code is the same.
    """
    prior = prior or [1.0] * len(probes)
    w = weights(checkset, probes)

    def signature(k: int):
        p = probes[k]
        if checkset.calls and p is not None and not p.refused:
            return ("out", tuple(p.outputs))
        try:
            return ("code", ast.dump(ast.parse(codes[k] or "")))
        except SyntaxError:
            return ("code", codes[k])

    live = [k for k in range(len(probes)) if codes[k] and probes[k] is not None and not probes[k].refused]
    sigs = {k: signature(k) for k in live}
    scores = []
    for k in range(len(probes)):
        if k not in sigs:
            scores.append(0.0)
            continue
        passed = sum(w[i] for i in range(len(checkset.checks)) if probes[k].passed(i))
        cluster = sum(prior[j] for j in live if sigs[j] == sigs[k])
        scores.append((passed + 0.5) * cluster)
    return scores


def passes_all(checkset: CheckSet, p: Probe | None) -> bool:
    """True when at least one check ran and every check passed."""
    return p is not None and not p.refused and bool(checkset.checks) and all(p.passed(i) for i in range(len(checkset.checks)))
