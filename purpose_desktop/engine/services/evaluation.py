"""Evaluation: the person's fixed suite of tasks with tests, run in EVAL_TEST, recorded in an append-only log.

An evaluation runs every suite task on one team with the task's own tests given. Each run is in
``RunMode.EVAL_TEST``, so memories and traces stay byte-for-byte as they were; the only write is one
row appended to ``eval_log`` after the last task. Learning never reads that log.

Suite folder format (``import_folder``): every ``test_*.py`` file is one task. Its tests are ordinary
pytest tests that import the code under test from the module ``solution`` (``from solution import add``).
The task text is the sibling file with the same stem and ``.md`` or ``.txt`` (``test_add.md``), else
the test file's module docstring. The task's name is the stem without ``test_`` (``add``).
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.errors import InputError, ModelError
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import now_iso
from purpose_desktop.engine.store.evals import EvalRepo

if TYPE_CHECKING:
    from purpose_desktop.engine.cancel import CancelToken
    from purpose_desktop.engine.core import Engine

DEFAULT_PURPOSE = "Help me write Python code"
TASK_SUFFIXES = (".md", ".txt")


# -- the suite's format ---------------------------------------------------------------------------------
def checks_as_tests(checks: str) -> str:
    """A tester's plain asserts as a pytest file: set-up lines at the top, one test per assert.

    The checks ran against the solution's names already imported; the file does the same with
    ``from solution import *`` so it runs exactly as the checks did.
    """
    try:
        tree = ast.parse(checks or "")
    except SyntaxError as exc:
        raise InputError(
            f"These checks are not valid Python ({exc.msg}, line {exc.lineno}).",
            "Fix the line in the editor, then keep them.",
        ) from exc
    setup = [s for s in tree.body if not any(isinstance(n, ast.Assert) for n in ast.walk(s))]
    asserts = [s for s in tree.body if any(isinstance(n, ast.Assert) for n in ast.walk(s))]
    if not asserts:
        raise InputError("There are no assert statements to keep.", "Write at least one `assert …` line.")
    text = "\n".join(
        ["from solution import *  # noqa: F403 - the checks use the solution's names"]
        + [ast.unparse(x) for x in setup]
    )
    for n, stmt in enumerate(asserts, 1):
        body = "\n".join("    " + ln for ln in ast.unparse(stmt).splitlines())
        text += f"\n\n\ndef test_check_{n}():\n{body}"
    return text + "\n"


@dataclass
class FolderImport:
    """What ``import_folder`` found: tasks added (names) and files skipped, each with its reason."""

    added: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"added": list(self.added), "skipped": list(self.skipped)}


def read_suite_folder(folder: str | Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The tasks in ``folder`` (name, task, tests, origin) and the files skipped with why (see module doc)."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise InputError(f"{root} is not a folder.", "Pick the folder that holds the test_*.py files.")
    tasks, skipped = [], []
    files = sorted(root.glob("test_*.py"))
    if not files:
        raise InputError(
            f"{root} has no test_*.py files.",
            "Each suite task is a test_NAME.py (pytest tests importing `solution`) with its task in the "
            "module docstring or in test_NAME.md beside it.",
        )
    for path in files:
        try:
            tests = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            skipped.append({"file": path.name, "reason": f"cannot be read: {exc}"})
            continue
        try:
            tree = ast.parse(tests)
        except SyntaxError as exc:
            skipped.append({"file": path.name, "reason": f"not valid Python ({exc.msg}, line {exc.lineno})"})
            continue
        if not any(isinstance(n, ast.FunctionDef) and n.name.startswith("test") for n in tree.body):
            skipped.append({"file": path.name, "reason": "no test_… function in it"})
            continue
        task = ""
        for suffix in TASK_SUFFIXES:
            sibling = path.with_suffix(suffix)
            if sibling.is_file():
                task = sibling.read_text(encoding="utf-8").strip()
                break
        task = task or (ast.get_docstring(tree) or "").strip()
        if not task:
            skipped.append(
                {
                    "file": path.name,
                    "reason": f"no task text: add a module docstring or {path.stem}.md beside it",
                }
            )
            continue
        tasks.append(
            {"name": path.stem.removeprefix("test_"), "task": task, "tests": tests, "origin": str(path)}
        )
    return tasks, skipped


# -- running --------------------------------------------------------------------------------------------
def _passed(tests: dict | None) -> bool:
    """The task's own tests ran and every one passed."""
    if not tests or tests.get("source") != "given" or tests.get("refused"):
        return False
    return tests.get("passed", 0) > 0 and tests.get("failed", 0) == 0 and not tests.get("timed_out")


def promoted_memories(store) -> list[dict[str, str]]:
    """The promoted memories now (id, kind, a line of text): what the prompts could use in this evaluation."""
    rows = store.connection.query(
        "SELECT id, kind, substr(text, 1, 160) AS text FROM memories WHERE status = 'promoted' ORDER BY id"
    )
    return [{"id": r["id"], "kind": r["kind"], "text": " ".join(r["text"].split())} for r in rows]


def run_suite(
    store,
    team,
    *,
    model_name: str = "",
    progress: Callable[[dict], None] | None = None,
    cancel: CancelToken | None = None,
    tasks: list[dict[str, Any]] | None = None,
    record: bool = True,
) -> dict[str, Any]:
    """Run every suite task on ``team`` (a Team) in EVAL_TEST; append and return the evaluation's log entry.

    ``tasks`` (dicts with name, task, tests; default: the stored suite) and ``record=False`` (return the
    entry without appending it to the log) let a caller score a variant of a team, as role-prompt
    optimisation does, without it showing as one of the person's evaluations.
    """
    from purpose_desktop.engine.cancel import CancelToken

    cancel = cancel or CancelToken()
    repo = EvalRepo(store)
    tasks = repo.tasks() if tasks is None else tasks
    if not tasks:
        raise InputError(
            "The evaluation suite is empty.",
            "Keep a run's tests in the Team pane, or import a folder: `purpose-desktop eval import FOLDER`.",
        )
    team.learn = False
    started_at = now_iso()
    promoted = promoted_memories(store)
    results: list[dict[str, Any]] = []
    status = "complete"
    for n, task in enumerate(tasks):
        if cancel.is_set():
            status = "cancelled"
            break
        if progress is not None:
            progress(
                {
                    "done": n,
                    "total": len(tasks),
                    "name": task["name"],
                    "passed": sum(r["passed"] for r in results),
                }
            )
        t0 = time.perf_counter()
        try:
            result = team.run(task["task"], tests=task["tests"], mode=RunMode.EVAL_TEST, cancel=cancel)
        except Exception as exc:  # one broken task is that task's failure, recorded; the rest still run
            if isinstance(exc, ModelError):
                raise
            results.append(
                {
                    "task_id": task.get("id", task["name"]),
                    "name": task["name"],
                    "passed": False,
                    "grounded_by": "judge",
                    "score": None,
                    "tests": None,
                    "status": "error",
                    "error": str(exc),
                    "elapsed_ms": (time.perf_counter() - t0) * 1000,
                }
            )
            continue
        if result.status == "cancelled":
            status = "cancelled"
            break
        results.append(
            {
                "task_id": task.get("id", task["name"]),
                "name": task["name"],
                "passed": _passed(result.tests),
                "grounded_by": result.grounded_by,
                "score": result.score,
                "tests": {k: result.tests[k] for k in ("passed", "failed", "timed_out", "refused")}
                if result.tests
                else None,
                "status": result.status,
                "elapsed_ms": result.elapsed_ms,
            }
        )
    n_passed = sum(r["passed"] for r in results)
    n_grounded = sum(r["grounded_by"] == "given_tests" for r in results)
    entry = {
        "started_at": started_at,
        "status": status,
        "model": model_name,
        "team": team.name,
        "n_tasks": len(results),
        "n_passed": n_passed,
        "n_grounded": n_grounded,
        "pass_rate": (n_passed / len(results)) if results and status == "complete" else None,
        "promoted": promoted,
        "results": results,
    }
    if progress is not None:
        progress({"done": len(results), "total": len(tasks), "name": "", "passed": n_passed})
    return repo.append(entry) if record else entry


def curve(evaluations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Complete evaluations in time order, each with the memories promoted since the one before (and those gone).

    A point is grounded only when every task's tests really ran (a refused sandbox is not a failure).
    """
    points, before = [], None
    for ev in evaluations:
        if ev["status"] != "complete" or ev.get("pass_rate") is None:
            continue
        now = {m["id"]: m for m in ev.get("promoted") or []}
        prev = before or {}
        points.append(
            {
                "id": ev["id"],
                "started_at": ev["started_at"],
                "pass_rate": ev["pass_rate"],
                "n_tasks": ev["n_tasks"],
                "n_passed": ev["n_passed"],
                "grounded": ev["n_grounded"] == ev["n_tasks"] and ev["n_tasks"] > 0,
                "model": ev.get("model", ""),
                "team": ev.get("team", ""),
                "promoted_since": [m for k, m in now.items() if k not in prev] if before is not None else [],
                "retired_since": [m for k, m in prev.items() if k not in now],
            }
        )
        before = now
    return points


# -- the Engine's front door ----------------------------------------------------------------------------
class EvalManager:
    """``engine.evals``: the suite (list, keep, import, remove) and its evaluations (run, log, curve)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def _repo(self) -> EvalRepo:
        return EvalRepo(self._engine.store)

    def suite(self) -> list[dict[str, Any]]:
        return self._repo.tasks()

    def keep(self, name: str, task: str, tests: str, *, source: str = "kept", origin: str = "") -> dict:
        """Add (or replace, by name) a suite task; ``tests`` must at least parse."""
        try:
            ast.parse(tests)
        except SyntaxError as exc:
            raise InputError(
                f"These tests are not valid Python ({exc.msg}, line {exc.lineno}).",
                "Fix them, then keep them.",
            ) from exc
        return self._repo.add_task(name=name, task=task, tests=tests, source=source, origin=origin)

    def keep_checks(self, name: str, task: str, checks: str, *, origin: str = "") -> dict:
        """Keep a tester's plain asserts (as shown and edited in the Team pane) as the task's pytest tests."""
        return self.keep(name, task, checks_as_tests(checks), source="kept", origin=origin)

    def checks_as_tests(self, checks: str) -> str:
        return checks_as_tests(checks)

    def import_folder(self, folder: str | Path) -> FolderImport:
        tasks, skipped = read_suite_folder(folder)
        out = FolderImport(skipped=skipped)
        for t in tasks:
            self._repo.add_task(
                name=t["name"], task=t["task"], tests=t["tests"], source="imported", origin=t["origin"]
            )
            out.added.append(t["name"])
        return out

    def remove(self, name_or_id: str) -> dict:
        return self._repo.remove_task(name_or_id)

    def evaluations(self, limit: int = 500) -> list[dict[str, Any]]:
        return self._repo.evaluations(limit)

    def evaluation(self, eval_id: str | None = None) -> dict[str, Any]:
        if eval_id:
            return self._repo.evaluation(eval_id)
        evs = self._repo.evaluations(1)
        if not evs:
            raise InputError(
                "No evaluation has run yet.", "Run one with `purpose-desktop eval run` or Evaluate."
            )
        return evs[-1]

    def curve(self) -> list[dict[str, Any]]:
        return curve(self._repo.evaluations())

    def run(
        self,
        *,
        team_spec: dict | None = None,
        progress: Callable[[dict], None] | None = None,
        cancel: CancelToken | None = None,
        spark_options: dict | None = None,
    ) -> dict[str, Any]:
        """Evaluate the suite with the loaded model on ``team_spec`` (default: the Python coding team).

        ``spark_options`` (``max_tokens_per_step``, ``max_steps``) bound every role's step, as for a run.
        """
        from purpose_desktop.engine.agents.team import Team, TeamSpec, purpose

        engine = self._engine
        if engine.model is None:
            raise ModelError(
                "No model is loaded yet.", "Wait for the model to finish loading, then Evaluate."
            )
        if team_spec:
            team = Team(TeamSpec.from_dict(team_spec), model=engine.model, store=engine.store, learn=False)
        else:
            team = purpose(DEFAULT_PURPOSE, model=engine.model, store=engine.store, name="Python coding team")
        team.spark_options = dict(spark_options or {})
        policy = engine.memories.policy()  # the learning methods the person has on
        team.memory_policy = policy
        team.critic().calibrated = policy.uses("critic_calibration")
        name = getattr(engine.model, "display_name", "") or ""
        return run_suite(engine.store, team, model_name=name, progress=progress, cancel=cancel)
