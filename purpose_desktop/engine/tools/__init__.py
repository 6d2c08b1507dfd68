"""Tools agents may call: calculator, sandboxed Python, and file access confined to a workspace."""

from __future__ import annotations

import os

from purpose_desktop.engine.tools.base import Tool, ToolError, ToolRegistry, ToolResult, validate_args
from purpose_desktop.engine.tools.calculator import CalculatorTool, calculate
from purpose_desktop.engine.tools.files import ReadFileTool, WriteFileTool, split_relative_path
from purpose_desktop.engine.tools.python_exec import PythonExecTool
from purpose_desktop.engine.tools.sandbox import (
    ExecResult,
    Limits,
    protections,
    reset_probes,
    run_python,
    select_backend,
)

__all__ = [
    "CalculatorTool",
    "ExecResult",
    "Limits",
    "PythonExecTool",
    "ReadFileTool",
    "Tool",
    "ToolError",
    "ToolRegistry",
    "ToolResult",
    "WriteFileTool",
    "calculate",
    "default_registry",
    "protections",
    "reset_probes",
    "run_python",
    "select_backend",
    "split_relative_path",
    "validate_args",
]


def default_registry(workspace: str | os.PathLike[str] | None = None) -> ToolRegistry:
    """Calculator and Python always; read_file/write_file only when a workspace folder is given."""
    tools: list[Tool] = [CalculatorTool(), PythonExecTool()]
    if workspace is not None:
        tools += [ReadFileTool(workspace), WriteFileTool(workspace)]
    return ToolRegistry(tools)
