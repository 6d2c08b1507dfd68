"""Role-prompt optimisation: propose few-shot instructions for one role, score them on the suite, apply on approval.

``propose_role_prompt`` takes the role's passing, grounded past answers (``learning/prompt_opt.py``),
builds candidate demo sets, and scores the instructions now and every candidate on the evaluation suite
in ``RunMode.EVAL_TEST`` with the same seed — memories and traces stay byte-for-byte as they were, and
nothing is appended to the evaluation log (these runs are not the person's evaluations). The best
candidate is stored as a proposal (``eval_prompt_proposals``: learning never reads it) with the diff and
both suite results. ``apply_proposal`` changes the saved team only when the person approves, and needs an
explicit ``confirm_not_better`` when the suite did not do better; ``undo_proposal`` restores the
instructions it replaced.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.errors import InputError, ModelError
from purpose_desktop.engine.learning import prompt_opt as po
from purpose_desktop.engine.store import now_iso
from purpose_desktop.engine.store.evals import EvalRepo
from purpose_desktop.engine.store.prompt_proposals import PromptProposalRepo

if TYPE_CHECKING:
    from purpose_desktop.engine.cancel import CancelToken
    from purpose_desktop.engine.core import Engine

METHOD = "bootstrap_few_shot"


@dataclass
class Proposal:
    """A proposed edit of one role's instructions with the suite's results before and after.

    ``status``: proposed | applied | undone | dismissed, or "cancelled" (not stored: the person stopped it).
    ``recommended`` is True only when more suite tasks passed after, every task's tests having run.
    """

    id: str | None
    team_id: str
    team_name: str
    role: str
    before_text: str
    after_text: str
    diff: str
    recommended: bool
    explanation: str
    before: dict[str, Any]
    after: dict[str, Any]
    demos: list[dict[str, Any]] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    produced_by: dict[str, Any] = field(default_factory=dict)
    status: str = "proposed"
    history: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Proposal:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in row.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        return {k: copy.deepcopy(getattr(self, k)) for k in self.__dataclass_fields__}


def suite_tasks(store, suite: str | Path | list[dict] | None) -> tuple[list[dict[str, Any]], str]:
    """The tasks to score on and how to name them: the stored suite (None), a folder of test_*.py, or a list."""
    from purpose_desktop.engine.services.evaluation import read_suite_folder

    if suite is None or suite == "":
        tasks, label = EvalRepo(store).tasks(), "the evaluation suite"
    elif isinstance(suite, list):
        tasks, label = list(suite), "the given suite"
    else:
        tasks, _skipped = read_suite_folder(suite)
        label = f"the suite in {Path(suite).name or suite}"
    if not tasks:
        raise InputError(
            "The evaluation suite is empty, so nothing could show whether new instructions help.",
            "Keep a run's tests in the Team pane, or import a folder: `purpose-desktop eval import FOLDER`.",
        )
    return tasks, f"{label} ({len(tasks)} task{'s' if len(tasks) != 1 else ''})"


def _role_index(spec, role: str) -> int:
    for i, r in enumerate(spec.roles):
        if r.name == role:
            return i
    raise InputError(
        f"The team “{spec.name}” has no role named {role!r}.",
        f"Use one of: {', '.join(r.name for r in spec.roles)}.",
    )


def propose_role_prompt(
    store,
    model,
    team_spec: dict,
    role: str,
    suite: str | Path | list[dict] | None = None,
    *,
    max_demos: int = po.MAX_DEMOS,
    max_candidates: int = po.MAX_CANDIDATES,
    seed: int = 0,
    spark_options: dict | None = None,
    progress: Callable[[dict], None] | None = None,
    cancel: CancelToken | None = None,
    record: bool = True,
) -> Proposal:
    """Propose few-shot instructions for ``role`` of ``team_spec`` (a TeamSpec dict), scored on ``suite``.

    ``suite``: None (the stored evaluation suite), a folder of test_*.py, or a list of {name, task, tests}.
    The suite runs ``1 + candidates`` times, each task with the same ``seed`` at temperature 0, in EVAL_TEST.
    ``progress`` gets {"phase": "before"|"candidate", "candidate", "of", "done", "total", "name", "passed"}.
    ``record=False`` returns the proposal without storing it (id None). A cancelled run returns a proposal
    with status "cancelled" that is not stored.
    """
    from purpose_desktop.engine.agents.team import Team, TeamSpec
    from purpose_desktop.engine.cancel import CancelToken
    from purpose_desktop.engine.services.evaluation import run_suite

    if model is None:
        raise ModelError(
            "No model is loaded yet.", "Wait for the model to finish loading, then propose again."
        )
    cancel = cancel or CancelToken()
    spec = TeamSpec.from_dict(team_spec)
    index = _role_index(spec, role)
    before_text = spec.roles[index].instructions
    tasks, suite_label = suite_tasks(store, suite)
    pool, excluded, counts = po.passing_demos(
        store, team_id=spec.id, team_name=spec.name, role=role, exclude_tasks=[t["task"] for t in tasks]
    )
    if not pool:
        left_out = (
            f" ({len(excluded)} passing answers were left out: {excluded[0]['reason']})" if excluded else ""
        )
        raise InputError(
            f"The {role} of “{spec.name}” has no passing answer with checks behind it yet{left_out}, "
            "so there is nothing to learn examples from.",
            "Run tasks with tests on this team (in Learn mode) until some pass, then propose again.",
        )
    sets = po.candidate_sets(pool, max_demos=max_demos, max_candidates=max_candidates, seed=seed)
    total = len(tasks) * (1 + len(sets))

    def score(instructions: str, phase: str, n: int) -> dict[str, Any]:
        variant = copy.deepcopy(spec)
        variant.roles[index].instructions = instructions
        team = Team(
            variant,
            model=model,
            store=store,
            seed=seed,
            temperature=0.0,
            learn=False,
            spark_options=spark_options,
        )
        offset = len(tasks) * n

        def relay(p: dict) -> None:
            if progress is not None:
                progress(
                    {
                        "phase": phase,
                        "candidate": n,
                        "of": len(sets),
                        "done": offset + p["done"],
                        "total": total,
                        "name": p["name"],
                        "passed": p["passed"],
                    }
                )

        return po.summary(
            run_suite(store, team, model_name="", progress=relay, cancel=cancel, tasks=tasks, record=False)
        )

    produced_by = {
        "method": METHOD,
        "model": getattr(model, "display_name", "") or "",
        "seed": seed,
        "temperature": 0.0,
        "suite": suite_label,
        "max_demos": max_demos,
        "max_candidates": max_candidates,
        "pool": len(pool),
        "counts": counts,
    }
    before = score(before_text, "before", 0)
    candidates: list[dict[str, Any]] = []
    for n, demos in enumerate(sets, 1):
        if cancel.is_set() or before["status"] != "complete":
            break
        line = po.distilled_line(demos)
        text = po.compose(before_text, demos, line)
        result = score(text, "candidate", n)
        candidates.append(
            {"text": text, "line": line, "demos": [d.to_dict() for d in demos], "result": result}
        )
        if result["status"] != "complete":
            break
    done = [c for c in candidates if c["result"]["status"] == "complete"]
    if cancel.is_set() or before["status"] != "complete" or not done:
        return Proposal(
            None,
            spec.id,
            spec.name,
            role,
            before_text,
            before_text,
            "",
            False,
            "Cancelled before every candidate was scored; nothing was proposed.",
            before,
            {},
            excluded=excluded,
            produced_by=produced_by,
            status="cancelled",
        )
    best = max(done, key=lambda c: (po.rank_key(c["result"]), -done.index(c)))
    recommended, why = po.verdict(before, best["result"])
    chosen = [po.Demo(**d) for d in best["demos"]]
    proposal = Proposal(
        id=None,
        team_id=spec.id,
        team_name=spec.name,
        role=role,
        before_text=before_text,
        after_text=best["text"],
        diff=po.instruction_diff(before_text, best["text"]),
        recommended=recommended,
        explanation=po.explanation(
            role=role,
            demos=chosen,
            n_pool=len(pool),
            counts=counts,
            excluded=excluded,
            line=best["line"],
            n_candidates=len(done),
            suite_label=suite_label,
            seed=seed,
            why=why,
        ),
        before=before,
        after=best["result"],
        demos=best["demos"],
        excluded=excluded,
        candidates=[
            {
                "demos": [(d["run_id"], d["seq"]) for d in c["demos"]],
                "line": c["line"],
                **{k: c["result"][k] for k in ("pass_rate", "n_passed", "n_tasks", "mean_score")},
            }
            for c in candidates
        ],
        produced_by=produced_by,
    )
    if record:
        row = PromptProposalRepo(store).add(proposal.to_dict())
        return Proposal.from_row(row)
    return proposal


def _team_and_role(store, proposal: dict) -> tuple[dict, dict]:
    from purpose_desktop.engine.agents.team import TeamSpec

    try:
        spec = TeamSpec.from_dict(store.load_team(proposal["team_id"])).to_dict()
    except Exception as exc:
        raise InputError(
            f"The team “{proposal['team_name']}” of this proposal is no longer saved ({exc}).",
            "Nothing was changed. Propose again for a saved team.",
        ) from exc
    role = next((r for r in spec["roles"] if r["name"] == proposal["role"]), None)
    if role is None:
        raise InputError(
            f"“{spec['name']}” no longer has the role {proposal['role']!r}.", "Nothing was changed."
        )
    return spec, role


def apply_proposal(store, proposal_id: str, *, confirm_not_better: bool = False) -> dict:
    """Put the proposal's instructions into the saved team; returns the saved TeamSpec dict.

    Refused (InputError, nothing changed) when it is not a pending proposal, when the suite did not do
    better and ``confirm_not_better`` is False, or when the role's instructions changed since it was made.
    """
    repo = PromptProposalRepo(store)
    p = repo.get(proposal_id)
    if p["status"] != "proposed":
        raise InputError(f"This proposal is already {p['status']}.", "Propose again to get a new one.")
    if not p["recommended"] and not confirm_not_better:
        b, a = p["before"], p["after"]
        raise InputError(
            f"The suite did not do better with the proposed instructions "
            f"({b.get('n_passed')}/{b.get('n_tasks')} before, {a.get('n_passed')}/{a.get('n_tasks')} after).",
            "Apply it anyway only on purpose: confirm in the dialog, or pass --force.",
        )
    spec, role = _team_and_role(store, p)
    if role["instructions"] != p["before_text"]:
        raise InputError(
            f"The {p['role']}'s instructions changed since this proposal was made.",
            "Nothing was changed. Propose again so the suite scores the instructions as they are now.",
        )
    role["instructions"] = p["after_text"]
    store.save_team(spec["id"], spec["name"], spec, now_iso())
    repo.set_status(
        p["id"], "applied", "not better on the suite; applied on confirmation" if not p["recommended"] else ""
    )
    return spec


def undo_proposal(store, proposal_id: str) -> dict:
    """Restore the instructions an applied proposal replaced; returns the saved TeamSpec dict."""
    repo = PromptProposalRepo(store)
    p = repo.get(proposal_id)
    if p["status"] != "applied":
        raise InputError(
            f"Only an applied proposal can be undone; this one is {p['status']}.", "Nothing was changed."
        )
    spec, role = _team_and_role(store, p)
    if role["instructions"] != p["after_text"]:
        raise InputError(
            f"The {p['role']}'s instructions were edited after this proposal was applied.",
            "Nothing was changed; edit them in the Team pane instead.",
        )
    role["instructions"] = p["before_text"]
    store.save_team(spec["id"], spec["name"], spec, now_iso())
    repo.set_status(p["id"], "undone")
    return spec


class PromptOptManager:
    """``engine.prompts``: propose role instructions for a saved team, list, apply, undo, dismiss."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def propose(
        self,
        team: str | dict,
        role: str,
        *,
        suite: str | Path | None = None,
        progress: Callable[[dict], None] | None = None,
        cancel: CancelToken | None = None,
        **options,
    ) -> Proposal:
        """``team``: a saved team's name or id, or its spec (which must be saved: a proposal applies to it)."""
        engine = self._engine
        key = team if isinstance(team, str) else str(team.get("id") or "")
        if not isinstance(team, str) and key not in {row["id"] for row in engine.store.list_teams()}:
            raise InputError(
                "Save the team first.", "A proposal changes a saved team, so press Save, then propose."
            )
        spec = engine.teams.load(key)  # the saved team is what the suite scores and what Apply changes
        return propose_role_prompt(
            engine.store, engine.model, spec, role, suite, progress=progress, cancel=cancel, **options
        )

    def list(self, team: str | None = None) -> list[Proposal]:
        team_id = self._engine.teams.load(team)["id"] if team else None
        return [Proposal.from_row(r) for r in PromptProposalRepo(self._engine.store).list(team_id)]

    def get(self, proposal_id: str) -> Proposal:
        return Proposal.from_row(PromptProposalRepo(self._engine.store).get(proposal_id))

    def apply(self, proposal_id: str, *, confirm_not_better: bool = False) -> dict:
        return apply_proposal(self._engine.store, proposal_id, confirm_not_better=confirm_not_better)

    def undo(self, proposal_id: str) -> dict:
        return undo_proposal(self._engine.store, proposal_id)

    def dismiss(self, proposal_id: str) -> Proposal:
        repo = PromptProposalRepo(self._engine.store)
        if repo.get(proposal_id)["status"] != "proposed":
            raise InputError("Only a pending proposal can be dismissed.", "Nothing was changed.")
        return Proposal.from_row(repo.set_status(proposal_id, "dismissed"))
