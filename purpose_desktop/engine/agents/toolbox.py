"""tools_by_name: the tool objects a role's template names ("python", "calculator", "files")."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def tools_by_name(names: Iterable[str], workspace: Path | None = None) -> list:
    """Fresh tool objects for the names in a role template; unknown names raise ValueError."""
    from purpose_desktop.engine.tools import CalculatorTool, PythonExecTool, ReadFileTool, WriteFileTool

    out: list = []
    for name in names:
        if name == "calculator":
            out.append(CalculatorTool())
        elif name == "python":
            out.append(PythonExecTool())
        elif name in ("files", "read_file", "write_file"):
            if workspace is None:
                continue  # file tools need a declared root; a role without a workspace gets none
            if name in ("files", "read_file"):
                out.append(ReadFileTool(workspace))
            if name in ("files", "write_file"):
                out.append(WriteFileTool(workspace))
        else:
            raise ValueError(f"unknown tool {name!r}: use calculator, python or files")
    return out
