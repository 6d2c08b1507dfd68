"""McpManager: the MCP servers whose tools roles may use — add (listing their tools), refresh, remove, "always allow"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from purpose_desktop.engine.errors import InputError

if TYPE_CHECKING:
    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.mcp import McpAccess

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class McpToolRow:
    name: str  # the tool's own name on its server
    role_name: str  # what a role lists: mcp:server/tool
    description: str
    always_allowed: bool


@dataclass(frozen=True)
class McpServerRow:
    name: str
    transport: str  # "stdio" | "http"
    target: str  # the command line, or the URL
    tools: tuple[McpToolRow, ...]
    leaves_computer: bool  # an HTTP server on another host: what a tool is sent leaves this computer


class McpManager:
    """``engine.mcp``: what Settings ▸ Tools and the Team pane ask about MCP servers."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- reading --------------------------------------------------------------------------------
    def servers(self) -> tuple[McpServerRow, ...]:
        from purpose_desktop.engine.mcp.client import describe, role_tool_name, tool_key

        settings = self._engine.settings
        always = set(settings.mcp_always_allow)
        rows = []
        for s in settings.mcp_servers:
            tools = tuple(
                McpToolRow(
                    t["name"],
                    role_tool_name(s["name"], t["name"]),
                    str(t.get("description") or ""),
                    tool_key(s["name"], t["name"]) in always,
                )
                for t in s.get("tools") or []
            )
            url = s.get("url")
            rows.append(
                McpServerRow(
                    s["name"],
                    "http" if url else "stdio",
                    describe(s),
                    tools,
                    bool(url) and not is_loopback(url),
                )
            )
        return tuple(rows)

    def role_tools(self) -> tuple[tuple[str, str], ...]:
        """(role tool name, label) for the Team builder's tool list, from the tools listed last."""
        return tuple((t.role_name, f"{t.name} ({s.name})") for s in self.servers() for t in s.tools)

    # -- changing -------------------------------------------------------------------------------
    def add(
        self, name: str, *, command: str = "", args: list[str] | tuple[str, ...] = (), url: str = ""
    ) -> tuple[McpServerRow, ...]:
        """Connect to the server, list its tools and keep it; nothing is saved when it cannot be reached."""
        from purpose_desktop.engine.mcp import list_tools
        from purpose_desktop.engine.settings import MCP_SERVER_NAME

        name, command, url = (name or "").strip(), (command or "").strip(), (url or "").strip()
        if not MCP_SERVER_NAME.match(name):
            raise InputError(
                f"{name!r} cannot name an MCP server.",
                'Use up to 40 letters, digits, ".", "_" or "-", starting with a letter or digit.',
            )
        if any(s["name"] == name for s in self._engine.settings.mcp_servers):
            raise InputError(
                f"There is already an MCP server named {name!r}.", "Pick another name, or remove it first."
            )
        if bool(command) == bool(url):
            raise InputError(
                "Give the server's command (stdio) or its URL (streamable HTTP), not both.",
                "For example the command python with arguments -m my_server, or http://127.0.0.1:8000/mcp.",
            )
        if url and urlsplit(url).scheme not in ("http", "https"):
            raise InputError(
                f"{url!r} is not an http(s) URL.",
                "Streamable-HTTP servers have URLs like http://127.0.0.1:8000/mcp.",
            )
        server: dict[str, Any] = {"name": name}
        if url:
            server["url"] = url
        else:
            server.update(command=command, args=[str(a) for a in args])
        server["tools"] = list_tools(server)
        self._save(mcp_servers=[*self._engine.settings.mcp_servers, server])
        return self.servers()

    def refresh(self, name: str) -> tuple[McpServerRow, ...]:
        """List the server's tools again (a tool that went away stays ticked in roles, and says so when run)."""
        from purpose_desktop.engine.mcp import list_tools

        servers = [dict(s) for s in self._engine.settings.mcp_servers]
        server = self._find(servers, name)
        server["tools"] = list_tools(server)
        self._save(mcp_servers=servers)
        return self.servers()

    def remove(self, name: str) -> tuple[McpServerRow, ...]:
        """Forget the server and its "always allow" choices."""
        settings = self._engine.settings
        self._find([dict(s) for s in settings.mcp_servers], name)
        self._save(
            mcp_servers=[s for s in settings.mcp_servers if s["name"] != name],
            mcp_always_allow=[k for k in settings.mcp_always_allow if not k.startswith(f"{name}/")],
        )
        return self.servers()

    def set_always_allow(self, server: str, tool: str, on: bool) -> tuple[McpServerRow, ...]:
        from purpose_desktop.engine.mcp import tool_key

        key = tool_key(server, tool)
        keys = [k for k in self._engine.settings.mcp_always_allow if k != key]
        self._save(mcp_always_allow=[*keys, key] if on else keys)
        return self.servers()

    def access(self, ask: Callable | None = None) -> McpAccess:
        """The servers for one run: calls not marked "always allow" go to ``ask`` (None: they do not run)."""
        from purpose_desktop.engine.mcp import McpAccess

        return McpAccess.from_settings(
            self._engine.settings,
            ask=ask,
            remember=lambda key: self.set_always_allow(*key.split("/", 1), True),
        )

    def _find(self, servers: list[dict], name: str) -> dict:
        for s in servers:
            if s["name"] == name:
                return s
        raise InputError(
            f"There is no MCP server named {name!r}.", "Pick one from the list in Settings ▸ Tools."
        )

    def _save(self, **changes) -> None:
        self._engine.config.update(changes)


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.")
