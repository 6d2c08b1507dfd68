"""The coder's attempts: its answer with the code fenced, and what a repair is told."""

from __future__ import annotations

import re

from purpose_desktop.engine.critic import extract_code


def _format_answer(output: str, kind: str) -> str:
    """A coder's answer with its code fenced, so every view can highlight and copy it."""
    fences = re.findall(r"^[ \t]*```", output, re.MULTILINE)
    if kind == "code" and len(fences) % 2 == 1:  # code, a lone closing fence, prose: fence the code
        code = extract_code(output)
        head, _, tail = output.partition("```")
        if code and not head.lstrip().startswith("```") and code.strip() in head:
            return f"```python\n{code.rstrip()}\n```\n{tail.strip()}".strip()
    if kind != "code" or "```" in output:
        return output.strip()
    code = extract_code(output)
    if code and code.strip() == output.strip():
        return f"```python\n{code.rstrip()}\n```"
    return output.strip()


def _failure_note(code: str | None, output: str) -> str:
    if code is None:
        return (
            "Your previous reply had no Python code. Reply with one complete ```python code block "
            "that defines everything the task asks for."
        )
    return (
        "Your previous solution failed these checks. Fix it.\n"
        f"Previous solution:\n```python\n{code or ''}```\nTest output:\n{output[-1500:]}"
    )
