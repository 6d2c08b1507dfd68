"""engine.runs: past runs newest first; a run's steps carry their memories and cited Vault passages."""

from __future__ import annotations

from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store.trace import TraceRecorder
from tests.engine.services_helpers import make_engine

VAULT_OUTPUT = "[notes/a.md:1-4] retried three times\n[gone.md:2-3] nowhere now"


def _record(engine, task, *, memory_ids=(), tool_calls=()):
    trace = TraceRecorder(engine.store, RunMode.LEARNING_TRAIN)
    run_id = trace.start(task=task, purpose="research", team="Research", roles=["researcher"])
    trace.add_step(
        {
            "role": "researcher",
            "output": "done",
            "tool_calls": list(tool_calls),
            "memory_ids": list(memory_ids),
        }
    )
    trace.finish(status="finished", answer="done", score=7.0, tokens_work=1, tokens_judge=0)
    return run_id


def test_list_is_newest_first_and_filters_by_team(tmp_path):
    engine = make_engine(tmp_path)
    first = _record(engine, "one")
    second = _record(engine, "two")
    assert [r["id"] for r in engine.runs.list()] == [second, first]
    assert engine.runs.list(team="Nobody") == []
    assert len(engine.runs.list(limit=1)) == 1


def test_load_names_memories_and_citations_without_a_vault(tmp_path):
    engine = make_engine(tmp_path)
    call = {"tool": "vault_search", "args": {}, "ok": True, "output": VAULT_OUTPUT, "elapsed_ms": 1}
    run_id = _record(engine, "How are uploads retried?", memory_ids=["missing"], tool_calls=[call])
    step = engine.runs.load(run_id)["steps"][0]
    assert step["memories"] == [{"id": "missing", "kind": "", "text": "", "status": "gone"}]
    assert [(c["citation"], c["path"]) for c in step["citations"]] == [
        ("notes/a.md:1-4", ""),
        ("gone.md:2-3", ""),
    ]
