"""The coder's attempts: its answer with the code fenced, what a retry is told, and which attempt is best."""

from __future__ import annotations

import re

from purpose_desktop.engine.critic import Score, extract_code


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


def _failing_output(score: Score) -> str:
    """What to show the coder on a retry: the failing checks' output, else the failing evidence."""
    for outcome in score.checks:
        if outcome.ran and not outcome.all_passed:
            return outcome.output
    return "\n".join(e for e in score.evidence if "failed" in e or "timed out" in e or "not" in e)


def _rank(score: Score) -> tuple:
    """Order candidate solutions: fewer failing grounds, more checks passed, then the score itself."""
    ran = [c for c in score.checks if c.ran]
    fraction = min((c.fraction_passed for c in ran), default=-1.0)
    return (not score.failed, fraction, score.value)
