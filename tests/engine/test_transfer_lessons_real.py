"""Transfer lessons from a real run: the bundled GGUF, the real MiniLM embedder, the real sandbox, a real SQLite file.

Mechanics, not brilliance: the given tests include a zero-input check the function cannot pass
(``add(0, 0) == 1``), so the grounded run fails a check on an edge input whatever the model writes —
and what it distils must be a general, family-scoped lesson, never a restatement of the task.
"""

from __future__ import annotations

import pytest

from purpose_desktop.engine.agents.roles import RoleSpec
from purpose_desktop.engine.agents.team import Team, TeamSpec
from purpose_desktop.engine.critic import PurposeFunction
from purpose_desktop.engine.learning.transfer import EDGE_LESSONS
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.memory.records import MemoryPolicy
from purpose_desktop.engine.memory.retrieval import MemoryRetriever
from purpose_desktop.engine.models import LocalModel
from purpose_desktop.engine.store import Store

pytestmark = pytest.mark.model

TASK = "Write a Python function add(a, b) that returns the sum of a and b."
TESTS = (
    "from solution import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    "\n\ndef test_zero():\n    assert add(0, 0) == 1\n"
)


def test_a_real_grounded_failure_on_zero_teaches_a_family_lesson(default_model_path, tmp_path):
    model = LocalModel(default_model_path, n_ctx=2048)
    store = Store(tmp_path / "transfer-real.db")
    try:
        coder = RoleSpec("coder", "Coder", "Reply with one short Python code block that defines the function.", [], None, "code")
        team = Team(
            TeamSpec("Solo coder", "Help me write Python code", [coder], max_retries=1),
            model=model,
            store=store,
            critic=PurposeFunction(None),
            memory_policy=MemoryPolicy(),
            spark_options={"max_tokens_per_step": 64, "token_budget": 800},
        )
        result = team.run(TASK, tests=TESTS)
        assert result.status == "complete" and result.grounded_by == "given_tests", (result.grounded_by, result.answer)
        bank = MemoryBank(store)
        made = [bank.get(c["id"]) for c in result.memory["candidates"]]
        assert made and all(m.provenance[0]["run_id"] == result.run_id for m in made)
        assert all(m.provenance[0]["family"] == "numbers" for m in made)
        edge = [m for m in made if m.provenance[0].get("lesson") == "edge_case"]
        assert [m.text for m in edge] == [f"In tasks on numbers: {EDGE_LESSONS['zero']}."]
        assert edge[0].scope.tags == ("family:numbers",) and edge[0].status == "quarantined"
        assert edge[0].provenance[0]["evidence"] == "assert add(0, 0) == 1"
        assert "tool_policy" not in {m.kind for m in made}
        # nothing restates the task: no candidate but the episodic case names the task's function
        assert all("add(" not in m.text for m in made if m.kind != "episodic_case")
        # approved, it reaches another numbers task (by its scope) and not a strings task
        bank.approve(edge[0].id)
        other = MemoryRetriever(store).for_step(task="Write a function factorial(n) that returns n!.", role="coder")
        assert edge[0].id in [r.memory_id for r in other]
        words = MemoryRetriever(store).for_step(task="Write a function reverse_string(s) that reverses s.", role="coder")
        assert edge[0].id not in [r.memory_id for r in words]
    finally:
        store.close()
        model.close()
