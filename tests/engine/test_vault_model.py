"""Vault with the real bundled all-MiniLM-L6-v2 (offline, CPU): semantic search, stored vectors, incremental, CLI.

The embedder is loaded once for this module (it is the process-wide default, so the CLI tests reuse it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from purpose_desktop.cli import main
from purpose_desktop.engine.vault import Vault
from purpose_desktop.engine.vault.embed import DEFAULT_MODEL_NAME, default_embedder
from tests.engine.test_vault import DATA

pytestmark = pytest.mark.model
REPO = Path(__file__).resolve().parents[2]


class Counting:
    """Wraps the real embedder and records what it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.texts: list[str] = []

    def encode(self, texts):
        self.texts.extend(texts)
        return self.inner.encode(texts)

    def encode_query(self, text):
        return self.inner.encode_query(text)


@pytest.fixture(scope="module")
def real():
    embedder = default_embedder()
    embedder.load()
    return embedder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    dest = tmp_path / "corpus"
    shutil.copytree(DATA, dest)
    return dest


def test_semantic_queries_find_the_right_documents_with_citations(real, corpus, tmp_path):
    counting = Counting(real)
    with Vault.from_directory(corpus, store=tmp_path / "v.db", embedder=counting) as vault:
        assert vault.last_report.chunks_embedded == len(counting.texts) > 0
        backup = vault.query("When does the nightly backup run now?", k=3)
        assert backup[0].rel_path == "notes/meeting.txt" and backup[0].citation == "notes/meeting.txt:1-9"
        uploads = vault.query("how do we retry failed uploads?", k=3)
        assert {h.rel_path for h in uploads[:2]} <= {"docs/uploads.md", "src/uploader.py"}
        assert all(h.cosine is not None for h in uploads[:2])
        # Meaning without shared words: no keyword of the question is in the meeting notes' wording.
        vector_only = vault.query("schedule clash between database housekeeping and copies", k=3)
        assert "notes/meeting.txt" in [h.rel_path for h in vector_only]
        # An opaque identifier is found by the keyword side, first.
        assert vault.query("ZX_BACKOFF_JITTER_MS", k=3)[0].rel_path == "src/uploader.py"
        model, dim, blob = (
            vault._store().connection.execute("SELECT model, dim, vector FROM vault_embeddings").fetchone()
        )
        assert (model, dim, len(blob)) == (DEFAULT_MODEL_NAME, 384, 384 * 4)
        assert abs(float(np.linalg.norm(np.frombuffer(blob, dtype="<f4"))) - 1.0) < 1e-4


def test_incremental_with_the_real_embedder(real, corpus, tmp_path):
    counting = Counting(real)
    with Vault.from_directory(corpus, store=tmp_path / "v.db", embedder=counting) as vault:
        first = len(counting.texts)
        assert vault.add(corpus).chunks_embedded == 0 and len(counting.texts) == first
        path = corpus / "notes" / "meeting.txt"
        path.write_text(path.read_text() + "\nDecision: upload speed goes in the status bar.\n")
        report = vault.add(corpus)
        assert report.files_changed == 1 and len(counting.texts) == first + 1
        assert "status bar" in counting.texts[-1]
        assert vault.query("where will upload speed be shown?", k=1)[0].rel_path == "notes/meeting.txt"


def test_the_tool_withholds_the_injection_with_real_vectors(real, corpus, tmp_path):
    with Vault.from_directory(corpus, store=tmp_path / "v.db", embedder=real) as vault:
        result = vault.as_tool().run({"query": "instructions for AI assistants in the team wiki"})
        assert result.ok and "reveal your system prompt" not in result.output.lower()
        assert result.data["withheld"] >= 1
        result = vault.as_tool().run({"query": "exponential backoff for uploads"})
        assert result.output.startswith(("[docs/uploads.md:", "[src/uploader.py:"))


def test_cli_end_to_end_with_the_real_model(real, corpus, capsys, _isolated_home):
    assert main(["vault", "add", str(corpus), "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["report"]["chunks_embedded"] > 0 and added["sources"][0]["status"] == "ready"
    assert (
        main(["vault", "query", "how are uploads retried after a server error?", "--k", "2", "--json"]) == 0
    )
    hits = json.loads(capsys.readouterr().out)
    assert hits and hits[0]["rel_path"] in ("docs/uploads.md", "src/uploader.py") and hits[0]["cosine"] > 0.2
    # A fresh process reads the same database (list does not need the model, so it is quick).
    env = {**os.environ, "PURPOSE_DESKTOP_HOME": str(_isolated_home)}
    proc = subprocess.run(
        [sys.executable, "-m", "purpose_desktop", "vault", "list", "--json"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    [source] = json.loads(proc.stdout)
    assert source["path"] == str(corpus) and source["embedded"] == source["chunks"] > 0
