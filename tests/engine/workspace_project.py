"""The small broken project the workspace tests (engine and CLI) share, and a byte-for-byte snapshot of a folder."""

from __future__ import annotations

from pathlib import Path

BROKEN = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
TESTS = "from src.app import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def make_project(root: Path, *, git: bool = False) -> Path:
    """``src/app.py`` holding BROKEN, its test, and (with ``git``) a ``.git`` folder the tools must never touch."""
    (root / "src").mkdir(parents=True)
    (root / "src" / "__init__.py").write_text("")
    (root / "src" / "app.py").write_text(BROKEN)
    (root / "test_app.py").write_text(TESTS)
    if git:
        (root / ".git").mkdir()
        (root / ".git" / "config").write_text("[core]\n")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (including .git), byte for byte."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }
