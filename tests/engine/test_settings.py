"""EngineSettings: defaults, validation, atomic save, and loading files that are missing, corrupt or odd."""

from __future__ import annotations

import dataclasses
import json
import logging
import os

import pytest

from purpose_desktop.engine import paths
from purpose_desktop.engine import settings as settings_mod
from purpose_desktop.engine.errors import InputError, StoreError
from purpose_desktop.engine.settings import EngineSettings, load_settings, save_settings


def test_defaults():
    s = EngineSettings()
    assert s.model is None
    assert s.added_models == ()
    assert (s.n_ctx, s.n_threads, s.n_gpu_layers) == (None, None, None)
    assert s.temperature == 0.7
    assert s.max_tokens == 512
    assert s.system_prompt == (
        "You are Purpose Desktop, a concise, careful coding assistant. "
        "Answer with correct code in fenced Markdown blocks."
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.temperature = 1.0  # type: ignore[misc]


def test_missing_file_gives_defaults(_isolated_home):
    assert not paths.settings_path().exists()
    assert load_settings() == EngineSettings()
    assert load_settings(_isolated_home / "nowhere" / "settings.json") == EngineSettings()


def test_save_then_load_round_trip_in_the_user_dir(_isolated_home):
    s = EngineSettings(
        model="lmstudio:qwen",
        added_models=("/models/a.gguf", "/models/b.gguf"),
        n_ctx=4096,
        n_threads=2,
        n_gpu_layers=-1,
        temperature=0.2,
        max_tokens=1024,
        system_prompt="Be brief.",
    )
    written = save_settings(s)
    assert written == paths.settings_path() == _isolated_home / "settings.json"
    data = json.loads(written.read_text(encoding="utf-8"))
    assert data["added_models"] == ["/models/a.gguf", "/models/b.gguf"]
    assert load_settings() == s
    # Nothing but the settings file is left behind (no temp files).
    assert sorted(p.name for p in _isolated_home.iterdir()) == ["settings.json"]


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "s.json"
    save_settings(EngineSettings(max_tokens=10), path)
    save_settings(EngineSettings(max_tokens=20), path)
    assert load_settings(path).max_tokens == 20


@pytest.mark.parametrize("content", ['{"temperature": 0.5,', "[1, 2, 3]", '"just text"', b"\xff\xfe\x00bad"])
def test_corrupt_file_gives_defaults_and_is_kept_as_bad(tmp_path, caplog, content):
    path = tmp_path / "settings.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    original = path.read_bytes()
    with caplog.at_level(logging.WARNING, logger=settings_mod.__name__):
        assert load_settings(path) == EngineSettings()
    bad = tmp_path / "settings.json.bad"
    assert bad.read_bytes() == original
    assert not path.exists()
    assert any("settings.json.bad" in r.getMessage() for r in caplog.records)
    # The next save writes a fresh file and does not touch the kept copy.
    save_settings(EngineSettings(temperature=1.0), path)
    assert load_settings(path).temperature == 1.0
    assert bad.read_bytes() == original


def test_unknown_keys_are_ignored(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"max_tokens": 64, "theme": "dark", "future_option": [1]}), encoding="utf-8")
    assert load_settings(path) == EngineSettings(max_tokens=64)


def test_wrong_types_fall_back_field_by_field(tmp_path, caplog):
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps(
            {
                "temperature": "hot",
                "max_tokens": 100,
                "n_ctx": 10,
                "n_threads": True,
                "n_gpu_layers": 1.5,
                "added_models": "/one/path.gguf",
                "model": "",
                "system_prompt": 42,
            }
        ),
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger=settings_mod.__name__):
        s = load_settings(path)
    assert s == EngineSettings(max_tokens=100)
    warned = " ".join(r.getMessage() for r in caplog.records)
    for name in (
        "temperature",
        "n_ctx",
        "n_threads",
        "n_gpu_layers",
        "added_models",
        "model",
        "system_prompt",
    ):
        assert name in warned
    assert path.exists()  # a partly bad file is not set aside


def test_json_values_are_normalised(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(
        json.dumps({"temperature": 1, "added_models": ["/a.gguf", "/a.gguf", "/b.gguf"]}), encoding="utf-8"
    )
    s = load_settings(path)
    assert s.temperature == 1.0 and isinstance(s.temperature, float)
    assert s.added_models == ("/a.gguf", "/b.gguf")
    hash(s)  # still hashable: lists became tuples


def test_with_changes_validates_and_returns_a_copy():
    base = EngineSettings()
    changed = base.with_changes(temperature=0, max_tokens=8192, n_ctx=256)
    assert (changed.temperature, changed.max_tokens, changed.n_ctx) == (0.0, 8192, 256)
    assert base == EngineSettings()
    assert changed.with_changes(n_ctx=None).n_ctx is None
    assert base.with_changes(temperature=2, n_ctx=131072).n_ctx == 131072

    bad = [
        {"temperature": -0.1},
        {"temperature": 2.01},
        {"temperature": "0.5"},
        {"max_tokens": 0},
        {"max_tokens": 8193},
        {"max_tokens": True},
        {"n_ctx": 255},
        {"n_ctx": 131073},
        {"n_threads": 0},
        {"n_gpu_layers": -2},
        {"model": "  "},
        {"added_models": ["ok.gguf", 3]},
        {"system_prompt": "x" * 40_000},
    ]
    for change in bad:
        with pytest.raises(InputError) as info:
            base.with_changes(**change)
        (name,) = change
        assert name in info.value.message and info.value.hint
    with pytest.raises(InputError, match="Unknown setting"):
        base.with_changes(colour="blue")


def test_constructor_validates_too():
    with pytest.raises(InputError):
        EngineSettings(temperature=3)
    assert EngineSettings(added_models=["/x.gguf"]).added_models == ("/x.gguf",)


def test_failed_save_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    folder = tmp_path / "cfg"
    path = folder / "settings.json"
    save_settings(EngineSettings(max_tokens=7), path)
    old = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(settings_mod.os, "replace", broken_replace)
        with pytest.raises(StoreError) as info:
            save_settings(EngineSettings(max_tokens=9), path)
    assert str(folder) in info.value.hint
    assert path.read_bytes() == old
    assert sorted(os.listdir(folder)) == ["settings.json"]


def test_save_into_a_folder_that_is_a_file_raises_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError):
        save_settings(EngineSettings(), blocker / "settings.json")


def test_team_and_promotion_preferences_round_trip(tmp_path):
    from purpose_desktop.engine.settings import EngineSettings, load_settings, save_settings

    path = tmp_path / "settings.json"
    save_settings(EngineSettings(default_team="Python helper", auto_promote=True), path)
    loaded = load_settings(path)
    assert loaded.default_team == "Python helper" and loaded.auto_promote is True
    assert EngineSettings().auto_promote is False  # off by default: a person approves memories
    with pytest.raises(InputError):
        EngineSettings(auto_promote="yes")
    with pytest.raises(InputError):
        EngineSettings(default_team="   ")
