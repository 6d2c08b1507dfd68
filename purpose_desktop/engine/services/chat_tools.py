"""ChatTools: the MCP servers' tools in a chat — whether a chat offers them, which there are, and the reply that uses them.

A chat offers them only after the person turned it on for that chat (stored on the conversation). Calls go
through ``engine.mcp.access``: the same approval store and "always allow" memory Team roles use, the same
immune screening of the output. The reply loop itself is :mod:`purpose_desktop.engine.chat.tool_calls`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.chat import tool_calls

if TYPE_CHECKING:
    from purpose_desktop.engine.cancel import CancelToken
    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.models import GenerationSettings
    from purpose_desktop.engine.models.local import Reply
    from purpose_desktop.engine.store import Conversation


@dataclass(frozen=True)
class ChatToolsState:
    """What the chat's Tools switch shows: on or off here, and the tools there are to offer."""

    conversation_id: str | None
    enabled: bool
    tools: tuple[tuple[str, str, bool], ...]  # (server/tool, description, always allowed)

    @property
    def servers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(key.split("/", 1)[0] for key, _d, _a in self.tools))


class ChatTools:
    """``engine.chat_tools``: the chat pane's Tools switch and the reply that calls tools."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        #: How long one call may take before it fails with "did not answer" (the MCP client's default).
        from purpose_desktop.engine.mcp.client import CALL_TIMEOUT_S

        self.timeout_s = CALL_TIMEOUT_S

    def state(self, conversation_id: str | None) -> ChatToolsState:
        enabled = bool(conversation_id) and self._engine.store.get_conversation(conversation_id).mcp_tools
        tools = tuple(
            (f"{s.name}/{t.name}", t.description, t.always_allowed) for s in self._engine.mcp.servers() for t in s.tools
        )
        return ChatToolsState(conversation_id, bool(enabled), tools)

    def set_enabled(self, conversation_id: str, on: bool) -> ChatToolsState:
        """Offer (or stop offering) the tools in this chat; kept with the chat."""
        self._engine.store.set_conversation_mcp_tools(conversation_id, on)
        return self.state(conversation_id)

    def offered(self, conversation: Conversation, approve: Callable | None) -> list:
        """The tools this chat offers (none unless it is turned on); ``approve(ask, cancel)`` asks the person."""
        if not conversation.mcp_tools:
            return []
        access = self._engine.mcp.access(approve)
        access.timeout_s = self.timeout_s
        return access.tools()

    def reply(
        self,
        messages: list[dict],
        tools: list,
        *,
        settings: GenerationSettings,
        cancel: CancelToken,
        on_token: Callable[[str], None],
        on_call: Callable[[dict, Any], None],
    ) -> Reply:
        """The reply with ``tools`` offered (see tool_calls.answer_with_tools)."""
        return tool_calls.answer_with_tools(
            self._engine.model,
            messages,
            tools,
            settings=settings,
            cancel=cancel,
            on_token=on_token,
            on_call=on_call,
        )
