"""Benchmark: does the loop learn? Pass rate and AST-checked preference compliance before vs after a learning pass (JSON).

Protocol, on a fresh SQLite file:
1. before: every task once in EVAL_TEST with an empty memory (writes nothing);
2. learning pass: the user teaches a few preferences (type hints, docstrings); every task runs once in
   LEARNING_TRAIN, which credits memories and distils candidates; each quarantined candidate is
   replay-tested (A/B, n runs each arm, same seeds, LEARNING_VALIDATION) and promoted only if the
   evidence clearly helps (auto-promotion turned on for the benchmark, standing in for the person);
3. after: every task again in EVAL_TEST, now with the promoted memories in its prompts (and once more
   without the taught preferences, to separate what was learned from what was taught).
Held-out tasks (never run in the learning pass) are measured before and after too. Evaluation runs
use temperature 0 and the same seed, so the only difference between before and after is memory.
"""

from __future__ import annotations

import argparse
import ast
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from purpose_desktop.engine.agents.roles import RoleSpec  # noqa: E402
from purpose_desktop.engine.agents.team import Team, TeamSpec  # noqa: E402
from purpose_desktop.engine.critic import PurposeFunction, extract_code  # noqa: E402
from purpose_desktop.engine.learning.replay import retest  # noqa: E402
from purpose_desktop.engine.memory.api import MemoryBank  # noqa: E402
from purpose_desktop.engine.memory.records import MemoryPolicy  # noqa: E402
from purpose_desktop.engine.runmode import RunMode  # noqa: E402
from purpose_desktop.engine.store import Store  # noqa: E402


def _tests(name: str, cases: list[tuple[str, str]]) -> str:
    body = "".join(
        f"\n\ndef test_{i}():\n    assert {name}({args}) == {want}\n" for i, (args, want) in enumerate(cases)
    )
    return f"from solution import {name}\n" + body


TASKS = [
    (
        "Write a Python function add(a, b) that returns the sum of a and b.",
        _tests("add", [("2, 3", "5"), ("-1, 1", "0")]),
    ),
    (
        "Write a Python function is_even(n) that returns True when n is even.",
        _tests("is_even", [("4", "True"), ("7", "False")]),
    ),
    (
        "Write a Python function reverse_string(s) that returns s reversed.",
        _tests("reverse_string", [("'abc'", "'cba'"), ("''", "''")]),
    ),
    (
        "Write a Python function largest(xs) that returns the largest number in the list xs.",
        _tests("largest", [("[1, 5, 2]", "5"), ("[-3, -1]", "-1")]),
    ),
    (
        "Write a Python function square(n) that returns n multiplied by itself.",
        _tests("square", [("3", "9"), ("-2", "4")]),
    ),
    (
        "Write a Python function count_vowels(s) that returns how many vowels (a, e, i, o, u) are in s.",
        _tests("count_vowels", [("'hello'", "2"), ("'sky'", "0")]),
    ),
]
HELD_OUT = [
    (
        "Write a Python function subtract(a, b) that returns a minus b.",
        _tests("subtract", [("5, 3", "2"), ("0, 4", "-4")]),
    ),
    (
        "Write a Python function is_odd(n) that returns True when n is odd.",
        _tests("is_odd", [("3", "True"), ("8", "False")]),
    ),
    (
        "Write a Python function first(xs) that returns the first item of the list xs.",
        _tests("first", [("[4, 5]", "4"), ("['a']", "'a'")]),
    ),
]
PREFERENCES = [
    "Always add type hints to every function, like def f(x: int) -> int:",
    "Always give every function a docstring.",
]


# -- AST compliance -----------------------------------------------------------------------------------
def _functions(code: str | None) -> list[ast.FunctionDef]:
    if not code:
        return []
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def has_type_hints(code: str | None) -> bool:
    fns = _functions(code)
    if not fns:
        return False
    for fn in fns:
        args = [
            a for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs if a.arg not in ("self", "cls")
        ]
        if fn.returns is None or any(a.annotation is None for a in args):
            return False
    return True


def has_docstrings(code: str | None) -> bool:
    fns = _functions(code)
    return bool(fns) and all(ast.get_docstring(fn) for fn in fns)


CHECKS = {"type_hints": has_type_hints, "docstrings": has_docstrings}


# -- runs -----------------------------------------------------------------------------------------------
def make_team(model, store, policy: MemoryPolicy, max_tokens: int) -> Team:
    coder = RoleSpec(
        "coder",
        "Coder",
        "You write the implementation. Reply with one complete Python code block that defines the function, "
        "then one sentence explaining it.",
        [],
        None,
        "code",
    )
    spec = TeamSpec("Bench coder", "Help me write Python code", [coder], max_retries=0)
    return Team(
        spec,
        model=model,
        store=store,
        critic=PurposeFunction(None),
        memory_policy=policy,
        spark_options={"max_tokens_per_step": max_tokens, "token_budget": max_tokens + 1200},
    )


def evaluate(team: Team, tasks, exclude: list[str] | None = None) -> dict:
    rows = []
    for task, tests in tasks:
        r = team.run(task, tests=tests, mode=RunMode.EVAL_TEST, exclude_memories=exclude or [])
        code = extract_code(r.answer)
        rows.append(
            {
                "task": task[:60],
                "passed": bool(
                    r.tests and r.tests["failed"] == 0 and r.tests["passed"] > 0 and not r.tests["timed_out"]
                ),
                **{name: check(code) for name, check in CHECKS.items()},
                "memories": r.memory.get("used", []),
            }
        )
    pass_rate = statistics.fmean(r["passed"] for r in rows)
    per_check = {name: statistics.fmean(r[name] for r in rows) for name in CHECKS}
    return {
        "pass_rate": round(pass_rate, 3),
        "compliance": round(statistics.fmean(per_check.values()), 3),
        "per_preference": {k: round(v, 3) for k, v in per_check.items()},
        "rows": rows,
    }


def learning_pass(team: Team, store, bank: MemoryBank, n: int) -> dict:
    taught = [bank.teach(p).memory.id for p in PREFERENCES]
    candidates = []
    for task, tests in TASKS:
        r = team.run(task, tests=tests, mode=RunMode.LEARNING_TRAIN)
        candidates += r.memory.get("candidates", [])
    evidence = []
    runner = team.replay_runner(store)
    for m in bank.list(status="quarantined"):
        ev = retest(bank, m.id, runner, n=n)
        evidence.append({"id": m.id[:8], "kind": m.kind, "verdict": ev.verdict, "delta": ev.delta, "n": ev.n})
    promoted = bank.list(status="promoted")
    return {
        "taught": len(taught),
        "candidates": len(candidates),
        "replayed": evidence,
        "promoted": {m.kind: sum(1 for x in promoted if x.kind == m.kind) for m in promoted},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="GGUF path or model id (default: the bundled SmolLM2)")
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("-n", type=int, default=3, help="replay runs per arm")
    parser.add_argument("--ctx", type=int, default=2048)
    args = parser.parse_args(argv)

    from purpose_desktop.engine.models import LocalModel, resolve_model

    started = time.perf_counter()
    model = LocalModel(resolve_model(args.model), n_ctx=args.ctx)
    policy = MemoryPolicy(auto_promote=True, replay_similar=0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "learning.db")
            team = make_team(model, store, policy, args.max_tokens)
            before, held_before = evaluate(team, TASKS), evaluate(team, HELD_OUT)
            learned = learning_pass(team, store, MemoryBank(store, policy), args.n)
            after, held_after = evaluate(team, TASKS), evaluate(team, HELD_OUT)
            # Ablation: the learned memories alone (the taught preferences left out of the prompts).
            taught = [m.id for m in MemoryBank(store).list(kind="user_preference")]
            learned_only = evaluate(team, TASKS, exclude=taught)
            store.close()
    finally:
        model.close()
    result = {
        "pass_rate_before": before["pass_rate"],
        "pass_rate_after": after["pass_rate"],
        "preference_compliance_before": before["compliance"],
        "preference_compliance_after": after["compliance"],
        "heldout_pass_rate_before": held_before["pass_rate"],
        "heldout_pass_rate_after": held_after["pass_rate"],
        "heldout_compliance_before": held_before["compliance"],
        "heldout_compliance_after": held_after["compliance"],
        "pass_rate_after_learned_memories_only": learned_only["pass_rate"],
        "per_preference_before": before["per_preference"],
        "per_preference_after": after["per_preference"],
        "learning_pass": learned,
        "preferences": PREFERENCES,
        "model": model.display_name,
        "tasks": len(TASKS),
        "heldout_tasks": len(HELD_OUT),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "rows_after": after["rows"],
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
