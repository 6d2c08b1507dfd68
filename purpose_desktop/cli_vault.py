"""`purpose-desktop vault …` subcommands."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `vault` command to the top-level parser's subcommands."""
