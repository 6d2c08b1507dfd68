"""Purpose contracts: recorded (scanned, promoted by the person's act), in every role's prompt, one team's only."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.agents.contract import contract_text, current_contract, record_contract
from purpose_desktop.engine.agents.team import purpose
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.store import Store
from tests.engine.services_helpers import make_engine
from tests.engine.test_memory import POISON
from tests.fakes import DEMO_EMBEDDER_NAME, ScriptedJsonModel, demo_embed, final

GOOD = "```python\ndef add(a, b):\n    return a + b\n```\nAdds two numbers."
SCRIPTS = {
    "Architect": [final("Define add(a, b).")],
    "Coder": [final(GOOD)],
    "Tester": [final("assert add(2, 2) == 4")],
}


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "c.db")
    yield s
    s.close()


def _systems(model) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for who, messages in model.calls:
        if who in ("Architect", "Coder", "Tester"):  # the roles (not the judge, nor distillation)
            out.setdefault(who, []).append(messages[0]["content"])
    return out


def test_purpose_records_a_contract_that_every_role_of_that_team_reads(store):
    model = ScriptedJsonModel(SCRIPTS)
    team = purpose("Help me write Python code", model=model, store=store, contract=True)
    m = team.contract_result.memory
    assert (m.kind, m.status) == ("purpose_contract", "promoted") and m.scan.get("blocked") is False
    assert m.text == contract_text(team.spec) and "Done means:" in m.text and "Tester writes checks" in m.text
    result = team.run("Write add(a, b)")
    systems = _systems(model)
    assert set(systems) == {"Architect", "Coder", "Tester"}
    assert all("Done means:" in p for ps in systems.values() for p in ps)
    assert all(m.id in s.memory_ids for s in result.steps)  # credit knows the contract was in the prompt
    # another team never sees it
    other_model = ScriptedJsonModel(SCRIPTS)
    other = purpose("Help me write Python code", model=other_model, store=store)
    other_result = other.run("Write add(a, b)")
    assert not any("Done means:" in p for ps in _systems(other_model).values() for p in ps)
    assert all(m.id not in s.memory_ids for s in other_result.steps)


def test_an_edited_contract_replaces_the_old_one_and_unchanged_text_changes_nothing(store):
    team = purpose("Help me write Python code", model=ScriptedJsonModel(SCRIPTS), store=store, contract=True)
    first = team.contract_result.memory
    assert record_contract(store, team.spec).outcome == "unchanged"
    team.spec.contract = "Purpose: tiny pure functions.\nDone means: the given tests pass."
    edited = record_contract(store, team.spec).memory
    assert current_contract(store, team.spec.id).id == edited.id != first.id
    assert MemoryBank(store).get(first.id).status == "archived"


def test_a_poisoned_contract_is_blocked_and_never_reaches_a_prompt(store):
    model = ScriptedJsonModel(SCRIPTS)
    team = purpose("Help me write Python code", model=model, store=store)
    team.spec.contract = POISON
    result = record_contract(store, team.spec)
    assert result.blocked and result.memory.status == "rejected"
    assert current_contract(store, team.spec.id) is None
    team.run("Write add(a, b)")
    assert not any(POISON[:30] in p for ps in _systems(model).values() for p in ps)


def test_saving_a_team_records_its_contract_and_reports_a_block(tmp_path):
    engine = make_engine(tmp_path)
    spec = engine.teams.propose("Help me write Python code")
    shown = engine.teams.contract(spec)
    assert shown["status"] == "unsaved" and shown["text"] == shown["default"]
    saved = engine.teams.save(spec)
    assert saved["contract_state"]["status"] == "promoted"
    assert engine.teams.contract(saved)["memory_id"] == saved["contract_state"]["memory_id"]
    saved["contract"] = POISON
    blocked = engine.teams.save(saved)["contract_state"]
    assert blocked["status"] == "rejected" and blocked["reason"]
    # the earlier, clean contract stays in force
    assert engine.teams.contract(saved)["memory_id"] == saved["contract_state"]["memory_id"]
