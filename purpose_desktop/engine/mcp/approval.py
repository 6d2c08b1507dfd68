"""ToolCallAsk: one MCP tool call waiting for the person's answer (allow once, always allow, deny); Qt-free.

The engine thread builds it, hands it to whoever can ask the person (the GUI, across the bridge, as a
plain object) and blocks in :meth:`ToolCallAsk.wait` until :meth:`ToolCallAsk.answer` is called from
any thread, the run is cancelled (→ deny) or the wait times out (→ deny). Nothing runs unanswered.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from purpose_desktop.engine.cancel import CancelToken

ALLOW = "allow"  # this call only
ALWAYS = "always"  # this call, and every later call of the same tool without asking (kept in settings)
DENY = "deny"
DECISIONS = (ALLOW, ALWAYS, DENY)
#: How long a call waits for the person before it is treated as denied.
DEFAULT_WAIT_S = 600.0


@dataclass
class ToolCallAsk:
    """The question: may ``server``'s ``tool`` run with these ``arguments``? (``description`` is the tool's own.)"""

    server: str
    tool: str
    arguments: dict[str, Any]
    description: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    _event: threading.Event = field(default_factory=threading.Event, repr=False)
    _decision: str = field(default=DENY, repr=False)

    @property
    def key(self) -> str:
        """``server/tool``, the name "always allow" is remembered under."""
        return f"{self.server}/{self.tool}"

    def arguments_text(self) -> str:
        """The arguments as the person reads them (indented JSON)."""
        return json.dumps(self.arguments, indent=2, ensure_ascii=False, default=str)

    def answer(self, decision: str) -> None:
        """The person's answer (any thread); the first one counts."""
        if decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision!r}; use one of {DECISIONS}")
        if not self._event.is_set():
            self._decision = decision
            self._event.set()

    @property
    def answered(self) -> bool:
        return self._event.is_set()

    @property
    def decision(self) -> str:
        return self._decision

    def wait(self, cancel: CancelToken | None = None, timeout_s: float = DEFAULT_WAIT_S) -> str:
        """Block until answered; a cancelled run or a timeout answers DENY."""
        waited = 0.0
        while not self._event.wait(0.1):
            waited += 0.1
            if (cancel is not None and cancel.is_set()) or waited >= timeout_s:
                self.answer(DENY)
        return self._decision
