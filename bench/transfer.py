"""Do distilled lessons transfer? Learn on one half of a task suite, evaluate the OTHER half before and after (JSON).

The 32 small tasks of bench/critic.py (written for this project, each with hidden tests) are split in
two interleaved halves, so both mix the task families. On a fresh SQLite file:

1. before: every held-out task once in EVAL_TEST (nothing stored); its hidden tests, never shown to
   the run, decide whether it passed;
2. learning pass: every training task once in LEARNING_TRAIN *with* its tests given (grounded runs;
   the coder is retried while checks fail, so failures and their fixes can be seen); the engine
   distils candidates (scan → quarantine); each quarantined candidate is replay-tested A/B
   (n seeds × its source task and the most similar past tasks, LEARNING_VALIDATION) and promoted only
   when the policy's bar is met (auto-promotion on, standing in for the person; sign test p < 0.1);
3. after: the held-out tasks again in EVAL_TEST, with the promoted lessons in the prompts;
4. after, person approves: every remaining replayed lesson whose replay did not say "hurts" is
   approved (a person who trusts the lessons), and the held-out tasks run once more.

By default only the lessons meant for other tasks are replayed (``--replay all``: every candidate);
an episodic case is kept to near-identical tasks, so it cannot reach a held-out task anyway.

Evaluation runs use temperature 0 and the same seed: the only difference between before and after is
memory (so when nothing was promoted, "after" is "before" and is not run again: ``after_rerun`` false).
Training retries the coder while checks fail (``--retries``); evaluation and replay run the team with
``--eval-retries`` (0 by default, to keep the benchmark affordable). Nothing from the held-out half is ever run in training, so a gain there is transfer.

Run: .venv/bin/python bench/transfer.py [--limit N] [-n SEEDS] [--similar K] [--model PATH]
``measure_transfer(model, ...)`` returns the same dict for other benchmarks (bench/learning.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402,F401  (temp data dir)
from critic import TASKS  # noqa: E402  (the labelled tasks and their hidden checks)

CODER_PROMPT = (
    "You write the implementation. Reply with one complete Python code block that defines the function, "
    "then one sentence explaining it."
)
TRANSFER_LESSONS = ("format", "naming", "edge_case", "fix", "tool_policy", "model_rule")


def hidden_tests(name: str, checks: list[str]) -> str:
    return f"from solution import {name}\n\n" + "".join(f"\ndef test_{i}():\n    assert {c}\n" for i, c in enumerate(checks))


def halves(tasks=TASKS, limit: int = 0) -> tuple[list, list]:
    """(train, held-out): alternate tasks, so both halves mix the families; ``limit`` tasks each (0: all)."""
    train, held = list(tasks[0::2]), list(tasks[1::2])
    return train[: limit or None], held[: limit or None]


def make_team(model, store, policy, *, max_tokens: int = 160, retries: int = 1):
    from purpose_desktop.engine.agents.roles import RoleSpec
    from purpose_desktop.engine.agents.team import Team, TeamSpec
    from purpose_desktop.engine.critic import PurposeFunction

    coder = RoleSpec("coder", "Coder", CODER_PROMPT, [], None, "code")
    spec = TeamSpec("Transfer coder", "Help me write Python code", [coder], max_retries=retries)
    return Team(
        spec,
        model=model,
        store=store,
        critic=PurposeFunction(None),  # evidence only: checks, examples, static facts; no judge
        memory_policy=policy,
        spark_options={"max_tokens_per_step": max_tokens, "token_budget": max_tokens * (retries + 1) + 1500},
    )


def evaluate(team, tasks, say) -> dict:
    """Each held-out task once in EVAL_TEST; its hidden tests decide."""
    from purpose_desktop.engine.critic import PurposeFunction, extract_code
    from purpose_desktop.engine.runmode import RunMode

    checker = PurposeFunction(None)
    rows = []
    for name, task, _right, checks, _wrongs in tasks:
        t0 = time.perf_counter()
        result = team.run(task, mode=RunMode.EVAL_TEST)
        code = extract_code(result.answer)
        ok = bool(code) and checker.run_tests(code, hidden_tests(name, checks)).all_passed
        rows.append({"function": name, "passed": ok, "memories": len(result.memory.get("used", []))})
        say({"eval": name, "passed": ok, "memories": rows[-1]["memories"], "s": round(time.perf_counter() - t0, 1)})
    n = max(1, len(rows))
    return {"pass_rate": round(sum(r["passed"] for r in rows) / n, 3), "rows": rows}


def _lesson(memory) -> str:
    return (memory.provenance[0] if memory.provenance else {}).get("lesson") or "?"


def learn(team, store, tasks, *, n: int, replay_kinds: str, team_retries: int, say) -> dict:
    """The learning pass: train runs with tests given, then the quarantined candidates replayed A/B.

    ``replay_kinds`` "transfer": only the lessons meant for other tasks are replayed (an episodic case
    is kept to near-identical tasks, so it cannot reach a held-out task); "all": every candidate."""
    from purpose_desktop.engine.learning.replay import retest
    from purpose_desktop.engine.memory.api import MemoryBank
    from purpose_desktop.engine.runmode import RunMode

    bank = MemoryBank(store, team.memory_policy)
    outcomes: Counter = Counter()
    grounds: Counter = Counter()
    for name, task, _right, checks, _wrongs in tasks:
        t0 = time.perf_counter()
        result = team.run(task, tests=hidden_tests(name, checks), mode=RunMode.LEARNING_TRAIN)
        grounds[result.grounded_by] += 1
        for c in result.memory.get("candidates", []):
            outcomes[c["outcome"]] += 1
        say({"train": name, "grounded_by": result.grounded_by, "candidates": len(result.memory.get("candidates", [])),
             "s": round(time.perf_counter() - t0, 1)})
    team.spec.max_retries = team_retries  # replays and evaluation run the same team as "before"
    runner = team.replay_runner(store)
    replayed = []
    for m in bank.list(status="quarantined"):
        if replay_kinds == "transfer" and _lesson(m) not in TRANSFER_LESSONS:
            continue
        t0 = time.perf_counter()
        ev = retest(bank, m.id, runner, n=n)
        row = {
            "kind": m.kind,
            "lesson": _lesson(m),
            "verdict": ev.verdict,
            "grounded_pairs": ev.n_grounded,
            "wins": ev.grounded_wins,
            "losses": ev.grounded_losses,
            "delta": ev.grounded_delta,
            "p": ev.p_value,
            "s": round(time.perf_counter() - t0, 1),
        }
        replayed.append(row)
        say({"replayed": row})
    return {"train_grounded_by": dict(grounds), "submit_outcomes": dict(outcomes), "replayed": replayed}


def measure_transfer(
    model,
    *,
    limit: int = 0,
    n: int = 2,
    similar: int = 2,
    max_tokens: int = 160,
    retries: int = 1,
    eval_retries: int = 0,
    replay_kinds: str = "transfer",
    db_path: Path | None = None,
    progress=None,
) -> dict:
    """Learn on one half of bench/critic.py's tasks, evaluate the other half before and after (see module doc)."""
    from purpose_desktop.engine.memory.api import MemoryBank
    from purpose_desktop.engine.memory.records import MemoryPolicy
    from purpose_desktop.engine.store import Store

    say = progress or (lambda _row: None)
    started = time.perf_counter()
    train, held = halves(TASKS, limit)
    policy = MemoryPolicy(auto_promote=True, replay_similar=similar, replay_n=n)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(db_path or Path(tmp) / "transfer.db")
        try:
            team = make_team(model, store, policy, max_tokens=max_tokens, retries=retries)
            team.spec.max_retries = eval_retries
            before = evaluate(team, held, say)
            team.spec.max_retries = retries  # training retries while checks fail: failures and their fixes
            learned = learn(team, store, train, n=n, replay_kinds=replay_kinds, team_retries=eval_retries, say=say)
            bank = MemoryBank(store, policy)
            everything = bank.list()
            promoted = bank.list(status="promoted")
            # Nothing promoted: the prompts are those of "before" (temperature 0, same seed), so is the result.
            after = evaluate(team, held, say) if promoted else {**before, "not_rerun": True}
            # The person approves every replayed lesson whose replay did not say it hurts.
            approved = []
            for m in bank.list(status="quarantined"):
                verdict = (m.evidence or {}).get("verdict")
                if verdict is not None and verdict != "hurts" and not m.scan.get("blocked"):
                    approved.append(bank.approve(m.id, reason="transfer bench: approved unless replay said it hurts"))
            after_all = evaluate(team, held, say) if approved else after
            example = next((m for m in promoted if _lesson(m) in TRANSFER_LESSONS), None)
            example = example or next((m for m in approved if _lesson(m) in TRANSFER_LESSONS), None)
            example = example or next((m for m in everything if _lesson(m) in TRANSFER_LESSONS), None)
            result = {
                "pass_before": before["pass_rate"],
                "pass_after": after["pass_rate"],
                "after_rerun": not after.get("not_rerun", False),
                "pass_after_person_approves": after_all["pass_rate"],
                "n_train": len(train),
                "n_eval": len(held),
                "candidates_by_kind": dict(Counter(m.kind for m in everything)),
                "candidates_by_lesson": dict(Counter(_lesson(m) for m in everything)),
                "promoted_by_policy": len(promoted),
                "promoted_kinds": dict(Counter(m.kind for m in promoted)),
                "promoted_lessons": dict(Counter(_lesson(m) for m in promoted)),
                "approved_by_person": len(approved),
                "approved_lessons": dict(Counter(_lesson(m) for m in approved)),
                "example_lesson": None
                if example is None
                else {"kind": example.kind, "lesson": _lesson(example), "status": example.status, "text": example.text,
                      "scope": example.scope.to_dict(), "source_runs": [p.get("run_id") for p in example.provenance]},
                "learning_pass": learned,
                "rows_before": before["rows"],
                "rows_after": after["rows"],
                "rows_after_person_approves": after_all["rows"],
                "settings": {"n": n, "similar": similar, "max_tokens": max_tokens, "retries": retries,
                             "eval_and_replay_retries": eval_retries,
                             "replayed": replay_kinds, "promotion": "auto-promotion: replay verdict helps (sign test p < 0.1)"},
                "train_tasks": [t[0] for t in train],
                "eval_tasks": [t[0] for t in held],
                "elapsed_s": round(time.perf_counter() - started, 1),
            }
        finally:
            store.close()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N tasks of each half (0: all 16)")
    parser.add_argument("-n", type=int, default=2, help="replay seeds per task and arm")
    parser.add_argument("--similar", type=int, default=2, help="similar past tasks replayed besides the source")
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--retries", type=int, default=1, help="coder retries while checks fail, in training")
    parser.add_argument("--eval-retries", type=int, default=0, help="coder retries in evaluation and replay")
    parser.add_argument("--model", default=None, help="a GGUF path (default: the bundled model)")
    parser.add_argument("--replay", choices=("transfer", "all"), default="transfer",
                        help="which candidates are replayed (transfer: the lessons meant for other tasks)")
    parser.add_argument("--db", default=None, help="keep the SQLite file here (default: a temp file)")
    args = parser.parse_args(argv)
    from purpose_desktop.engine.models import LocalModel, default_model_path

    model = LocalModel(args.model or default_model_path(), n_ctx=4096)
    try:
        result = measure_transfer(
            model,
            limit=args.limit,
            n=args.n,
            similar=args.similar,
            max_tokens=args.max_tokens,
            retries=args.retries,
            eval_retries=args.eval_retries,
            replay_kinds=args.replay,
            db_path=Path(args.db) if args.db else None,
            progress=lambda row: print(json.dumps(row), file=sys.stderr, flush=True),
        )
    finally:
        model.close()
    result["model"] = getattr(model, "display_name", "model")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
