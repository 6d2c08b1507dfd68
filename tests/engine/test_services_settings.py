"""engine.config: settings.json is the one place engine settings live; bad values change nothing."""

from __future__ import annotations

import json

import pytest

from purpose_desktop.engine import paths
from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.settings import load_settings
from tests.engine.services_helpers import make_engine


def test_update_validates_saves_and_uses(tmp_path):
    engine = make_engine(tmp_path)
    snap = engine.config.update({"auto_promote": True, "default_team": "Python helper"})
    assert snap.settings["auto_promote"] is True and snap.settings["default_team"] == "Python helper"
    assert engine.settings.auto_promote is True
    saved = json.loads(paths.settings_path().read_text())
    assert saved["auto_promote"] is True and saved["default_team"] == "Python helper"
    assert load_settings().default_team == "Python helper"
    assert engine.memories.bank().policy.auto_promote is True  # the memory service uses it


def test_bad_value_raises_and_changes_nothing(tmp_path):
    engine = make_engine(tmp_path)
    engine.config.update({"temperature": 0.2})
    with pytest.raises(InputError):
        engine.config.update({"temperature": 9.0, "max_tokens": 100})
    assert engine.settings.temperature == 0.2 and engine.settings.max_tokens != 100
    assert json.loads(paths.settings_path().read_text())["temperature"] == 0.2
    with pytest.raises(InputError):
        engine.config.update({"no_such_setting": 1})


def test_snapshot_says_where_things_live(tmp_path, _isolated_home):
    snap = make_engine(tmp_path).config.snapshot()
    assert snap.data_dir == str(_isolated_home) and snap.database.endswith("purpose.db")
    assert "auto_promote" in snap.fields and "default_team" in snap.settings


def test_an_old_settings_file_still_loads(tmp_path):
    paths.settings_path().write_text(json.dumps({"temperature": 0.3, "ui_extras": {"x": 1}, "n_ctx": "big"}))
    settings = load_settings()
    assert settings.temperature == 0.3 and settings.n_ctx is None and settings.auto_promote is False
