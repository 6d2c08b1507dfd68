"""MCP both ways, on the official ``mcp`` SDK: other servers' tools for roles (client) and ``purpose-desktop mcp``.

``client``: connect to a configured MCP server (stdio command or streamable-HTTP URL), list its tools, and
wrap each as a :class:`~purpose_desktop.engine.tools.base.Tool` whose every call needs the person's
approval (or their "always allow") and whose output passes the immune scan before a prompt sees it.
``approval``: the Qt-free question a call puts to the person. ``server``: the stdio server exposing
approved memories, the Vault, lesson proposals (quarantined, never promoted) and the sandbox.
"""

from __future__ import annotations

from purpose_desktop.engine.mcp.approval import ALLOW, ALWAYS, DECISIONS, DENY, ToolCallAsk
from purpose_desktop.engine.mcp.client import (
    MCP_PREFIX,
    McpAccess,
    McpError,
    McpTool,
    call_tool,
    list_tools,
    tool_key,
)

__all__ = [
    "ALLOW",
    "ALWAYS",
    "DECISIONS",
    "DENY",
    "MCP_PREFIX",
    "McpAccess",
    "McpError",
    "McpTool",
    "ToolCallAsk",
    "call_tool",
    "list_tools",
    "tool_key",
]
