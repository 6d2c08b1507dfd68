"""Run untrusted Python in a separate, limited process and report honestly which protections held.

Three backends, best first: ``bwrap`` (bubblewrap: user, network, PID, IPC and UTS namespaces; only
/usr, the interpreter and the run folder are mounted), ``unshare`` (util-linux: user, network and PID
namespaces; the host file system stays visible) and ``plain`` (a process of its own under a subreaper
supervisor). Every backend gets a scrubbed environment, closed stdin, capped output, rlimits, a fresh
run folder that is deleted afterwards and a wall-clock kill; where this process may create one, a
cgroup caps and kills the whole process tree. ``protections()`` probes a backend for real (once) so
the app can show what is and is not in force, and every ExecResult lists what was missing.

The package is layered bottom to top, each module importing only those before it (an import-linter
contract keeps it so): ``limits`` (Limits, ExecResult, names, constants) → ``launch`` (command line,
mounts, rlimits, pre-exec, environment, run-folder removal) → ``cgroups`` (per-run cgroups, stale
leftovers) → ``process`` (one run: pipes, deadline, kill) → ``probe`` (what holds per backend, the
backend choice, protections) → this module (``run_python`` and the approval gate).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.tools.base import ToolError
from purpose_desktop.engine.tools.files import split_relative_path

# Private names the tests use; patch them in the submodule that reads them (launch, cgroups, process).
from purpose_desktop.engine.tools.sandbox.cgroups import _cgroup_support_cached as _cgroup_support_cached
from purpose_desktop.engine.tools.sandbox.cgroups import _CgroupSupport as _CgroupSupport
from purpose_desktop.engine.tools.sandbox.cgroups import remove_stale_leftovers
from purpose_desktop.engine.tools.sandbox.launch import SUPERVISOR
from purpose_desktop.engine.tools.sandbox.launch import _bwrap_argv as _bwrap_argv
from purpose_desktop.engine.tools.sandbox.launch import _python_argv as _python_argv
from purpose_desktop.engine.tools.sandbox.launch import _python_mounts as _python_mounts
from purpose_desktop.engine.tools.sandbox.limits import (
    BACKEND_ENV,
    BACKENDS,
    INSIDE_WORKDIR,
    MAIN_FILE,
    MAX_INPUT_BYTES,
    PROTECTIONS,
    RUN_DIR_PREFIX,
    ExecResult,
    Limits,
)
from purpose_desktop.engine.tools.sandbox.probe import (
    PROBE,
    _describe,
    backend_facts,
    protections,
    reset_probes,
    select_backend,
)
from purpose_desktop.engine.tools.sandbox.process import _execute

__all__ = [
    "APPROVAL_ENV",
    "BACKENDS",
    "BACKEND_ENV",
    "ESSENTIAL_PROTECTIONS",
    "INSIDE_WORKDIR",
    "MAIN_FILE",
    "MAX_INPUT_BYTES",
    "PROBE",
    "PROTECTIONS",
    "RUN_DIR_PREFIX",
    "SUPERVISOR",
    "ExecResult",
    "Limits",
    "backend_facts",
    "missing_essentials",
    "protections",
    "remove_stale_leftovers",
    "reset_probes",
    "run_python",
    "select_backend",
    "unprotected_approved",
]


#: Without these, code the model wrote could read the person's files or reach the network.
ESSENTIAL_PROTECTIONS = ("network_isolated", "home_hidden", "fs_confined")
APPROVAL_ENV = "PURPOSE_DESKTOP_ALLOW_UNPROTECTED"


def unprotected_approved() -> bool:
    """Has the person approved running code where the essential protections are missing?"""
    if os.environ.get(APPROVAL_ENV, "").strip().lower() in ("1", "true", "yes"):
        return True
    from purpose_desktop.engine.settings import load_settings

    return bool(getattr(load_settings(), "allow_unprotected_code", False))


def missing_essentials(backend: str | None = None) -> list[str]:
    prot = protections(backend)
    return [p for p in ESSENTIAL_PROTECTIONS if not prot.get(p, {}).get("active")]


def _require_approval_if_unprotected(backend: str) -> None:
    """Refuse to run model-written code unprotected unless the person approved it (never silently)."""
    missing = missing_essentials(backend)
    if missing and not unprotected_approved():
        raise ToolError(
            f"Code was not run: this machine cannot provide {', '.join(missing)} for the sandbox.",
            hint="Install bubblewrap (sudo apt-get install bubblewrap), or approve running code without "
            "these protections in Settings ▸ Privacy.",
        )


def run_python(
    code: str | None = None,
    files: Mapping[str, str] | None = None,
    args: Sequence[str] | None = None,
    *,
    timeout_s: float = 10.0,
    memory_mb: int = 512,
    output_limit: int = 64_000,
    cancel: CancelToken | None = None,
    env: Mapping[str, str] | None = None,
    backend: str | None = None,
) -> ExecResult:
    """Run Python in the sandbox and return what happened; never raises for what the code does.

    ``code`` is saved as ``main.py``; ``files`` (relative path → text) are written beside it; ``args``
    are the interpreter's arguments (default ``["main.py"]``), e.g. ``["-m", "pytest", "-q"]``.
    Raises ToolError only for unusable input or a sandbox that cannot start.
    """
    limits = Limits(timeout_s=timeout_s, memory_mb=memory_mb, output_limit=output_limit)
    all_files = dict(files or {})
    if code is not None:
        if not isinstance(code, str):
            raise ToolError("the code must be text")
        if MAIN_FILE in all_files:
            raise ToolError(f"give either code or a file named {MAIN_FILE}, not both")
        all_files[MAIN_FILE] = code
    for rel, text in all_files.items():
        split_relative_path(rel)
        if not isinstance(text, str) or "\x00" in text:
            raise ToolError(f"{rel}: file content must be text without NUL bytes")
    if sum(len(t.encode("utf-8", "surrogatepass")) for t in all_files.values()) > MAX_INPUT_BYTES:
        raise ToolError(f"the code and files are larger than {MAX_INPUT_BYTES:,} bytes")
    if args is None:
        if MAIN_FILE not in all_files:
            raise ToolError(
                "nothing to run", hint=f"give code, a {MAIN_FILE} file, or args such as ['-m', 'pytest']"
            )
        args = [MAIN_FILE]
    if isinstance(args, str) or not all(isinstance(a, str) and "\x00" not in a for a in args):
        raise ToolError("args must be a list of text arguments for the Python interpreter")
    name = backend or select_backend()
    if name not in BACKENDS:
        raise ToolError(f"unknown sandbox backend {name!r}", hint=f"use {', '.join(BACKENDS)}")
    facts = backend_facts(name)
    if not facts.get("ok"):
        raise ToolError(facts.get("error", f"the {name} sandbox does not work here"))
    if backend is None and not os.environ.get(BACKEND_ENV):
        _require_approval_if_unprotected(name)
    raw = _execute(name, list(args), all_files, limits, cancel, env)
    prot = _describe(name, facts, limits, raw.cgroup, raw.nproc)
    return ExecResult(
        returncode=raw.returncode,
        stdout=raw.stdout,
        stderr=raw.stderr,
        timed_out=raw.killed_reason == "timeout",
        killed_reason=raw.killed_reason,
        elapsed_ms=raw.elapsed_ms,
        protections=prot,
        backend=name,
    )
