"""Council: agents deliberate for N rounds, each seeing the others' latest positions; a chair synthesises."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from purpose_desktop.engine.agents.spark import Spark
from purpose_desktop.engine.agents.team import RunResult
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.critic import PurposeFunction
from purpose_desktop.engine.events import RoundStarted, TokenReceived
from purpose_desktop.engine.models import GenerationSettings, count_tokens
from purpose_desktop.engine.models.backends import resolve_backend
from purpose_desktop.engine.models.thinking import strip_thinking
from purpose_desktop.engine.orchestration.base import (
    OrchestrationError,
    TracedRun,
    critic_for,
    make_emit,
    store_scope,
    unique_labels,
)
from purpose_desktop.engine.runmode import RunMode

CHAIR = "chair"
_POSITION_CHARS = 1500

# Points first, decision last: the decision is written after the model has laid out the points.
SYNTHESIS_SCHEMA = {
    "type": "object",
    "properties": {
        "agreement": {"type": "array", "items": {"type": "string", "maxLength": 160}, "maxItems": 4},
        "disagreement": {"type": "array", "items": {"type": "string", "maxLength": 160}, "maxItems": 4},
        "decision": {"type": "string", "maxLength": 240},
    },
    "required": ["agreement", "disagreement", "decision"],
}


@dataclass
class CouncilResult(RunResult):
    """The council's one answer, the points of agreement and disagreement, and every round's positions."""

    agreement: list[str] = field(default_factory=list)
    disagreement: list[str] = field(default_factory=list)
    decision: str = ""
    positions: list[dict[str, str]] = field(default_factory=list)


def _points(value) -> list[str]:
    items = value if isinstance(value, list) else [value] if value else []
    return [str(p).strip() for p in items if str(p).strip()]


class Council:
    """Several Sparks deliberate; ``run(task, rounds)`` ends with a chair's synthesis, never "last message wins".

    ``model`` is the chair's model (default: the first member's). Every member's position in every
    round and the synthesis are traced steps scored by the critic.
    """

    def __init__(
        self,
        agents: Sequence[Spark],
        *,
        model=None,
        critic: PurposeFunction | None = None,
        store=None,
        name: str = "council",
        purpose: str | None = None,
        synthesis_tokens: int = 200,
        answer_tokens: int = 384,
        seed: int = 0,
    ) -> None:
        agents = list(agents)
        if not agents:
            raise OrchestrationError(
                "A council needs at least one member.", "Council([Spark('researcher'), ...])."
            )
        for agent in agents:
            if not isinstance(agent, Spark):
                raise OrchestrationError(
                    f"Council members are Sparks, not {type(agent).__name__}.",
                    "Pass Spark('role', model=...).",
                )
        self.agents = agents
        self.labels = unique_labels([a.role.name for a in agents])
        self.model = model
        self.store = store
        self.name = name
        self.purpose = purpose
        self.synthesis_tokens = synthesis_tokens
        self.answer_tokens = answer_tokens
        self.seed = seed
        self._critic = critic

    def chair_model(self):
        return resolve_backend(self.model) if self.model is not None else self.agents[0].model

    def run(
        self,
        task: str,
        rounds: int = 3,
        *,
        mode: RunMode | str = RunMode.LEARNING_TRAIN,
        cancel: CancelToken | None = None,
        on_event=None,
        store=None,
    ) -> CouncilResult:
        if not task or not str(task).strip():
            raise OrchestrationError("The council needs a task.", 'council.run("Design a web scraper")')
        if rounds < 1:
            raise OrchestrationError(
                f"rounds must be at least 1, not {rounds}.", "council.run(task, rounds=2)"
            )
        mode = RunMode.parse(mode)
        cancel = cancel or CancelToken()
        emit = make_emit(on_event)
        with store_scope(store or self.store, mode) as db:
            chair = self.chair_model()
            run = TracedRun(
                db,
                mode,
                critic_for(self._critic, chair),
                emit,
                task=task,
                name=f"council:{self.name}",
                roles=[*self.labels, CHAIR],
                purpose=self.purpose,
                meta={"kind": "council", "rounds": rounds},
            )
            try:
                return self._run(run, task, rounds, chair, cancel, emit)
            except BaseException as exc:
                run.fail(exc)
                raise

    def _run(self, run: TracedRun, task: str, rounds: int, chair, cancel: CancelToken, emit) -> CouncilResult:
        latest: dict[str, str] = {}
        positions: list[dict[str, str]] = []
        status = "complete"
        for r in range(1, rounds + 1):
            emit(RoundStarted(run.run_id, r, rounds))
            this_round: dict[str, str] = {}
            positions.append(this_round)
            for agent, label in zip(self.agents, self.labels, strict=True):
                if cancel.is_set():
                    status = "cancelled"
                    break
                recall = run.recall_for(agent, task, purpose=self.purpose)
                res = agent.run(
                    task,
                    context=self._context(label, latest, r, rounds),
                    purpose=self.purpose,
                    **recall.kwargs,
                    cancel=cancel,
                    on_event=emit,
                    run_id=run.run_id,
                    step=run.next_step,
                )
                # A position is deliberation, not a deliverable: judged as text whatever the role's kind.
                run.record(label, res.answer, attempt=r - 1, spark=res, memory_ids=recall.ids)
                if res.status == "cancelled":
                    status = "cancelled"
                    break
                latest[label] = this_round[label] = res.answer.strip()
            if status == "cancelled":
                break
        if status == "cancelled" or not latest:
            answer = next(reversed(latest.values()), "")
            return run.result(
                CouncilResult, answer=answer, score=None, status="cancelled", positions=positions
            )
        emit(RoundStarted(run.run_id, rounds + 1, rounds))
        record, answer, step = self._synthesise(run, task, latest, chair, cancel, emit)
        status = "cancelled" if cancel.is_set() else "complete"
        result = run.result(
            CouncilResult,
            answer=answer,
            score=step.score,
            status=status,
            agreement=_points(record.get("agreement")),
            disagreement=_points(record.get("disagreement")),
            decision=str(record.get("decision") or "").strip(),
            positions=positions,
        )
        return run.learn(result, chair, seed=self.seed)

    def _context(self, label: str, latest: dict[str, str], r: int, rounds: int) -> str:
        members = ", ".join(self.labels)
        parts = [f"You are one of {len(self.labels)} council members ({members}). Round {r} of {rounds}."]
        if label in latest:
            parts.append(f"Your position so far:\n{latest[label][:_POSITION_CHARS]}")
        others = [f"- {other}: {text[:_POSITION_CHARS]}" for other, text in latest.items() if other != label]
        if others:
            parts.append("The other members' latest positions:\n" + "\n".join(others))
        if r == 1 and not others:
            parts.append("Give your position on the task in a few sentences.")
        else:
            parts.append(
                "Give your position in a few sentences: keep what you still hold, take up what convinced you, "
                "and say plainly where you still disagree and why."
            )
        return "\n\n".join(parts)

    def _synthesise(self, run: TracedRun, task: str, latest: dict[str, str], chair, cancel, emit):
        """A JSON-constrained synthesis record (agreement, disagreement, decision), then the answer as text."""
        listing = "\n\n".join(f"{label}: {text[:_POSITION_CHARS]}" for label, text in latest.items())
        ask = [
            {
                "role": "system",
                "content": "You are the Chair. Read the council members' final positions on the task. List "
                "the points they agree on and the points they disagree on (say who holds what), then decide. "
                "Reply as JSON.",
            },
            {"role": "user", "content": f"Task: {task}\n\nFinal positions:\n{listing}"},
        ]
        settings = GenerationSettings(max_tokens=self.synthesis_tokens, temperature=0.0, seed=self.seed)
        record = chair.complete_json(ask, SYNTHESIS_SCHEMA, settings=settings, cancel=cancel) or {}
        agreed, disputed = _points(record.get("agreement")), _points(record.get("disagreement"))
        summary = (
            "Agreed:\n"
            + ("\n".join(f"- {p}" for p in agreed) or "- (none listed)")
            + "\nDisagreed:\n"
            + ("\n".join(f"- {p}" for p in disputed) or "- (none listed)")
            + f"\nDecision: {str(record.get('decision') or '').strip() or '(none)'}"
        )
        write = [
            {
                "role": "system",
                "content": "You are the Chair. Write the council's answer to the task: one answer, "
                "not a report of who said what. Build on what the members agreed and settle their "
                "disagreements as decided.",
            },
            {"role": "user", "content": f"Task: {task}\n\nFinal positions:\n{listing}\n\n{summary}"},
        ]
        step_index = run.next_step

        def on_token(piece: str) -> None:
            emit(TokenReceived(run.run_id, step_index, CHAIR, piece))

        reply = chair.chat(
            write,
            settings=GenerationSettings(max_tokens=self.answer_tokens, temperature=0.0, seed=self.seed),
            cancel=cancel,
            on_token=on_token,
        )
        answer = strip_thinking(reply.text).strip() or str(record.get("decision") or "").strip()
        tokens = reply.n_tokens + count_tokens(
            chair, ask[0]["content"] + ask[1]["content"] + str(record) + write[1]["content"]
        )
        prompt = f"{write[0]['content']}\n\n{write[1]['content']}"
        step = run.record(
            CHAIR, answer, tokens=tokens, elapsed_ms=reply.elapsed_ms, prompt=prompt, thoughts=[summary]
        )
        return record, answer, step
