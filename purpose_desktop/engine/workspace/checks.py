"""After an applied change: the project's own tests (pytest) in the sandbox, recorded as evidence on the run.

A sandbox that refuses (weak protections not approved, project too big to copy in) is "not run", never
"failed": it says nothing about the change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.critic import PYTEST_COUNTS
from purpose_desktop.engine.errors import InputError, PurposeError
from purpose_desktop.engine.store import now_iso
from purpose_desktop.engine.tools.base import ToolError
from purpose_desktop.engine.workspace.project import Project
from purpose_desktop.engine.workspace.proposals import APPLIED, PROPOSED, ProposalBook, apply

#: Files copied into the sandbox for the project's tests: code and the configuration pytest reads.
TEST_INPUT_SUFFIXES = (".py", ".toml", ".cfg", ".ini", ".txt", ".json", ".yaml", ".yml", ".pyi")
MAX_TEST_BYTES = 4_000_000  # under the sandbox's 5 MB input cap
TEST_TIMEOUT_S = 120.0
PASSED, FAILED, NOT_RUN, NO_TESTS = "passed", "failed", "not run", "no tests"


def run_project_tests(
    project: Project,
    *,
    cancel: CancelToken | None = None,
    runner: Callable[..., Any] | None = None,
    timeout_s: float = TEST_TIMEOUT_S,
) -> dict:
    """Run the project's pytest suite on a copy of its files in the sandbox.

    Returns ``{"status": passed|failed|not run|no tests, "passed", "failed", "output", "reason",
    "backend", "at"}``. Files are read through the project's confined reader (no symlinks, nothing
    outside the folder); unreadable or binary files are left out.
    """
    result: dict[str, Any] = {
        "status": NOT_RUN,
        "passed": 0,
        "failed": 0,
        "output": "",
        "reason": "",
        "backend": None,
    }
    result["at"] = now_iso()
    if not project.test_files():
        result.update(status=NO_TESTS, reason="the project has no test_*.py or *_test.py files")
        return result
    files: dict[str, str] = {}
    total = 0
    for rel in project.files():
        if not rel.endswith(TEST_INPUT_SUFFIXES):
            continue
        try:
            text = project.read(rel)
        except ToolError:
            continue
        total += len(text.encode("utf-8", "surrogatepass"))
        if total > MAX_TEST_BYTES:
            result["reason"] = (
                f"the project's code is larger than {MAX_TEST_BYTES:,} bytes; the sandbox takes less"
            )
            return result
        files[rel] = text
    if runner is None:
        from purpose_desktop.engine.tools.sandbox import run_python as runner
    try:
        res = runner(
            files=files,
            args=["-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header"],
            timeout_s=timeout_s,
            cancel=cancel,
        )
    except PurposeError as exc:  # the sandbox refused: no evidence either way
        result["reason"] = f"tests not run: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
        return result
    out = (res.stdout or "") + (res.stderr or "")
    counts = {"passed": 0, "failed": 0}
    for n, what in PYTEST_COUNTS.findall(out):
        counts["passed" if what == "passed" else "failed"] += int(n)
    result.update(output=out[-4000:], backend=getattr(res, "backend", None), **counts)
    if res.killed_reason == "cancelled":
        result["reason"] = "tests not run: cancelled"
    elif res.returncode == 5 and not counts["failed"]:
        result.update(status=NO_TESTS, reason="pytest collected no tests")
    elif res.timed_out:
        result.update(status=FAILED, reason=f"the tests did not finish within {timeout_s:.0f} s")
    elif res.returncode == 0 and counts["passed"]:
        result["status"] = PASSED
    else:
        if not counts["failed"]:
            counts["failed"] = result["failed"] = 1  # collection error or crash: nothing passed for real
        result.update(status=FAILED, reason=f"pytest exited with {res.returncode}")
    return result


def record_checks(store, run_id: str | None, proposal_ids: Iterable[str], checks: dict) -> None:
    """Store ``checks`` on the applied proposals and, when they came from a run, in that run's evidence."""
    ids = list(proposal_ids)
    ProposalBook(store).set_checks(ids, checks)
    if not run_id:
        return
    run = store.get_run(run_id)
    meta = dict(run.get("meta") or {})
    meta["workspace_checks"] = [*meta.get("workspace_checks", []), {**checks, "proposals": ids}]
    store.finish_run(run["id"], {"meta_json": json.dumps(meta)})


def apply_changes(
    store,
    project: Project,
    proposal_ids: Iterable[str],
    *,
    run_tests: bool = True,
    cancel: CancelToken | None = None,
    runner: Callable[..., Any] | None = None,
) -> dict:
    """Apply the proposals (each only if its file is unchanged since), then run the project's tests once.

    Returns ``{"applied": [Proposal], "stale": [Proposal], "checks": dict | None}``; the checks are
    recorded on the applied proposals and on their runs.
    """
    book = ProposalBook(store)
    proposals = [book.get(pid) for pid in proposal_ids]
    if not proposals:
        raise InputError("No change was chosen.", "Pick the changes to apply.")
    applied, stale = [], []
    for p in proposals:
        if p.status != PROPOSED:
            raise InputError(
                f"{p.path}: this change is already {p.status}.", "Only proposed changes can be applied."
            )
    for p in proposals:
        done = apply(book, project, p)
        (applied if done.status == APPLIED else stale).append(done)
    checks = None
    if applied and run_tests:
        checks = run_project_tests(project, cancel=cancel, runner=runner)
        by_run: dict[str | None, list[str]] = {}
        for p in applied:
            by_run.setdefault(p.run_id, []).append(p.id)
        for run_id, ids in by_run.items():
            record_checks(store, run_id, ids, checks)
        applied = [book.get(p.id) for p in applied]
    return {"applied": applied, "stale": stale, "checks": checks}


def reject_changes(store, proposal_ids: Iterable[str], reason: str = "") -> list:
    """Mark the proposals rejected; the folder is not touched."""
    book = ProposalBook(store)
    out = []
    for pid in proposal_ids:
        p = book.get(pid)
        if p.status != PROPOSED:
            raise InputError(
                f"{p.path}: this change is already {p.status}.", "Only proposed changes can be rejected."
            )
        out.append(book.decide(p.id, "rejected", reason or "rejected by the person"))
    return out
