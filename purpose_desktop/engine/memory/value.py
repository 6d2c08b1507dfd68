"""Value of experience: what a memory is expected to do for a kind of task, learned from its grounded credits.

Every grounded train run that carried a memory leaves one row in ``memory_credits``: the run's outcome
against the baseline (``advantage``, −1…+1). Grouped by the run task's *family* (strings, lists, numbers …,
from the task's words: ``engine.families``), those rows give a memory's expected effect on that family: the mean advantage,
shrunk towards 0 by ``PRIOR_RUNS`` imaginary neutral runs so one lucky run says little. Retrieval ranks a
memory by relevance × trust × value, where value is its utility moved by the expected effect on this task's
family (``adjusted_utility``): a lesson that helps list tasks and hurts string tasks ranks high for the one
and low for the other, instead of one fixed mix for every task. The Memory pane shows the effects as
"expected effect" with the number of runs behind each.
"""

from __future__ import annotations

from dataclasses import dataclass

from purpose_desktop.engine.families import FAMILIES, GENERAL, task_family  # noqa: F401 (re-exported)

#: Imaginary neutral runs each family's mean is shrunk with (a Bayesian prior at "no effect").
PRIOR_RUNS = 3
#: How far the expected effect may move a memory's utility (utility ± this × effect).
EFFECT_WEIGHT = 0.5
UTILITY_RANGE = (0.05, 1.0)

@dataclass(frozen=True)
class ExpectedEffect:
    """A memory's learned effect on one task family: shrunk mean advantage over ``n`` grounded runs."""

    family: str
    effect: float  # −1…+1; > 0 helps
    n: int

    def to_dict(self) -> dict:
        return {"family": self.family, "effect": self.effect, "n": self.n}


def shrunk(total: float, n: int) -> float:
    return round(total / (n + PRIOR_RUNS), 4) if n else 0.0


def adjusted_utility(utility: float, effect: float) -> float:
    """Utility moved by the expected effect on this family, kept in range."""
    lo, hi = UTILITY_RANGE
    return max(lo, min(hi, utility + EFFECT_WEIGHT * effect))


def family_effects(store) -> dict[str, dict[str, tuple[float, int]]]:
    """family → memory id → (shrunk effect, runs), from every credit row with its run's task."""
    totals: dict[str, dict[str, list[float]]] = {}
    with store._errors():
        rows = store.connection.execute(
            "SELECT c.memory_id, r.task, c.advantage FROM memory_credits c JOIN runs r ON r.id = c.run_id"
        ).fetchall()
    for memory_id, task, advantage in rows:
        acc = totals.setdefault(task_family(task), {}).setdefault(memory_id, [0.0, 0])
        acc[0] += float(advantage)
        acc[1] += 1
    return {
        family: {mid: (shrunk(total, int(n)), int(n)) for mid, (total, n) in per.items()}
        for family, per in totals.items()
    }


def expected_effects(store, memory_id: str) -> list[ExpectedEffect]:
    """The memory's expected effect per task family it has grounded runs in, most runs first."""
    with store._errors():
        rows = store.connection.execute(
            "SELECT r.task, c.advantage FROM memory_credits c JOIN runs r ON r.id = c.run_id "
            "WHERE c.memory_id = ?",
            [memory_id],
        ).fetchall()
    per: dict[str, list[float]] = {}
    for task, advantage in rows:
        acc = per.setdefault(task_family(task), [0.0, 0])
        acc[0] += float(advantage)
        acc[1] += 1
    effects = [ExpectedEffect(f, shrunk(total, int(n)), int(n)) for f, (total, n) in per.items()]
    return sorted(effects, key=lambda e: (-e.n, e.family))
