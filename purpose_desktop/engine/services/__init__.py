"""The Engine's services: everything the GUI worker and the CLI may ask of an Engine, one manager per area.

Each is built by :class:`~purpose_desktop.engine.core.Engine` and hung on it (Anki's ``col.decks`` style):
``engine.model_files``, ``engine.config``, ``engine.teams``, ``engine.runs``, ``engine.memories``,
``engine.diagnostics``. They name Engine only for typing.
"""

from __future__ import annotations

from purpose_desktop.engine.services.diagnostics import Diagnostics, PrivacyReport, Protection
from purpose_desktop.engine.services.memories import MemoryDecision, MemoryList, MemoryManager
from purpose_desktop.engine.services.models import ModelFiles, ModelRow, ModelsReport, ModelSummary
from purpose_desktop.engine.services.runs import RunHistory
from purpose_desktop.engine.services.servers import RemoteServers, ServerRow
from purpose_desktop.engine.services.settings import ConfigManager, SettingsSnapshot
from purpose_desktop.engine.services.teams import TeamCatalog, TeamManager, TeamSummary

__all__ = [
    "ConfigManager",
    "Diagnostics",
    "MemoryDecision",
    "MemoryList",
    "MemoryManager",
    "ModelFiles",
    "ModelRow",
    "ModelSummary",
    "ModelsReport",
    "PrivacyReport",
    "Protection",
    "RemoteServers",
    "RunHistory",
    "ServerRow",
    "SettingsSnapshot",
    "TeamCatalog",
    "TeamManager",
    "TeamSummary",
]
