"""`purpose-desktop team propose-prompt / apply-prompt / undo-prompt / prompts` with the real bundled model and a real
SQLite file: the suite runs before and after in evaluation mode, the proposal is stored, apply and undo change the
saved team and nothing else. Mechanics, not skill: the 135M model may or may not do better with the examples.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from purpose_desktop.engine.agents.roles import role_template
from purpose_desktop.engine.agents.team import Team, TeamSpec
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.paths import db_path
from purpose_desktop.engine.store import Store, now_iso
from tests.fakes import DEMO_EMBEDDER_NAME, ScriptedJsonModel, demo_embed, final

pytestmark = pytest.mark.model

GOOD = "```python\ndef add(a, b):\n    return a + b\n```\nIt returns the sum."
ADD_TESTS = "from solution import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "purpose_desktop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def _dump_except_eval() -> str:
    conn = sqlite3.connect(db_path())
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return "\n".join(ln for ln in conn.iterdump() if "eval_" not in ln)
    finally:
        conn.close()


@pytest.mark.timeout(1200)  # two real suite runs; a loaded 2-core machine took 6 min
def test_a_real_proposal_is_scored_before_and_after_stored_applied_and_undone(tmp_path):
    spec = TeamSpec(
        name="Solo coder", purpose="Help me write Python code", roles=[role_template("coder")], max_retries=0
    )
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME), Store(db_path()) as store:
        store.save_team(spec.id, spec.name, spec.to_dict(), now_iso())
        # the team's past: one train run in which the coder's answer passed its given tests (real sandbox)
        model = ScriptedJsonModel({"Coder": [final(GOOD)]})
        result = Team(spec, model=model, store=store, learn=False).run(
            "Write add(a, b) returning the sum.", tests=ADD_TESTS
        )
    if result.grounded_by != "given_tests":
        pytest.skip("the sandbox refused to run here")
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_square.py").write_text(
        '"""Write a Python function square(x) that returns x times x."""\n\n'
        "from solution import square\n\n\ndef test_square():\n    assert square(3) == 9\n"
    )
    before = _dump_except_eval()
    out = cli(
        "team",
        "propose-prompt",
        "Solo coder",
        "--role",
        "coder",
        "--suite",
        str(suite),
        "--json",
        "--candidates",
        "1",
        "--step-tokens",
        "64",
        timeout=1100,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    p = json.loads(out.stdout)
    assert _dump_except_eval() == before  # evaluation mode: no run, step, memory or team changed
    assert p["status"] == "proposed" and p["id"] and "SmolLM2" in p["produced_by"]["model"]
    assert p["before"]["n_tasks"] == p["after"]["n_tasks"] == 1 and p["before"]["status"] == "complete"
    assert [d["task"] for d in p["demos"]] == ["Write add(a, b) returning the sum."]
    assert "def add(a, b):" in p["after_text"] and p["after_text"].startswith(p["before_text"])
    assert p["recommended"] == (
        p["after"]["n_passed"] > p["before"]["n_passed"]
        and not (p["after"]["results"][0]["tests"] or {}).get("refused")
    )

    listed = json.loads(cli("team", "prompts", "Solo coder", "--json").stdout)
    assert [x["id"] for x in listed] == [p["id"]]
    if not p["recommended"]:  # not better: Apply needs an explicit confirmation
        refused = cli("team", "apply-prompt", p["id"][:8])
        assert (
            refused.returncode == 2 and "did not do better" in refused.stderr and "--force" in refused.stderr
        )
    applied = cli("team", "apply-prompt", p["id"][:8], "--force", "--json")
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["roles"][0]["instructions"] == p["after_text"]
    undone = cli("team", "undo-prompt", p["id"][:8], "--json")
    assert undone.returncode == 0, undone.stderr
    assert json.loads(undone.stdout)["roles"][0]["instructions"] == p["before_text"]
    with Store(db_path()) as store:
        assert store.load_team("Solo coder")["roles"][0]["instructions"] == p["before_text"]
    shown = json.loads(cli("team", "prompts", "--json").stdout)[0]
    assert shown["status"] == "undone" and [h["action"] for h in shown["history"]] == [
        "proposed",
        "applied",
        "undone",
    ]
    poet = cli("team", "propose-prompt", "Solo coder", "--role", "poet")  # refused before the model loads
    assert poet.returncode == 2 and "no role named 'poet'" in poet.stderr and "coder" in poet.stderr
    missing = cli("team", "propose-prompt", "No such team", "--role", "coder")
    assert missing.returncode == 2 and "error:" in missing.stderr
