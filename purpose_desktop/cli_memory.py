"""`purpose-desktop memory …` subcommands: list, show, approve, reject, edit, archive, retest, teach, export, import."""

from __future__ import annotations

import argparse
import json
import sys


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str) + "\n")


def _line(m) -> str:
    verdict = (m.evidence or {}).get("verdict", "–")
    return (
        f"{m.id[:8]}  {m.status:<11} {m.kind:<18} trust {m.effective_trust:.2f} util {m.utility:.2f} "
        f"x{m.strength} {verdict:<8} {m.text.splitlines()[0][:70]}"
    )


def _show_text(info: dict) -> str:
    from purpose_desktop.engine.learning.replay import describe

    lines = [
        f"id:        {info['id']}",
        f"kind:      {info['kind']}",
        f"status:    {info['status']}  ({info['status_reason']})",
        f"scope:     {json.dumps(info['scope'])}",
        f"trust:     {info['effective_trust']:.2f} (stored {info['trust']:.2f})   utility {info['utility']:.2f}   "
        f"strength {info['strength']}",
        f"used:      retrieved {info['retrieved']}, helped {info['helped']}, hurt {info['hurt']}",
        f"scan:      {'BLOCKED ' + str(info['scan'].get('category')) if info['scan'].get('blocked') else 'clean'}",
    ]
    for r in info["scan"].get("reasons", [])[:5]:
        lines.append(f'           - {r["category"]}: {r["message"]} ("{r["excerpt"]}" at {r["span"]})')
    lines.append(f"evidence:  {describe(info['evidence'])}")
    lines.append(f"grounding: {info.get('evidence_grounding') or 'not tested yet'}")
    lines.append("provenance:")
    for p in info["provenance"]:
        lines.append("           - " + ", ".join(f"{k}={v}" for k, v in p.items()))
    lines.append("text:")
    lines += ["    " + ln for ln in info["text"].splitlines()]
    lines.append("history:")
    for h in info["history"]:
        move = (
            f"{h['from_status']} → {h['to_status']}"
            if h["from_status"] != h["to_status"]
            else (h["to_status"] or "")
        )
        lines.append(f"  {h['at'][:19]}  {h['actor']:<7} {h['action']:<12} {move:<26} {h['reason']}")
    return "\n".join(lines)


def cmd_memory(args: argparse.Namespace) -> int:
    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.store import Store

    command = args.memory_command or "list"
    with Store() as store:
        memories_ = Engine(store=store).memories  # the same service the Memory pane uses
        bank = memories_.bank()
        if command == "list":
            memories = memories_.list(status=args.status, kind=args.kind, limit=args.limit).memories
            if args.json:
                _print_json([m.to_dict() for m in memories])
            elif not memories:
                print('No memories yet. Teach one: purpose-desktop memory teach "Always add type hints"')
            else:
                for m in memories:
                    print(_line(m))
            return 0
        if command == "show":
            info = bank.show(args.memory_id)
            if args.json:
                _print_json(info)
            else:
                print(_show_text(info))
            return 0
        if command == "export":
            n = memories_.export(args.file)
            if args.json:
                _print_json({"exported": n, "path": args.file})
            else:
                print(f"Exported {n} memor{'y' if n == 1 else 'ies'} to {args.file}")
            return 0
        if command == "import":
            report = memories_.import_file(args.file)
            if args.json:
                _print_json(report.to_dict())
            else:
                print(report.summary())
                for line in report.problems():
                    print(f"  {line}", file=sys.stderr)
                if report.imported:
                    print("Review them: purpose-desktop memory list --status quarantined")
            return 0 if not (report.rejected or report.malformed) else 3
        if command == "teach":
            scope = {
                "roles": (args.role or []) + (args.roles or []),
                "tools": args.tool or [],
                "tags": args.tags or [],
                "project": args.project,
            }
            result = memories_.teach(args.text, kind=args.kind, scope=scope)
            if args.json:
                _print_json(result.to_dict())
            else:
                m = result.memory
                print(f"{result.outcome}: {_line(m)}")
                if m.status == "rejected":
                    print(f"reason: {m.status_reason}", file=sys.stderr)
            return 1 if result.outcome == "rejected" else 0
        if command == "allowed":
            entries = memories_.allowlist()
            if args.json:
                _print_json(entries)
            elif not entries:
                print(
                    "Nothing allowed. Overrule a block with: purpose-desktop memory overrule ID --reason WHY"
                )
            else:
                for e in entries:
                    print(f"{e['id'][:8]}  {str(e['created_at'])[:16]}  {e['description']}  — {e['reason']}")
            return 0
        if command == "disallow":
            entry = memories_.disallow(_entry_id(memories_, args.entry_id))
            if args.json:
                _print_json(entry)
            else:
                print(f"Blocked again: {entry['description']}")
            return 0
        if command == "retest":
            return _retest(args, memories_)
        if command == "evolve":
            return _evolve(args, memories_)
        if command == "approve":
            m = bank.approve(args.memory_id, reason=args.reason or "")
        elif command == "reject":
            m = bank.reject(args.memory_id, reason=args.reason)
        elif command == "archive":
            m = bank.archive(args.memory_id, reason=args.reason or "")
        elif command == "edit":
            m = bank.edit(args.memory_id, args.text, reason=args.reason or "")
        elif command == "overrule":
            m = memories_.overrule(args.memory_id, args.reason)
        else:  # pragma: no cover - argparse restricts the choices
            raise SystemExit(f"unknown memory command {command}")
    if args.json:
        _print_json(m.to_dict())
    else:
        print(_line(m))
        if m.status_reason:
            print(f"reason: {m.status_reason}")
    return 0


def _entry_id(memories, prefix: str) -> str:
    """An allow-list entry's id from a unique prefix (as `memory allowed` prints them)."""
    matches = [e["id"] for e in memories.allowlist() if e["id"].startswith(prefix)]
    if len(matches) != 1:
        from purpose_desktop.engine.errors import InputError

        found = "No allow-list entry" if not matches else f"{len(matches)} allow-list entries"
        raise InputError(f"{found} starts with {prefix!r}.", "List them with: purpose-desktop memory allowed")
    return matches[0]


def _evolve(args, memories) -> int:
    model = None
    if args.model:
        from purpose_desktop.engine.models.backends import resolve_backend

        model = resolve_backend(args.model)
    proposals = memories.evolve(model=model, limit=args.limit)
    if args.json:
        _print_json([p.to_dict() for p in proposals])
        return 0
    if not proposals:
        print("Nothing to propose: no near-duplicate, split or fading lessons right now.")
        return 0
    for p in proposals:
        target = f" → {p.memory_id[:8]}" if p.memory_id else ""
        print(f"{p.action:<7} {', '.join(i[:8] for i in p.of)}{target}: {p.reason}")
    print("Each proposal waits in review: purpose-desktop memory list --status quarantined")
    return 0


def _retest(args, memories) -> int:
    def show(p) -> None:
        if not args.json:
            score = "–" if p.score is None else f"{p.score:.1f}"
            sys.stderr.write(
                f"  [{p.done}/{p.total}] {p.arm:<7} seed {p.seed}  score {score}  {p.task[:50]}\n"
            )

    try:
        evidence = memories.retest(
            args.memory_id, team=args.team, purpose=args.purpose, model=args.model, n=args.n, progress=show
        )
    except KeyboardInterrupt:
        sys.stderr.write("\n[stopped: nothing was stored]\n")
        return 130
    if args.json:
        from purpose_desktop.engine.memory.records import describe_grounding

        data = evidence.to_dict()
        _print_json({**data, "grounding_text": describe_grounding(data)})
    else:
        from purpose_desktop.engine.learning.replay import describe

        print(describe(evidence.to_dict()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `memory` command to the top-level parser's subcommands."""
    from purpose_desktop.engine.memory.records import KINDS, STATUSES

    memory = sub.add_parser(
        "memory", help="review what the app has learned: list, show, approve, reject, edit, teach"
    )
    msub = memory.add_subparsers(dest="memory_command")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        p = msub.add_parser(name, help=help)
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=cmd_memory)
        return p

    ls = add("list", "list memories, newest change first")
    ls.add_argument("--status", choices=STATUSES)
    ls.add_argument("--kind", choices=KINDS)
    ls.add_argument("--limit", type=int, default=200)
    show = add("show", "one memory with its scan report, evidence and history")
    show.add_argument("memory_id", help="id or unique id prefix")
    approve = add("approve", "promote a quarantined memory so prompts may use it")
    approve.add_argument("memory_id")
    approve.add_argument("--reason")
    reject = add("reject", "reject a memory (kept for audit, never used)")
    reject.add_argument("memory_id")
    reject.add_argument("--reason", required=True)
    archive = add("archive", "retire a memory (kept, never used)")
    archive.add_argument("memory_id")
    archive.add_argument("--reason")
    edit = add("edit", "change a memory's text (scanned again, back to review)")
    edit.add_argument("memory_id")
    edit.add_argument("text")
    edit.add_argument("--reason")
    overrule = add(
        "overrule", "the safety scan was wrong: allow its findings and send the memory back to review"
    )
    overrule.add_argument("memory_id")
    overrule.add_argument("--reason", required=True)
    add("allowed", "list the findings you overruled (later scans do not block on them)")
    disallow = add("disallow", "take an entry off the allowed list: later scans block it again")
    disallow.add_argument("entry_id", help="id or unique id prefix, as `memory allowed` prints it")
    teach = add("teach", "teach a lesson yourself (scanned, then promoted)")
    teach.add_argument("text")
    teach.add_argument("--kind", choices=KINDS, default="user_preference")
    teach.add_argument(
        "--role", action="append", metavar="ROLE", help="only for this role (repeat for several; default: all)"
    )
    teach.add_argument("--roles", nargs="*", help=argparse.SUPPRESS)  # the older spelling
    teach.add_argument("--tool", action="append", metavar="TOOL", help="only when this tool is available")
    teach.add_argument("--project", metavar="NAME", help="only in this project")
    teach.add_argument("--tags", nargs="*", help="only for tasks mentioning one of these words")
    export = add("export", "write every memory to a JSONL file (text, kind, scope, provenance, evidence, history)")
    export.add_argument("file")
    import_ = add("import", "import a JSONL export: scanned, and every memory lands quarantined for review")
    import_.add_argument("file")
    retest = add("retest", "A/B replay test: past tasks with and without the memory")
    retest.add_argument("memory_id")
    who = retest.add_mutually_exclusive_group()
    who.add_argument(
        "--purpose",
        help="replay with the team this purpose picks (default: the team that produced the memory, "
        'else "Help me write Python code")',
    )
    who.add_argument("--team", help="name of a saved team")
    retest.add_argument("--model", help="GGUF file or model id (default: the bundled SmolLM2)")
    retest.add_argument("-n", type=int, default=3, help="runs per arm and task (default 3)")
    evolve = add(
        "evolve",
        "propose merges of near-duplicate lessons, splits and retirements (each waits in review)",
    )
    evolve.add_argument("--model", help="GGUF file or model id that writes merged lessons (default: join them)")
    evolve.add_argument("--limit", type=int, default=3, help="at most this many proposals of each kind")
    memory.set_defaults(func=cmd_memory, memory_command="list", json=False, status=None, kind=None, limit=200)
