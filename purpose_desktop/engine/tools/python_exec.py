"""PythonExecTool: lets an agent run a Python snippet in the sandbox and read what it printed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.immune.redact import redact
from purpose_desktop.engine.tools.base import Tool, ToolResult
from purpose_desktop.engine.tools.sandbox import ExecResult, run_python

MAX_CODE_CHARS = 200_000

_KILLED = {
    "timeout": "timed out after {timeout:g} s and was stopped",
    "cancelled": "was cancelled",
    "output_limit": "printed far too much output and was stopped",
    "cpu_limit": "used up its CPU time and was stopped",
    "file_size_limit": "tried to write a file larger than the limit and was stopped",
    "killed": "was killed (it may have run out of memory)",
}


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else ""


def describe_failure(result: ExecResult, timeout_s: float) -> str | None:
    """A one-line human reason the run did not succeed, or None when it did."""
    if result.killed_reason:
        return "the code " + _KILLED.get(result.killed_reason, result.killed_reason).format(timeout=timeout_s)
    if result.returncode != 0:
        last = _last_line(result.stderr)
        return f"the code exited with code {result.returncode}" + (f": {last}" if last else "")
    return None


class PythonExecTool(Tool):
    """Runs code in a separate, limited process (see sandbox/); the result says which protections held."""

    name = "python"
    description = (
        "Run a Python 3 program (standard library only) in an isolated sandbox and return what it printed. "
        "No network, no access to your files; use print() to show results."
    )
    parameters = {
        "type": "object",
        "properties": {
            "code": {
                "type": "string",
                "description": "a complete Python program",
                "maxLength": MAX_CODE_CHARS,
            }
        },
        "required": ["code"],
        "additionalProperties": False,
    }

    def __init__(
        self,
        timeout_s: float = 10.0,
        memory_mb: int = 512,
        output_limit: int = 64_000,
        *,
        backend: str | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.output_limit = output_limit
        self.backend = backend

    def execute(self, args: Mapping[str, Any], cancel: CancelToken | None) -> ToolResult:
        result = run_python(
            code=args["code"],
            timeout_s=self.timeout_s,
            memory_mb=self.memory_mb,
            output_limit=self.output_limit,
            cancel=cancel,
            backend=self.backend,
        )
        parts = [result.stdout.rstrip("\n")] if result.stdout else []
        if result.stderr:
            parts.append("[stderr]\n" + result.stderr.rstrip("\n"))
        error = describe_failure(result, self.timeout_s)
        if error:
            parts.append(f"[{error}]")
        # Tool output feeds prompts, traces and memory candidates: no credential survives into them.
        output = redact("\n".join(parts)).text or "(no output)"
        data = result.to_dict()
        data["stdout"], data["stderr"] = redact(data.get("stdout") or "").text, redact(data.get("stderr") or "").text
        if result.killed_reason == "cancelled":
            data["cancelled"] = True
        return ToolResult(ok=error is None, output=output, data=data, error=error)
