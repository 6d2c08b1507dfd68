"""`run --workspace DIR [--apply]`, `chat --workspace DIR` and `purpose-desktop workspace …` (proposals, rules, vault).

Without ``--apply`` a run's proposed changes are printed as unified diffs and nothing is written; with it
they are applied (each only if its file did not change meanwhile) and the project's tests run in the sandbox.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from purpose_desktop.engine.errors import PurposeError


def extend_run(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--workspace", metavar="DIR", help="project folder the team reads and proposes changes in"
    )
    run.add_argument(
        "--apply",
        action="store_true",
        help="apply the proposed changes without asking (then run the project's tests); needs --workspace",
    )


def extend_chat(chat: argparse.ArgumentParser) -> None:
    chat.add_argument("--workspace", metavar="DIR", help="project folder the answer may propose changes in")


def project_for(args: argparse.Namespace):
    """The Project named by ``--workspace`` (None when not given); InputError for a bad folder or --apply alone."""
    from purpose_desktop.engine.errors import InputError
    from purpose_desktop.engine.workspace import open_project

    if getattr(args, "apply", False) and not getattr(args, "workspace", None):
        raise InputError("--apply needs --workspace DIR.", "Name the project folder the changes are for.")
    return open_project(args.workspace) if getattr(args, "workspace", None) else None


def chat_system(system: str, project, prompt: str) -> str:
    """The chat system prompt with what the model is told about the project (as in the app)."""
    from purpose_desktop.engine.workspace.chat import chat_note

    return f"{system}\n\n{chat_note(project, prompt)}"


def chat_changes(project, reply: str, out=sys.stdout) -> dict | None:
    """``chat --workspace``: store the reply's proposed changes, print their diffs; nothing is written."""
    if project is None:
        return None
    from purpose_desktop.engine.store import Store
    from purpose_desktop.engine.workspace import ProposalBook
    from purpose_desktop.engine.workspace.chat import propose_from_reply

    with Store(recover=False) as store:
        changes = propose_from_reply(project, store, reply)
        if changes is None:
            return None
        proposals = [ProposalBook(store).get(pid) for pid in changes["proposals"]]
    out.write("\n")
    print_diffs(proposals, out)
    for r in changes["refused"]:
        out.write(f"refused {r['path']}: {r['reason']}\n")
    if proposals:
        ids = " ".join(p.id[:12] for p in proposals)
        out.write(
            f"Nothing was written. Apply with: purpose-desktop workspace apply {ids} --workspace {project.key}\n"
        )
    return changes


def equip(team, project) -> None:
    """Attach ``project``; when no role has the files tool, the code-writing roles get it (said on stderr)."""
    team.workspace = project
    if project is None or any("files" in r.tools for r in team.spec.roles):
        return
    coders = [r for r in team.spec.roles if r.kind == "code"]
    for role in coders:
        role.tools = [*role.tools, "files"]
    if coders:
        names = ", ".join(r.name for r in coders)
        sys.stderr.write(f"[workspace {project.key}: {names} may read files there and propose changes]\n")


def print_diffs(proposals, out=sys.stdout) -> None:
    for p in proposals:
        added, removed = p.stats()
        out.write(f"# proposal {p.id[:12]} · {p.path} · +{added} −{removed}\n")
        out.write(p.diff())
        if not p.diff().endswith("\n"):
            out.write("\n")


def checks_line(checks: dict | None) -> str:
    if not checks:
        return "project tests: not run (no change was applied)"
    status = checks["status"]
    if status in ("passed", "failed"):
        return f"project tests: {status} ({checks['passed']} passed, {checks['failed']} failed)"
    return f"project tests: {status}" + (f" — {checks['reason']}" if checks.get("reason") else "")


def finish_run(args: argparse.Namespace, store, project, result) -> dict | None:
    """After ``run --workspace``: print the diffs (stderr when --json), apply them with --apply."""
    if project is None:
        return None
    from purpose_desktop.engine.workspace import apply_changes

    out = sys.stderr if args.json else sys.stdout
    if not result.proposals:
        out.write("No file changes were proposed.\n")
        return {"applied": [], "stale": [], "checks": None}
    print_diffs(result.proposals, out)
    if not args.apply:
        stored = all(p.stored for p in result.proposals)
        ids = " ".join(p.id[:12] for p in result.proposals)
        hint = (
            f"Nothing was written. Apply with: purpose-desktop workspace apply {ids} --workspace {project.key}\n"
            if stored
            else "Nothing was written (an evaluation run stores no proposals; run in train mode to apply later).\n"
        )
        out.write(hint)
        return None
    if not all(p.stored for p in result.proposals):
        raise PurposeError(
            "An evaluation run stores nothing, so its changes cannot be applied.", "Use --mode train."
        )
    report = apply_changes(store, project, [p.id for p in result.proposals])
    for p in report["applied"]:
        out.write(f"applied {p.path}\n")
    for p in report["stale"]:
        out.write(f"NOT applied {p.path}: {p.reason}\n")
    out.write(checks_line(report["checks"]) + "\n")
    return {
        "applied": [p.id for p in report["applied"]],
        "stale": [p.id for p in report["stale"]],
        "checks": report["checks"],
    }


# -- purpose-desktop workspace … ------------------------------------------------------------------
def register(sub) -> None:
    ws = sub.add_parser(
        "workspace", help="a project folder's proposed changes, rules files and Vault indexing"
    )
    ws_sub = ws.add_subparsers(dest="workspace_command", required=True)
    lst = ws_sub.add_parser("proposals", help="list proposed changes with their diffs")
    lst.add_argument("--workspace", metavar="DIR", required=True)
    lst.add_argument("--run", help="only this run's (id or prefix)")
    lst.add_argument("--all", action="store_true", help="also applied, rejected and stale ones")
    lst.add_argument("--json", action="store_true")
    for name, what in (
        ("apply", "apply (then run the project's tests)"),
        ("reject", "reject (nothing is written)"),
    ):
        p = ws_sub.add_parser(name, help=f"{what} proposed changes by id")
        p.add_argument("ids", nargs="+", metavar="ID")
        p.add_argument("--workspace", metavar="DIR", required=True)
        p.add_argument("--json", action="store_true")
    rules = ws_sub.add_parser(
        "rules", help="offer the project's rules files as candidate lessons scoped to it"
    )
    rules.add_argument("--workspace", metavar="DIR", required=True)
    rules.add_argument("--json", action="store_true")
    vault = ws_sub.add_parser("vault", help="add the project's files to the Vault (index them)")
    vault.add_argument("--workspace", metavar="DIR", required=True)
    vault.add_argument("--json", action="store_true")
    ws.set_defaults(func=cmd_workspace)


def cmd_workspace(args: argparse.Namespace) -> int:
    from purpose_desktop.engine.store import Store
    from purpose_desktop.engine.workspace import ProposalBook, offer_rules, open_project, reject_changes

    try:
        project = open_project(args.workspace)
        with Store() as store:
            book = ProposalBook(store)
            if args.workspace_command == "proposals":
                run_id = store.get_run(args.run)["id"] if args.run else None
                status = None if args.all else "proposed"
                found = book.list(run_id=run_id, project=project.key, status=status)
                if args.json:
                    return _json([p.to_dict() for p in found])
                if not found:
                    print("No proposed changes." if not args.all else "No changes were ever proposed here.")
                for p in found:
                    print(f"# {p.id[:12]} · {p.status} · {p.path} · {p.created_at[:19]}")
                    if p.status == "proposed":
                        sys.stdout.write(p.diff())
                return 0
            ids = [book.get(i).id for i in getattr(args, "ids", [])]
            if args.workspace_command == "apply":
                from purpose_desktop.engine.workspace import apply_changes

                report = apply_changes(store, project, ids)
                if args.json:
                    return _json(
                        {
                            "applied": [p.to_dict() for p in report["applied"]],
                            "stale": [p.to_dict() for p in report["stale"]],
                            "checks": report["checks"],
                        }
                    )
                for p in report["applied"]:
                    print(f"applied {p.path}")
                for p in report["stale"]:
                    print(f"NOT applied {p.path}: {p.reason}")
                print(checks_line(report["checks"]))
                return 0 if not report["stale"] else 1
            if args.workspace_command == "reject":
                done = reject_changes(store, ids)
                if args.json:
                    return _json([p.to_dict() for p in done])
                for p in done:
                    print(f"rejected {p.path}")
                return 0
            if args.workspace_command == "rules":
                offers = offer_rules(store, project)
                if args.json:
                    return _json([o.to_dict() for o in offers])
                if not offers:
                    print(
                        "No rules files (AGENTS.md, CONVENTIONS.md, .cursorrules, .clinerules, "
                        ".github/copilot-instructions.md) with rules in them."
                    )
                for o in offers:
                    print(f"{o.file}:{o.line} · {o.outcome} · {o.text[:100]}")
                if any(o.outcome == "quarantined" for o in offers):
                    print(
                        "Review them with `purpose-desktop memory list --status quarantined` or in the Memory pane."
                    )
                return 0
            if args.workspace_command == "vault":
                from purpose_desktop.engine.vault import Vault

                vault = Vault(store)
                try:
                    report = vault.add(project.key)
                finally:
                    vault.close()
                if args.json:
                    return _json(dataclasses.asdict(report))
                print(
                    f"Added {project.name} to the Vault: {report.files_seen} files "
                    f"({report.files_new} new, {report.files_changed} changed), {report.chunks_added} passages indexed."
                )
                return 0
    except PurposeError as exc:
        sys.stderr.write(f"error: {exc.message}\n" + (f"hint: {exc.hint}\n" if exc.hint else ""))
        return 2
    return 2


def _json(data) -> int:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    return 0
