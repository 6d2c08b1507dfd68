"""Project: a folder a chat or a team is attached to — its files, its rules files, and confined reads.

Every read goes through ``tools.files.ReadFileTool`` (the descriptor walk that refuses ``..``, absolute
paths, symlinks and hard links), so nothing outside the folder is ever readable through a Project.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.tools.base import ToolError
from purpose_desktop.engine.tools.files import ReadFileTool, WriteFileTool

#: The rules files coding assistants read from a project, in the order they are offered.
RULES_FILES = (
    "AGENTS.md",
    "CONVENTIONS.md",
    ".cursorrules",
    ".clinerules",
    ".github/copilot-instructions.md",
)
#: Folders never listed, sent to the sandbox or indexed: version control, environments, caches, builds.
SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", "env", ".tox", ".nox",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist", ".idea", ".vscode", ".eggs",
    }
)  # fmt: skip
MAX_LISTED_FILES = 2000


@dataclass(frozen=True)
class Project:
    """An attached project folder. ``key`` (its resolved path) is what memories are scoped to."""

    root: Path

    @property
    def key(self) -> str:
        return str(self.root)

    @property
    def name(self) -> str:
        return self.root.name or str(self.root)

    def reader(self) -> ReadFileTool:
        return ReadFileTool(self.root)

    def writer(self) -> WriteFileTool:
        return WriteFileTool(self.root)

    def read(self, path: str) -> str:
        """The text of ``path`` (relative to the folder); ToolError when it is refused or missing."""
        text, data = self.reader().read(path)
        if data.get("truncated"):
            raise ToolError(
                f"{data['path']}: is too large to read whole", hint="only files under 1 MB are used"
            )
        return text

    def read_or_none(self, path: str) -> str | None:
        """Like ``read``, but None when the file does not exist (any other refusal still raises)."""
        try:
            return self.read(path)
        except ToolError as exc:
            if "no such file" in exc.message:
                return None
            raise

    def files(self, limit: int = MAX_LISTED_FILES) -> list[str]:
        """Relative paths of the regular files in the folder (no symlinks, no SKIP_DIRS), sorted."""
        out: list[str] = []
        for folder, dirs, names in os.walk(self.root, followlinks=False):
            dirs[:] = sorted(
                d for d in dirs if d not in SKIP_DIRS and not os.path.islink(os.path.join(folder, d))
            )
            for name in sorted(names):
                full = os.path.join(folder, name)
                try:
                    if not stat.S_ISREG(os.lstat(full).st_mode):
                        continue
                except OSError:
                    continue
                out.append(os.path.relpath(full, self.root).replace(os.sep, "/"))
                if len(out) >= limit:
                    return sorted(out)
        return sorted(out)

    def test_files(self) -> list[str]:
        """The pytest files pytest would collect by default (test_*.py, *_test.py)."""
        return [
            f
            for f in self.files()
            if f.endswith(".py") and (Path(f).name.startswith("test_") or f.endswith("_test.py"))
        ]

    def rules_files(self) -> list[str]:
        """The rules files present (a ``.clinerules`` folder counts with each file inside it)."""
        found: list[str] = []
        listed = set(self.files())
        for name in RULES_FILES:
            if name in listed:
                found.append(name)
            elif name == ".clinerules":
                found += sorted(f for f in listed if f.startswith(".clinerules/"))
        return found

    def to_dict(self) -> dict:
        return {"root": self.key, "name": self.name}


def open_project(path: str | os.PathLike[str]) -> Project:
    """The Project at ``path``; InputError that says what to do when it is not a usable folder."""
    if not str(path).strip():
        raise InputError("No project folder was given.", "Choose a folder with File ▸ Open Folder… (Ctrl+O).")
    root = Path(os.path.realpath(os.path.expanduser(str(path))))
    if not root.exists():
        raise InputError(
            f"The project folder {root} does not exist.", "Check the path, or choose another folder."
        )
    if not root.is_dir():
        raise InputError(f"{root} is a file, not a folder.", "Open the folder that holds your project.")
    if not os.access(root, os.R_OK | os.X_OK):
        raise InputError(f"The project folder {root} cannot be read.", "Check its permissions.")
    return Project(root)
