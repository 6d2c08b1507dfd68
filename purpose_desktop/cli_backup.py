"""`purpose-desktop backup FILE` and `purpose-desktop restore FILE`: the whole data folder, safe while the app runs."""

from __future__ import annotations

import argparse
import json
import sys


def cmd_backup(args: argparse.Namespace) -> int:
    from purpose_desktop.engine.services.backup import take_backup

    info = take_backup(args.file)
    if args.json:
        sys.stdout.write(json.dumps(info.to_dict(), indent=2) + "\n")
    else:
        print(f"Backed up to {info.path} ({info.size_bytes:,} bytes): {info.describe()}.")
        if info.skipped:
            print(f"Not included (add them again in Models): {', '.join(info.skipped)}", file=sys.stderr)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from purpose_desktop.engine.services.backup import plan_restore, restore_backup

    plan = plan_restore(args.file)
    if not args.json or not args.yes:
        print(plan.describe(), file=sys.stderr if args.json else sys.stdout)
    if not args.yes:
        if not sys.stdin.isatty():
            print("Not restored: confirm with --yes (nothing was changed).", file=sys.stderr)
            return 2
        answer = input("Replace your current data with this backup? Type 'restore' to confirm: ")
        if answer.strip().lower() != "restore":
            print("Not restored; nothing was changed.")
            return 1
    plan, safety = restore_backup(args.file)
    if args.json:
        sys.stdout.write(
            json.dumps({"restored": plan.backup.to_dict(), "safety_copy": safety.path}, indent=2) + "\n"
        )
    else:
        print(f"Restored {args.file}. Your previous data is kept in {safety.path}.")
        print("If Purpose Desktop is open, restart it to see everything restored.")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the `backup` and `restore` commands to the top-level parser's subcommands."""
    backup = sub.add_parser(
        "backup", help="back up the whole data folder to a .zip (safe while the app runs)"
    )
    backup.add_argument("file", help="the backup file to write, e.g. purpose-backup.zip")
    backup.add_argument("--json", action="store_true", help="print JSON")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser(
        "restore",
        help="replace the data folder with a backup (asks first; keeps a safety copy of what is there)",
    )
    restore.add_argument("file", help="a backup made with `purpose-desktop backup` or Settings ▸ Backup…")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    restore.add_argument("--json", action="store_true", help="print JSON")
    restore.set_defaults(func=cmd_restore)
