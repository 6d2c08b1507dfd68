"""ModelCatalog: which model ids the server answers to, which one is loaded, and the bundled embedder."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.serve.protocol import ApiError

if TYPE_CHECKING:
    from purpose_desktop.engine.core import Engine

EMBEDDING_MODEL_ID = "all-MiniLM-L6-v2"


def model_id_of(model: Any, entries: dict[str, str]) -> str | None:
    """The id a loaded model is served under: its discovered id (matched by path), else its name."""
    if model is None:
        return None
    path = getattr(model, "path", None)
    if path is not None:
        real = str(Path(path).resolve())
        for mid, spec in entries.items():
            if spec == real:
                return mid
    return getattr(model, "model", None) or getattr(model, "display_name", None) or "model"


class ModelCatalog:
    """The models the server lists and accepts.

    ``current()`` returns the engine's loaded model (read-only look, from any thread). With ``switch``
    (the CLI), a request naming another discovered GGUF loads it on the owner thread — one model in RAM
    at a time; without it (the app) only the model the person chose is served, and other ids are 404.
    """

    def __init__(
        self,
        current: Callable[[], Any],
        *,
        added: Sequence[str] = (),
        switch: bool = True,
        embedder: Any = None,
    ) -> None:
        self._current = current
        self._added = tuple(added)
        self.switch = switch
        self._embedder = embedder
        self._entries: dict[str, str] | None = None
        self._lock = threading.Lock()

    def _discovered(self, refresh: bool = False) -> dict[str, str]:
        with self._lock:
            if self._entries is None or refresh:
                from purpose_desktop.engine.models import discover_models

                self._entries = {
                    e.id: str(Path(e.path).resolve()) for e in discover_models(added=self._added) if e.usable
                }
            return self._entries

    def loaded_id(self) -> str | None:
        return model_id_of(self._current(), self._discovered())

    def ids(self) -> list[str]:
        """The loaded model first, then (when switching is allowed) every other usable GGUF found."""
        entries = self._discovered(refresh=True)
        loaded = model_id_of(self._current(), entries)
        out = [loaded] if loaded else []
        if self.switch:
            out += [mid for mid in entries if mid != loaded]
        return out

    def resolve(self, requested: str) -> tuple[str, str | None]:
        """``(id, spec to load or None for the loaded model)``; ApiError 404 for a model not served here."""
        model = self._current()
        entries = self._discovered()
        loaded = model_id_of(model, entries)
        aliases = {loaded, getattr(model, "display_name", None), getattr(model, "model", None)} - {None}
        if model is not None and requested in aliases:
            return loaded, None
        if self.switch and requested in entries:
            return requested, entries[requested]
        known = ", ".join(self.ids()) or "none (no model is loaded)"
        raise ApiError(
            404,
            f"The model {requested!r} does not exist here. Models served: {known}.",
            "invalid_request_error",
            "model_not_found",
            "model",
        )

    def ensure_loaded(self, engine: Engine, spec: str | None) -> None:
        """On the owner thread: load ``spec`` unless it is already the loaded model."""
        if spec is None:
            return
        path = getattr(engine.model, "path", None)
        if path is not None and str(Path(path).resolve()) == spec:
            return
        engine.load_model(spec)

    # -- embeddings ---------------------------------------------------------------------------------
    def embedding_ids(self) -> list[str]:
        return [EMBEDDING_MODEL_ID]

    def embed(self, texts: list[str]):
        """Unit float32 vectors from the bundled embedder (its own lock; not the chat model's owner)."""
        if self._embedder is None:
            from purpose_desktop.engine.vault.embed import default_embedder

            self._embedder = default_embedder()
        return self._embedder.encode(texts)
