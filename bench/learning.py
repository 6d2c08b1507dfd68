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

``methods`` (issue 18): each self-improvement method on and off on the evaluation suite
(``bench/suites/basic``, imported as ``eval import`` does), through the engine's own switches
(``MemoryPolicy.methods_off`` — the ``learning_methods_off`` setting — and ``PurposeFunction(calibrated=)``):
1. learning: the learning tasks run in LEARNING_TRAIN with the bundled model as the critic's judge (so
   judge-vs-tests disagreements can become critic calibrations) and one retry (so an earlier attempt can
   beat a later one); every quarantined candidate is approved, standing in for a person who approves
   everything (no replay, to keep the run affordable); a second train pass gives the approved lessons
   grounded credits per task family (what value of experience learns from);
2. lesson evolution on a copy of that store: ``evolve`` proposes, every proposal is approved;
3. the suite in EVAL_TEST (its tests given, temperature 0, same seed): all methods on; then each of value
   of experience, hindsight and critic calibration off (same store, only the switch differs); and lesson
   evolution on (the evolved copy) against off (the store before evolving).
Each method reports ``{"on", "off", "n", "delta"}`` (suite pass rates), the mean scores, how the scores were
grounded, on how many tasks the two arms' prompts carried different memories, and what the method
produced during learning. Role-prompt optimisation is measured by its own proposal: the coder's instructions
now (off) and with the few-shot examples it proposes from the learning runs (on), on the same suite and seed.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
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
def make_team(model, store, policy: MemoryPolicy, max_tokens: int, *, critic=None, retries: int = 0) -> Team:
    """The bench's one-role coding team; ``critic`` None is the judge-free critic (evidence only)."""
    coder = RoleSpec(
        "coder",
        "Coder",
        "You write the implementation. Reply with one complete Python code block that defines the function, "
        "then one sentence explaining it.",
        [],
        None,
        "code",
    )
    spec = TeamSpec("Bench coder", "Help me write Python code", [coder], max_retries=retries)
    return Team(
        spec,
        model=model,
        store=store,
        critic=critic or PurposeFunction(None),
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


def learning_pass(team: Team, store, bank: MemoryBank, n: int, tasks=TASKS) -> dict:
    taught = [bank.teach(p).memory.id for p in PREFERENCES]
    candidates = []
    for task, tests in tasks:
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


# -- each self-improvement method on and off (issue 18) ---------------------------------------------------
SUITE = ROOT / "bench" / "suites" / "basic"
#: method → what its off arm changes (the on arm is every method on).
ABLATIONS = ("value_of_experience", "hindsight", "critic_calibration")


def methods_team(model, store, policy: MemoryPolicy, max_tokens: int, *, calibrated: bool = True) -> Team:
    """The bench coder with the bundled model as the critic's judge and one retry."""
    from purpose_desktop.engine.models.backends import resolve_backend

    critic = PurposeFunction(resolve_backend(model), calibrated=calibrated)
    return make_team(model, store, policy, max_tokens, critic=critic, retries=1)


def suite_eval(team: Team, tasks: list[dict]) -> dict:
    """The suite's tasks in EVAL_TEST with their tests given; pass as ``eval run`` counts it."""
    from purpose_desktop.engine.services.evaluation import _passed

    rows = []
    for t in tasks:
        r = team.run(t["task"], tests=t["tests"], mode=RunMode.EVAL_TEST)
        rows.append(
            {
                "name": t["name"],
                "passed": _passed(r.tests),
                "score": r.score,
                "grounded_by": r.grounded_by,
                "memories": sorted(r.memory.get("used", [])),
            }
        )
    scores = [r["score"] for r in rows if r["score"] is not None]
    return {
        "pass_rate": round(statistics.fmean(r["passed"] for r in rows), 3) if rows else None,
        "mean_score": round(statistics.fmean(scores), 2) if scores else None,
        "grounded_by": dict(Counter(r["grounded_by"] for r in rows)),
        "rows": rows,
    }


def _compare(on: dict, off: dict, produced) -> dict:
    return {
        "on": on["pass_rate"],
        "off": off["pass_rate"],
        "n": len(on["rows"]),
        "delta": None if on["pass_rate"] is None else round(on["pass_rate"] - off["pass_rate"], 3),
        "mean_score_on": on["mean_score"],
        "mean_score_off": off["mean_score"],
        "grounded_by_on": on["grounded_by"],
        "grounded_by_off": off["grounded_by"],
        "tasks_where_prompts_differ": sum(a["memories"] != b["memories"] for a, b in zip(on["rows"], off["rows"], strict=True)),
        "tasks_where_outcome_differs": sum(a["passed"] != b["passed"] for a, b in zip(on["rows"], off["rows"], strict=True)),
        "produced_in_learning": produced,
    }


def role_prompt_arm(model, db: Path, spec: TeamSpec, max_tokens: int, tasks: list[dict]) -> dict | str:
    """Off: the coder's instructions now; on: the best proposal from the passing learning runs of ``spec``
    (the team that learned: its runs are found by its id), scored on ``tasks``; nothing is stored."""
    from purpose_desktop.engine.errors import InputError
    from purpose_desktop.engine.services.prompt_opt import propose_role_prompt

    store = Store(db)
    try:
        proposal = propose_role_prompt(
            store, model, spec.to_dict(), spec.roles[0].name, tasks, seed=0, record=False,
            spark_options={"max_tokens_per_step": max_tokens, "token_budget": max_tokens + 1200},
        )
    except InputError as exc:  # e.g. no passing, grounded learning run to take examples from
        return f"not measured: {exc.message}"
    finally:
        store.close()
    before, after = proposal.before, proposal.after
    return {
        "on": after["pass_rate"],
        "off": before["pass_rate"],
        "n": before["n_tasks"],
        "delta": None if after["pass_rate"] is None else round(after["pass_rate"] - before["pass_rate"], 3),
        "mean_score_on": after.get("mean_score"),
        "mean_score_off": before.get("mean_score"),
        "recommended": proposal.recommended,
        "produced_in_learning": {"demos": len(proposal.demos), "left_out": len(proposal.excluded),
                                 "candidates": len(proposal.candidates), "explanation": proposal.explanation},
    }


def methods_pass(model, tmp: Path, max_tokens: int, limit: int) -> dict:
    """Learn with every method on, then the suite with each method on and off (see the module doc)."""
    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.learning.evolution import evolve
    from purpose_desktop.engine.memory.value import family_effects
    from purpose_desktop.engine.services.evaluation import read_suite_folder
    from purpose_desktop.engine.settings import EngineSettings
    from purpose_desktop.engine.store.evals import EvalRepo

    db, evolved_db = tmp / "methods.db", tmp / "methods-evolved.db"
    learning_tasks = TASKS[:limit] if limit else TASKS
    store = Store(db)
    suite, skipped = read_suite_folder(SUITE)
    for t in suite[:limit] if limit else suite:
        EvalRepo(store).add_task(name=t["name"], task=t["task"], tests=t["tests"], source="imported", origin=t["origin"])
    tasks = EvalRepo(store).tasks()
    policy = MemoryPolicy(replay_similar=0)
    train = methods_team(model, store, policy, max_tokens)
    calibrations, hindsight = [], []
    for task, tests in learning_tasks:
        r = train.run(task, tests=tests, mode=RunMode.LEARNING_TRAIN)
        calibrations += r.memory.get("calibrations", [])
        hindsight += [c for c in r.memory.get("candidates", []) if c.get("outcome") == "hindsight"]
    store.close()
    engine = Engine(store=Store(db), settings=EngineSettings())  # the Memory pane's Approve, for the person
    pending = [m.id for m in engine.memories.bank().list(status="quarantined")]
    if pending:
        engine.memories.decide(pending, "approve", "bench/learning.py: standing in for a person who approves all")
    approved = Counter(m.kind for m in engine.memories.bank().list(status="promoted"))
    engine.close()
    store = Store(db)
    credit_team = methods_team(model, store, policy, max_tokens)
    for task, tests in learning_tasks:  # grounded credits per family for the approved lessons
        credit_team.run(task, tests=tests, mode=RunMode.LEARNING_TRAIN)
    effects = family_effects(store)
    store.close()
    shutil.copy(db, evolved_db)
    engine = Engine(store=Store(evolved_db), settings=EngineSettings())
    proposals = evolve(engine.memories.bank(), model=model)
    new = [p.memory_id for p in proposals if p.memory_id]
    if new:
        engine.memories.decide(new, "approve", "bench/learning.py: standing in for the person")
    engine.close()

    store = Store(db)
    arms = {"all_on": suite_eval(methods_team(model, store, policy, max_tokens), tasks)}
    for method in ABLATIONS:
        off = MemoryPolicy(replay_similar=0, methods_off=frozenset({method}))
        team = methods_team(model, store, off, max_tokens, calibrated=method != "critic_calibration")
        arms[method + "_off"] = suite_eval(team, tasks)
    store.close()
    store = Store(evolved_db)
    arms["evolved"] = suite_eval(methods_team(model, store, policy, max_tokens), tasks)
    store.close()
    n_effects = sum(len(v) for v in effects.values())
    methods = {
        "value_of_experience": _compare(
            arms["all_on"], arms["value_of_experience_off"],
            {"memory_family_effects": n_effects, "families": sorted(effects)},
        ),
        "lesson_evolution": _compare(
            arms["evolved"], arms["all_on"], {"proposals": [p.to_dict() for p in proposals], "approved": len(new)}
        ),
        "hindsight": _compare(arms["all_on"], arms["hindsight_off"], {"hindsight_cases": len(hindsight)}),
        "critic_calibration": _compare(
            arms["all_on"], arms["critic_calibration_off"],
            {"calibration_candidates": calibrations, "families_calibrated": sorted({c["family"] for c in calibrations})},
        ),
        "role_prompt_optimisation": role_prompt_arm(model, db, train.spec, max_tokens, tasks),
    }
    return {
        "methods": methods,
        "methods_protocol": {
            "suite": str(SUITE.relative_to(ROOT)),
            "suite_tasks": [t["name"] for t in tasks],
            "suite_files_skipped": skipped,
            "learning_tasks": [t[:60] for t, _ in learning_tasks],
            "approved_after_learning": dict(approved),
            "judge": "the same model (critic judge), temperature 0",
            "retries": 1,
            "all_on_rows": arms["all_on"]["rows"],
        },
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="GGUF path or model id (default: the bundled SmolLM2)")
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("-n", type=int, default=3, help="replay runs per arm")
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--limit", type=int, default=0, help="at most N tasks of each set (a reduced, cheaper run)")
    parser.add_argument(
        "--part",
        choices=("both", "protocol", "methods"),
        default="both",
        help="the before/after protocol, the methods on/off, or both (default)",
    )
    args = parser.parse_args(argv)

    from purpose_desktop.engine.models import LocalModel, resolve_model

    started = time.perf_counter()
    model = LocalModel(resolve_model(args.model), n_ctx=args.ctx)
    policy = MemoryPolicy(auto_promote=True, replay_similar=0)
    tasks, held_out = (TASKS[: args.limit], HELD_OUT[: args.limit]) if args.limit else (TASKS, HELD_OUT)
    result: dict = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if args.part in ("both", "protocol"):
                result.update(protocol(model, Path(tmp), policy, args, tasks, held_out))
            if args.part in ("both", "methods"):
                result.update(methods_pass(model, Path(tmp), args.max_tokens, args.limit))
    finally:
        model.close()
    result.update(
        model=model.display_name,
        max_tokens=args.max_tokens,
        reduced=f"--limit {args.limit}: at most {args.limit} tasks of each set" if args.limit else None,
        part=args.part,
        elapsed_s=round(time.perf_counter() - started, 1),
    )
    print(json.dumps(result, indent=2))
    return 0


def protocol(model, tmp: Path, policy: MemoryPolicy, args, tasks, held_out) -> dict:
    """Suite → learn → suite on the learning tasks and the held-out ones (the module doc's steps 1–3)."""
    store = Store(tmp / "learning.db")
    team = make_team(model, store, policy, args.max_tokens)
    before, held_before = evaluate(team, tasks), evaluate(team, held_out)
    learned = learning_pass(team, store, MemoryBank(store, policy), args.n, tasks)
    after, held_after = evaluate(team, tasks), evaluate(team, held_out)
    # Ablation: the learned memories alone (the taught preferences left out of the prompts).
    taught = [m.id for m in MemoryBank(store).list(kind="user_preference")]
    learned_only = evaluate(team, tasks, exclude=taught)
    store.close()
    return {
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
        "tasks": len(tasks),
        "heldout_tasks": len(held_out),
        "rows_after": after["rows"],
    }


if __name__ == "__main__":
    raise SystemExit(main())
