"""Escape battery: hostile programs against the sandbox, judged by oracles the programs cannot fool.

The whole battery runs on a worker thread while a QTimer heartbeats on the GUI thread of a real
QApplication; the GUI thread must never stall for more than 250 ms. A case whose protections the chosen
backend does not provide on this machine is not run: it is reported as unprotected, and the app's own
report (``ExecResult.unprotected``) must name what is missing — never a silent pass.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field

import pytest

from purpose_desktop.engine.tools import sandbox
from purpose_desktop.engine.tools.base import ToolError
from purpose_desktop.engine.tools.sandbox import ExecResult, Limits, run_python
from tests.reliability.board import record
from tests.reliability.sandbox_arena import CANARY_ENV, MARK_VAR, Arena, survivors, tree_hash
from tests.reliability.sandbox_cases import CASES, Case

MAX_GUI_GAP_MS = 250.0
GRACE_S = 1.0  # how long a process may take to disappear after the run returned


@dataclass
class Outcome:
    case: str
    backend: str
    ran: bool
    problems: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0
    killed_reason: str | None = None
    lingering: int = 0


def _active(backend: str, case: Case) -> set[str]:
    limits = Limits(timeout_s=case.timeout_s, memory_mb=case.memory_mb, output_limit=case.output_limit)
    return {name for name, p in sandbox.protections(backend, limits).items() if p["active"]}


def run_case(arena: Arena, case: Case, backend: str) -> Outcome:
    missing = sorted(case.needs - _active(backend, case))
    if missing:
        return Outcome(case.id, backend, ran=False, missing=missing)
    arena.ensure_decoy()
    mark = os.urandom(8).hex()
    before = tree_hash(arena.home)
    counts_before = arena.listeners.snapshot()
    started = time.monotonic()
    try:
        result = run_python(
            case.program(arena.context()),
            timeout_s=case.timeout_s,
            memory_mb=case.memory_mb,
            output_limit=case.output_limit,
            env={MARK_VAR: mark},
            backend=backend,
        )
    except Exception as exc:  # noqa: BLE001 — run_python must never raise for what the code does
        result = ExecResult(None, "", "", False, None, 0.0)
        crash = f"run_python raised {type(exc).__name__}: {str(exc)[:200]}"
    else:
        crash = None
    elapsed = (time.monotonic() - started) * 1000
    out = Outcome(case.id, backend, ran=True, elapsed_ms=round(elapsed), killed_reason=result.killed_reason)
    if crash:
        out.problems.append(crash)
        arena.remove_run_folders()
    alive = survivors(mark)
    out.lingering = len(alive)
    give_up = time.monotonic() + GRACE_S
    while alive and time.monotonic() < give_up:
        time.sleep(0.05)
        alive = survivors(mark)
    if alive:
        out.problems.append(f"{len(alive)} process(es) survived the run: {alive[:5]}")
        for entry in alive:
            _kill(int(entry.split(":")[0]))
    leaks = arena.leaked(result.stdout + result.stderr)
    if leaks:
        out.problems.append(f"canary value(s) came back in the output: {leaks}")
    counts = arena.listeners.snapshot()
    contacted = {k: counts[k] - counts_before[k] for k in counts if counts[k] != counts_before[k]}
    if contacted:
        out.problems.append(f"host listeners were contacted: {contacted}")
    after = tree_hash(arena.home)
    if after != before:
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        out.problems.append(f"the home/project/database changed: {changed[:8]}")
    traces = arena.host_traces()
    if traces:
        out.problems.append(f"files appeared in the host's scratch folders: {traces}")
        arena.remove_traces()
    if not arena.decoy_alive():
        out.problems.append("another process of this user was killed")
    leftovers = arena.run_folders()
    if leftovers:
        out.problems.append(f"the run folder outlived the run: {leftovers}")
        arena.remove_run_folders()
    if case.expect is not None:
        problem = case.expect(result)
        if problem:
            out.problems.append(problem)
    return out


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def run_battery(arena: Arena, backend: str, cases=CASES) -> dict[str, Outcome]:
    return {case.id: run_case(arena, case, backend) for case in cases}


def heartbeat_while(work) -> tuple[float, int]:
    """Run ``work`` on a worker thread while a 10 ms QTimer ticks on this (the GUI) thread.

    Returns the largest gap between ticks in ms and the number of ticks.
    """
    from PySide6.QtCore import QEventLoop, QTimer

    errors: list[BaseException] = []

    def target() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 — re-raised on the test thread
            errors.append(exc)

    worker = threading.Thread(target=target, name="escape-battery")
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(10)
    state = {"last": time.monotonic(), "max": 0.0, "ticks": 0}

    def tick() -> None:
        now = time.monotonic()
        state["max"] = max(state["max"], now - state["last"])
        state["last"] = now
        state["ticks"] += 1
        if not worker.is_alive():
            loop.quit()

    timer.timeout.connect(tick)
    timer.start()
    worker.start()
    loop.exec()
    timer.stop()
    worker.join()
    if errors:
        raise errors[0]
    return state["max"] * 1000, state["ticks"]


@pytest.fixture(scope="module")
def arena(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        made = Arena(tmp_path_factory.mktemp("arena"))
        mp.setenv(CANARY_ENV, made.canaries["env"])  # in the app's environment: must never reach the code
        try:
            yield made
        finally:
            made.close()


@pytest.fixture(scope="module")
def default_battery(qapp, arena):
    backend = sandbox.select_backend()
    outcomes: dict[str, Outcome] = {}
    started = time.monotonic()
    gap_ms, ticks = heartbeat_while(lambda: outcomes.update(run_battery(arena, backend)))
    ran = [o for o in outcomes.values() if o.ran]
    record(
        "sandbox",
        backend=backend,
        cases=len(CASES),
        ran=len(ran),
        held=sum(not o.problems for o in ran),
        unprotected=sorted(o.case for o in outcomes.values() if not o.ran),
        max_gui_gap_ms=round(gap_ms, 1),
        heartbeat_ticks=ticks,
        lingering_after_return=sum(o.lingering for o in ran),
        wall_s=round(time.monotonic() - started, 1),
        slowest_ms=max((o.elapsed_ms for o in ran), default=0),
    )
    return backend, outcomes, gap_ms


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
    groups = {c.group for c in CASES}
    assert {"resources", "processes", "environment", "network", "files", "cleanup", "language"} <= groups


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_escape_case_is_contained(default_battery, case):
    backend, outcomes, _ = default_battery
    outcome = outcomes[case.id]
    if not outcome.ran:
        _report_unprotected(backend, outcome)
    assert not outcome.problems, f"{case.id} on {backend}: " + "; ".join(outcome.problems)


def test_gui_thread_never_stalls_while_the_battery_runs(default_battery):
    _, _, gap_ms = default_battery
    assert gap_ms < MAX_GUI_GAP_MS, f"the GUI thread stalled for {gap_ms:.0f} ms"


def _report_unprotected(backend: str, outcome: Outcome) -> None:
    """The app must say so itself: every run's result names the protections that are not in force."""
    result = run_python("print('ok')", backend=backend, timeout_s=10)
    assert set(outcome.missing) <= set(result.unprotected), (
        f"{outcome.case}: {outcome.missing} are missing on {backend} but the run's report says only "
        f"{result.unprotected}"
    )
    essential = set(result.unprotected) & set(sandbox.ESSENTIAL_PROTECTIONS)
    if essential:  # and were this the machine's best backend, nothing would run without approval
        with pytest.MonkeyPatch.context() as mp:
            mp.delenv(sandbox.BACKEND_ENV, raising=False)
            mp.delenv(sandbox.APPROVAL_ENV, raising=False)
            mp.setattr(sandbox, "select_backend", lambda: backend)
            mp.setattr(sandbox, "unprotected_approved", lambda: False)
            with pytest.raises(ToolError, match="not run"):
                run_python("print('ok')", timeout_s=10)
    pytest.skip(
        f"UNPROTECTED on {backend}: {outcome.case} needs {', '.join(outcome.missing)}; "
        "not run, and every result from this backend lists it as unprotected"
    )


def _working_backends() -> list[str]:
    return [b for b in sandbox.BACKENDS if sandbox.backend_facts(b).get("ok")]


@pytest.mark.slow
@pytest.mark.parametrize("backend", [b for b in sandbox.BACKENDS if b != "bwrap"])
def test_weaker_backends_hold_what_they_claim(arena, backend):
    """protections() must not overclaim: every case a weaker backend claims to cover is contained there."""
    if backend not in _working_backends():
        pytest.skip(f"UNPROTECTED: the {backend} backend does not work on this machine")
    outcomes = run_battery(arena, backend)
    ran = [o for o in outcomes.values() if o.ran]
    record(
        f"sandbox[{backend}]",
        ran=len(ran),
        held=sum(not o.problems for o in ran),
        unprotected=len(outcomes) - len(ran),
        missing=sorted({m for o in outcomes.values() for m in o.missing}),
    )
    broken = {o.case: o.problems for o in ran if o.problems}
    assert not broken, f"{backend} claims protections it does not provide: {broken}"
