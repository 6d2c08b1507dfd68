"""What really holds on each backend: a probe run inside the sandbox (once per backend, cached under
its own lock), choosing the backend, and describing every protection honestly."""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from purpose_desktop.engine.tools.base import ToolError
from purpose_desktop.engine.tools.sandbox.cgroups import _cgroup_support_cached, _forget_cgroup_support
from purpose_desktop.engine.tools.sandbox.launch import _python_mounts
from purpose_desktop.engine.tools.sandbox.limits import _SAFE_ENV, BACKEND_ENV, BACKENDS, PROTECTIONS, Limits
from purpose_desktop.engine.tools.sandbox.process import _execute

# Runs inside the sandbox once per backend to find out what really holds there.
PROBE = r"""
import json, os, resource, socket, sys
p = json.loads(sys.argv[1])
r = {}
try:
    socket.create_connection(("127.0.0.1", p["port"]), timeout=2).close()
    r["connected"] = True
except OSError:
    r["connected"] = False
try:
    with open("/proc/net/dev") as f:
        r["ifaces"] = [line.split(":")[0].strip() for line in f.read().splitlines()[2:]]
except OSError:
    r["ifaces"] = []
try:
    r["home_entries"] = sorted(os.listdir(p["home"]))
except OSError:
    r["home_entries"] = None
r["outside_visible"] = os.path.exists(p["outside"])
try:
    with open(os.path.join(p["outside"], "written-from-sandbox"), "w") as f:
        f.write("x")
    r["outside_writable"] = True
except OSError:
    r["outside_writable"] = False
try:
    with open("/proc/%d/stat" % p["ppid"]) as f:
        r["parent_stat"] = f.read()
except OSError:
    r["parent_stat"] = None
names = ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE")
r["rlimits"] = {n: resource.getrlimit(getattr(resource, n)) for n in names}
r["env"] = sorted(os.environ)
with open("/proc/self/status") as f:
    r["no_new_privs"] = any(line.split() == ["NoNewPrivs:", "1"] for line in f)
print(json.dumps(r))
"""


_lock = threading.Lock()  # guards _facts_cache only; the cgroup cache has its own
_facts_cache: dict[str, dict[str, Any]] = {}


def _available(backend: str) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    return backend == "plain" or shutil.which(backend) is not None


def _probe(backend: str) -> dict[str, Any]:
    """Run PROBE under ``backend`` and return what it saw, or {"ok": False, "error": …}."""
    if not _available(backend):
        return {"ok": False, "error": f"{backend} is not installed"}
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    outside = tempfile.mkdtemp(prefix="pd-probe-outside-")
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        params = {
            "port": listener.getsockname()[1],
            "home": os.path.realpath(Path.home()),
            "outside": outside,
            "ppid": os.getpid(),
        }
        raw = _execute(backend, ["-c", PROBE, json.dumps(params)], {}, Limits(timeout_s=20), None)
        listener.setblocking(False)
        accepted = 0
        while True:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, OSError):
                break
            conn.close()
            accepted += 1
        lines = raw.stdout.strip().splitlines()
        if raw.returncode != 0 or not lines:
            detail = (raw.stderr.strip().splitlines() or [f"exit code {raw.returncode}"])[-1]
            return {"ok": False, "error": f"{backend} does not work here: {detail[:300]}"}
        facts = json.loads(lines[-1])
        facts.update(ok=True, accepted=accepted, home=params["home"])
        return facts
    except (ToolError, ValueError, OSError) as exc:
        return {"ok": False, "error": f"{backend} does not work here: {exc}"}
    finally:
        listener.close()
        shutil.rmtree(outside, ignore_errors=True)


def reset_probes() -> None:
    """Forget cached probe results (e.g. after installing bubblewrap or changing HOME)."""
    with _lock:
        _facts_cache.clear()
    _forget_cgroup_support()


def backend_facts(backend: str) -> dict[str, Any]:
    """The cached probe result for ``backend`` (probed on first use)."""
    with _lock:
        cached = _facts_cache.get(backend)
    if cached is None:
        cached = _probe(backend)
        with _lock:
            cached = _facts_cache.setdefault(backend, cached)
    return cached


def select_backend() -> str:
    """The strongest backend that works here (``PURPOSE_DESKTOP_SANDBOX`` may force one)."""
    forced = os.environ.get(BACKEND_ENV, "").strip().lower()
    if forced:
        if forced not in BACKENDS:
            raise ToolError(
                f"{BACKEND_ENV}={forced!r} is not a sandbox backend", hint=f"use {', '.join(BACKENDS)}"
            )
        return forced
    for backend in BACKENDS:
        if backend_facts(backend).get("ok"):
            return backend
    return "plain"


def _own_stat_key() -> tuple[str, str]:
    text = Path("/proc/self/stat").read_text()
    rest = text[text.rfind(")") + 2 :].split()
    return text[: text.rfind(")") + 1], rest[19]  # "pid (comm)", start time


def _describe(
    backend: str, facts: dict[str, Any], limits: Limits, cgroup: str | None, nproc: bool
) -> dict[str, dict]:
    def entry(active: bool, how: str) -> dict[str, Any]:
        return {"active": bool(active), "how": how}

    if not facts.get("ok"):
        why = facts.get("error", "the sandbox probe failed")
        return {name: entry(False, why) for name in PROTECTIONS}
    p: dict[str, dict[str, Any]] = {}
    isolated = not facts["connected"] and facts["accepted"] == 0 and set(facts["ifaces"]) <= {"lo"}
    net_how = f"{backend}: own network namespace, loopback only"
    if backend == "unshare":
        net_how += " (Unix sockets in the visible file system are still reachable)"
    p["network_isolated"] = entry(isolated, net_how if isolated else "the host network is reachable")
    home = facts["home"]
    under_home = {
        os.path.relpath(m, home).split(os.sep)[0] for m in _python_mounts() if m.startswith(home + "/")
    }
    entries = facts["home_entries"]
    hidden = entries is None or set(entries) <= under_home
    how = "the home folder is not mounted" if hidden else f"{home} is readable"
    if hidden and entries:
        how += f" (except the Python installation under it, read-only: {', '.join(sorted(entries))})"
    p["home_hidden"] = entry(hidden, how)
    confined = not facts["outside_visible"] and not facts["outside_writable"]
    p["fs_confined"] = entry(
        confined,
        "only /usr and the interpreter are mounted, read-only; writes land only in the run folder and "
        "/tmp (both deleted afterwards) and /dev/shm"
        if confined
        else "the code can read and write wherever this user can",
    )
    parent_seen = facts["parent_stat"]
    own_name, own_start = _own_stat_key()
    seen_name = parent_seen[: parent_seen.rfind(")") + 1] if parent_seen else ""
    seen_start = parent_seen[parent_seen.rfind(")") + 2 :].split()[19] if parent_seen else ""
    hidden_procs = not parent_seen or (seen_name, seen_start) != (own_name, own_start)
    p["processes_hidden"] = entry(
        hidden_procs,
        "own PID namespace and /proc"
        if hidden_procs
        else "other processes (and this app's /proc) are visible",
    )
    allowed = set(_SAFE_ENV) | {"HOME", "TMPDIR", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PWD", "LC_CTYPE"}
    scrubbed = set(facts["env"]) <= allowed
    shown = ", ".join(sorted(set(_SAFE_ENV) | {"HOME", "TMPDIR", "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}))
    p["env_scrubbed"] = entry(
        scrubbed, f"only {shown}" if scrubbed else "unexpected variables reached the code"
    )
    rl = facts["rlimits"]
    mem = f"RLIMIT_AS {limits.memory_mb} MB per process"
    if cgroup and "memory" in cgroup:
        mem += f"; {cgroup} for the whole run"
    p["memory_limit"] = entry(rl["RLIMIT_AS"][0] not in (-1, None), mem)
    cpu_s = math.ceil(limits.timeout_s) + 1
    p["cpu_limit"] = entry(rl["RLIMIT_CPU"][0] not in (-1, None), f"RLIMIT_CPU {cpu_s} s per process")
    p["file_size_limit"] = entry(
        rl["RLIMIT_FSIZE"][0] not in (-1, None),
        f"RLIMIT_FSIZE {limits.file_size_mb} MB per file (the number of files is not capped)",
    )
    if cgroup and confined:
        p["process_limits"] = entry(True, f"{cgroup}; RLIMIT_NOFILE {limits.max_open_files}; no core dumps")
    elif cgroup:
        # The cgroup folders are in the file system the code sees, owned by this user: it can move
        # itself out of the run's cgroup and fork past pids.max.
        p["process_limits"] = entry(False, f"{cgroup}, but the code can move itself out of it")
    elif nproc:
        p["process_limits"] = entry(True, f"RLIMIT_NPROC (this user's tasks + {limits.max_processes})")
    else:
        why = "RLIMIT_NPROC is not enforced for root" if os.geteuid() == 0 else "the run's cgroup failed"
        p["process_limits"] = entry(False, f"no usable cgroup, and {why}")
    p["wall_clock_kill"] = entry(True, f"SIGKILL to the sandbox's process group after {limits.timeout_s:g} s")
    if backend in ("bwrap", "unshare"):
        tree = entry(True, f"{backend}: PID namespace — every process dies with the sandbox's init")
    elif cgroup:
        # Without a PID namespace the code runs as this user, who owns the cgroup folders too: it can
        # write its pid into another cgroup's cgroup.procs, kill the supervisor and outlive the run.
        tree = entry(
            False,
            f"best effort: every process left in the run's {cgroup.split(' (')[0]} is killed, but code "
            "can move itself out of it",
        )
    else:
        tree = entry(
            False, "best effort: a subreaper supervisor kills orphans, but code that kills it can escape"
        )
    p["process_tree_kill"] = tree
    nnp = bool(facts.get("no_new_privs"))
    p["no_privilege_gain"] = entry(
        nnp, "no_new_privs: setuid programs such as sudo cannot raise privileges" if nnp else "not set"
    )
    return p


def protections(backend: str | None = None, limits: Limits | None = None) -> dict[str, dict[str, Any]]:
    """Protection name → {"active": bool, "how": str} for ``backend`` (default: the one runs use).

    Computed from a real probe run inside the sandbox (cached per backend), never assumed.
    """
    name = backend or select_backend()
    limits = limits or Limits()
    support = _cgroup_support_cached()
    cgroup = None
    if support.version:
        applied = [f"pids.max={limits.max_processes}"]
        if support.version == 2 or "memory" in support.parents:
            applied.append(f"memory {limits.memory_mb} MB")
        cgroup = f"cgroup v{support.version} ({', '.join(applied)})"
    return _describe(name, backend_facts(name), limits, cgroup, nproc=cgroup is None and os.geteuid() != 0)
