"""Engine: the one facade the CLI and the GUI worker call; it owns the store and the loaded model."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import InputError, ModelError
from purpose_desktop.engine.models import GenerationSettings, LocalModel, resolve_model
from purpose_desktop.engine.models.gguf import GGUFInfo
from purpose_desktop.engine.settings import EngineSettings, load_settings
from purpose_desktop.engine.store import Message, Store

log = logging.getLogger(__name__)

#: Longest message a person can send; the GUI refuses bigger pastes before they get here.
MAX_INPUT_CHARS = 200_000
#: How often a streaming reply is checkpointed to SQLite, so a crash mid-reply keeps most of it.
CHECKPOINT_EVERY_S = 1.0


def title_for(text: str, limit: int = 60) -> str:
    """A chat's title from its first message: the first line, cut at ``limit`` characters."""
    first_line = (text.strip().splitlines() or ["New chat"])[0].strip()
    if len(first_line) <= limit:
        return first_line or "New chat"
    return first_line[:limit].rstrip() + "…"


class Engine:
    """Owns one Store and at most one loaded chat model; every call runs on the thread that made it.

    ``model_factory`` exists so tests can drive control flow with a scripted model; the app always
    uses :class:`LocalModel` on a real GGUF file.
    """

    def __init__(
        self,
        store: Store | None = None,
        settings: EngineSettings | None = None,
        model_factory: Callable[..., object] | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.store = store or Store()
        self.model = None
        self._model_factory = model_factory or LocalModel

    # -- models ---------------------------------------------------------------------------------
    def load_model(self, spec: str | Path | None = None, on_progress: Callable[[str], None] | None = None):
        """Load (or switch to) a chat model; the previous one is closed only once the new one works."""
        spec = spec if spec is not None else self.settings.model
        path = resolve_model(spec, added=[Path(p) for p in self.settings.added_models])
        if on_progress:
            on_progress(f"Loading {path.name}…")
        started = time.perf_counter()
        model = self._model_factory(
            path,
            n_ctx=self.settings.n_ctx,
            n_threads=self.settings.n_threads,
            n_gpu_layers=self.settings.n_gpu_layers,
            on_progress=on_progress,
        )
        old, self.model = self.model, model
        if old is not None:
            old.close()
        log.info("loaded %s in %.2fs", path, time.perf_counter() - started)
        if on_progress:
            on_progress(f"Ready: {model.display_name}")
        return model.info

    @property
    def model_info(self) -> GGUFInfo | None:
        return getattr(self.model, "info", None)

    def generation_settings(self) -> GenerationSettings:
        return GenerationSettings(max_tokens=self.settings.max_tokens, temperature=self.settings.temperature)

    # -- chat -----------------------------------------------------------------------------------
    def send_message(
        self,
        conversation_id: str,
        text: str,
        *,
        cancel: CancelToken | None = None,
        on_token: Callable[[str], None] | None = None,
        settings: GenerationSettings | None = None,
    ) -> tuple[Message, Message]:
        """Persist the user's message, stream the reply, persist it with its timings.

        The user's message is committed before generation starts and the reply is checkpointed
        while it streams, so a crash loses at most about a second of the reply and nothing earlier.
        """
        text = text.strip()
        if not text:
            raise InputError("The message is empty.", "Type a question or some code, then press Enter.")
        if len(text) > MAX_INPUT_CHARS:
            raise InputError(
                f"The message is {len(text):,} characters; the limit is {MAX_INPUT_CHARS:,}.",
                "Attach large files through the Vault instead, or paste the part that matters.",
            )
        if self.model is None:
            raise ModelError("No model is loaded yet.", "Wait for the model to finish loading, or pick one in Models.")
        cancel = cancel or CancelToken()
        history = [
            {"role": m.role, "content": m.content}
            for m in self.store.messages(conversation_id)
            if m.status == "complete" and m.content
        ]
        user = self.store.add_message(conversation_id, "user", text)
        if len(history) == 0:
            self._title_from(conversation_id, text)
        assistant = self.store.add_message(
            conversation_id, "assistant", "", status="streaming", meta={"model": self.model.display_name}
        )
        messages = [{"role": "system", "content": self.settings.system_prompt}, *history, {"role": "user", "content": text}]
        parts: list[str] = []
        last_checkpoint = time.monotonic()

        def collect(piece: str) -> None:
            nonlocal last_checkpoint
            parts.append(piece)
            if on_token is not None:
                on_token(piece)
            now = time.monotonic()
            if now - last_checkpoint >= CHECKPOINT_EVERY_S:
                last_checkpoint = now
                self.store.update_message(assistant.id, content="".join(parts))

        try:
            reply = self.model.chat(messages, settings=settings or self.generation_settings(), cancel=cancel, on_token=collect)
        except Exception as exc:
            self.store.update_message(
                assistant.id, content="".join(parts), status="failed", meta={"model": self.model.display_name, "error": str(exc)}
            )
            raise
        status = "cancelled" if reply.finish_reason == "cancelled" else "complete"
        assistant = self.store.update_message(assistant.id, content=reply.text, status=status, meta=reply.to_dict())
        return user, assistant

    def _title_from(self, conversation_id: str, text: str) -> None:
        conv = self.store.get_conversation(conversation_id)
        if conv.title in ("", "New chat"):
            self.store.rename_conversation(conversation_id, title_for(text))

    def close(self) -> None:
        """Free the model and the database; safe to call twice."""
        if self.model is not None:
            self.model.close()
            self.model = None
        if self.store is not None:
            self.store.close()
