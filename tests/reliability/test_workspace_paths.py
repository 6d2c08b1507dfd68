"""The file tools' path battery (every case of test_file_tools_paths) through the project workspace's entry
points: a role's read_file reads through the session's overlay, its write_file only proposes, and the person's
Apply writes. Nothing outside the folder is read or written, a proposal writes nothing, and an applied
proposal lands only inside the folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.workspace import ProposalBook, WorkspaceSession, open_project
from purpose_desktop.engine.workspace.proposals import apply
from tests.reliability.sandbox_arena import tree_hash
from tests.reliability.test_file_tools_paths import CASES, REFUSE, SECRET, W, _layout

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="confined file access is POSIX-only")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_path_case_holds_through_the_workspace(tmp_path, case):
    root, outside = _layout(tmp_path)
    if case.setup:
        case.setup(root, outside)
    path = case.path
    if isinstance(path, str) and path.startswith("@outside"):
        path = str(outside) + path[len("@outside") :]
    with Store(tmp_path / "workspace.db") as store:
        project = open_project(root)
        reader, proposer = WorkspaceSession(project, store).tools()
        before_out, before_root = tree_hash(outside), tree_hash(root)
        if case.op == W:
            result = proposer.run({"path": path, "content": "new content\n"})
        else:
            result = reader.run({"path": path})
        assert SECRET not in result.output and SECRET not in str(result.data)
        assert tree_hash(outside) == before_out, "something outside the project changed"
        assert tree_hash(root) == before_root, "a read or a proposal changed the project"
        book = ProposalBook(store)
        if case.expect == REFUSE:
            assert not result.ok, f"{case.id}: the workspace did not refuse ({result.output[:200]})"
            assert result.error and "unexpectedly" not in result.error, f"{case.id}: {result.error}"
            assert book.list() == [], "a refused write left a proposal"
            return
        if case.op != W:
            return
        if not result.ok:  # refusing is always allowed; acting must stay inside
            assert book.list() == []
            return
        [proposal] = book.list()
        assert proposal.status == "proposed"
        try:
            applied = apply(book, project, proposal)
        except PurposeError:
            applied = None  # refused at apply time: nothing may have escaped either
        assert tree_hash(outside) == before_out, "applying wrote outside the project"
        if applied is not None and applied.status == "applied":
            written = Path(root, *[p for p in applied.path.split("/") if p])
            assert os.path.realpath(written).startswith(str(root) + os.sep)
            assert written.read_text() == "new content\n"
