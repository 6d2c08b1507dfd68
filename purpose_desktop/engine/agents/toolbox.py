"""tools_by_name: the tool objects a role's template names ("python", "calculator", "files", "vault")."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from purpose_desktop.engine.workspace import Project, WorkspaceSession, open_project

TOOL_NAMES = ("python", "calculator", "files", "vault")


def tools_by_name(
    names: Iterable[str], workspace: WorkspaceSession | Path | None = None, store=None, mcp=None
) -> list:
    """Fresh tool objects for the names in a role template; unknown names raise ValueError.

    ``vault`` searches the person's Vault in ``store`` (the default database when None); its
    flagged passages never reach the agent. ``mcp:server/tool`` names come from ``mcp`` (an McpAccess;
    None: the servers in the settings, with nobody to approve calls), see engine/mcp. ``files`` needs a
    ``workspace`` (a project session, or a folder: proposals then stay in memory): reads are confined
    to it and a write is only ever a proposal the person applies or rejects — an agent never writes a
    file itself.
    """
    from purpose_desktop.engine.tools import CalculatorTool, PythonExecTool

    out: list = []
    for name in names:
        if name == "calculator":
            out.append(CalculatorTool())
        elif name == "python":
            out.append(PythonExecTool())
        elif name in ("files", "read_file", "write_file"):
            if workspace is None:
                continue  # file tools need a declared root; a role without a workspace gets none
            if not isinstance(workspace, WorkspaceSession):
                workspace = WorkspaceSession(workspace if isinstance(workspace, Project) else open_project(workspace))
            wanted = ("read_file", "write_file") if name == "files" else (name,)
            have = {t.name for t in out}
            out += [t for t in workspace.tools(wanted) if t.name not in have]
        elif name.startswith("mcp:"):
            from purpose_desktop.engine.mcp import McpAccess

            if mcp is None:
                mcp = McpAccess.from_settings()
            out.append(mcp.tool(name))
        elif name == "vault":
            from purpose_desktop.engine.vault import Vault

            out.append(Vault(store).as_tool())
        else:
            raise ValueError(f"unknown tool {name!r}: use {', '.join(TOOL_NAMES)}")
    return out
