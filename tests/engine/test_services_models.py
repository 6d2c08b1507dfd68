"""engine.model_files: scan, add (checked as GGUF first), forget, and the loaded model's summary."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.errors import InputError, PurposeError
from tests.engine.services_helpers import make_engine


def test_scan_reports_this_computer_and_the_chosen_model(tmp_path):
    report = make_engine(tmp_path, n_ctx=4096).model_files.scan()
    assert report.active_spec is None and report.n_ctx == 4096 and report.added == ()
    assert report.cpu_count and all(row.path for row in report.models)


def test_add_refuses_a_folder_and_a_non_gguf_and_remembers_nothing(tmp_path):
    engine = make_engine(tmp_path)
    with pytest.raises(InputError, match="folder"):
        engine.model_files.add(str(tmp_path))
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf at all")
    with pytest.raises(PurposeError):
        engine.model_files.add(str(junk))
    assert engine.settings.added_models == ()


def test_add_then_forget_a_real_gguf(tmp_path, default_model_path):
    engine = make_engine(tmp_path)
    report = engine.model_files.add(str(default_model_path))
    real = str(default_model_path.resolve())
    assert real in report.added and report.added_id is not None
    assert any(m.id == report.added_id for m in report.models)
    engine.config.update({"model": real})
    after = engine.model_files.forget(real)
    assert real not in after.added and engine.settings.model is None  # forgetting the chosen one unchooses it
    assert default_model_path.exists()  # the file itself is never touched


def test_load_summarises_and_remembers(tmp_path, default_model_path):
    engine = make_engine(tmp_path)  # the scripted model stands in for the file's weights
    seen = []
    spec = str(default_model_path)
    summary = engine.model_files.load(spec, remember=True, on_progress=seen.append)
    assert summary.name == "Scripted" and summary.context_length == 2048 and summary.load_s >= 0
    assert engine.settings.model == spec and seen
    assert engine.model_files.summary().name == "Scripted"
