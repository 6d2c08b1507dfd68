"""A scripted chat model for control-flow tests (never used by the app itself)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from purpose_desktop.engine.models.local import GenerationSettings, Reply


@dataclass
class ScriptedInfo:
    path: Path = Path("scripted.gguf")
    architecture: str = "scripted"
    name: str = "Scripted"
    size_label: str | None = "0M"
    quantization: str | None = "none"
    context_length: int | None = 2048
    chat_template: str | None = "scripted"
    has_chat_template: bool = True
    file_size: int = 0

    def to_dict(self) -> dict:
        return {"path": str(self.path), "architecture": self.architecture, "name": self.name}


@dataclass
class ScriptedModel:
    """Replies with ``replies`` in turn, one token per word, ``delay_s`` apart.

    ``gate`` (a threading.Event) if given blocks before the first token, so a test can act mid-reply.
    ``hold`` (a threading.Event) with ``hold_after=n`` pauses after n tokens until the event is set or
    the reply is cancelled — a deterministic "mid-stream" for GUI tests (n=0: before the first token).
    ``error`` (an exception) is raised after ``hold_after`` tokens (or at once) instead of finishing.
    """

    replies: list[str] = field(default_factory=lambda: ["Hello from the scripted model."])
    delay_s: float = 0.0
    gate: threading.Event | None = None
    display_name: str = "Scripted"
    n_ctx: int = 2048
    info: ScriptedInfo = field(default_factory=ScriptedInfo)
    calls: list[list[dict]] = field(default_factory=list)
    closed: bool = False

    def __init__(
        self,
        path=None,
        *,
        replies=None,
        delay_s=0.0,
        gate=None,
        hold=None,
        hold_after=0,
        error=None,
        **_ignored,
    ):
        self.replies = list(replies or ["Hello from the scripted model."])
        self.delay_s = delay_s
        self.gate = gate
        self.hold = hold
        self.hold_after = hold_after
        self.error = error
        self.display_name = "Scripted"
        self.n_ctx = 2048
        self.info = ScriptedInfo()
        self.calls = []
        self.closed = False
        self._turn = 0

    def chat(
        self, messages, *, settings: GenerationSettings | None = None, cancel=None, on_token=None
    ) -> Reply:
        self.calls.append(list(messages))
        text = self.replies[self._turn % len(self.replies)]
        self._turn += 1
        start = time.perf_counter()
        if self.gate is not None:
            self.gate.wait(10)
        out: list[str] = []
        finish = "stop"
        ttft = None
        words = text.split(" ")
        max_tokens = settings.max_tokens if settings else 10_000
        for i, word in enumerate(words):
            if i == self.hold_after and (self.hold is not None or self.error is not None):
                while self.hold is not None and not self.hold.wait(0.01):
                    if cancel is not None and cancel.is_set():
                        break
                if self.error is not None and not (cancel is not None and cancel.is_set()):
                    raise self.error
            if cancel is not None and cancel.is_set():
                finish = "cancelled"
                break
            if i >= max_tokens:
                finish = "length"
                break
            piece = word if i == 0 else " " + word
            if ttft is None:
                ttft = (time.perf_counter() - start) * 1000
            out.append(piece)
            if on_token:
                on_token(piece)
            if self.delay_s:
                time.sleep(self.delay_s)
        elapsed = (time.perf_counter() - start) * 1000
        return Reply(
            text="".join(out),
            finish_reason=finish,
            n_tokens=len(out),
            ttft_ms=ttft,
            tokens_per_s=(len(out) / (elapsed / 1000)) if elapsed and out else None,
            elapsed_ms=elapsed,
            n_prompt_messages_dropped=0,
            model=self.display_name,
        )

    def complete_json(self, messages, schema, *, settings=None, cancel=None) -> dict:
        raise NotImplementedError("scripted JSON replies are configured per test")

    def close(self) -> None:
        self.closed = True
