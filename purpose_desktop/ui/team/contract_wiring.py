"""ContractWiring: connects the Team pane's ContractEditor to the team being edited and to the engine.

It reads the team's contract (saved text, the default made from the purpose and roles, and its state),
puts the person's edits into the spec, and after a save shows what became of the contract.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from purpose_desktop.ui.ops import EngineOp

if TYPE_CHECKING:
    from purpose_desktop.ui.team.pane import TeamPane


class ContractWiring:
    """The contract editor's side of the Team pane (the pane owns the spec, the dirty flag and the banner)."""

    def __init__(self, pane: TeamPane) -> None:
        self._pane = pane
        self.editor = pane.contract_editor
        self.editor.sig_changed.connect(self.on_edited)

    def on_edited(self) -> None:
        pane = self._pane
        if pane._spec is not None:
            pane._spec["contract"] = self.editor.text()
            pane._mark_dirty()

    def load(self) -> None:
        """Ask the engine for the team's contract and show it (unless another team was opened meanwhile)."""
        pane = self._pane
        spec = copy.deepcopy(pane._spec)
        EngineOp(pane, lambda e: e.teams.contract(spec), what="reading the team's contract").success(
            lambda c: (
                pane._spec is not None
                and pane._spec.get("id") == spec.get("id")
                and self.editor.set_contract(
                    pane._spec.get("contract") or c["text"],
                    c["default"],
                    "unsaved" if pane._dirty else c["status"],
                )
            )
        ).run(pane._bridge)

    def show_state(self, state: dict) -> None:
        """After a save: what became of the contract (promoted, or blocked and why)."""
        pane = self._pane
        if state.get("status") == "rejected":
            self.editor.set_contract(
                pane._spec.get("contract") or "",
                self.editor._default,
                "rejected",
                state.get("reason", ""),
            )
            pane.banner.show_message(
                "The immune scan blocked the team's contract, so no prompt uses it.",
                f"{state.get('reason', '')} Edit the contract and save again.".strip(),
            )
        elif state:
            self.editor.set_contract(state.get("text", ""), self.editor._default, state["status"])
