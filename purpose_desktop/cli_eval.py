"""`purpose-desktop eval …`: the evaluation suite — run, list, show, import, remove, screenshot (--json).

Suite folder format (for ``eval import``): see ``engine/services/evaluation.py`` and docs/EVALUATION.md.
"""

from __future__ import annotations

import argparse
import json
import sys


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def _rate(ev: dict) -> str:
    return "–" if ev.get("pass_rate") is None else f"{ev['pass_rate'] * 100:.0f}%"


def _show_text(ev: dict) -> str:
    lines = [
        f"evaluation {ev['id']}",
        f"when:     {ev['started_at'][:19]} → {ev['finished_at'][:19]}  ({ev['status']})",
        f"model:    {ev['model'] or '–'}   team: {ev['team'] or '–'}",
        f"passed:   {ev['n_passed']}/{ev['n_tasks']} ({_rate(ev)}); "
        f"tests ran for {ev['n_grounded']}/{ev['n_tasks']}",
        f"memories: {len(ev['promoted'])} promoted at the time",
    ]
    for r in ev["results"]:
        t = r.get("tests") or {}
        how = (
            "tests not run: " + r.get("error", "the sandbox refused")
            if r.get("grounded_by") != "given_tests"
            else f"{t.get('passed', 0)} passed, {t.get('failed', 0)} failed"
            + (" (timed out)" if t.get("timed_out") else "")
        )
        lines.append(
            f"  {'PASS' if r['passed'] else 'fail'}  {r['name']:<24} {how}  {r['elapsed_ms'] / 1000:.1f}s"
        )
    return "\n".join(lines)


def cmd_eval(args: argparse.Namespace) -> int:
    from purpose_desktop.cli import _fail
    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.errors import PurposeError

    command = args.eval_command or "list"
    if command == "screenshot":
        from purpose_desktop.ui.screenshots import render_runs_pane

        try:
            path = render_runs_pane(args.out, theme=args.theme)
        except PurposeError as exc:
            return _fail(exc, args.json)
        _print_json({"path": str(path)}) if args.json else print(path)
        return 0
    engine = Engine()
    try:
        if command == "list":
            tasks = engine.evals.suite()
            evaluations = engine.evals.evaluations()
            if args.json:
                _print_json({"tasks": tasks, "evaluations": evaluations})
                return 0
            print(f"suite: {len(tasks)} task{'s' if len(tasks) != 1 else ''}")
            for t in tasks:
                print(f"  {t['name']:<24} {t['source']:<9} {' '.join(t['task'].split())[:70]}")
            print(f"evaluations: {len(evaluations)}")
            for ev in evaluations:
                print(
                    f"  {ev['id'][:8]}  {ev['started_at'][:16]}  {ev['status']:<9} "
                    f"{ev['n_passed']}/{ev['n_tasks']} {_rate(ev):>5}  {ev['model']}"
                )
            return 0
        if command == "show":
            ev = engine.evals.evaluation(args.eval_id)
            _print_json(ev) if args.json else print(_show_text(ev))
            return 0
        if command == "import":
            found = engine.evals.import_folder(args.folder)
            if args.json:
                _print_json(found.to_dict())
            else:
                print(f"added {len(found.added)}: {', '.join(found.added) or '–'}")
                for s in found.skipped:
                    sys.stderr.write(f"skipped {s['file']}: {s['reason']}\n")
            return 0 if found.added else 1
        if command == "remove":
            row = engine.evals.remove(args.name)
            _print_json(row) if args.json else print(f"removed {row['name']} from the suite")
            return 0
        # run
        team_spec = engine.teams.load(args.team) if args.team else None
        if not args.json:
            sys.stderr.write("loading the model…\n")
        engine.load_model(args.model)

        def progress(p: dict) -> None:
            if not args.json and p["name"]:
                sys.stderr.write(
                    f"[{p['done'] + 1}/{p['total']}] {p['name']} (passed so far: {p['passed']})\n"
                )

        options = {}
        if args.step_tokens:
            options["max_tokens_per_step"] = args.step_tokens
        if args.steps:
            options["max_steps"] = args.steps
        ev = engine.evals.run(team_spec=team_spec, progress=progress, spark_options=options)
        _print_json(ev) if args.json else print(_show_text(ev))
        return 0 if ev["status"] == "complete" else 1
    except PurposeError as exc:
        return _fail(exc, args.json)
    finally:
        engine.close()


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `eval` command to the top-level parser's subcommands."""
    ev = sub.add_parser(
        "eval", help="the evaluation suite: run it (nothing learned or traced), list, show, import tasks"
    )
    esub = ev.add_subparsers(dest="eval_command")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        p = esub.add_parser(name, help=help)
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=cmd_eval)
        return p

    run = add("run", "run every suite task with its tests in evaluation mode and log the pass rate")
    run.add_argument("--team", help="name of a saved team (default: the Python coding team)")
    run.add_argument("--model", help="GGUF file or model id (default: the bundled SmolLM2)")
    run.add_argument("--step-tokens", type=int, help="most tokens a role may write per step (default 384)")
    run.add_argument("--steps", type=int, help="most steps (tool calls + answer) per role (default 3)")
    add("list", "the suite's tasks and past evaluations")
    show = add("show", "one evaluation, task by task (default: the latest)")
    show.add_argument("eval_id", nargs="?", help="id or unique id prefix")
    imp = add("import", "add the test_*.py files of a folder to the suite")
    imp.add_argument("folder")
    rm = add("remove", "remove a task from the suite (past evaluations keep their results)")
    rm.add_argument("name")
    shot = add("screenshot", "the Runs pane with your own learning curve as a PNG (real data: no DEMO stamp)")
    shot.add_argument("out", help="the PNG file to write")
    shot.add_argument("--theme", choices=["light", "dark"], default="light")
    ev.set_defaults(func=cmd_eval, eval_command="list", json=False)
