"""MCP tools in the chat pane: the composer's Tools switch, and each call of a reply shown as a card —
its arguments, the person's Approve / Always allow / Deny while it waits, then its result (or why there is none).

``ChatToolActions`` is a mixin of ChatPane beside ChatActions; the cards live in each MessageWidget
(``widget.tool_calls``), fed from the stored ``meta["tool_calls"]`` and, while a reply streams, from the
bridge's ``sig_chat_tool_call_changed``.
"""

from __future__ import annotations

import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from purpose_desktop.engine.mcp import ALLOW, ALWAYS, DENY
from purpose_desktop.ui.ops import EngineOp

SHORTCUT = "Ctrl+Shift+M"
#: Most characters of a result a card shows (the whole of it is in the stored record).
SHOWN_OUTPUT = 1500

_STATUS_TEXT = {
    "awaiting_approval": "needs your approval",
    "running": "running…",
    "done": "done",
    "withheld": "output withheld",
    "denied": "denied",
    "failed": "failed",
    "cancelled": "stopped",
    "interrupted": "interrupted",
}
_APPROVAL_TEXT = {ALLOW: "you allowed it once", ALWAYS: "always allowed", DENY: "you denied it"}


def _mono_font():
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class ToolCallCard(QFrame):
    """One call: "tool · server", a status badge, the exact arguments, and then the answer buttons or the result."""

    #: (decision) the person answered this card's question.
    sig_answered = Signal(str)

    def __init__(self, record: dict, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolCallCard")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.record: dict = {}
        self.ask = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 10)
        layout.setSpacing(6)
        head = QHBoxLayout()
        head.setSpacing(8)
        self.title = QLabel("", objectName="toolCallTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.badge = QLabel("", objectName="toolCallBadge")
        head.addWidget(self.title)
        head.addWidget(self.badge)
        head.addStretch(1)
        layout.addLayout(head)
        self.arguments = QLabel("", objectName="toolCallArgs")
        self.arguments.setFont(_mono_font())
        self.arguments.setWordWrap(True)
        self.arguments.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.arguments)
        self.question = QLabel(
            "The model wants to run this tool with these arguments. Its output is checked by the safety "
            "scan before the model reads it.",
            objectName="toolCallNote",
        )
        self.question.setWordWrap(True)
        layout.addWidget(self.question)
        row = QHBoxLayout()
        row.setSpacing(6)
        self.approve_button = QPushButton("&Approve", objectName="primaryButton")
        self.approve_button.setToolTip("Run it this time (Alt+A)")
        self.always_button = QPushButton("A&lways allow this tool", objectName="secondaryButton")
        self.deny_button = QPushButton("&Deny", objectName="secondaryButton")
        self.deny_button.setToolTip("Do not run it; the model is told you said no (Alt+D)")
        for button, decision in (
            (self.approve_button, ALLOW),
            (self.always_button, ALWAYS),
            (self.deny_button, DENY),
        ):
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.clicked.connect(lambda _=False, d=decision: self.answer(d))
            row.addWidget(button)
        row.addStretch(1)
        self.buttons = QWidget()
        self.buttons.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.buttons)
        self.result = QLabel("", objectName="toolCallOutput")
        self.result.setFont(_mono_font())
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.result)
        self.note = QLabel("", objectName="toolCallNote")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.note)
        self.show_record(record)

    def show_record(self, record: dict, ask=None, *, live: bool = True) -> None:
        """Show the call as ``record`` says; ``ask`` is the open question (None: nothing to answer)."""
        self.record = dict(record)
        self.ask = ask if ask is not None and not ask.answered else None
        status = str(record.get("status") or "")
        if not live and status in ("awaiting_approval", "running"):
            status = "interrupted"  # the app closed (or the reply failed) before it ended
        tool, server = str(record.get("tool") or record.get("name") or "?"), str(record.get("server") or "")
        self.title.setText(
            f"⚒ {_esc(tool)}" + (f" <span style='font-weight:400'>· MCP server {_esc(server)}</span>" if server else "")
        )
        self.badge.setText(_STATUS_TEXT.get(status, status))
        self.setProperty("state", status)
        self.badge.setProperty("state", status)
        for w in (self, self.badge, self.note):  # the note's colour follows the card's state
            w.style().unpolish(w)
            w.style().polish(w)
        args = record.get("arguments") or {}
        self.arguments.setText(json.dumps(args, indent=2, ensure_ascii=False) if args else "(no arguments)")
        waiting = self.ask is not None
        self.question.setVisible(waiting)
        self.buttons.setVisible(waiting)
        if waiting:
            self.always_button.setToolTip(
                f"Run {record.get('key', tool)} now and from now on without asking (Alt+L); "
                "undo it in Settings ▸ Tools"
            )
        output, note = self._outcome(status, record)
        self.result.setText(output)
        self.result.setVisible(bool(output))
        self.note.setText(note)
        self.note.setVisible(bool(note))

    @staticmethod
    def _outcome(status: str, record: dict) -> tuple[str, str]:
        approval = _APPROVAL_TEXT.get(str(record.get("approval") or ""), "")
        took = f" in {record['elapsed_ms'] / 1000:.1f} s" if isinstance(record.get("elapsed_ms"), int | float) else ""
        if status == "done":
            text = str(record.get("output") or "")
            shown = text if len(text) <= SHOWN_OUTPUT else text[:SHOWN_OUTPUT] + f"\n… ({len(text) - SHOWN_OUTPUT:,} more characters)"
            redacted = record.get("redacted")
            extra = f" Credentials were redacted ({', '.join(redacted)})." if redacted else ""
            return shown or "(no output)", (
                f"Ran{took} ({approval}). The model read this as quoted data, not as instructions.{extra}"
            )
        if status == "withheld":
            return "", (
                f"Ran{took}, but the safety scan flagged its output ({record.get('reason', '')}), so the model "
                "never saw it. The flagged text is not kept."
            )
        if status == "denied":
            why = "you denied it" if record.get("approval") == DENY else "no one could approve it"
            return "", f"Not run: {why}. The model was told and answered without it."
        if status == "failed":
            hint = str(record.get("hint") or "")
            return "", f"{record.get('error', 'The call failed.')}" + (f"\n{hint}" if hint else "")
        if status == "cancelled":
            return "", "Stopped before it finished; nothing it returned reached the model."
        if status == "interrupted":
            return "", "Interrupted: the reply ended before this call did."
        if status == "running":
            return "", f"Running ({approval})…" if approval else "Running…"
        return "", ""

    def answer(self, decision: str) -> None:
        """The person's answer (the engine thread is waiting on the question)."""
        if self.ask is None:
            return
        self.ask.answer(decision)
        self.ask = None
        self.question.hide()
        self.buttons.hide()
        self.note.setText({DENY: "Denied — telling the model…"}.get(decision, "Approved — running…"))
        self.note.show()
        self.sig_answered.emit(decision)


class ToolCallsView(QWidget):
    """The cards of one reply's tool calls, in order (hidden when it made none)."""

    #: (decision) a card was answered.
    sig_answered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolCalls")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 2, 0, 4)
        self._layout.setSpacing(6)
        self._cards: dict[str, ToolCallCard] = {}
        self.hide()

    def cards(self) -> list[ToolCallCard]:
        return list(self._cards.values())

    def pending(self) -> ToolCallCard | None:
        return next((c for c in self._cards.values() if c.ask is not None), None)

    def set_calls(self, records, *, live: bool) -> None:
        """Show the stored calls (``meta["tool_calls"]``); ``live`` while the reply is still being written."""
        records = [r for r in records if isinstance(r, dict) and r.get("id")] if isinstance(records, list) else []
        keep = {r["id"] for r in records}
        for rid in [rid for rid in self._cards if rid not in keep]:
            card = self._cards.pop(rid)
            self._layout.removeWidget(card)
            card.deleteLater()
        for record in records:  # the cards already shown are updated in place (no flicker)
            self.update_call(record, None, live=live)
        self.setVisible(bool(self._cards))

    def update_call(self, record: dict, ask=None, *, live: bool = True) -> ToolCallCard:
        card = self._cards.get(record["id"])
        if card is None:
            card = ToolCallCard(record, self)
            card.sig_answered.connect(self.sig_answered)
            self._cards[record["id"]] = card
            self._layout.addWidget(card)
            card.show()
        card.show_record(record, ask, live=live)
        self.show()
        return card


class ToolsButton(QToolButton):
    """The composer's switch: offer the MCP servers' tools in this chat (off by default)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("toolsToggle")
        self.setCheckable(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.tools: tuple = ()
        self.show_state(False, ())

    def show_state(self, on: bool, tools: tuple) -> None:
        self.tools = tuple(tools)
        self.setChecked(on)
        n = len(self.tools)
        self.setText(f"⚒ Tools · {n}" if on else "⚒ Tools")
        if not n:
            tip = "No MCP tools yet: add an MCP server in Settings ▸ Tools, then offer its tools here"
        else:
            listing = "\n".join(f"• {key}" + (" (always allowed)" if always else "") for key, _d, always in self.tools[:12])
            more = f"\n… and {n - 12} more" if n > 12 else ""
            tip = (
                ("This chat offers these tools" if on else "Offer these tools to the model in this chat")
                + f" ({SHORTCUT}); each call needs your approval unless always allowed:\n{listing}{more}"
            )
        self.setToolTip(tip)


class ChatToolActions:
    """The Tools switch and the live tool-call cards, for ChatPane (see the module docstring)."""

    tools_button: ToolsButton

    def _build_tools_button(self) -> ToolsButton:
        self.tools_button = ToolsButton()
        self.tools_button.clicked.connect(lambda checked: self.set_tools_enabled(checked))
        self._tools_pending = False  # a new chat's choice, sent with its first message
        QShortcut(QKeySequence(SHORTCUT), self, self.toggle_tools)
        self._bridge.sig_chat_tool_call_changed.connect(self._on_tool_call_changed)
        self._tools_refresh(None)  # which tools there are (runs once the engine has started)
        return self.tools_button

    @property
    def tools_enabled(self) -> bool:
        return self.tools_button.isChecked()

    def toggle_tools(self) -> None:
        self.set_tools_enabled(not self.tools_enabled)

    def set_tools_enabled(self, on: bool) -> None:
        """Offer (or stop offering) the MCP tools in the chat on screen; kept with the chat."""
        cid = self._current_id
        if on and not self.tools_button.tools:
            self.tools_button.show_state(False, ())
            self._tools_refresh(cid)  # servers may have been added since
            self.sig_status.emit("No MCP tools to offer: add an MCP server in Settings ▸ Tools first.", 5000)
            return
        if cid is None:
            self._tools_pending = on
            self.tools_button.show_state(on, self.tools_button.tools)
            self.sig_status.emit("This new chat will offer your MCP tools." if on else "Tools off for this new chat.", 3000)
            return
        EngineOp(self, lambda e: e.chat_tools.set_enabled(cid, on), what="switching this chat's tools").success(
            lambda state: self._on_tools_state(state, announce=True)
        ).failure(self.show_error).run(self._bridge)

    def take_pending_tools(self) -> bool:
        pending, self._tools_pending = self._tools_pending, False
        return pending

    def _tools_chat_changed(self, conversation) -> None:
        """A chat was opened (or a new one started: None): show its choice, and the tools there are now."""
        if conversation is None:
            self._tools_pending = False
        self.tools_button.show_state(bool(getattr(conversation, "mcp_tools", False)), self.tools_button.tools)
        self._tools_refresh(conversation.id if conversation is not None else None)

    def _tools_refresh(self, cid: str | None) -> None:
        # Quietly: the switch keeps what it showed, and an engine that did not start already says why.
        EngineOp(self, lambda e: e.chat_tools.state(cid), what="reading this chat's tools").success(
            self._on_tools_state
        ).failure(lambda _err: None).run(self._bridge)

    def _on_tools_state(self, state, announce: bool = False) -> None:
        if state.conversation_id != self._current_id:
            return  # the person moved on
        on = state.enabled if state.conversation_id else self._tools_pending
        self.tools_button.show_state(on, state.tools)
        conv = self.list_model.get(state.conversation_id) if state.conversation_id else None
        if conv is not None and conv.mcp_tools != state.enabled:
            from dataclasses import replace

            self.list_model.upsert(replace(conv, mcp_tools=state.enabled))
        if announce:
            self.sig_status.emit(
                f"This chat offers {len(state.tools)} MCP tool{'s' if len(state.tools) != 1 else ''}; "
                "each call asks you first." if state.enabled else "This chat no longer offers MCP tools.",
                4000,
            )

    def _on_tool_call_changed(self, request_id: str, update) -> None:
        stream = self._stream
        if stream is None or stream.request.id != request_id:
            return
        stream.tool_calls[update.record["id"]] = (update.record, update.ask)
        if stream.widget is not None:
            self._show_tool_call(stream.widget, update.record, update.ask)

    def _show_tool_call(self, widget, record: dict, ask) -> None:
        card = widget.tool_calls.update_call(record, ask)
        widget.set_status("streaming", widget.meta)
        if ask is not None and not ask.answered:
            self.sig_status.emit(f"The model wants to call {record.get('tool')} — approve or deny it in the chat.", 0)
            self.messages.ensureWidgetVisible(card)
        elif record.get("status") == "running":
            self.sig_status.emit(f"Running {record.get('tool')} on the MCP server {record.get('server')}…", 0)
        else:
            self.sig_status.emit(f"The call to {record.get('tool')} ended: {card.badge.text()}.", 4000)
