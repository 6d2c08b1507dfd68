"""The test doubles every test folder shares (never used by the app itself).

``ScriptedModel`` replies with scripted text; ``ScriptedJsonModel`` scripts an agent team's JSON decisions
per role; ``DemoEmbedder`` (from the Qt-free demo data set) is THE deterministic embedder: a hashed bag of
words, so texts that share words are close. ``DistinctEmbedder`` gives every distinct text its own
direction, for batteries that submit many lessons and must not see any two merged; ``RecordingEmbedder``
counts what it embeds.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from purpose_desktop.demo import DEMO_EMBEDDER_NAME, DemoEmbedder, demo_embed
from purpose_desktop.engine.models.local import GenerationSettings, Reply
from purpose_desktop.engine.models.thinking import ThinkingCounter

__all__ = [
    "DEMO_EMBEDDER_NAME",
    "DemoEmbedder",
    "DistinctEmbedder",
    "RecordingEmbedder",
    "ScriptedInfo",
    "ScriptedJsonModel",
    "ScriptedModel",
    "call",
    "demo_embed",
    "distinct_embed",
    "final",
]


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
        self.settings_seen: list[GenerationSettings | None] = []  # what each chat() call was given
        self.schemas_seen: list[dict] = []  # what each complete_json() call was given
        self.closed = False
        self._turn = 0

    def chat(
        self, messages, *, settings: GenerationSettings | None = None, cancel=None, on_token=None
    ) -> Reply:
        self.calls.append(list(messages))
        self.settings_seen.append(settings)
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
        counter = ThinkingCounter()
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
            if counter.answer_tokens >= max_tokens:  # like LocalModel: <think> is not the answer's budget
                finish = "length"
                break
            piece = word if i == 0 else " " + word
            counter.feed(piece)
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
            n_tokens=counter.answer_tokens,
            ttft_ms=ttft,
            tokens_per_s=(len(out) / (elapsed / 1000)) if elapsed and out else None,
            elapsed_ms=elapsed,
            n_prompt_messages_dropped=0,
            model=self.display_name,
            n_thinking_tokens=counter.thinking_tokens,
        )

    def complete_json(self, messages, schema, *, settings=None, cancel=None, on_token=None) -> dict:
        """The next scripted reply as JSON (script it as JSON text), streamed like ``chat``; {} when cancelled.

        ``schemas_seen`` keeps each call's schema, so a test can tell what the grammar allowed.
        """
        self.schemas_seen.append(schema)
        reply = self.chat(messages, settings=settings, cancel=cancel, on_token=on_token)
        if reply.finish_reason == "cancelled":
            return {}
        return json.loads(reply.text)

    def close(self) -> None:
        self.closed = True


class ScriptedJsonModel:
    """``scripts`` maps a role title ("Architect", "Coder" …) to the JSON replies it gives, in turn.

    The critic's judge (system prompt "strict reviewer") answers ``judge_score``; the role chooser
    answers ``roles``.
    """

    display_name = "ScriptedJSON"
    n_ctx = 4096

    def __init__(self, scripts: dict[str, list[dict]] | None = None, judge_score: int = 6, roles: list[str] | None = None):
        self.scripts = {k: itertools.cycle(v) for k, v in (scripts or {}).items()}
        self.judge_score = judge_score
        self.roles = roles or ["assistant"]
        self.calls: list[tuple[str, list[dict]]] = []
        self.closed = False
        self._pending: dict[str, dict] = {}

    def _who(self, messages) -> str:
        system = messages[0]["content"] if messages else ""
        if "strict reviewer" in system:
            return "judge"
        if "Choose the team roles" in system:
            return "chooser"
        m = re.match(r"You are the ([\w ]+?)\.", system)
        return m.group(1) if m else "?"

    def complete_json(self, messages, schema, *, settings=None, cancel=None, on_token=None):
        """Decisions: the scripted step's thought and action (its content comes from ``chat``)."""
        who = self.speaker(messages)
        self.calls.append((who, messages))
        if who == "judge":
            return {"score": self.judge_score, "reason": "scripted judge"}
        if who == "chooser":
            return {"roles": list(self.roles)}
        item = self._pending.setdefault(who, next(self.scripts[who]))
        return {"thought": item.get("thought", ""), "action": item["action"]}

    def speaker(self, messages, on_token=None) -> str:
        """Who a call is for: ``_who``, or the coder for a team step's plain answer, asked as one plain chat
        answer is (no "You are the Coder."): a Spark's streamed reply or its next-action decision."""
        who = self._who(messages)
        spark = on_token is not None or (messages and messages[-1]["content"].startswith("Decide your next action"))
        return "Coder" if who == "?" and spark and "Coder" in self.scripts else who

    def chat(self, messages, *, settings=None, cancel=None, on_token=None) -> Reply:
        who = self.speaker(messages, on_token)
        self.calls.append((who, messages))
        item = self._pending.pop(who, None) or next(self.scripts[who])
        text = str(item.get("input", ""))
        pieces = text.split(" ")
        for n, word in enumerate(pieces):
            if cancel is not None and cancel.is_set():
                return Reply(" ".join(pieces[:n]), "cancelled", n, 1.0, None, 1.0, 0, self.display_name)
            if on_token is not None:
                on_token(word if n == 0 else " " + word)
        return Reply(text, "stop", len(pieces), 1.0, 100.0, 1.0, 0, self.display_name)

    def count_tokens(self, text: str) -> int:
        return max(1, len(text.split()))

    def close(self) -> None:
        self.closed = True


def final(text: str, thought: str = "done") -> dict:
    return {"thought": thought, "action": "final_answer", "input": text}


def call(tool: str, text: str, thought: str = "use a tool") -> dict:
    return {"thought": thought, "action": tool, "input": text}


class RecordingEmbedder(DemoEmbedder):
    """DemoEmbedder that records what it embeds (``texts``, ``calls``), optionally slowly (``delay``), with a
    hook run on each call (``on_call``): "re-embeds nothing" and cancel-mid-batch tests are then exact."""

    def __init__(self, name: str = DEMO_EMBEDDER_NAME, delay: float = 0.0) -> None:
        self.name = name
        self.delay = delay
        self.texts: list[str] = []
        self.calls = 0
        self.on_call = None

    def encode(self, texts):
        self.calls += 1
        self.texts.extend(texts)
        if self.on_call is not None:
            self.on_call(self)
        if self.delay:
            time.sleep(self.delay)
        return super().encode(texts)


class DistinctEmbedder(DemoEmbedder):
    """Each distinct text becomes sixteen pseudo-words from its digest: no two lessons look alike, so none
    is merged (what a battery that submits many lessons needs), and still deterministic."""

    name = "demo-distinct"

    def encode(self, texts):
        digests = [hashlib.sha256(str(t).encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
        return super().encode([" ".join(d[i : i + 4] for i in range(0, 64, 4)) for d in digests])


def distinct_embed(texts):
    return DistinctEmbedder().encode(list(texts))
