"""`purpose-desktop vault …` subcommands: add PATH…, list, query "…" [--k N], remove SOURCE (each with --json)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, default=str, ensure_ascii=False) + "\n")


def _open_vault():
    from purpose_desktop.engine.vault import Vault

    return Vault()


def cmd_vault_add(args: argparse.Namespace) -> int:
    show = not args.json and sys.stderr.isatty()

    def progress(p) -> None:
        if not show:
            return
        eta = f", {p.eta_s:.0f}s left" if p.eta_s is not None else ""
        rate = f", {p.chunks_per_s:.1f} chunks/s" if p.chunks_per_s else ""
        sys.stderr.write(
            f"\r{p.phase}: files {p.files_done}/{p.files_total}, chunks {p.chunks_done}/{p.chunks_total}"
            f"{rate}{eta}\x1b[K"
        )
        sys.stderr.flush()

    with _open_vault() as vault:
        try:
            report = vault.add(*args.paths, on_progress=progress)
        except KeyboardInterrupt:
            # Every committed batch is kept; the same command resumes from there.
            sys.stderr.write("\n[stopped: run the same command again to resume]\n")
            return 130
        if show:
            sys.stderr.write("\n")
        sources = [s.to_dict() for s in vault.sources() if s.id in report.source_ids]
    if args.json:
        _print_json({"report": report.to_dict(), "sources": sources})
        return 0
    print(
        f"{report.files_seen} files: {report.files_new} new, {report.files_changed} changed, "
        f"{report.files_unchanged} unchanged, {report.files_removed} removed; "
        f"{report.chunks_embedded} chunks embedded, {report.chunks_flagged} flagged, in {report.elapsed_s:.1f}s"
    )
    for path, reason in report.skipped[:20]:
        print(f"  skipped {path}: {reason}")
    if len(report.skipped) > 20:
        print(f"  … and {len(report.skipped) - 20} more skipped")
    if report.cancelled:
        print("Cancelled: run the same command again to resume.")
    return 0


def cmd_vault_list(args: argparse.Namespace) -> int:
    with _open_vault() as vault:
        sources = vault.sources()
    if args.json:
        _print_json([s.to_dict() for s in sources])
        return 0
    if not sources:
        print("The vault is empty. Add something with: purpose-desktop vault add PATH")
        return 0
    for s in sources:
        flagged = f", {s.flagged} flagged" if s.flagged else ""
        skipped = f", {s.skipped} skipped" if s.skipped else ""
        print(
            f"{s.id[:8]}  {s.status:<10} {s.files:>5} files {s.chunks:>6} chunks ({s.embedded} embedded"
            f"{flagged}{skipped})  {s.path}"
        )
    return 0


def cmd_vault_query(args: argparse.Namespace) -> int:
    text = " ".join(args.text)
    with _open_vault() as vault:
        hits = vault.query(text, k=args.k, include_flagged=args.include_flagged)
    if args.json:
        _print_json([h.to_dict() for h in hits])
        return 0
    if not hits:
        print("No matches.")
        return 0
    for n, h in enumerate(hits, 1):
        mark = "  [FLAGGED by the safety scan: not shown to models]" if h.flagged else ""
        title = f"  {h.title}" if h.title else ""
        print(f"{n}. [{h.citation}]{title}  score {h.score:.4f}{mark}")
        print("   " + h.snippet.replace("\n", "\n   "))
    return 0


def cmd_vault_remove(args: argparse.Namespace) -> int:
    with _open_vault() as vault:
        info = vault.remove_source(args.source)
    if args.json:
        _print_json({"removed": info.to_dict()})
    else:
        print(f"Removed {info.path} ({info.files} files, {info.chunks} chunks).")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `vault` command to the top-level parser's subcommands."""
    vault = sub.add_parser("vault", help="your documents and code as searchable knowledge")
    vault_sub = vault.add_subparsers(dest="vault_command")

    add = vault_sub.add_parser("add", help="add (or refresh) folders and files; only changes are re-indexed")
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=cmd_vault_add)

    ls = vault_sub.add_parser("list", help="sources with counts and status")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_vault_list)

    query = vault_sub.add_parser("query", help="hybrid search: ranked chunks with file, lines and snippet")
    query.add_argument("text", nargs="+", help="what to look for")
    query.add_argument("--k", type=int, default=5, help="how many results (default 5)")
    query.add_argument(
        "--include-flagged", action="store_true", help="also show chunks the safety scan flagged (marked)"
    )
    query.add_argument("--json", action="store_true")
    query.set_defaults(func=cmd_vault_query)

    remove = vault_sub.add_parser("remove", help="remove a source (id, id prefix, path or name)")
    remove.add_argument("source")
    remove.add_argument("--json", action="store_true")
    remove.set_defaults(func=cmd_vault_remove)

    vault.set_defaults(func=cmd_vault_list, json=False)
