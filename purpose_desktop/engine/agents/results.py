"""What a team run returns: each step's result and the run's (answer, score, what grounds it, the choice)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from purpose_desktop.engine.grounding import grounding_label


@dataclass
class StepResult:
    role: str
    attempt: int
    output: str
    score: float | None
    evidence: list[str]
    tool_calls: list[dict]
    tokens: int
    judge_tokens: int
    elapsed_ms: float
    tests: dict | None = None
    flags: list[str] = field(default_factory=list)
    memory_ids: list[str] = field(default_factory=list)  # the memories this step's prompt carried
    grounded_by: str = "judge"  # what the score rests on: one of grounding.GROUNDS

    @property
    def grounding(self) -> str:
        """Plain words for ``grounded_by`` ("grounded: 2 given tests, all 2 passed" …)."""
        return grounding_label(self.grounded_by, self.tests)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["grounding"] = self.grounding
        return d


@dataclass
class RunResult:
    """What a run produced: the final answer itself (code plus explanation), never a transcript."""

    answer: str
    run_id: str
    steps: list[StepResult]
    score: float | None
    status: str
    mode: str
    tokens_work: int
    tokens_judge: int
    elapsed_ms: float
    tests: dict | None = None
    # What the run did to memory: ids used, credit applied, candidates distilled, errors (train runs).
    memory: dict = field(default_factory=dict)
    grounded_by: str = "judge"  # what the run's score rests on (its chosen answer's step)
    proposals: list = field(default_factory=list)  # workspace.Proposal: file changes awaiting the person
    # The tester's blind checks (plain asserts) as they ran against the solution, or the task's examples
    # when the first answer passed them and ended the run; "" when none. The Team pane's "Keep these
    # tests" turns them into the task's tests.
    checks: str = ""
    # How the code phase chose its answer: candidates (who wrote each), the chosen one, whether the first
    # (plain) answer passed its checks, and how many checks of each source there were; "skipped" (the roles
    # not needed) and "why" when that first answer passed the given tests or the task's examples and ended
    # the run. {} without a coder.
    selection: dict = field(default_factory=dict)

    @property
    def scores(self) -> list[float | None]:
        return [s.score for s in self.steps]

    @property
    def grounding(self) -> str:
        return grounding_label(self.grounded_by, self.tests)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["steps"] = [s.to_dict() for s in self.steps]
        d["grounding"] = self.grounding
        d["proposals"] = [p.to_dict() for p in self.proposals]
        return d
