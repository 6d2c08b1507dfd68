"""A scripted JSON model for agent control-flow tests: replies chosen by the role in the system prompt."""

from __future__ import annotations

import itertools
import re

from purpose_desktop.engine.models.local import Reply


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
        who = self._who(messages)
        self.calls.append((who, messages))
        if who == "judge":
            return {"score": self.judge_score, "reason": "scripted judge"}
        if who == "chooser":
            return {"roles": list(self.roles)}
        item = self._pending.setdefault(who, next(self.scripts[who]))
        return {"thought": item.get("thought", ""), "action": item["action"]}

    def chat(self, messages, *, settings=None, cancel=None, on_token=None) -> Reply:
        who = self._who(messages)
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
