"""Command line: the GUI by default, plus chat, models, doctor, screenshots (--json where it prints data)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from purpose_desktop import __version__
from purpose_desktop.engine.errors import PurposeError


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def _fail(exc: PurposeError, as_json: bool) -> int:
    if as_json:
        _print_json(exc.to_dict())
    else:
        sys.stderr.write(f"error: {exc.message}\n")
        if exc.hint:
            sys.stderr.write(f"hint: {exc.hint}\n")
    return 2


# -- gui ------------------------------------------------------------------------------------------
def cmd_gui(args: argparse.Namespace) -> int:
    from purpose_desktop.ui.app import main as gui_main

    argv = ["purpose-desktop"]
    if args.model:
        argv += ["--model", args.model]
    return gui_main(argv)


# -- chat -----------------------------------------------------------------------------------------
def cmd_chat(args: argparse.Namespace) -> int:
    from purpose_desktop.engine.cancel import CancelToken
    from purpose_desktop.engine.models import GenerationSettings, LocalModel, resolve_model
    from purpose_desktop.engine.settings import load_settings

    prompt = " ".join(args.prompt) if args.prompt else ""
    if prompt == "-" or (not prompt and not sys.stdin.isatty()):
        prompt = sys.stdin.read()
    if not prompt.strip():
        return _fail(PurposeError("Nothing to ask.", 'Give a prompt: purpose-desktop chat "How do I …?"'), args.json)
    settings = load_settings()
    cancel = CancelToken()
    try:
        path = resolve_model(args.model or settings.model, added=[Path(p) for p in settings.added_models])
        model = LocalModel(path, n_ctx=args.ctx or settings.n_ctx, n_threads=settings.n_threads)
    except PurposeError as exc:
        return _fail(exc, args.json)
    gen = GenerationSettings(
        max_tokens=args.max_tokens,
        temperature=args.temperature,
        seed=args.seed,
    )
    system = args.system or settings.system_prompt
    context = None
    if args.ground:
        try:
            context = _grounding(prompt, model, settings)
        except PurposeError as exc:
            model.close()
            return _fail(exc, args.json)
        system = context.system_prompt(system)
    from purpose_desktop import cli_workspace

    try:
        project = cli_workspace.project_for(args)
    except PurposeError as exc:
        model.close()
        return _fail(exc, args.json)
    if project is not None:
        system = cli_workspace.chat_system(system, project, prompt)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": prompt}]

    def echo(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    try:
        reply = model.chat(messages, settings=gen, cancel=cancel, on_token=None if args.json else echo)
    except KeyboardInterrupt:
        cancel.set()
        sys.stdout.write("\n[stopped]\n")
        return 130
    except PurposeError as exc:
        return _fail(exc, args.json)
    finally:
        model.close()
    changes = cli_workspace.chat_changes(project, reply.text, sys.stderr if args.json else sys.stdout)
    if args.json:
        _print_json(
            {
                **({"workspace": changes} if changes is not None else {}),
                "text": reply.text,
                "model": reply.model,
                "model_path": str(path),
                "finish_reason": reply.finish_reason,
                "n_tokens": reply.n_tokens,
                "ttft_ms": reply.ttft_ms,
                "tokens_per_s": reply.tokens_per_s,
                "elapsed_ms": reply.elapsed_ms,
                **({"context": context.to_meta()} if context is not None else {}),
            }
        )
    else:
        sys.stdout.write("\n")
        if context is not None:
            for line in _context_lines(context):
                sys.stdout.write(line + "\n")
        if args.stats:
            ttft = f"{reply.ttft_ms:.0f} ms" if reply.ttft_ms is not None else "–"
            tps = f"{reply.tokens_per_s:.1f} tok/s" if reply.tokens_per_s else "–"
            sys.stderr.write(f"[{reply.model} · TTFT {ttft} · {tps} · {reply.n_tokens} tokens]\n")
    return 0


def _grounding(prompt: str, model, settings):
    """The approved lessons and Vault excerpts for ``prompt``, exactly as the app's chat gathers them."""
    from purpose_desktop.engine.chat import context as chat_context
    from purpose_desktop.engine.store import Store
    from purpose_desktop.engine.vault import Vault

    with Store(recover=False) as store:
        vaults: list = []

        def vault():
            vaults.append(Vault(store))
            return vaults[-1]

        try:
            return chat_context.gather(
                store,
                prompt,
                use_memory=True,
                use_vault=True,
                vault_k=settings.chat_vault_k,
                n_ctx=getattr(model, "n_ctx", None) or settings.n_ctx,
                count_tokens=getattr(model, "count_tokens", None),
                vault_factory=vault,
            )
        finally:
            for v in vaults:
                v.close()


def _context_lines(context) -> list[str]:
    """What shaped the answer, under it: the sources it was given and the lessons it followed."""
    lines = [f"[{v['n']}] {v['path']}:{v['start_line']}-{v['end_line']}" for v in context.vault]
    lines += [f"lesson ({m['kind'].replace('_', ' ')}): {m['text']}" for m in context.memories]
    if context.withheld:
        lines.append(f"({len(context.withheld)} passage(s) withheld: flagged by the safety scan)")
    lines += [f"note: {e}" for e in context.errors]
    return (["", "Sources and lessons used:"] + lines) if lines else []


# -- models ---------------------------------------------------------------------------------------
def cmd_models(args: argparse.Namespace) -> int:
    from purpose_desktop import cli_serve
    from purpose_desktop.engine.models import discover_models
    from purpose_desktop.engine.settings import load_settings

    settings = load_settings()
    entries = discover_models(added=[Path(p) for p in settings.added_models])
    servers = cli_serve.server_rows(settings) if settings.servers else []
    if args.json:
        _print_json([e.to_dict() for e in entries] + cli_serve.server_entries(servers))
        return 0
    if not entries:
        print("No GGUF models found. Add one with the Models pane or pass --model PATH.")
        cli_serve.print_servers(servers)
        return 0
    for e in entries:
        if e.error:
            print(f"{e.id:<28} {e.source:<11} ERROR {e.error}  ({e.path})")
            continue
        i = e.info
        ctx = i.context_length or "?"
        print(
            f"{e.id:<28} {e.source:<11} {i.architecture:<10} {i.size_label or '?':>6} "
            f"{i.quantization or '?':<7} ctx {ctx:<7} {i.file_size / 1e6:8.1f} MB  {e.path}"
        )
    cli_serve.print_servers(servers)
    return 0


# -- doctor ---------------------------------------------------------------------------------------
def cmd_doctor(args: argparse.Namespace) -> int:
    from purpose_desktop.engine.services.diagnostics import diagnose

    report = diagnose()
    if args.json:
        _print_json(report)
    else:
        for section, values in report.items():
            print(f"[{section}]")
            if isinstance(values, dict):
                for key, value in values.items():
                    print(f"  {key:<26} {value}")
            else:
                print(f"  {values}")
    return 0 if report["summary"]["ok"] else 1


# -- run / runs ----------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from purpose_desktop.engine.agents.team import Team, purpose
    from purpose_desktop.engine.events import StepScored, StepStarted, ToolCalled
    from purpose_desktop.engine.store import Store

    tests = None
    if args.tests:
        try:
            tests = Path(args.tests).read_text(encoding="utf-8")
        except OSError as exc:
            return _fail(PurposeError(f"Cannot read the tests file {args.tests}: {exc.strerror}.", "Check the path."), args.json)
    from purpose_desktop import cli_workspace

    try:
        project = cli_workspace.project_for(args)
    except PurposeError as exc:
        return _fail(exc, args.json)
    store = Store()
    try:
        if args.team:
            team = Team.load(args.team, store=store, model=args.model)
        else:
            team = purpose(args.purpose, model=args.model, store=store)
        cli_workspace.equip(team, project)

        def show(event) -> None:
            if args.json:
                return
            if isinstance(event, StepStarted):
                sys.stderr.write(f"▶ {event.role}\n")
            elif isinstance(event, ToolCalled):
                sys.stderr.write(f"  ⚙ {event.tool}: {'ok' if event.ok else 'failed'}\n")
            elif isinstance(event, StepScored):
                sys.stderr.write(f"  ★ {event.score:.1f}/10  {'; '.join(event.evidence[:2])}\n")

        result = team.run(args.task, tests=tests, mode=args.mode, on_event=show)
        try:
            applied = cli_workspace.finish_run(args, store, project, result)
        except PurposeError as exc:
            return _fail(exc, args.json)
    finally:
        store.close()
    if args.json:
        _print_json({**result.to_dict(), **({"workspace": applied} if applied is not None else {})})
    else:
        print(result.answer)
        score = "–" if result.score is None else f"{result.score:.1f}/10"
        skipped = result.selection.get("skipped")
        sys.stderr.write(
            f"[run {result.run_id[:8]} · {result.status} · score {score} ({result.grounding}) · "
            f"{result.elapsed_ms / 1000:.1f}s"
            + (f" · {result.selection.get('why')}: {', '.join(skipped)} not needed" if skipped else "")
            + "]\n"
        )
    return 0 if result.status == "complete" else 1


def cmd_runs(args: argparse.Namespace) -> int:
    from purpose_desktop.engine.store import Store

    with Store() as store:
        if args.runs_command == "show":
            run = store.get_run(args.run_id)
            if args.json:
                _print_json(run)
            else:
                from purpose_desktop.engine.grounding import grounding_label

                print(f"{run['id']}  {run['team']}  {run['mode']}  {run['status']}  score {run['score']}")
                print(f"task: {run['task']}")
                print(f"grounding: {grounding_label(run.get('grounded_by'))}")
                for s in run["steps"]:
                    print(
                        f"  {s['seq']:>2} {s['role']:<10} attempt {s['attempt']}  score {s['score']}  "
                        f"[{grounding_label(s.get('grounded_by'), s.get('tests'))}]  {'; '.join(s['evidence'][:2])}"
                    )
                print("\n" + (run["answer"] or ""))
            return 0
        runs = store.list_runs(limit=args.limit)
    if args.json:
        _print_json(runs)
    else:
        for r in runs:
            score = "–" if r["score"] is None else f"{r['score']:.1f}"
            print(f"{r['id'][:8]}  {r['started_at'][:19]}  {r['mode']:<10} {r['status']:<9} {score:>5}  {r['task'][:60]}")
    return 0


# -- screenshots ----------------------------------------------------------------------------------
def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(n) for n in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1280x800") from None
    if width < 640 or height < 480:
        raise argparse.ArgumentTypeError("the window needs at least 640x480")
    return width, height


def cmd_screenshots(args: argparse.Namespace) -> int:
    from purpose_desktop.ui.screenshots import THEMES, render_screenshots

    themes = THEMES if args.theme == "both" else (args.theme,)
    on_saved = None if args.json else (lambda path: print(path, flush=True))
    written = render_screenshots(Path(args.dir), themes=themes, size=args.size, on_progress=on_saved)
    if args.json:
        _print_json([str(p) for p in written])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="purpose-desktop",
        description="Purpose Desktop — an offline coding helper on local GGUF models. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--model", help="GGUF file or model id to open the app with")
    parser.add_argument(
        "--self-test",
        nargs="?",
        const="temp",
        choices=["temp", "data"],
        help="check model, database, embedder and sandbox headless, print a JSON report and exit "
        "(non-zero on failure); 'data' uses the real data folder instead of a temporary one",
    )
    sub = parser.add_subparsers(dest="command")

    gui = sub.add_parser("gui", help="open the desktop app (the default)")
    gui.add_argument("--model", help="GGUF file or model id")
    gui.set_defaults(func=cmd_gui)

    chat = sub.add_parser("chat", help="ask one question and stream the answer to stdout")
    chat.add_argument("prompt", nargs="*", help='the question; "-" reads it from stdin')
    chat.add_argument("--model", help="GGUF file or model id (default: the bundled SmolLM2)")
    chat.add_argument("--json", action="store_true", help="print one JSON object instead of streaming")
    chat.add_argument("--max-tokens", type=int, default=512)
    chat.add_argument("--temperature", type=float, default=0.7)
    chat.add_argument("--seed", type=int, default=None)
    chat.add_argument("--ctx", type=int, default=None, help="context length (default: model's, at most 4096)")
    chat.add_argument("--system", help="system prompt")
    chat.add_argument("--stats", action="store_true", help="print TTFT and tokens/s to stderr")
    chat.add_argument(
        "--ground",
        action="store_true",
        help="answer from your approved memories and Vault, as the app does, and list the sources used",
    )
    chat.set_defaults(func=cmd_chat)

    models = sub.add_parser("models", help="GGUF models found on this machine")
    models_sub = models.add_subparsers(dest="models_command")
    models_list = models_sub.add_parser("list", help="list discovered models")
    models_list.add_argument("--json", action="store_true")
    models_list.set_defaults(func=cmd_models)
    models.set_defaults(func=cmd_models, json=False)
    from purpose_desktop import cli_models

    cli_models.add_models_subcommands(models_sub)
    from purpose_desktop import cli_serve

    cli_serve.register_models(models_sub)
    cli_serve.register(sub)

    run = sub.add_parser("run", help="run a team on a task headless and print the result")
    run.add_argument("task", help="the task, e.g. \"Write a fibonacci function\"")
    who = run.add_mutually_exclusive_group(required=True)
    who.add_argument("--purpose", help='purpose that picks the team, e.g. "Help me write Python code"')
    who.add_argument("--team", help="name of a saved team")
    run.add_argument("--tests", help="pytest-style file that imports the code under test as module `solution`")
    run.add_argument("--mode", choices=["train", "validation", "eval"], default="train")
    run.add_argument("--model", help="GGUF file or model id (default: the bundled SmolLM2)")
    run.add_argument("--json", action="store_true")
    run.set_defaults(func=cmd_run)

    runs = sub.add_parser("runs", help="past runs and their steps")
    runs_sub = runs.add_subparsers(dest="runs_command")
    runs_list = runs_sub.add_parser("list")
    runs_list.add_argument("--limit", type=int, default=50)
    runs_list.add_argument("--json", action="store_true")
    runs_show = runs_sub.add_parser("show")
    runs_show.add_argument("run_id")
    runs_show.add_argument("--json", action="store_true")
    runs.set_defaults(func=cmd_runs, runs_command="list", json=False, limit=50)

    from purpose_desktop import cli_eval, cli_memory, cli_vault, cli_workspace

    cli_memory.register(sub)
    cli_vault.register(sub)
    from purpose_desktop import cli_backup

    cli_backup.add_parser(sub)
    from purpose_desktop import cli_mcp

    cli_mcp.register(sub)
    cli_models.register(sub)
    cli_workspace.register(sub)
    cli_workspace.extend_run(run)
    cli_workspace.extend_chat(chat)
    cli_eval.register(sub)
    from purpose_desktop import cli_promptopt

    cli_promptopt.add_parser(sub)

    shots = sub.add_parser(
        "screenshots",
        help="render every pane offscreen on a demo data set (in a temporary folder) to PNGs in DIR",
    )
    shots.add_argument("dir", metavar="DIR", help="folder for the PNGs (created if missing)")
    shots.add_argument("--theme", choices=["light", "dark", "both"], default="both")
    shots.add_argument(
        "--size", type=_size, default=(1280, 800), metavar="WxH", help="window size (1280x800)"
    )
    shots.add_argument("--json", action="store_true", help="print the written files as one JSON list")
    shots.set_defaults(func=cmd_screenshots)

    doctor = sub.add_parser("doctor", help="check versions, data dir, model, GPU offload, sandbox")
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(func=cmd_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from purpose_desktop.selftest import main as self_test

        return self_test(use_data_dir=args.self_test == "data")
    if not getattr(args, "command", None):
        args.func = cmd_gui
    try:
        return args.func(args)
    except PurposeError as exc:
        return _fail(exc, getattr(args, "json", False))
