"""A real Engine on a temp Store for the services tests (no Qt), with the scripted model when asked."""

from __future__ import annotations

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.settings import EngineSettings
from purpose_desktop.engine.store import Store
from tests.fakes import ScriptedModel


def make_engine(tmp_path, model=None, **settings) -> Engine:
    """An Engine on ``tmp_path/services.db``; ``model`` (if given) is what load_model loads."""
    chosen = model if model is not None else ScriptedModel()
    return Engine(
        store=Store(tmp_path / "services.db"),
        settings=EngineSettings(**settings),
        model_factory=lambda *a, **k: chosen,
    )
