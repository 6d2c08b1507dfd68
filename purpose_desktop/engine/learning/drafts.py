"""Drafts: what distillation reads (a step's record) and writes (a lesson before scan and de-duplication)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from purpose_desktop.engine.grounding import SOURCE_GROUND, is_grounded
from purpose_desktop.engine.memory.records import Scope
from purpose_desktop.engine.models.thinking import strip_thinking

_ASSERT = re.compile(r"^E\s+(assert .+)$", re.MULTILINE)
_ERROR = re.compile(r"^E\s+(\w+(?:Error|Exception)\b.*)$", re.MULTILINE)
# The check itself: pytest marks the failing line of a test with ">", the plain harness prints "FAIL <check>".
_PYTEST_CHECK = re.compile(r"^>\s+(assert\b.+)$", re.MULTILINE)
_HARNESS_CHECK = re.compile(r"^FAIL (.+?)(?:  -> .*)?$", re.MULTILINE)


@dataclass(frozen=True)
class StepRecord:
    """What distil reads from a step (Team's StepResult has these fields)."""

    seq: int
    role: str
    kind: str  # plan | code | test | text
    output: str
    score: float | None
    tests: dict | None = None
    tool_calls: list[dict] = field(default_factory=list)
    attempt: int = 0
    grounded_by: str | None = None  # None: grounded only when its tests say so (given/tester/examples)

    def __post_init__(self) -> None:
        # Lessons are drawn from answers, never from a reasoning model's <think> block.
        object.__setattr__(self, "output", strip_thinking(self.output or ""))

    @property
    def grounded(self) -> bool:
        if self.grounded_by is not None:
            return is_grounded(self.grounded_by)
        return is_grounded(SOURCE_GROUND.get((self.tests or {}).get("source") or ""))

    @property
    def checked(self) -> bool:
        """True when checks that came with the task, the tester or the task's examples ran on this step."""
        return (self.tests or {}).get("source") in SOURCE_GROUND and not (self.tests or {}).get("refused")


@dataclass(frozen=True)
class Draft:
    """A lesson before the immune scan and de-duplication."""

    kind: str
    text: str
    scope: Scope
    provenance: dict

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "text": self.text,
            "scope": self.scope.to_dict(),
            "provenance": self.provenance,
        }


def provenance(run_id: str, step: StepRecord | None, how: str, **extra) -> dict:
    """Where a draft came from: the run (and step), how it was drawn, plus ``extra`` (family, evidence …)."""
    p = {"source": "distilled", "how": how, "run_id": run_id}
    if step is not None:
        p.update(step=step.seq, role=step.role, score=step.score)
    p.update(extra)
    return p


def passed(tests: dict | None) -> bool:
    """True when checks ran and every one passed."""
    return (
        bool(tests) and tests.get("passed", 0) > 0 and not tests.get("failed") and not tests.get("timed_out")
    )


def first_failure(output: str) -> str | None:
    """The first failing assert (or error) line in pytest output."""
    m = _ASSERT.search(output or "") or _ERROR.search(output or "")
    return m.group(1).strip()[:200] if m else None


def failing_checks(output: str) -> list[str]:
    """The failing check statements themselves (``assert f([]) == []``), from pytest or the plain harness."""
    found = [m.group(1).strip() for m in _PYTEST_CHECK.finditer(output or "")]
    found += [m.group(1).strip() for m in _HARNESS_CHECK.finditer(output or "")]
    return list(dict.fromkeys(c[:200] for c in found))
