"""The Engine's services: everything the GUI worker and the CLI may ask of an Engine, one manager per area.

Each is built by :class:`~purpose_desktop.engine.core.Engine` and hung on it (Anki's ``col.decks`` style):
``engine.model_files``, ``engine.config``, ``engine.teams``, ``engine.runs``, ``engine.memories``,
``engine.diagnostics``, ``engine.replays`` (re-tests in the background), ``engine.mcp``, ``engine.workspace``
(the attached project folder). They name Engine only for typing.
"""

from __future__ import annotations

from purpose_desktop.engine.services.diagnostics import Diagnostics, PrivacyReport, Protection
from purpose_desktop.engine.services.mcp import McpManager, McpServerRow, McpToolRow
from purpose_desktop.engine.services.memories import MemoryDecision, MemoryList, MemoryManager
from purpose_desktop.engine.services.models import ModelFiles, ModelRow, ModelsReport, ModelSummary
from purpose_desktop.engine.services.replays import ReplayQueue, ReplayQueueStatus
from purpose_desktop.engine.services.runs import RunHistory
from purpose_desktop.engine.services.servers import RemoteServers, ServerRow
from purpose_desktop.engine.services.settings import ConfigManager, SettingsSnapshot
from purpose_desktop.engine.services.teams import TeamCatalog, TeamManager, TeamSummary
from purpose_desktop.engine.services.workspace import ProjectInfo, WorkspaceManager

__all__ = [
    "ConfigManager",
    "Diagnostics",
    "McpManager",
    "McpServerRow",
    "McpToolRow",
    "MemoryDecision",
    "MemoryList",
    "MemoryManager",
    "ModelFiles",
    "ModelRow",
    "ModelSummary",
    "ModelsReport",
    "PrivacyReport",
    "ReplayQueue",
    "ReplayQueueStatus",
    "ProjectInfo",
    "Protection",
    "RemoteServers",
    "RunHistory",
    "ServerRow",
    "SettingsSnapshot",
    "TeamCatalog",
    "TeamManager",
    "TeamSummary",
    "WorkspaceManager",
]
