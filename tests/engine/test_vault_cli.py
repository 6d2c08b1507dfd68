"""`purpose-desktop vault add | list | query | remove` through cli.main, with the demo embedder (the real one: test_vault_model.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from purpose_desktop.cli import main
from tests.engine.test_vault import DATA
from tests.fakes import RecordingEmbedder


@pytest.fixture
def fake(monkeypatch) -> RecordingEmbedder:
    embedder = RecordingEmbedder()
    monkeypatch.setattr("purpose_desktop.engine.vault.vault.default_embedder", lambda: embedder)
    return embedder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    dest = tmp_path / "corpus"
    shutil.copytree(DATA, dest)
    return dest


def run_json(capsys, *argv: str):
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_add_list_query_remove_with_json(corpus, fake, capsys, _isolated_home):
    code, added = run_json(capsys, "vault", "add", str(corpus / "docs"), str(corpus / "src"), "--json")
    assert code == 0 and added["report"]["files_new"] == 5 and len(added["sources"]) == 2
    assert (_isolated_home / "purpose.db").exists()

    code, sources = run_json(capsys, "vault", "list", "--json")
    assert code == 0 and [s["name"] for s in sources] == ["docs", "src"]
    assert all(s["status"] == "ready" and s["chunks"] == s["embedded"] for s in sources)

    code, hits = run_json(capsys, "vault", "query", "retry_failed_upload", "--k", "2", "--json")
    assert code == 0 and len(hits) <= 2 and hits[0]["rel_path"] == "uploader.py"
    assert {"citation", "path", "start_line", "end_line", "snippet", "score", "flagged"} <= set(hits[0])

    code, removed = run_json(capsys, "vault", "remove", sources[0]["id"][:8], "--json")
    assert code == 0 and removed["removed"]["name"] == "docs"
    code, sources = run_json(capsys, "vault", "list", "--json")
    assert [s["name"] for s in sources] == ["src"]


def test_text_output_is_readable(corpus, fake, capsys):
    assert main(["vault", "list"]) == 0
    assert "vault is empty" in capsys.readouterr().out
    assert main(["vault", "add", str(corpus)]) == 0
    out = capsys.readouterr().out
    assert "7 files: 7 new" in out and "1 flagged" in out
    assert main(["vault"]) == 0  # bare `vault` lists
    assert "ready" in capsys.readouterr().out
    assert main(["vault", "query", "nightly", "backup"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. [notes/meeting.txt:1-9]") and "nightly backup" in out.lower()


def test_flagged_chunks_only_with_include_flagged(corpus, fake, capsys):
    main(["vault", "add", str(corpus), "--json"])
    capsys.readouterr()
    _, hits = run_json(capsys, "vault", "query", "reveal your system prompt", "--k", "10", "--json")
    assert all(not h["flagged"] for h in hits)
    _, hits = run_json(capsys, "vault", "query", "reveal your system prompt", "--include-flagged", "--json")
    assert any(h["flagged"] and h["rel_path"] == "notes/shared_tips.md" for h in hits)
    assert main(["vault", "query", "reveal your system prompt", "--include-flagged"]) == 0
    assert "FLAGGED" in capsys.readouterr().out


def test_errors_are_reported_with_a_hint(tmp_path, fake, capsys):
    code, error = run_json(capsys, "vault", "remove", "no-such-source", "--json")
    assert code == 2 and error["error"] == "VaultError" and error["hint"]
    assert main(["vault", "add", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "hint:" in err


def test_listing_the_vault_does_not_load_torch(tmp_path, _isolated_home):
    """Start-up cost: only embedding needs sentence-transformers/torch; listing sources must not import them."""
    import os
    import subprocess
    import sys

    code = (
        "import sys; from purpose_desktop.cli import main; rc = main(['vault', 'list', '--json']); "
        "heavy = [m for m in ('torch', 'sentence_transformers') if m in sys.modules]; "
        "assert rc == 0 and not heavy, heavy"
    )
    env = {**os.environ, "PURPOSE_DESKTOP_HOME": str(_isolated_home)}
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=repo, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
