"""resolve_backend(spec): a model spec (default, GGUF path, model id, or a model object) → a chat model."""

from __future__ import annotations

import threading
from pathlib import Path

from purpose_desktop.engine.errors import ModelError

_local = threading.local()


def _is_model(obj) -> bool:
    return callable(getattr(obj, "chat", None)) and callable(getattr(obj, "complete_json", None))


def resolve_backend(spec=None, *, added=()):
    """Return a ready chat model for ``spec``; never silently a fake one.

    Models are cached per thread and per file, because a llama context belongs to the thread that
    created it; two roles naming the same GGUF share one loaded model on that thread.
    """
    if _is_model(spec):
        return spec
    if spec is not None and not isinstance(spec, str | Path):
        raise ModelError(
            f"Cannot use {type(spec).__name__} as a model.",
            'Pass "default", a path to a .gguf file, a model id from `purpose-desktop models list`, or a model object.',
        )
    from purpose_desktop.engine.models import LocalModel, resolve_model

    path = resolve_model(spec, added=[Path(p) for p in added]).resolve()
    cache: dict = getattr(_local, "models", None) or {}
    _local.models = cache
    model = cache.get(path)
    if model is None:
        model = LocalModel(path)
        cache[path] = model
    return model


def close_thread_models() -> None:
    """Free every model this thread loaded through resolve_backend."""
    cache: dict = getattr(_local, "models", None) or {}
    for model in cache.values():
        model.close()
    cache.clear()
