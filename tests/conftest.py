"""Shared fixtures: every test gets its own data dir, and no test may leave a QThread running."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Point PURPOSE_DESKTOP_HOME at a temp dir: no test touches the real user data."""
    home = tmp_path / "pd-home"
    home.mkdir()
    monkeypatch.setenv("PURPOSE_DESKTOP_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def default_model_path():
    from purpose_desktop.engine.models import default_model_path as find

    return find()
