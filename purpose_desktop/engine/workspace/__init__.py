"""Project workspace: a folder a chat or a team is attached to; writes become proposals the person decides.

Modules: project (the folder, its files and rules files, confined reads), proposals (stored proposals,
unified diffs, the proposing ``write_file`` tool, apply), checks (the project's tests in the sandbox after
an applied change, recorded on the run), lessons (rules files → candidate lessons scoped to the project).
"""

from __future__ import annotations

from purpose_desktop.engine.workspace.checks import apply_changes, reject_changes, run_project_tests
from purpose_desktop.engine.workspace.lessons import RuleOffer, offer_rules, parse_rules, project_rules
from purpose_desktop.engine.workspace.project import RULES_FILES, Project, open_project
from purpose_desktop.engine.workspace.proposals import (
    Proposal,
    ProposalBook,
    ProposeWriteTool,
    WorkspaceSession,
    unified_diff,
)

__all__ = [
    "RULES_FILES",
    "Project",
    "Proposal",
    "ProposalBook",
    "ProposeWriteTool",
    "RuleOffer",
    "WorkspaceSession",
    "apply_changes",
    "offer_rules",
    "open_project",
    "parse_rules",
    "project_rules",
    "reject_changes",
    "run_project_tests",
    "unified_diff",
]
