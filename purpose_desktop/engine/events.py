"""Plain event objects a run emits (step started, token, tool called, step scored, run finished)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunEvent:
    run_id: str

    @property
    def kind(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class RunStarted(RunEvent):
    task: str
    roles: tuple[str, ...]
    mode: str


@dataclass(frozen=True)
class StepStarted(RunEvent):
    step: int
    role: str
    attempt: int = 0


@dataclass(frozen=True)
class TokenReceived(RunEvent):
    step: int
    role: str
    text: str


@dataclass(frozen=True)
class ToolCalled(RunEvent):
    step: int
    role: str
    tool: str
    args: dict = field(default_factory=dict)
    ok: bool = True
    output: str = ""


@dataclass(frozen=True)
class StepScored(RunEvent):
    step: int
    role: str
    score: float
    evidence: tuple[str, ...] = ()
    grounded_by: str = "judge"  # what the score rests on (see engine/grounding.py)


@dataclass(frozen=True)
class RunFinished(RunEvent):
    answer: str
    score: float | None
    status: str  # "complete" | "cancelled" | "failed"


# -- orchestration (Flow, Council, LLMCompiler) -------------------------------------------------------


@dataclass(frozen=True)
class NodeRouted(RunEvent):
    """A Flow node finished and its edges chose where the state goes next (DONE_SIGNAL included)."""

    step: int
    node: str
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoundStarted(RunEvent):
    """A Council round began (1-based), or the synthesis when ``round`` is ``rounds + 1``."""

    round: int
    rounds: int


@dataclass(frozen=True)
class PlanMade(RunEvent):
    """The LLMCompiler's planner produced a valid plan: its calls and the waves they will run in."""

    attempt: int
    calls: tuple = ()
    waves: tuple = ()
