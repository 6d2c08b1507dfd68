"""MCP client: list and call another server's tools (stdio or streamable HTTP) and offer them to roles as Tools.

Every call opens a session with the SDK's own transports (``stdio_client`` / ``streamable_http_client``
+ ``ClientSession``), runs, and closes it: no server process outlives the call that needed it. An
:class:`McpTool` runs only after the person allowed it (once, or "always" for that tool), and its output
passes the immune scan before any prompt sees it: injection is withheld with the reason, credentials are
redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.mcp.approval import ALLOW, ALWAYS, DENY, ToolCallAsk
from purpose_desktop.engine.tools.base import Tool, ToolResult

log = logging.getLogger(__name__)

#: Role tool names for MCP tools are ``mcp:<server>/<tool>``.
MCP_PREFIX = "mcp:"
CONNECT_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 120.0
MAX_OUTPUT_CHARS = 20_000

#: ``ask(question, cancel) -> "allow" | "always" | "deny"``: puts one call to the person.
AskFn = Callable[[ToolCallAsk, CancelToken | None], str]


class McpError(PurposeError):
    """An MCP server could not be reached, listed or called; the message names the server."""


def tool_key(server: str, tool: str) -> str:
    """``server/tool``: how "always allow" remembers a tool."""
    return f"{server}/{tool}"


def role_tool_name(server: str, tool: str) -> str:
    """The name a role lists (and the model picks): ``mcp:server/tool``."""
    return f"{MCP_PREFIX}{server}/{tool}"


def split_role_tool_name(name: str) -> tuple[str, str]:
    body = name[len(MCP_PREFIX) :] if name.startswith(MCP_PREFIX) else ""
    server, _, tool = body.partition("/")
    if not server or not tool:
        raise McpError(f"{name!r} is not an MCP tool name.", "MCP tools are named mcp:<server>/<tool>.")
    return server, tool


def describe(server: Mapping[str, Any]) -> str:
    """Where a server is: its URL, or its command line."""
    if server.get("url"):
        return str(server["url"])
    return " ".join([str(server.get("command", "")), *map(str, server.get("args") or [])]).strip()


# -- one session per call ----------------------------------------------------------------------------
@asynccontextmanager
async def _session(server: Mapping[str, Any], errlog):
    from mcp import ClientSession, StdioServerParameters, stdio_client

    if server.get("url"):
        from mcp.client.streamable_http import streamable_http_client

        transport = streamable_http_client(str(server["url"]))
    else:
        params = StdioServerParameters(
            command=str(server["command"]),
            args=[str(a) for a in server.get("args") or []],
            env={str(k): str(v) for k, v in (server.get("env") or {}).items()} or None,
        )
        transport = stdio_client(params, errlog=errlog)
    async with transport as streams, ClientSession(streams[0], streams[1]) as session:
        with _timeout(CONNECT_TIMEOUT_S):
            await session.initialize()
        yield session


def _timeout(seconds: float):
    import anyio

    return anyio.fail_after(seconds)


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _run(
    server: Mapping[str, Any],
    work: Callable[[Any], Awaitable[Any]],
    *,
    what: str,
    timeout_s: float,
    cancel: CancelToken | None = None,
) -> tuple[bool, Any]:
    """Open a session on ``server``, ``await work(session)``; (False, None) when ``cancel`` stopped it.

    Runs its own event loop (on a helper thread when this thread already has one); raises McpError
    with the server's own last words (its stderr) when something fails.
    """
    import anyio

    name = server.get("name", "?")
    outcome: dict[str, Any] = {}

    async def main(errlog) -> None:
        async with anyio.create_task_group() as tg:

            async def watch() -> None:
                while not (cancel is not None and cancel.is_set()):
                    await anyio.sleep(0.05)
                tg.cancel_scope.cancel()

            async def run() -> None:
                with anyio.fail_after(timeout_s):
                    async with _session(server, errlog) as session:
                        outcome["value"] = await work(session)
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            tg.start_soon(run)

    def go() -> None:
        with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errlog:
            try:
                anyio.run(main, errlog)
            except BaseException as exc:  # noqa: BLE001 — every failure becomes one clear McpError
                errlog.seek(0)
                said = errlog.read().strip().splitlines()[-3:]
                outcome["error"] = (_leaf(exc), " / ".join(said))

    if _loop_running():
        thread = threading.Thread(target=go, name=f"mcp-{name}", daemon=True)
        thread.start()
        thread.join()
    else:
        go()
    if "error" in outcome:
        exc, said = outcome["error"]
        if isinstance(exc, TimeoutError):
            message = f"The MCP server {name!r} did not answer {what} within {timeout_s:.0f} s."
        elif isinstance(exc, FileNotFoundError | PermissionError):
            message = f"The MCP server {name!r} could not be started: {exc}."
        else:
            message = f"The MCP server {name!r} failed {what}: {type(exc).__name__}: {exc}"
        hint = f"It said: {said}" if said else f"Check that {describe(server)!r} is a working MCP server."
        raise McpError(message, hint) from exc
    if "value" not in outcome:
        return False, None
    return True, outcome["value"]


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def list_tools(server: Mapping[str, Any], *, timeout_s: float = CONNECT_TIMEOUT_S) -> list[dict]:
    """The server's tools as ``{"name", "description", "input_schema"}`` (all pages)."""

    async def work(session) -> list[dict]:
        tools: list[dict] = []
        cursor = None
        for _ in range(100):  # a paginator that never ends cannot hang the app
            from mcp.types import PaginatedRequestParams

            page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
            for tool in page.tools:
                schema = dict(tool.input_schema or {})
                tools.append(
                    {
                        "name": tool.name,
                        "description": (tool.description or "").strip(),
                        "input_schema": schema if schema.get("type") == "object" else {"type": "object"},
                    }
                )
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    _, tools = _run(server, work, what="listing its tools", timeout_s=timeout_s)
    return tools


def call_tool(
    server: Mapping[str, Any],
    tool: str,
    arguments: Mapping[str, Any],
    *,
    timeout_s: float = CALL_TIMEOUT_S,
    cancel: CancelToken | None = None,
) -> tuple[bool, str] | None:
    """Call ``tool``; (is_error, text of its content) — None when ``cancel`` stopped it first."""

    async def work(session):
        return await session.call_tool(tool, dict(arguments))

    finished, result = _run(server, work, what=f"calling {tool}", timeout_s=timeout_s, cancel=cancel)
    if not finished:
        return None
    return bool(result.is_error), _content_text(result)


def _content_text(result) -> str:
    parts: list[str] = []
    for block in result.content or []:
        text = getattr(block, "text", None)
        if isinstance(text, str):
            parts.append(text)
        else:
            parts.append(f"[{getattr(block, 'type', 'content')} omitted: only text reaches the model]")
    if not parts and result.structured_content is not None:
        import json

        parts.append(json.dumps(result.structured_content, ensure_ascii=False, default=str))
    return "\n".join(parts)


# -- tools for roles ----------------------------------------------------------------------------------
class McpTool(Tool):
    """One tool of an MCP server, callable by a role after the person allows it; output immune-scanned."""

    def __init__(self, access: McpAccess, server: Mapping[str, Any], spec: Mapping[str, Any]) -> None:
        self._access = access
        self.server = dict(server)
        self.tool = str(spec["name"])
        self.name = role_tool_name(self.server["name"], self.tool)  # type: ignore[misc]
        described = str(spec.get("description") or "").strip() or f"the {self.tool} tool"
        self.description = f"{described} (MCP server {self.server['name']})"  # type: ignore[misc]
        schema = spec.get("input_schema") or {"type": "object"}
        self.parameters = dict(schema) if isinstance(schema, Mapping) else {"type": "object"}  # type: ignore[misc]

    @property
    def key(self) -> str:
        return tool_key(self.server["name"], self.tool)

    def execute(self, args: Mapping[str, Any], cancel: CancelToken | None) -> ToolResult:
        return self.call_approved(args, cancel, self.decide(args, cancel))

    def decide(
        self,
        args: Mapping[str, Any],
        cancel: CancelToken | None,
        on_ask: Callable[[ToolCallAsk], None] | None = None,
    ) -> str:
        """ALLOW, ALWAYS or DENY for this call (see McpAccess.decide); ``on_ask`` hears the question first,
        only when the person is actually asked (not for a tool they always allow)."""
        ask = ToolCallAsk(self.server["name"], self.tool, dict(args), self.description)
        return self._access.decide(ask, cancel, on_ask=on_ask)

    def call_approved(self, args: Mapping[str, Any], cancel: CancelToken | None, decision: str) -> ToolResult:
        """Run the call the person answered with ``decision`` (DENY runs nothing); output screened.

        McpError when the server cannot be reached, fails or does not answer within the access's timeout.
        """
        if decision == DENY:
            reason = f"Not run: you did not allow {self.key} to run with these arguments."
            return ToolResult(ok=False, output=reason, data={"approval": DENY, "ran": False}, error=reason)
        answer = call_tool(self.server, self.tool, args, cancel=cancel, timeout_s=self._access.timeout_s)
        if answer is None:
            return ToolResult(ok=False, output="Cancelled.", data={"cancelled": True}, error="cancelled")
        is_error, text = answer
        return self._screened(is_error, text, decision)

    def _screened(self, is_error: bool, text: str, decision: str) -> ToolResult:
        """What may reach the prompt: injection is withheld (with why), credentials are redacted."""
        from purpose_desktop.engine.immune import scan
        from purpose_desktop.engine.immune.redact import redact

        text = text[:MAX_OUTPUT_CHARS]
        report = scan(text, context="vault")
        data: dict[str, Any] = {"approval": decision, "ran": True, "server": self.server["name"]}
        if report.blocked:
            first = next(f for f in report.reasons if f.blocking)
            # The reason names the rule, never the excerpt: the excerpt is the attack.
            reason = (
                f"Withheld: the output of {self.key} was flagged by the immune scan "
                f"({first.category}: {first.message}) and did not reach the model."
            )
            data.update(withheld=True, scan=report.to_dict())
            return ToolResult(ok=False, output=reason, data=data, error=reason)
        cleaned = redact(text)
        if cleaned:
            data["redacted"] = cleaned.kinds
        if is_error:
            message = f"{self.key} reported an error: {cleaned.text.strip() or 'no details'}"
            return ToolResult(ok=False, output=message, data=data, error=message)
        return ToolResult(ok=True, output=cleaned.text, data=data)


class McpAccess:
    """The configured MCP servers for one run, and who decides whether a call runs.

    ``always`` holds ``server/tool`` keys the person let run without asking; ``ask`` puts any other call
    to the person (None: nobody can be asked here, so such calls do not run); ``remember`` keeps an
    "always allow" answer (in the settings).
    """

    def __init__(
        self,
        servers: Sequence[Mapping[str, Any]],
        *,
        always: Iterable[str] = (),
        ask: AskFn | None = None,
        remember: Callable[[str], None] | None = None,
        timeout_s: float = CALL_TIMEOUT_S,
    ) -> None:
        self.servers = {str(s["name"]): dict(s) for s in servers}
        self.always = set(always)
        self.ask = ask
        self.remember = remember
        self.timeout_s = timeout_s
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings=None, **kwargs) -> McpAccess:
        if settings is None:
            from purpose_desktop.engine.settings import load_settings

            settings = load_settings()
        return cls(settings.mcp_servers, always=settings.mcp_always_allow, **kwargs)

    def tool(self, name: str) -> McpTool:
        """The Tool for a role's ``mcp:server/tool`` name, from the tools listed when the server was added."""
        server_name, tool = split_role_tool_name(name)
        server = self.servers.get(server_name)
        if server is None:
            raise McpError(
                f"The MCP server {server_name!r} (for the tool {name}) is not set up.",
                "Add it again in Settings ▸ Tools, or untick the tool in the role.",
            )
        spec = next((t for t in server.get("tools") or [] if t.get("name") == tool), None)
        if spec is None:
            raise McpError(
                f"The MCP server {server_name!r} has no tool {tool!r} (as last listed).",
                "Press Refresh tools in Settings ▸ Tools, or untick the tool in the role.",
            )
        return McpTool(self, server, spec)

    def tools(self) -> list[McpTool]:
        """Every listed tool of every configured server."""
        return [
            self.tool(role_tool_name(n, t["name"]))
            for n, s in self.servers.items()
            for t in s.get("tools") or []
        ]

    def decide(
        self,
        ask: ToolCallAsk,
        cancel: CancelToken | None,
        on_ask: Callable[[ToolCallAsk], None] | None = None,
    ) -> str:
        """ALLOW, ALWAYS or DENY for one call; asks the person unless they chose "always allow".

        ``on_ask`` hears the question just before the person is asked (a chat shows it as a card).
        """
        with self._lock:
            if ask.key in self.always:
                return ALWAYS
        if self.ask is None:
            log.info("MCP call %s not run: nobody to ask for approval", ask.key)
            return DENY
        if on_ask is not None:
            on_ask(ask)
        decision = self.ask(ask, cancel)
        if decision not in (ALLOW, ALWAYS):
            return DENY
        if decision == ALWAYS:
            with self._lock:
                self.always.add(ask.key)
            if self.remember is not None:
                with contextlib.suppress(PurposeError):  # the call still runs; only the memory of it failed
                    self.remember(ask.key)
        return decision
