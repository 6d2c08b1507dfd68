"""PurposeTools (what `purpose-desktop mcp` serves) on a real Store: refusals, duplicates, bad input."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.mcp.server import PurposeTools
from purpose_desktop.engine.memory import MemoryBank, similarity
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.tools.base import ToolError
from tests.fakes import DEMO_EMBEDDER_NAME, demo_embed

LESSON = "When a function reads files, close them with a with-block."


@pytest.fixture
def tools(tmp_path):
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        t = PurposeTools(Store(tmp_path / "mcp.db"))
        yield t
        t.close()


def test_a_sandbox_that_refuses_is_not_run_never_failed(tools):
    def refusing_runner(**_kwargs):
        raise ToolError("Code was not run: this machine cannot provide network_isolated for the sandbox.")

    tools._runner = refusing_runner
    out = tools.run_python_tests(
        "def f():\n    return 1\n", "from solution import f\n\ndef test_f():\n    assert f() == 1\n"
    )
    assert out["verdict"] == "not run" and out["passed"] == out["failed"] == 0
    assert "network_isolated" in out["why_not_run"]


def test_a_proposal_never_strengthens_or_promotes_what_exists(tools):
    bank = MemoryBank(tools.store)
    taught = bank.teach(LESSON, kind="skill_card").memory
    before = (taught.trust, taught.strength)
    out = tools.propose_lesson(LESSON)
    assert out["outcome"] == "already_known" and out["id"] == taught.id
    after = bank.get(taught.id)
    assert (after.trust, after.strength) == before and after.status == "promoted"

    fresh = tools.propose_lesson("Name test files after the module they test.", kind="tool_policy")
    assert fresh["outcome"] == "quarantined"
    again = tools.propose_lesson("Name test files after the module they test.", kind="tool_policy")
    assert again["outcome"] == "already_known" and bank.get(fresh["id"]).status == "quarantined"


def test_bad_input_says_what_to_send(tools):
    with pytest.raises(InputError, match="empty"):
        tools.search_memories("   ")
    with pytest.raises(InputError, match="limit"):
        tools.search_vault("x", limit=500)
    with pytest.raises(InputError, match="kind"):
        tools.propose_lesson("A lesson.", kind="purpose_contract")
    with pytest.raises(InputError, match="empty"):
        tools.propose_lesson("  ")
    with pytest.raises(InputError, match="timeout_s"):
        tools.run_python_tests("x = 1", "def test(): pass", timeout_s=1000)
    assert tools.search_vault("anything") == {"passages": [], "withheld": [], "note": "The Vault is empty."}
    assert tools.search_memories("anything")["memories"] == []
