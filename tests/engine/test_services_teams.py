"""engine.teams: catalog, propose, save, load, delete and run, on a real Store with the scripted model."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.errors import InputError, ModelError
from purpose_desktop.engine.events import RunFinished, RunStarted
from purpose_desktop.engine.memory import similarity
from tests.engine.services_helpers import make_engine
from tests.engine.test_memory_team import CHECKS, GOOD, PLAN, TESTS
from tests.fakes import DEMO_EMBEDDER_NAME, ScriptedJsonModel, demo_embed, final


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


def _model():
    return ScriptedJsonModel({"Architect": [final(PLAN)], "Coder": [final(GOOD)], "Tester": [final(CHECKS)]})


def test_propose_save_list_load_delete(tmp_path):
    engine = make_engine(tmp_path)
    spec = engine.teams.propose("Help me write Python code")  # a rule matches: no model needed
    assert spec["roles"] and spec["name"]
    saved = engine.teams.save(spec)
    again = engine.teams.propose("Help me write Python code")
    assert again["name"] == f"{spec['name']} 2"  # never the name of a saved team
    catalog = engine.teams.catalog()
    assert [t.name for t in catalog.teams] == [saved["name"]]
    assert catalog.teams[0].roles == tuple(r["name"] for r in saved["roles"])
    assert catalog.role_templates and "python" in catalog.tools
    assert engine.teams.load(saved["name"])["id"] == saved["id"]
    assert engine.teams.delete(saved["id"]) == saved["id"]
    assert engine.teams.catalog().teams == ()


def test_bad_requests_are_plain_errors(tmp_path):
    engine = make_engine(tmp_path)
    with pytest.raises(InputError):
        engine.teams.propose("   ")
    with pytest.raises(ModelError):
        engine.teams.propose("zzz qqq")  # no rule matches and no model is loaded
    spec = engine.teams.propose("Help me write Python code")
    with pytest.raises(InputError, match="name"):
        engine.teams.save({**spec, "name": "  "})
    with pytest.raises(ModelError):
        engine.teams.run(spec, "Write add(a, b)")


def test_run_streams_events_and_records_the_run(tmp_path):
    engine = make_engine(tmp_path)
    engine.model = _model()
    spec = engine.teams.propose("Help me write Python code")
    with pytest.raises(InputError):
        engine.teams.run(spec, "  ")
    events = []
    result = engine.teams.run(spec, "Write add(a, b)", tests=TESTS, on_event=events.append)
    assert result.status == "complete" and result.run_id
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    assert [r["id"] for r in engine.runs.list()] == [result.run_id]
