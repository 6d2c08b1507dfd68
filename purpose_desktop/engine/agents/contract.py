"""Purpose contracts: what a team is for, its roles and what "done" means, kept as a ``purpose_contract`` memory.

The person's own words (the purpose they typed, the contract they edited) are approved by the person's
action of saving the team, but are still immune-scanned first: a blocked contract is stored rejected (for
audit) and never reaches a prompt. A promoted contract is scoped to its team by a tag no task carries, so
ordinary retrieval never hands it to another team; ``Team`` injects its own into every role's prompt.
"""

from __future__ import annotations

from purpose_desktop.engine.memory.api import MemoryBank, SubmitResult
from purpose_desktop.engine.memory.records import Memory
from purpose_desktop.engine.memory.repo import MemoryRepo

KIND = "purpose_contract"
TAG_PREFIX = "team-contract-"
_DUTIES = {
    "plan": "plans: restates the task, names the functions and edge cases",
    "code": "writes the code",
    "test": "writes checks from the task and the plan, before seeing the code",
    "text": "does its part of the task",
}


def contract_tag(team_id: str) -> str:
    return TAG_PREFIX + team_id.lower()


def done_means(spec) -> str:
    if any(r.kind == "code" for r in spec.roles):
        return (
            "one complete Python code block that defines exactly what the task asks for, "
            "and every given test or tester check passes"
        )
    return "an answer that does what the task asks, in the form it asks for"


def contract_text(spec) -> str:
    """The contract a team gets when the person has not written one: purpose, roles, what done means."""
    roles = "; ".join(f"{r.title} {_DUTIES.get(r.kind, _DUTIES['text'])}" for r in spec.roles)
    return f"Purpose: {spec.purpose.strip()}\nRoles: {roles}.\nDone means: {done_means(spec)}."


def current_contract(store, team_id: str) -> Memory | None:
    """The team's promoted contract, or None."""
    tag = contract_tag(team_id)
    for m in MemoryRepo(store).list(status="promoted", kind=KIND):
        if tag in m.scope.tags:
            return m
    return None


def record_contract(store, spec, text: str | None = None) -> SubmitResult:
    """Scan and store the team's contract (``text``, else ``spec.contract``, else the default), promoted by the
    person's save; an edited contract replaces (archives) the one before. Unchanged text changes nothing."""
    text = (text or getattr(spec, "contract", "") or contract_text(spec)).strip()
    existing = current_contract(store, spec.id)
    if existing is not None and existing.text.strip() == text:
        return SubmitResult(existing, "unchanged")
    bank = MemoryBank(store)
    result = bank.submit(
        text,
        kind=KIND,
        scope={"tags": [contract_tag(spec.id)]},
        provenance={"source": "purpose", "team_id": spec.id, "team": spec.name},
        actor="user",
        taught=True,
        merge=False,
    )
    if existing is not None and result.memory.status == "promoted" and result.memory.id != existing.id:
        bank.archive(existing.id, reason="replaced by the team's edited contract")
    return result
