"""`purpose-desktop team …`: role-prompt proposals — propose-prompt, apply-prompt, undo-prompt, prompts (--json).

A proposal adds examples from the role's passing, grounded past answers to its instructions and scores
the instructions before and after on the evaluation suite in evaluation mode (nothing learned or traced).
Nothing changes until ``apply-prompt``; see engine/services/prompt_opt.py.
"""

from __future__ import annotations

import argparse
import json
import sys


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def _rate(r: dict) -> str:
    if not r or r.get("pass_rate") is None:
        return "–"
    return f"{r['n_passed']}/{r['n_tasks']} ({r['pass_rate'] * 100:.0f}%)"


def proposal_text(p: dict) -> str:
    """A proposal as the terminal shows it: verdict, numbers, per-task, why, the diff."""
    verdict = "RECOMMENDED" if p["recommended"] else "NOT recommended (the suite did not do better)"
    lines = [
        f"proposal {p['id'] or '(not stored)'}  [{p['status']}]",
        f"team:     {p['team_name']}   role: {p['role']}",
        f"verdict:  {verdict}",
        f"suite:    before {_rate(p['before'])}  →  after {_rate(p['after'])}",
    ]
    after = {r["name"]: r for r in p["after"].get("results", [])}
    for r in p["before"].get("results", []):
        a = after.get(r["name"], {})
        mark = lambda ok: "PASS" if ok else "fail"  # noqa: E731
        lines.append(f"  {r['name']:<24} {mark(r['passed'])} → {mark(a.get('passed'))}")
    lines += ["", p["explanation"]]
    for e in p.get("excluded") or []:
        lines.append(f"  left out: {e['task'][:60]!r} — {e['reason']}")
    lines += ["", p["diff"] or "(no change)"]
    return "\n".join(lines)


def cmd_team(args: argparse.Namespace) -> int:
    from purpose_desktop.cli import _fail
    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.errors import PurposeError

    command = args.team_command
    engine = Engine()
    try:
        if command == "prompts":
            rows = [p.to_dict() for p in engine.prompts.list(args.team)]
            if args.json:
                _print_json(rows)
                return 0
            for p in rows:
                print(
                    f"{p['id'][:8]}  {p['created_at'][:16]}  {p['status']:<9} {p['team_name']} / {p['role']}  "
                    f"{_rate(p['before'])} → {_rate(p['after'])}  {'recommended' if p['recommended'] else ''}"
                )
            return 0
        if command == "apply-prompt":
            spec = engine.prompts.apply(args.proposal_id, confirm_not_better=args.force)
            _print_json(spec) if args.json else print(
                f"applied to “{spec['name']}” (undo: team undo-prompt {args.proposal_id})"
            )
            return 0
        if command == "undo-prompt":
            spec = engine.prompts.undo(args.proposal_id)
            _print_json(spec) if args.json else print(f"restored the instructions of “{spec['name']}”")
            return 0
        # propose-prompt
        spec = engine.teams.load(args.team)  # clear errors before the model loads
        names = [r["name"] for r in spec["roles"]]
        if args.role not in names:
            from purpose_desktop.engine.errors import InputError

            raise InputError(
                f"The team “{spec['name']}” has no role named {args.role!r}.",
                f"Use one of: {', '.join(names)}.",
            )
        if not args.json:
            sys.stderr.write("loading the model…\n")
        engine.load_model(args.model)

        def progress(p: dict) -> None:
            if not args.json and p["name"]:
                what = (
                    "instructions now" if p["phase"] == "before" else f"candidate {p['candidate']}/{p['of']}"
                )
                sys.stderr.write(f"[{p['done'] + 1}/{p['total']}] {what}: {p['name']}\n")

        options = {"max_candidates": args.candidates, "max_demos": args.demos, "seed": args.seed}
        if args.step_tokens:
            options["spark_options"] = {"max_tokens_per_step": args.step_tokens}
        p = engine.prompts.propose(args.team, args.role, suite=args.suite, progress=progress, **options)
        _print_json(p.to_dict()) if args.json else print(proposal_text(p.to_dict()))
        return 0 if p.status == "proposed" else 1
    except PurposeError as exc:
        return _fail(exc, args.json)
    finally:
        engine.close()


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the `team` command (role-prompt proposals) to the top-level parser's subcommands."""
    team = sub.add_parser("team", help="a saved team's role-prompt proposals: propose, apply, undo, list")
    tsub = team.add_subparsers(dest="team_command", required=True)

    def add(name: str, help: str) -> argparse.ArgumentParser:
        p = tsub.add_parser(name, help=help)
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=cmd_team)
        return p

    prop = add(
        "propose-prompt",
        "propose examples for a role's instructions from its passing runs, scored on the suite before/after",
    )
    prop.add_argument("team", help="name or id of a saved team")
    prop.add_argument("--role", required=True, help="the role's name, e.g. coder")
    prop.add_argument("--suite", help="a folder of test_*.py tasks (default: the evaluation suite)")
    prop.add_argument("--model", help="GGUF file or model id (default: the bundled SmolLM2)")
    prop.add_argument("--candidates", type=int, default=3, help="example sets to score (default 3)")
    prop.add_argument("--demos", type=int, default=2, help="examples per set (default 2)")
    prop.add_argument("--seed", type=int, default=0, help="the seed every suite run uses (default 0)")
    prop.add_argument("--step-tokens", type=int, help="most tokens a role may write per step")
    app = add("apply-prompt", "put a proposal's instructions into the saved team")
    app.add_argument("proposal_id", help="id or unique id prefix")
    app.add_argument("--force", action="store_true", help="apply even though the suite did not do better")
    undo = add("undo-prompt", "restore the instructions an applied proposal replaced")
    undo.add_argument("proposal_id")
    ls = add("prompts", "role-prompt proposals, newest first")
    ls.add_argument("team", nargs="?", help="only this team's")
