"""How much of a run the critic costs: tokens and seconds judging vs working, on fixed small tasks.

Prints one JSON object. Target: judging ≤ 35% of a run's tokens. Uses the real bundled model.
Run: .venv/bin/python bench/critic_overhead.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TASKS = [
    ("Write a function add(a, b) that returns the sum of a and b.",
     "from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n    assert add(-1, 1) == 0\n"),
    ("Write a function is_even(n) that returns True when n is even.",
     "from solution import is_even\n\ndef test_even():\n    assert is_even(4)\n    assert not is_even(7)\n"),
    ("Write a function reverse_string(s) that returns s reversed.",
     "from solution import reverse_string\n\ndef test_rev():\n    assert reverse_string('abc') == 'cba'\n"),
    ("Write a function maximum(xs) that returns the largest number in the list xs.",
     "from solution import maximum\n\ndef test_max():\n    assert maximum([3, 9, 2]) == 9\n"),
]


def main() -> None:
    os.environ.setdefault("PURPOSE_DESKTOP_HOME", tempfile.mkdtemp(prefix="pd-bench-"))
    from purpose_desktop.engine.agents.team import purpose
    from purpose_desktop.engine.critic import PurposeFunction
    from purpose_desktop.engine.models import LocalModel, default_model_path
    from purpose_desktop.engine.store import Store

    model = LocalModel(default_model_path())
    critic = PurposeFunction(model)
    store = Store()
    rows = []
    started = time.perf_counter()
    for task, tests in TASKS:
        team = purpose("Help me write Python code", model=model, store=store)
        team._critic = critic
        judge_before, evidence_before = critic.judge_s, critic.evidence_s
        t0 = time.perf_counter()
        result = team.run(task, tests=tests, mode="eval")
        rows.append(
            {
                "task": task[:40],
                "tokens_work": result.tokens_work,
                "tokens_judge": result.tokens_judge,
                "seconds_total": round(time.perf_counter() - t0, 2),
                "seconds_judge": round(critic.judge_s - judge_before, 2),
                "seconds_evidence": round(critic.evidence_s - evidence_before, 2),
                "score": result.score,
                "tests_passed": bool(result.tests and result.tests["failed"] == 0 and result.tests["passed"] > 0),
            }
        )
    work = sum(r["tokens_work"] for r in rows)
    judge = sum(r["tokens_judge"] for r in rows)
    secs = sum(r["seconds_total"] for r in rows)
    print(
        json.dumps(
            {
                "tasks": len(rows),
                "tokens_work": work,
                "tokens_judge": judge,
                "judge_token_share": round(judge / max(1, work + judge), 3),
                "seconds_total": round(secs, 2),
                "seconds_judge": round(sum(r["seconds_judge"] for r in rows), 2),
                "seconds_evidence": round(sum(r["seconds_evidence"] for r in rows), 2),
                "judge_time_share": round(sum(r["seconds_judge"] for r in rows) / max(secs, 1e-9), 3),
                "wall_s": round(time.perf_counter() - started, 2),
                "runs": rows,
            },
            indent=2,
        )
    )
    store.close()
    model.close()


if __name__ == "__main__":
    main()
