"""WorkspaceManager: the project folder chat and teams are attached to, its proposals, checks and rules.

``engine.workspace``: Open Folder… (and the recent projects list), the proposed changes a team run or a
chat reply made there, applying (then the project's tests in the sandbox) or rejecting them, the
project's rules files offered as lessons, and what chat is told about the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from purpose_desktop.engine.errors import InputError

if TYPE_CHECKING:
    from purpose_desktop.engine.cancel import CancelToken
    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.store import Message
    from purpose_desktop.engine.workspace import Project

MAX_RECENT = 8


@dataclass(frozen=True)
class ProjectInfo:
    """The attached project as the GUI shows it."""

    root: str
    name: str
    files: int
    rules_files: tuple[str, ...]
    test_files: int
    pending: int  # proposals waiting for the person

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class WorkspaceManager:
    """``engine.workspace``: at most one attached project; every write through it is a proposal."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.current: Project | None = None

    # -- attaching ----------------------------------------------------------------------------------
    def open(self, path: str) -> ProjectInfo:
        """Attach chat and teams to the folder at ``path``; it goes to the top of the recent projects."""
        from purpose_desktop.engine.workspace import open_project

        project = open_project(path)
        self.current = project
        recent = [project.key, *(p for p in self._engine.settings.recent_projects if p != project.key)]
        self._engine.config.update({"recent_projects": recent[:MAX_RECENT]})
        return self.info()

    def close(self) -> None:
        """Detach: chat and teams work without a project folder again."""
        self.current = None

    def info(self) -> ProjectInfo | None:
        from purpose_desktop.engine.workspace import ProposalBook

        project = self.current
        if project is None:
            return None
        pending = ProposalBook(self._engine.store).list(project=project.key, status="proposed")
        return ProjectInfo(
            project.key,
            project.name,
            len(project.files()),
            tuple(project.rules_files()),
            len(project.test_files()),
            len(pending),
        )

    def recent(self) -> list[str]:
        return list(self._engine.settings.recent_projects)

    def require(self) -> Project:
        if self.current is None:
            raise InputError("No project folder is open.", "Open one with File ▸ Open Folder… (Ctrl+O).")
        return self.current

    # -- proposals ----------------------------------------------------------------------------------
    def proposals(
        self, *, run_id: str | None = None, message_id: str | None = None, status: str | None = None
    ) -> list[dict]:
        """Proposals (with their diffs) of a run, a chat reply, or the attached project."""
        from purpose_desktop.engine.workspace import ProposalBook

        project = None
        if run_id is None and message_id is None:
            project = self.require().key
        found = ProposalBook(self._engine.store).list(
            run_id=run_id, message_id=message_id, project=project, status=status
        )
        return [p.to_dict() for p in found]

    def apply(self, proposal_ids, *, run_tests: bool = True, cancel: CancelToken | None = None) -> dict:
        """Apply the chosen proposals to the attached project, then run its tests (see checks.apply_changes)."""
        from purpose_desktop.engine.workspace import apply_changes

        report = apply_changes(
            self._engine.store, self.require(), list(proposal_ids), run_tests=run_tests, cancel=cancel
        )
        return {
            "applied": [p.to_dict() for p in report["applied"]],
            "stale": [p.to_dict() for p in report["stale"]],
            "checks": report["checks"],
        }

    def reject(self, proposal_ids, reason: str = "") -> list[dict]:
        from purpose_desktop.engine.workspace import reject_changes

        return [p.to_dict() for p in reject_changes(self._engine.store, list(proposal_ids), reason)]

    # -- lessons -------------------------------------------------------------------------------------
    def offer_rules(self) -> list[dict]:
        """The project's rules files, each rule a candidate lesson scoped to the project (once)."""
        from purpose_desktop.engine.memory.records import MemoryPolicy
        from purpose_desktop.engine.workspace import offer_rules

        policy = MemoryPolicy(auto_promote=False)
        return [o.to_dict() for o in offer_rules(self._engine.store, self.require(), policy)]

    # -- chat ----------------------------------------------------------------------------------------
    def chat_note(self, text: str) -> str:
        """What chat is told about the attached project (empty without one); see workspace.chat."""
        from purpose_desktop.engine.workspace.chat import chat_note

        return chat_note(self.current, text) if self.current is not None else ""

    def after_reply(self, message: Message) -> dict | None:
        """The reply's ``File: path`` + code block pairs as proposals under the message (see workspace.chat)."""
        from purpose_desktop.engine.workspace.chat import propose_from_reply

        if self.current is None or message.role != "assistant":
            return None
        return propose_from_reply(
            self.current, self._engine.store, message.content or "", message_id=message.id
        )
