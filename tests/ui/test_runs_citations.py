"""Runs pane: the Vault passages a step read are links that open the source at the cited lines."""

from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtWidgets import QLabel

from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.services.runs import RunHistory
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.store.trace import TraceRecorder
from purpose_desktop.engine.vault import Vault
from purpose_desktop.ui.runs_pane import RunDetail
from tests.fakes import DemoEmbedder

NOTES = "# Uploads\n\nintro\n\n## Retries\n\nFailed uploads are retried three times with backoff.\n"


def recorded_run(tmp_path):
    """A real run in a real database whose researcher step called vault_search on a real file."""
    doc = tmp_path / "docs" / "uploads.md"
    doc.parent.mkdir()
    doc.write_text(NOTES)
    store = Store(tmp_path / "purpose.db")
    vault = Vault(store, embedder=DemoEmbedder())
    vault.add(doc.parent)
    found = vault.as_tool().execute({"query": "how are failed uploads retried"}, None)
    gone = "[deleted.md:4-9] a file the vault no longer has"
    trace = TraceRecorder(store, RunMode.LEARNING_TRAIN)
    run_id = trace.start(
        task="How are uploads retried?", purpose="research", team="Research", roles=["researcher"]
    )
    trace.add_step(
        {
            "role": "researcher",
            "output": "Three retries [uploads.md]",
            "tool_calls": [
                {
                    "tool": "vault_search",
                    "args": {},
                    "ok": True,
                    "output": found.output + "\n" + gone,
                    "elapsed_ms": 1,
                }
            ],
        }
    )
    trace.finish(status="finished", answer="three retries", score=7.0, tokens_work=1, tokens_judge=0)
    return store, run_id, found.data["citations"][0], doc


def test_load_run_resolves_cited_passages_to_files(tmp_path):
    store, run_id, cited, doc = recorded_run(tmp_path)
    run = RunHistory(SimpleNamespace(store=store)).load(run_id)
    citations = run["steps"][0]["citations"]
    assert citations[0] == {
        "citation": cited["citation"],
        "rel_path": "uploads.md",
        "start_line": cited["start_line"],
        "end_line": cited["end_line"],
        "path": str(doc),
    }
    assert citations[-1]["citation"] == "deleted.md:4-9" and citations[-1]["path"] == ""
    store.close()


def test_a_cited_passage_opens_the_source_at_its_lines(qtbot, tmp_path):
    store, run_id, cited, doc = recorded_run(tmp_path)
    run = RunHistory(SimpleNamespace(store=store)).load(run_id)
    store.close()
    detail = RunDetail()
    qtbot.addWidget(detail)
    detail.show_run(run)
    links = [w for w in detail.widget().findChildren(QLabel) if w.objectName() == "linkLabel"]
    link = next(w for w in links if cited["citation"] in w.text())
    assert any("no longer in the vault" in w.text() for w in detail.widget().findChildren(QLabel))
    link.linkActivated.emit(link.text().split('"')[1])
    viewer = detail.last_viewer
    assert viewer is not None and viewer.path == doc
    assert (viewer.start_line, viewer.end_line) == (cited["start_line"], cited["end_line"])
    assert viewer.view.highlighted_lines() == list(range(cited["start_line"], cited["end_line"] + 1))
    viewer.close()
