"""Does the team beat one plain answer from the same model? Hidden tests decide, nothing else.

The 32 small tasks of bench/critic.py (written for this project), each with hidden tests the run
never sees. "Raw" is one plain chat answer; "team" is the architect → tester → coder team (tests
not given, so it grounds itself on its tester's checks and the task's examples), run in EVAL_TEST
so nothing is stored. Both use the same model, temperature 0, seed 0.

Prints one JSON object: raw_pass, team_pass (fractions of tasks whose answer passes all hidden
tests), time_ratio (team seconds / raw seconds), time_ratio_first_pass (the same over the tasks whose
first, plain answer passed its own checks, so no more candidates were made), n_tasks, the team runs'
grounded_by counts, the load average, and one row per task (which candidate the team chose).
Target (issue 13): team ≥ raw + 10 points, time ratio ≤ 4 when the first try passes.

Run: .venv/bin/python bench/team_vs_raw.py [--limit N] [--model PATH] [--tester-assert-lines]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402,F401  (temp data dir)
from critic import TASKS  # noqa: E402  (the same labelled tasks and hidden checks)

SYSTEM = "You are a helpful Python programmer. Answer with one complete Python code block."


def hidden_tests(name: str, checks: list[str]) -> str:
    return f"from solution import {name}\n\n" + "".join(f"\ndef test_{i}():\n    assert {c}\n" for i, c in enumerate(checks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N tasks")
    parser.add_argument("--model", default=None, help="a GGUF path (default: the bundled model)")
    parser.add_argument(
        "--tester-assert-lines",
        action="store_true",
        help="the team's tester writes assert lines under a grammar (TeamSpec.tester_assert_lines)",
    )
    args = parser.parse_args()
    from purpose_desktop.engine.agents.team import purpose
    from purpose_desktop.engine.critic import PurposeFunction, extract_code
    from purpose_desktop.engine.models import GenerationSettings, LocalModel, default_model_path
    from purpose_desktop.engine.runmode import RunMode
    from purpose_desktop.engine.store import Store

    model = LocalModel(args.model or default_model_path(), n_ctx=4096)
    checker = PurposeFunction(None)  # runs the hidden tests in the sandbox; never judges
    store = Store()
    tasks = TASKS[: args.limit or None]
    raw_ok = team_ok = 0
    raw_s = team_s = 0.0
    first_raw_s = first_team_s = 0.0
    load_before = os.getloadavg()
    grounds: Counter = Counter()
    rows = []
    for name, task, _right, checks, _wrongs in tasks:
        tests = hidden_tests(name, checks)
        started = time.perf_counter()
        reply = model.chat(
            [{"role": "system", "content": SYSTEM}, {"role": "user", "content": task}],
            settings=GenerationSettings(max_tokens=384, temperature=0.0, seed=0),
        )
        raw_took = time.perf_counter() - started
        raw_s += raw_took
        code = extract_code(reply.text)
        raw_pass = bool(code) and checker.run_tests(code, tests).all_passed
        started = time.perf_counter()
        team = purpose("Help me write Python code", model=model, store=store)
        team.spec.tester_assert_lines = args.tester_assert_lines
        result = team.run(task, mode=RunMode.EVAL_TEST)
        team_took = time.perf_counter() - started
        team_s += team_took
        first_passed = bool(result.selection.get("first_passed"))
        if first_passed:
            first_raw_s += raw_took
            first_team_s += team_took
        code = extract_code(result.answer)
        team_pass = bool(code) and checker.run_tests(code, tests).all_passed
        raw_ok += raw_pass
        team_ok += team_pass
        grounds[result.grounded_by] += 1
        rows.append({"function": name, "raw": raw_pass, "team": team_pass, "team_score": result.score,
                     "grounded_by": result.grounded_by, "first_passed": first_passed,
                     "chosen": result.selection.get("chosen"), "candidates": len(result.selection.get("candidates", [])),
                     "checks": result.selection.get("checks"),
                     "seconds_raw": round(raw_took, 1), "seconds_team": round(team_took, 1)})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    store.close()
    model.close()
    n = max(1, len(tasks))
    print(json.dumps({
        "raw_pass": round(raw_ok / n, 3),
        "team_pass": round(team_ok / n, 3),
        "time_ratio": round(team_s / raw_s, 2) if raw_s else None,
        "time_ratio_first_pass": round(first_team_s / first_raw_s, 2) if first_raw_s else None,
        "n_first_pass": sum(r["first_passed"] for r in rows),
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
        "n_tasks": len(tasks),
        "tester_assert_lines": args.tester_assert_lines,
        "seconds_raw": round(raw_s, 1),
        "seconds_team": round(team_s, 1),
        "team_grounded_by": dict(grounds),
        "tasks": rows,
    }, indent=2))


if __name__ == "__main__":
    main()
