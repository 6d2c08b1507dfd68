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


@dataclass(frozen=True)
class RunFinished(RunEvent):
    answer: str
    score: float | None
    status: str  # "complete" | "cancelled" | "failed"
