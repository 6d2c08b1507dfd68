"""`models catalog|pull|discard` and `quickstart` as a person runs them: a real subprocess, a loopback hub, piped stdin."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from purpose_desktop.engine.models import download as dl
from purpose_desktop.engine.models.catalog import load_catalog
from tests.hf_server import HubServer

REPO = "acme/Tiny-GGUF"


@pytest.fixture
def hub(monkeypatch, default_model_path):
    with HubServer() as srv:
        data = Path(default_model_path).read_bytes()
        srv.hub.add(REPO, "smol.gguf", data)
        for e in load_catalog().entries:
            if e.sha256 is None:
                srv.hub.add(e.repo, e.file, data, rev=e.revision)
        monkeypatch.setenv("HF_ENDPOINT", srv.endpoint)
        for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            monkeypatch.delenv(var, raising=False)
        yield srv


def cli(*args: str, stdin: str | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "purpose_desktop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        env=os.environ.copy(),
    )


def test_pull_json_reports_the_file_and_how_it_was_checked(hub):
    out = cli("models", "pull", f"hf:{REPO}/smol.gguf", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["verified"] == "hub" and Path(data["path"]).is_file()
    assert data["bytes_fetched"] == data["size"] == 98_362_432
    listed = json.loads(cli("models", "list", "--json").stdout)
    assert any(m["id"] == "downloaded:smol" and m["source"] == "downloaded" for m in listed)


def test_pull_prints_progress_and_how_to_use_it(hub):
    out = cli("models", "pull", f"hf:{REPO}/smol.gguf")
    assert out.returncode == 0, out.stderr
    assert "Downloading" in out.stderr and "(100%)" in out.stderr
    assert "sha256 matches the hub" in out.stdout and "chat --model downloaded:smol" in out.stdout


def test_pull_with_a_wrong_sha256_fails_clearly_and_leaves_nothing(hub):
    out = cli("models", "pull", f"hf:{REPO}/smol.gguf", "--sha256", "a" * 64, "--json")
    assert out.returncode == 1
    err = json.loads(out.stdout)
    assert err["error"] == "DownloadError" and "failed its checksum" in err["message"] and err["hint"]
    assert list(dl.models_dir().iterdir()) == []


def test_pull_asks_for_the_license_accept(hub):
    out = cli("models", "pull", "gemma-3-4b")
    assert out.returncode == 1 and "--accept-license" in out.stderr and "gemma" in out.stderr
    out = cli("models", "pull", "gemma-3-4b", "--accept-license", "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["catalog_id"] == "gemma-3-4b"


def test_a_404_and_a_bad_source_say_what_to_do(hub):
    out = cli("models", "pull", f"hf:{REPO}/missing.gguf")
    assert out.returncode == 1 and "HTTP 404" in out.stderr and "hint:" in out.stderr
    out = cli("models", "pull", "not-a-model")
    assert out.returncode == 1 and "Catalog ids:" in out.stderr


def test_catalog_json_has_fit_and_recommendation():
    out = cli("models", "catalog", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["models"]) == len(load_catalog().entries)
    assert {m["fit"] for m in data["models"]} <= {"fits", "tight", "too_big", "unknown"}
    assert sum(m["recommended"] for m in data["models"]) <= 1
    # the estimate falls with the download's size (speed ≈ memory bandwidth ÷ model size)
    by_size = sorted(data["models"], key=lambda m: m["download_size"])
    speeds = [m["tokens_per_s_estimate"] for m in by_size]
    assert all(s > 0 for s in speeds) and speeds == sorted(speeds, reverse=True)


TASK = "Write a Python function add(a, b) that returns a + b."
_RUN_LINE = re.compile(r"^\[run ([0-9a-f]{8}) · (\w+) · score (\S+) \((.+)\)\]$", re.M)


def _check_stored_run(stdout: str, task: str) -> dict:
    """The run the wizard printed is the one in the real SQLite file: same id, status, score and answer."""
    from purpose_desktop.engine import paths

    printed = _RUN_LINE.search(stdout)
    assert printed, stdout
    # What the wizard printed between "Running…" and the run line is the run's final answer.
    marker = "Running… (each step is scored by the critic)\n"
    answer = stdout[stdout.index(marker) + len(marker) : printed.start()].strip()
    db = sqlite3.connect(paths.db_path())
    db.row_factory = sqlite3.Row
    try:
        runs = [dict(r) for r in db.execute("SELECT * FROM runs")]
        assert len(runs) == 1
        run = runs[0]
        steps = [dict(r) for r in db.execute("SELECT * FROM steps WHERE run_id = ? ORDER BY seq", (run["id"],))]
    finally:
        db.close()
    assert run["id"].startswith(printed[1]) and run["status"] == printed[2]
    assert run["task"] == task and run["mode"] == "train"
    assert json.loads(run["roles_json"]) == ["architect", "coder", "tester"]
    assert run["answer"].strip() == answer and answer
    shown = "–" if run["score"] is None else f"{run['score']:.1f}/10"
    assert printed[3] == shown
    roles = [s["role"] for s in steps]
    # The plan, the coder's first answer and the tester's blind checks; then any further coder candidates.
    assert roles[:3] == ["architect", "coder", "tester"] and set(roles) == {"architect", "coder", "tester"}, roles
    assert all(s["tokens"] > 0 and s["score"] is not None and json.loads(s["evidence_json"]) for s in steps)
    return run


@pytest.mark.model
@pytest.mark.timeout(1200)  # three scored steps on the real model: about a minute alone, far more on a busy machine
def test_quickstart_runs_a_task_on_the_bundled_model_and_stores_the_run():
    """The whole wizard on the real bundled GGUF, as a person pipes it: bundled model, team, one task."""
    answers = f"0\nHelp me write Python code\n{TASK}\n"
    out = cli("quickstart", "--step-tokens", "32", stdin=answers, timeout=1200)
    assert "Using the bundled model." in out.stdout, out.stdout + out.stderr
    assert "Proposed team: Architect → Coder → Tester" in out.stdout
    run = _check_stored_run(out.stdout, TASK)
    assert out.returncode == (0 if run["status"] == "complete" else 1), out.stderr
    assert list(dl.models_dir().iterdir()) == []  # nothing was downloaded


def test_quickstart_with_piped_answers_pulls_a_model_and_proposes_a_team(hub):
    entries = load_catalog().entries
    pick = next(i for i, e in enumerate(entries, 1) if e.id == "qwen2.5-coder-0.5b")
    answers = f"{pick}\ny\nn\nHelp me write Python code\n\n"
    out = cli("quickstart", stdin=answers)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "too small to write reliable code" in out.stdout
    assert "Saved " in out.stdout and "sha256 matches the hub" in out.stdout
    assert "Proposed team: Architect → Coder → Tester" in out.stdout
    assert (dl.models_dir() / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf").is_file()


@pytest.mark.model
@pytest.mark.timeout(1200)
def test_quickstart_pulls_a_model_from_the_hub_and_runs_the_task_with_it(hub):
    """Pick a catalog model, download it from the loopback hub, make it the default, run a task on it."""
    from purpose_desktop.engine.settings import load_settings

    entries = load_catalog().entries
    pick = next(i for i, e in enumerate(entries, 1) if e.id == "qwen2.5-coder-0.5b")
    answers = f"{pick}\ny\ny\nHelp me write Python code\n{TASK}\n"
    out = cli("quickstart", "--step-tokens", "32", stdin=answers, timeout=1200)
    pulled = dl.models_dir() / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    assert f"Saved {pulled} (sha256 matches the hub" in out.stdout, out.stdout + out.stderr
    assert sorted(p.name for p in dl.models_dir().iterdir()) == [pulled.name]  # no .part left
    assert load_settings().model == str(pulled)
    # The hub served the file once: the resolve URL's 302, then its bytes.
    assert [m for m, p, _ in hub.hub.requests if "qwen2.5-coder-0.5b" in p] == ["GET", "GET"]
    run = _check_stored_run(out.stdout, TASK)
    assert out.returncode == (0 if run["status"] == "complete" else 1), out.stderr


def test_quickstart_at_end_of_input_stays_offline_and_never_hangs():
    out = cli("quickstart", stdin="0\n", timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Using the bundled model." in out.stdout and "Proposed team:" in out.stdout


def test_quickstart_runs_the_task_with_the_proposed_team(monkeypatch):
    """In-process with a scripted team model (a real 3-step run on the bundled model takes minutes here)."""
    from purpose_desktop import cli_models
    from purpose_desktop.engine.agents import team as team_mod
    from tests.ui.pane_fakes import coding_team_model

    real_purpose = team_mod.purpose
    monkeypatch.setattr(
        team_mod,
        "purpose",
        lambda text, model=None, **kw: real_purpose(text, model=coding_team_model(), **kw),
    )
    out = io.StringIO()
    answers = io.StringIO("0\nHelp me write Python code\nSort names by surname.\n")
    code = cli_models._quickstart(cli_models._Wizard(answers, out), argparse.Namespace(step_tokens=64))
    text = out.getvalue()
    assert "Running…" in text and "def sort_names" in text
    assert "[run " in text and "score" in text
    assert code == 0
