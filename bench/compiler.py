"""Benchmark of LLMCompiler waves: 4 independent 0.5 s tool calls run in parallel vs one at a time (JSON)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PURPOSE_DESKTOP_HOME", tempfile.mkdtemp(prefix="pd-bench-"))

from purpose_desktop.engine.models.local import Reply  # noqa: E402
from purpose_desktop.engine.orchestration import LLMCompiler  # noqa: E402
from purpose_desktop.engine.tools.base import Tool, ToolRegistry, ToolResult  # noqa: E402


class SleepTool(Tool):
    """Stands in for slow I/O (a search, a download): waits, then echoes its label."""

    name = "wait"
    description = "Wait, then return the label."
    parameters = {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def execute(self, args, cancel) -> ToolResult:
        time.sleep(self.seconds)
        return ToolResult(ok=True, output=f"done:{args['label']}")


class ScriptedPlanner:
    """A planner that always plans ``n`` independent calls and a joiner that lists the results."""

    display_name = "scripted-planner"
    n_ctx = 4096
    info = None

    def __init__(self, n: int) -> None:
        self.plan = {
            "calls": [
                {"id": i, "tool": "wait", "args": {"label": f"job{i}"}, "deps": []} for i in range(1, n + 1)
            ]
        }

    def complete_json(self, messages, schema, *, settings=None, cancel=None, on_token=None) -> dict:
        return json.loads(json.dumps(self.plan))

    def chat(self, messages, *, settings=None, cancel=None, on_token=None) -> Reply:
        text = "All jobs finished."
        return Reply(text, "stop", 3, 0.0, None, 0.0, 0, self.display_name)

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    def close(self) -> None:
        pass


def measure(calls: int, seconds: float, workers: int) -> float:
    """The execution phase's wall time of one compile_and_execute (planning and joining excluded)."""
    compiler = LLMCompiler(ScriptedPlanner(calls), ToolRegistry([SleepTool(seconds)]), max_workers=workers)
    result = compiler.compile_and_execute("Run the jobs.", mode="eval")
    assert all(c["ok"] for c in result.calls) and len(result.calls) == calls
    return result.execution_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args(argv)
    parallel = measure(args.calls, args.seconds, workers=8)
    serial = measure(args.calls, args.seconds, workers=1)
    report = {
        "parallel_s": round(parallel, 3),
        "serial_s": round(serial, 3),
        "calls": args.calls,
        "tool_s": args.seconds,
        "parallel_ok": parallel <= 0.8,
        "serial_ok": serial >= 2.0,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
