"""`purpose-desktop mcp [--data-dir DIR]`: serve approved memories, the Vault, lesson proposals and the sandbox over MCP (stdio)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

MCP_HELP = (
    "serve your approved lessons, Vault, lesson proposals and the test sandbox to MCP clients "
    "(Claude Desktop, editors) over stdio"
)


def cmd_mcp(args: argparse.Namespace) -> int:
    from purpose_desktop.engine import paths

    if args.data_dir:
        folder = Path(args.data_dir).expanduser()
        if folder.exists() and not folder.is_dir():
            sys.stderr.write(f"error: --data-dir {folder} is a file, not a folder\n")
            return 2
        os.environ[paths.HOME_ENV] = str(folder.resolve())
    # stdout carries the protocol: every log line goes to stderr, which MCP clients show or keep.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="purpose-desktop mcp: %(message)s")
    from purpose_desktop.engine.mcp.server import serve_stdio

    try:
        serve_stdio()
    except KeyboardInterrupt:
        return 130
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `mcp` command to the top-level parser's subcommands."""
    mcp = sub.add_parser("mcp", help=MCP_HELP, description=MCP_HELP + ".")
    mcp.add_argument(
        "--data-dir",
        metavar="DIR",
        help="the data folder to serve (default: the app's, or $PURPOSE_DESKTOP_HOME)",
    )
    mcp.set_defaults(func=cmd_mcp)
