"""`purpose-desktop eval`: import a suite folder, run it with the real bundled model, list and show it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.model


def cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "purpose_desktop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),
    )


def test_a_real_evaluation_of_two_tasks_is_logged_and_leaves_no_trace(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_add.py").write_text(
        '"""Write a Python function add(a, b) that returns the sum of a and b."""\n\n'
        "from solution import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
    )
    (suite / "test_square.py").write_text(
        "from solution import square\n\n\ndef test_square():\n    assert square(3) == 9\n"
    )
    (suite / "test_square.md").write_text("Write a Python function square(x) that returns x times x.\n")
    (suite / "test_broken.py").write_text("def test_(:\n")
    out = cli("eval", "import", str(suite), "--json")
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    assert found["added"] == ["add", "square"] and found["skipped"][0]["file"] == "test_broken.py"

    out = cli("eval", "run", "--json", "--step-tokens", "160", "--steps", "1")  # short steps: mechanics, not skill
    assert out.returncode == 0, out.stdout + out.stderr
    ev = json.loads(out.stdout)
    assert ev["status"] == "complete" and ev["n_tasks"] == 2 and "SmolLM2" in ev["model"]
    assert [r["name"] for r in ev["results"]] == ["add", "square"]
    assert ev["pass_rate"] == ev["n_passed"] / 2
    for r in ev["results"]:  # a pass is a given-tests pass, never a judge's opinion
        assert r["passed"] == (
            r["grounded_by"] == "given_tests" and r["tests"]["failed"] == 0 and r["tests"]["passed"] > 0
        )

    listed = json.loads(cli("eval", "list", "--json").stdout)
    assert [e["id"] for e in listed["evaluations"]] == [ev["id"]] and len(listed["tasks"]) == 2
    shown = cli("eval", "show", ev["id"][:8])
    assert shown.returncode == 0 and f"{ev['n_passed']}/2" in shown.stdout
    # evaluation mode: no run in the trace, no memory learned
    assert json.loads(cli("runs", "list", "--json").stdout) == []
    assert json.loads(cli("memory", "list", "--json").stdout) == []

    missing = cli("eval", "show", "nope", "--json")
    assert missing.returncode == 2 and "eval show" in json.loads(missing.stdout)["hint"]
