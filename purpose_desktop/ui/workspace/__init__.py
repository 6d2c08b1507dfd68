"""The project workspace in the window: the Project menu (Open Folder…, recent projects), proposed-change diffs."""

from __future__ import annotations

from purpose_desktop.ui.workspace.controller import ProjectController
from purpose_desktop.ui.workspace.diff_view import DiffView, diff_html
from purpose_desktop.ui.workspace.proposals import ProposalCard, ProposalsPanel

__all__ = ["DiffView", "ProjectController", "ProposalCard", "ProposalsPanel", "diff_html"]
