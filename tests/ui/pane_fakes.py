"""Fakes for pane tests: a scripted team model the Engine can load and its demo replies."""

from __future__ import annotations

import threading

from tests.fakes import ScriptedInfo, ScriptedJsonModel, final

PLAN = "Restate: sort names by surname. Signature: sort_names(names: list[str]) -> list[str]. Edge cases: empty list, one name, equal surnames."
CODE = (
    "```python\ndef sort_names(names: list[str]) -> list[str]:\n"
    '    """Sort full names by surname, then by first name."""\n'
    "    return sorted(names, key=lambda n: (n.split()[-1], n))\n```\n"
    "Sorts by the last word of each name, keeping ties stable by the full name."
)
CHECKS = '```python\nassert sort_names(["Ada Lovelace", "Alan Turing"]) == ["Ada Lovelace", "Alan Turing"]\nassert sort_names([]) == []\n```'


class TeamModel(ScriptedJsonModel):
    """ScriptedJsonModel that the Engine can load (it needs ``info``), with an optional gate per token."""

    def __init__(self, *args, hold: threading.Event | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.info = ScriptedInfo()
        self.hold = hold

    def chat(self, messages, *, settings=None, cancel=None, on_token=None):
        if self.hold is not None:
            who = self.speaker(messages, on_token)
            if who == "Coder":
                # Hold the coder mid-step until the test lets go or the run is cancelled.
                while not self.hold.wait(0.01):
                    if cancel is not None and cancel.is_set():
                        break
        return super().chat(messages, settings=settings, cancel=cancel, on_token=on_token)


def coding_team_model(judge_score: int = 8, hold: threading.Event | None = None) -> TeamModel:
    return TeamModel(
        {
            "Architect": [final(PLAN)],
            "Coder": [final(CODE)],  # the plain first answer: no tool loop (the critic runs the code)
            "Tester": [final(CHECKS)],
        },
        judge_score=judge_score,
        hold=hold,
    )
