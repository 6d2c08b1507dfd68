"""engine.workspace on a real Store with the scripted model: open (recent projects), a chat reply's File: blocks
become proposals under the reply, a team run through engine.teams is attached, apply/reject, rules; no Qt."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.settings import load_settings
from tests.engine.services_helpers import make_engine
from tests.fakes import DEMO_EMBEDDER_NAME, ScriptedModel, demo_embed
from tests.ui.pane_fakes import TeamModel

BROKEN = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "calc"
    (root / "src").mkdir(parents=True)
    (root / "src" / "__init__.py").write_text("")
    (root / "src" / "app.py").write_text(BROKEN)
    (root / "test_app.py").write_text(
        "from src.app import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    return root


def test_open_remembers_recent_projects_and_bad_folders_say_what_to_do(tmp_path, project):
    engine = make_engine(tmp_path)
    with pytest.raises(InputError, match="No project folder is open"):
        engine.workspace.proposals()
    info = engine.workspace.open(str(project))
    assert (info.name, info.files, info.test_files, info.pending) == ("calc", 3, 1, 0)
    other = tmp_path / "other"
    other.mkdir()
    engine.workspace.open(str(other))
    assert engine.workspace.recent() == [str(other.resolve()), str(project.resolve())]
    assert load_settings().recent_projects == (str(other.resolve()), str(project.resolve()))  # saved
    with pytest.raises(InputError, match="is a file, not a folder"):
        engine.workspace.open(str(project / "src" / "app.py"))
    assert engine.workspace.current.key == str(other.resolve())  # a failed open changes nothing
    engine.workspace.close()
    assert engine.workspace.info() is None
    engine.store.close()


def test_a_chat_reply_in_a_project_proposes_and_the_person_applies(tmp_path, project):
    reply = f"Fixed:\n\nFile: src/app.py\n```python\n{FIXED}```\n"
    model = ScriptedModel(replies=[reply])
    engine = make_engine(tmp_path, model)
    engine.load_model()
    engine.workspace.open(str(project))
    conv = engine.store.create_conversation()
    _user, answer = engine.send_message(conv.id, "Please fix app.py")
    system = model.calls[-1][0]["content"]
    assert "Files: src/__init__.py, src/app.py, test_app.py" in system and BROKEN in system
    changes = answer.meta["workspace"]
    assert changes["refused"] == [] and len(changes["proposals"]) == 1
    assert engine.store.get_message(answer.id).meta["workspace"] == changes  # stored with the reply
    assert (project / "src" / "app.py").read_text() == BROKEN
    [p] = engine.workspace.proposals(message_id=answer.id)
    assert p["diff"].startswith("--- a/src/app.py\n+++ b/src/app.py") and p["added"] == p["removed"] == 1
    assert engine.workspace.info().pending == 1
    report = engine.workspace.apply([p["id"]])
    assert report["checks"]["status"] == "passed" and report["applied"][0]["status"] == "applied"
    assert (project / "src" / "app.py").read_text() == FIXED
    engine.store.close()


def test_without_a_project_chat_proposes_nothing(tmp_path):
    engine = make_engine(tmp_path, ScriptedModel(replies=[f"File: src/app.py\n```python\n{FIXED}```\n"]))
    engine.load_model()
    conv = engine.store.create_conversation()
    _user, answer = engine.send_message(conv.id, "fix it")
    assert "workspace" not in answer.meta
    engine.store.close()


def test_a_team_run_through_the_service_uses_the_open_project(tmp_path, project):
    from tests.fakes import call, final

    model = TeamModel(
        {"Coder": [call("write_file", f"src/app.py\n```python\n{FIXED}```"), final(f"```python\n{FIXED}```")]}
    )
    engine = make_engine(tmp_path, model)
    engine.load_model()
    engine.workspace.open(str(project))
    spec = {"name": "Solo", "purpose": "code", "max_retries": 0, "roles": [
        {"name": "coder", "title": "Coder", "kind": "code", "tools": ["files"], "instructions": "Write code."}
    ]}  # fmt: skip
    result = engine.teams.run(spec, "Fix add")
    [p] = engine.workspace.proposals(run_id=result.run_id)
    assert p["status"] == "proposed" and (project / "src" / "app.py").read_text() == BROKEN
    [done] = engine.workspace.reject([p["id"]])
    assert done["status"] == "rejected" and (project / "src" / "app.py").read_text() == BROKEN
    engine.store.close()


def test_offer_rules_through_the_service(tmp_path, project):
    (project / "AGENTS.md").write_text("- Always add type hints to public functions.\n")
    engine = make_engine(tmp_path)
    engine.workspace.open(str(project))
    [offer] = engine.workspace.offer_rules()
    assert offer["outcome"] == "quarantined" and offer["file"] == "AGENTS.md"
    assert engine.workspace.offer_rules()[0]["outcome"] == "already offered"
    engine.store.close()
