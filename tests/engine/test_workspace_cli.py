"""`run --workspace DIR [--apply]`, `chat --workspace DIR` and `workspace proposals|apply|reject|rules|vault`
through cli.main on a real SQLite file: without --apply the diffs are printed and nothing is written."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from purpose_desktop.cli import main
from purpose_desktop.engine.agents import team as team_module
from purpose_desktop.engine.agents.roles import role_template
from purpose_desktop.engine.agents.team import Team, TeamSpec
from purpose_desktop.engine.memory import similarity
from tests.engine.workspace_project import FIXED, make_project, snapshot
from tests.fakes import DEMO_EMBEDDER_NAME, RecordingEmbedder, ScriptedJsonModel, call, demo_embed, final

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="confined file access is POSIX-only")



@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


@pytest.fixture
def project(tmp_path) -> Path:
    return make_project(tmp_path / "calc")


@pytest.fixture
def scripted_team(monkeypatch):
    """`run --purpose …` builds this scripted team (a coder with no files tool: the CLI gives it one)."""

    def build(description, model=None, store=None, **_kw):
        coder = role_template("coder")
        assert "files" not in coder.tools
        spec = TeamSpec(name="CLI", purpose=description, roles=[coder], max_retries=0)
        script = [call("write_file", f"src/app.py\n```python\n{FIXED}```"), final(f"```python\n{FIXED}```")]
        return Team(spec, model=ScriptedJsonModel({"Coder": script}), store=store)

    monkeypatch.setattr(team_module, "purpose", build)


def test_run_with_a_workspace_prints_the_diff_and_writes_nothing(project, scripted_team, capsys):
    before = snapshot(project)
    code = main(["run", "Fix add", "--purpose", "Help me write Python code", "--workspace", str(project)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "coder may read files there and propose changes" in err
    assert "--- a/src/app.py\n+++ b/src/app.py" in out and "+    return a + b" in out
    assert "Nothing was written. Apply with: purpose-desktop workspace apply" in out
    assert snapshot(project) == before

    # Listed, then applied later by id: exactly that change lands and the tests run in the sandbox.
    assert main(["workspace", "proposals", "--workspace", str(project), "--json"]) == 0
    [proposal] = json.loads(capsys.readouterr().out)
    assert proposal["path"] == "src/app.py" and proposal["status"] == "proposed"
    assert main(["workspace", "apply", proposal["id"][:12], "--workspace", str(project)]) == 0
    out = capsys.readouterr().out
    assert "applied src/app.py" in out and "project tests: passed (1 passed, 0 failed)" in out
    assert snapshot(project) == {**before, "src/app.py": FIXED.encode()}


def test_run_with_apply_applies_without_asking_and_records_the_tests(project, scripted_team, capsys):
    before = snapshot(project)
    code = main(["run", "Fix add", "--purpose", "code", "--workspace", str(project), "--apply", "--json"])
    out = capsys.readouterr().out
    result = json.loads(out)
    assert code == 0
    assert snapshot(project) == {**before, "src/app.py": FIXED.encode()}
    assert result["workspace"]["checks"]["status"] == "passed"
    assert result["workspace"]["applied"] == [p["id"] for p in result["proposals"]]
    assert main(["runs", "show", result["run_id"], "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["meta"]["workspace_checks"][0]["status"] == "passed"


def test_reject_by_id_and_apply_alone_is_refused(project, scripted_team, capsys):
    before = snapshot(project)
    assert main(["run", "Fix", "--purpose", "code", "--apply"]) == 2
    assert "--apply needs --workspace" in capsys.readouterr().err
    assert main(["run", "Fix", "--purpose", "code", "--workspace", str(project / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["run", "Fix", "--purpose", "code", "--workspace", str(project)]) == 0
    capsys.readouterr()
    main(["workspace", "proposals", "--workspace", str(project), "--json"])
    [proposal] = json.loads(capsys.readouterr().out)
    assert main(["workspace", "reject", proposal["id"], "--workspace", str(project)]) == 0
    assert "rejected src/app.py" in capsys.readouterr().out
    assert snapshot(project) == before
    assert main(["workspace", "apply", proposal["id"], "--workspace", str(project)]) == 2
    assert "already rejected" in capsys.readouterr().err


def test_rules_and_vault_commands(project, capsys, monkeypatch):
    (project / "CONVENTIONS.md").write_text("- Always add type hints to public functions.\n")
    assert main(["workspace", "rules", "--workspace", str(project), "--json"]) == 0
    [offer] = json.loads(capsys.readouterr().out)
    assert offer["outcome"] == "quarantined" and offer["file"] == "CONVENTIONS.md"
    assert main(["workspace", "rules", "--workspace", str(project), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["outcome"] == "already offered"
    embedder = RecordingEmbedder()
    monkeypatch.setattr("purpose_desktop.engine.vault.vault.default_embedder", lambda: embedder)
    assert main(["workspace", "vault", "--workspace", str(project), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["files_new"] >= 3 and report["chunks_added"] >= 3


def test_chat_with_a_workspace_prints_the_reply_s_diffs_and_writes_nothing(project, capsys, monkeypatch):
    from tests.fakes import ScriptedModel

    reply = f"Fixed:\n\nFile: src/app.py\n```python\n{FIXED}```\n\nFile: .git/config\n```\n[core]\n```\n"
    seen: list = []

    class Model(ScriptedModel):
        def chat(self, messages, **kw):
            seen.append(messages)
            return super().chat(messages, **kw)

    monkeypatch.setattr("purpose_desktop.engine.models.LocalModel", lambda *_a, **_k: Model(replies=[reply]))
    before = snapshot(project)
    code = main(["chat", "--workspace", str(project), "Fix add in src/app.py"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Files: src/__init__.py, src/app.py, test_app.py" in seen[0][0]["content"]
    assert "+    return a + b" in out and "refused .git/config: .git/config: writing inside .git/ is not allowed" in out
    assert "Nothing was written. Apply with: purpose-desktop workspace apply" in out
    assert snapshot(project) == before
    main(["workspace", "proposals", "--workspace", str(project), "--json"])
    [proposal] = json.loads(capsys.readouterr().out)
    assert proposal["path"] == "src/app.py" and proposal["run_id"] is None
