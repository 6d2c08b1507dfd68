"""Helpers for the orchestration tests (no tests here): a scripted model that answers by role, and a sleep tool."""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping

from purpose_desktop.engine.models.local import Reply
from purpose_desktop.engine.tools.base import Tool, ToolResult


class RoleScriptedModel:
    """Replies chosen by the "You are the <Title>." system prompt, like ScriptedJsonModel, plus:

    * ``json`` scripts return whole JSON objects (plans, synthesis records), not only step decisions;
    * script items may be callables ``fn(messages) -> str | dict`` (for tasks running concurrently);
    * every call notes its thread and raises if two calls ever overlap (models are not thread-safe);
    * ``delay_s`` makes each call take time, so overlap would show.
    """

    display_name = "RoleScripted"
    n_ctx = 4096
    info = None

    def __init__(
        self,
        text: Mapping[str, list] | None = None,
        json: Mapping[str, list[dict]] | None = None,
        *,
        judge_score: int = 6,
        delay_s: float = 0.0,
    ) -> None:
        self.text = {k: itertools.cycle(v) for k, v in (text or {}).items()}
        self.json = {k: itertools.cycle(v) for k, v in (json or {}).items()}
        self.judge_score = judge_score
        self.delay_s = delay_s
        self.calls: list[tuple[str, str, list[dict]]] = []  # (kind, who, messages)
        self.threads: set[int] = set()
        self._busy = threading.Lock()
        self.overlaps = 0

    @staticmethod
    def who(messages) -> str:
        system = messages[0]["content"] if messages else ""
        if "strict reviewer" in system:
            return "judge"
        m = re.match(r"You are the ([\w ]+?)[.,]", system)
        return m.group(1) if m else "?"

    @contextlib.contextmanager
    def _turn(self, kind: str, messages) -> Iterator[str]:
        if not self._busy.acquire(blocking=False):
            self.overlaps += 1
            raise AssertionError("two model calls overlapped")
        try:
            yield self._enter(kind, messages)
        finally:
            self._busy.release()

    def _enter(self, kind: str, messages) -> str:
        who = self.who(messages)
        self.calls.append((kind, who, messages))
        self.threads.add(threading.get_ident())
        if self.delay_s:
            time.sleep(self.delay_s)
        return who

    def complete_json(self, messages, schema, *, settings=None, cancel=None, on_token=None):
        with self._turn("json", messages) as who:
            if who == "judge":
                return {"reason": "scripted judge", "score": self.judge_score}
            if who in self.json:
                item = next(self.json[who])
                return dict(item(messages) if callable(item) else item)
            return {"thought": "answer now", "action": "final_answer"}

    def chat(self, messages, *, settings=None, cancel=None, on_token=None) -> Reply:
        with self._turn("chat", messages) as who:
            script = self.text.get(who)
            item = next(script) if script is not None else f"{who} answers."
            text = item(messages) if callable(item) else str(item)
            words = text.split(" ")
            for n, word in enumerate(words):
                if cancel is not None and cancel.is_set():
                    return Reply(" ".join(words[:n]), "cancelled", n, 1.0, None, 1.0, 0, self.display_name)
                if on_token is not None:
                    on_token(word if n == 0 else " " + word)
            return Reply(text, "stop", len(words), 1.0, 100.0, 1.0, 0, self.display_name)

    def count_tokens(self, text: str) -> int:
        return max(1, len(text.split()))

    def close(self) -> None:
        pass

    def asked(self, who: str, kind: str | None = None) -> list[list[dict]]:
        return [m for k, w, m in self.calls if w == who and (kind is None or k == kind)]


class SleepTool(Tool):
    """Waits ``seconds`` and echoes its label: a stand-in for slow I/O such as a search."""

    name = "wait"
    description = "Wait a moment, then return the label."
    parameters = {
        "type": "object",
        "properties": {"label": {"type": "string", "maxLength": 100}},
        "required": ["label"],
        "additionalProperties": False,
    }

    def __init__(self, seconds: float = 0.5, fail_on: Callable[[str], bool] | None = None) -> None:
        self.seconds = seconds
        self.fail_on = fail_on
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def execute(self, args, cancel) -> ToolResult:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            time.sleep(self.seconds)
        finally:
            with self._lock:
                self.active -= 1
        label = str(args["label"])
        if self.fail_on is not None and self.fail_on(label):
            return ToolResult.failure(f"no result for {label}")
        return ToolResult(ok=True, output=f"done:{label}")
