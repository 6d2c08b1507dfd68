"""Run untrusted Python in a separate, limited process and report honestly which protections held.

Three backends, best first: ``bwrap`` (bubblewrap: user, network, PID, IPC and UTS namespaces; only
/usr, the interpreter and the run folder are mounted), ``unshare`` (util-linux: user, network and PID
namespaces; the host file system stays visible) and ``plain`` (a process of its own under a subreaper
supervisor). Every backend gets a scrubbed environment, closed stdin, capped output, rlimits, a fresh
run folder that is deleted afterwards and a wall-clock kill; where this process may create one, a
cgroup caps and kills the whole process tree. ``protections()`` probes a backend for real (once) so
the app can show what is and is not in force, and every ExecResult lists what was missing.
"""

from __future__ import annotations

import ctypes
import errno
import json
import math
import os
import resource
import selectors
import shutil
import signal
import site
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.tools.base import ToolError
from purpose_desktop.engine.tools.files import split_relative_path
from purpose_desktop.sandbox_python import FLAG as FROZEN_PYTHON_FLAG

BACKENDS = ("bwrap", "unshare", "plain")
BACKEND_ENV = "PURPOSE_DESKTOP_SANDBOX"  # force one backend, e.g. where bwrap misbehaves
MAIN_FILE = "main.py"
RUN_DIR_PREFIX = "pd-sandbox-"  # + owner pid + "-" + random: stale ones can be told apart
INSIDE_WORKDIR = "/sandbox"  # where bwrap mounts the run folder
MAX_INPUT_BYTES = 5_000_000
PROTECTIONS = (
    "network_isolated",
    "home_hidden",
    "fs_confined",
    "processes_hidden",
    "env_scrubbed",
    "memory_limit",
    "cpu_limit",
    "file_size_limit",
    "process_limits",
    "wall_clock_kill",
    "process_tree_kill",
    "no_privilege_gain",
)
_SAFE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "dumb", "NO_COLOR": "1"}
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH", "COOKIE", "SESSION")
# -E -s (no PYTHON* variables, no user site) but not -P: the run folder must stay importable so that
# tests can ``from solution import f``.
_PYTHON_FLAGS = ("-E", "-s", "-B", "-X", "utf8")
_MB = 1024 * 1024

# Parent of the user's code for the unshare and plain backends. As a child subreaper it inherits
# every orphan (double-forked, setsid'd daemons included) and kills them all once the main process
# ends or SIGTERM arrives; it exits 128+N when the main process died of signal N, as bwrap does.
SUPERVISOR = r"""
import ctypes, os, signal, sys
class Stop(Exception):
    pass
def on_term(signum, frame):
    raise Stop()
def children():
    me = str(os.getpid()).encode()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/" + name + "/stat", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            fields = data[data.rfind(b")") + 2:].split()
            if len(fields) > 1 and fields[1] == me:
                found.append(int(name))
    return found
def kill_all():
    while True:
        for pid in children():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
signal.signal(signal.SIGTERM, on_term)
if os.getppid() == 1:
    os._exit(128 + signal.SIGKILL)  # the app died before this started: run nothing
argv = sys.argv[1:]
main = os.fork()
if main == 0:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
status = None
try:
    while status is None:
        pid, st = os.waitpid(-1, 0)
        if pid == main:
            status = st
except (Stop, ChildProcessError):
    pass
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if status is None:
    try:
        os.kill(main, signal.SIGKILL)
    except OSError:
        pass
kill_all()
if status is None:
    os._exit(128 + signal.SIGKILL)
if os.WIFSIGNALED(status):
    os._exit(128 + os.WTERMSIG(status))
os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)
"""

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


@dataclass(frozen=True)
class Limits:
    """Resource limits for one run. Memory and file size are per process; processes count the tree."""

    timeout_s: float = 10.0
    memory_mb: int = 512
    output_limit: int = 64_000
    file_size_mb: int = 64
    max_open_files: int = 256
    max_processes: int = 64

    def __post_init__(self) -> None:
        if not 0 < self.timeout_s <= 3600:
            raise ToolError("the time limit must be between 0 and 3600 seconds")
        if self.memory_mb < 64 or self.output_limit < 100:
            raise ToolError("the memory limit must be at least 64 MB and the output limit 100 bytes")


@dataclass(frozen=True)
class ExecResult:
    """What a sandboxed run did. ``returncode`` is 128+N when the code died of signal N."""

    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    # None, or "timeout" | "cancelled" | "output_limit" | "cpu_limit" | "file_size_limit" | "killed"
    killed_reason: str | None
    elapsed_ms: float
    protections: dict[str, dict[str, Any]] = field(default_factory=dict)
    backend: str = "plain"

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.killed_reason is None

    @property
    def unprotected(self) -> list[str]:
        return [name for name, p in self.protections.items() if not p["active"]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "returncode": self.returncode,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "timed_out": self.timed_out,
            "killed_reason": self.killed_reason,
            "elapsed_ms": self.elapsed_ms,
            "backend": self.backend,
            "protections": self.protections,
            "unprotected": self.unprotected,
        }


# ---------------------------------------------------------------------------------------------- cgroups


@dataclass(frozen=True)
class _CgroupSupport:
    version: int  # 0 = none usable, 1 = legacy hierarchies, 2 = unified
    parents: dict[str, str]  # controller → folder we may create children in (v2: one entry, "unified")
    reason: str


def _cgroup_support() -> _CgroupSupport:
    """Find a cgroup folder this process may create per-run children in, with a pids controller."""
    try:
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split(" - ") for line in f.read().splitlines() if " - " in line]
        with open("/proc/self/cgroup") as f:
            memberships = [line.split(":", 2) for line in f.read().splitlines()]
    except OSError:
        return _CgroupSupport(0, {}, "no /proc cgroup information")

    def folder(fstype: str, controller: str | None) -> str | None:
        for left, right in mounts:
            lf, rf = left.split(), right.split()
            if rf[0] != fstype or (controller and controller not in rf[-1].split(",")):
                continue
            for _, names, path in memberships:
                if (controller is None and names == "") or (controller and controller in names.split(",")):
                    rel = os.path.relpath(path, lf[3]) if path.startswith(lf[3]) else None
                    if rel is not None:
                        return os.path.normpath(os.path.join(lf[4], rel))
        return None

    unified = folder("cgroup2", None)
    if unified:
        try:
            with open(os.path.join(unified, "cgroup.subtree_control")) as f:
                enabled = f.read().split()
        except OSError:
            enabled = []
        if "pids" in enabled and _can_create_child(unified, "pids.max"):
            return _CgroupSupport(2, {"unified": unified}, "")
    pids = folder("cgroup", "pids")
    if pids and _can_create_child(pids, "pids.max"):
        parents = {"pids": pids}
        memory = folder("cgroup", "memory")
        if memory and _can_create_child(memory, "memory.limit_in_bytes"):
            parents["memory"] = memory
        return _CgroupSupport(1, parents, "")
    return _CgroupSupport(0, {}, "no writable cgroup with a pids controller")


def _remove_stale_cgroups(parent: str) -> None:
    """Kill what is left in per-run cgroups of an app process that no longer exists (crash, kill -9),
    then remove them: anything in such a cgroup is sandboxed code nobody is watching."""
    try:
        names = [n for n in os.listdir(parent) if n.startswith("purpose-desktop-")]
    except OSError:
        return
    for name in names:
        owner, folder = name.split("-")[2], os.path.join(parent, name)
        try:
            mine = os.stat(folder).st_uid == os.getuid()
        except OSError:
            continue
        if mine and owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            stale = _RunCgroup(0, [folder], [])
            stale.kill_all()
            stale.remove()


def _can_create_child(parent: str, control: str) -> bool:
    probe = os.path.join(parent, f"purpose-desktop-probe-{os.getpid()}-{threading.get_ident()}")
    try:
        os.mkdir(probe)
    except OSError:
        return False
    try:
        return os.path.exists(os.path.join(probe, control))
    finally:
        try:
            os.rmdir(probe)
        except OSError:
            pass


class _RunCgroup:
    """One run's cgroup(s): caps the process count (and memory) of the tree and kills all of it."""

    def __init__(self, version: int, folders: list[str], applied: list[str]) -> None:
        self.version = version
        self.folders = folders
        self.applied = applied

    @classmethod
    def create(cls, support: _CgroupSupport, limits: Limits) -> _RunCgroup | None:
        name = f"purpose-desktop-{os.getpid()}-{os.urandom(4).hex()}"
        folders: list[str] = []
        applied: list[str] = []
        wanted = {
            "pids": [("pids.max", str(limits.max_processes), f"pids.max={limits.max_processes}")],
            "memory": [
                ("memory.limit_in_bytes", str(limits.memory_mb * _MB), f"memory {limits.memory_mb} MB")
            ],
            "unified": [
                ("pids.max", str(limits.max_processes), f"pids.max={limits.max_processes}"),
                ("memory.max", str(limits.memory_mb * _MB), f"memory {limits.memory_mb} MB"),
            ],
        }
        for controller, parent in support.parents.items():
            folder = os.path.join(parent, name)
            try:
                os.mkdir(folder)
            except OSError:
                continue
            folders.append(folder)
            for control, value, label in wanted[controller]:
                try:
                    Path(folder, control).write_text(value)
                    applied.append(label)
                except OSError:
                    pass
        run = cls(support.version, folders, applied)
        if not any(label.startswith("pids.max") for label in applied):
            run.remove()
            return None
        return run

    @property
    def procs_files(self) -> list[str]:
        return [os.path.join(f, "cgroup.procs") for f in self.folders]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for path in self.procs_files:
            try:
                found.update(int(x) for x in Path(path).read_text().split())
            except (OSError, ValueError):
                pass
        return found

    def contains(self, pid: int) -> bool:
        return pid in self.pids()

    def describe(self) -> str:
        return f"cgroup v{self.version} ({', '.join(self.applied)})"

    def kill_all(self) -> None:
        if self.version == 2:
            try:
                Path(self.folders[0], "cgroup.kill").write_text("1")
            except (OSError, IndexError):
                pass
        # pids.max bounds how many can exist, so killing what is listed until nothing is left ends.
        give_up = time.monotonic() + 3.0
        while time.monotonic() < give_up:
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        for folder in self.folders:
            for _ in range(50):
                try:
                    os.rmdir(folder)
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY:
                        break
                    time.sleep(0.02)  # the last zombies are still being reaped


# ------------------------------------------------------------------------------------------- launching


def _python_argv() -> list[str]:
    """The interpreter to start: this Python, or in the frozen app the app itself in its Python mode."""
    if getattr(sys, "frozen", False):
        return [sys.executable, FROZEN_PYTHON_FLAG]
    return [sys.executable]


def _python_mounts() -> list[str]:
    """Real folders holding the interpreter and its site-packages (outside /usr), outermost only."""
    if getattr(sys, "frozen", False):
        # The app's own folder (read-only) is its interpreter and library; its parent (Downloads, dist/)
        # is not mounted.
        candidates = {os.path.dirname(os.path.realpath(sys.executable)), getattr(sys, "_MEIPASS", "")}
    else:
        candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
        candidates.add(str(Path(os.path.realpath(sys.executable)).parent.parent))
        candidates.update(site.getsitepackages())
    real = sorted({os.path.realpath(p) for p in candidates if p and os.path.isdir(p)})
    kept: list[str] = []
    for path in real:
        if path == "/usr" or path.startswith("/usr/") or any(path.startswith(k + "/") for k in kept):
            continue
        kept.append(path)
    return kept


def _bwrap_argv(work: str, tmp: str) -> list[str]:
    argv = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--die-with-parent", "--new-session"]
    argv += ["--cap-drop", "ALL", "--hostname", "sandbox", "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = "/" + name
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime"):
        argv += ["--ro-bind-try", path, path]
    # /tmp first: an interpreter that lives under /tmp (a checkout or venv there) is mounted over it
    # afterwards, instead of being hidden by it.
    argv += ["--proc", "/proc", "--dev", "/dev", "--bind", tmp, "/tmp"]
    for path in _python_mounts():
        argv += ["--ro-bind", path, path]
    for path in {sys.prefix, sys.base_prefix}:
        if os.path.realpath(path) != path and not path.startswith("/usr/"):
            argv += ["--symlink", os.path.realpath(path), path]
    argv += ["--bind", work, INSIDE_WORKDIR]
    # The root is bwrap's own tmpfs; read-only, so writes can only land in the run folder (and /dev/shm).
    return argv + ["--remount-ro", "/", "--chdir", INSIDE_WORKDIR, "--"]


def _launch_argv(backend: str, work: str, tmp: str, inner: list[str]) -> list[str]:
    if backend == "bwrap":
        return _bwrap_argv(work, tmp) + inner  # bwrap's own init is pid 1 and reaps
    supervised = [*_python_argv(), "-I", "-S", "-c", SUPERVISOR, *inner]
    if backend == "unshare":
        flags = ["--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child"]
        flags += ["--mount", "--mount-proc", "--ipc", "--uts"]
        return [shutil.which("unshare") or "unshare", *flags, "--", *supervised]
    return supervised


def _user_task_count() -> int:
    """Tasks (processes and threads) this user already runs: RLIMIT_NPROC counts them all."""
    uid = str(os.getuid())
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                status = Path(f"/proc/{name}/status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if fields.get("Uid", "").split()[:1] == [uid]:
                count += int(fields.get("Threads", "1").strip() or 1)
    return count


def _rlimits(limits: Limits, use_nproc: bool) -> list[tuple[int, int, int]]:
    cpu = math.ceil(limits.timeout_s) + 1
    wanted = [
        (resource.RLIMIT_AS, limits.memory_mb * _MB),
        (resource.RLIMIT_FSIZE, limits.file_size_mb * _MB),
        (resource.RLIMIT_NOFILE, limits.max_open_files),
        (resource.RLIMIT_CORE, 0),
    ]
    if use_nproc:
        wanted.append((resource.RLIMIT_NPROC, _user_task_count() + limits.max_processes))
    out = []
    for which, soft, hard in [(resource.RLIMIT_CPU, cpu, cpu + 1)] + [(w, v, v) for w, v in wanted]:
        ceiling = resource.getrlimit(which)[1]  # a limit can only be lowered
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        out.append((which, soft, hard))
    return out


_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38


def _libc_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _make_preexec(
    rlimits: list[tuple[int, int, int]], cgroup_procs: list[str], death_signal: int, no_new_privs: bool
):
    # Runs in the forked child before exec: no imports and no locks, only syscalls on prepared values.
    procs = [p.encode() for p in cgroup_procs]
    setrlimit, prctl = resource.setrlimit, _libc_prctl()
    os_open, os_write, os_close, wronly = os.open, os.write, os.close, os.O_WRONLY

    def preexec() -> None:
        if prctl is not None:
            # If the app dies (even kill -9) the sandbox gets this signal: bwrap and unshare take their
            # namespace down with them, the plain supervisor kills its tree on SIGTERM.
            prctl(_PR_SET_PDEATHSIG, death_signal, 0, 0, 0)
            if no_new_privs:  # setuid programs (sudo, su) cannot raise privileges from here on
                prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        for path in procs:
            try:
                fd = os_open(path, wronly)
                try:
                    os_write(fd, b"0")  # "0" means the writing process itself
                finally:
                    os_close(fd)
            except OSError:
                pass  # the parent checks membership afterwards and reports it
        for which, soft, hard in rlimits:
            setrlimit(which, (soft, hard))

    return preexec


def _scrubbed_env(home: str, tmpdir: str, extra: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(_SAFE_ENV, HOME=home, TMPDIR=tmpdir, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    for key, value in (extra or {}).items():
        if not key.replace("_", "").isalnum() or not key.isupper() or any(w in key for w in _SECRET_WORDS):
            raise ToolError(f"environment variable {key!r} is not allowed in the sandbox")
        if not isinstance(value, str) or "\x00" in value:
            raise ToolError(f"environment variable {key!r} must be plain text")
        env[key] = value
    return env


class _Capture:
    """Keeps the head and the tail of a stream within ``limit`` bytes and counts what was dropped."""

    def __init__(self, limit: int) -> None:
        self.head_limit = limit * 3 // 4
        self.tail_limit = limit - self.head_limit
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.tail_limit:
                del self.tail[: len(self.tail) - self.tail_limit]

    def text(self) -> str:
        dropped = self.total - len(self.head) - len(self.tail)
        head, tail = self.head.decode("utf-8", "replace"), self.tail.decode("utf-8", "replace")
        if dropped <= 0:
            return head + tail
        return head + f"\n…[output truncated: {dropped:,} bytes dropped]…\n" + tail


@dataclass
class _Raw:
    returncode: int | None
    stdout: str
    stderr: str
    killed_reason: str | None
    elapsed_ms: float
    cgroup: str | None  # describe() of the run's cgroup when the process really was in it
    nproc: bool  # whether RLIMIT_NPROC was set (non-root without a cgroup)


def _kill_tree(proc: subprocess.Popen, backend: str, cgroup: _RunCgroup | None) -> None:
    if backend == "plain":
        # The supervisor kills its orphans on SIGTERM; SIGKILL on the group follows if it dawdles.
        try:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=1.0)
        except (OSError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # bwrap/unshare: their namespace's processes die with them
    except OSError:
        pass
    if cgroup is not None:
        cgroup.kill_all()


def _execute(
    backend: str,
    inner_args: Sequence[str],
    files: Mapping[str, str],
    limits: Limits,
    cancel: CancelToken | None,
    env_extra: Mapping[str, str] | None = None,
) -> _Raw:
    base = Path(tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{os.getpid()}-"))
    work, tmp = base / "work", base / "tmp"
    work.mkdir(mode=0o700)
    tmp.mkdir(mode=0o700)
    cgroup: _RunCgroup | None = None
    try:
        for rel, text in files.items():
            target = work.joinpath(*split_relative_path(rel))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        inside_work, inside_tmp = (INSIDE_WORKDIR, "/tmp") if backend == "bwrap" else (str(work), str(tmp))
        argv = _launch_argv(backend, str(work), str(tmp), [*_python_argv(), *_PYTHON_FLAGS, *inner_args])
        env = _scrubbed_env(inside_work, inside_tmp, env_extra)
        support = _cgroup_support_cached()
        if support.version:
            cgroup = _RunCgroup.create(support, limits)
        use_nproc = cgroup is None and os.geteuid() != 0
        rlimits = _rlimits(limits, use_nproc)
        death_signal = signal.SIGTERM if backend == "plain" else signal.SIGKILL
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_make_preexec(  # noqa: PLW1509 — prepared syscalls only, see _make_preexec
                    # bwrap sets no_new_privs itself (and may be setuid on old systems)
                    rlimits,
                    cgroup.procs_files if cgroup else [],
                    death_signal,
                    backend != "bwrap",
                ),
                close_fds=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise ToolError(f"could not start the sandbox ({backend}): {exc}") from None
        in_cgroup = cgroup is not None and cgroup.contains(proc.pid)
        out, err, reason = _pump(proc, backend, cgroup, limits, started, cancel)
        elapsed = (time.monotonic() - started) * 1000.0
        code = proc.returncode
        if reason is None and code is not None and (code > 128 or code < 0):
            signum = code - 128 if code > 128 else -code
            reason = {signal.SIGXCPU: "cpu_limit", signal.SIGXFSZ: "file_size_limit"}.get(signum)
            reason = reason or ("killed" if signum == signal.SIGKILL or code < 0 else None)
        described = cgroup.describe() if in_cgroup and cgroup else None
        return _Raw(code, out, err, reason, round(elapsed, 1), described, use_nproc)
    finally:
        if cgroup is not None:
            cgroup.kill_all()
            cgroup.remove()
        _remove_tree(base)


def _pump(
    proc: subprocess.Popen,
    backend: str,
    cgroup: _RunCgroup | None,
    limits: Limits,
    started: float,
    cancel: CancelToken | None,
) -> tuple[str, str, str | None]:
    """Read both pipes until they close while enforcing the deadline, cancellation and the output cap."""
    assert proc.stdout is not None and proc.stderr is not None
    out, err = _Capture(limits.output_limit), _Capture(limits.output_limit)
    captures = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
    flood = max(16 * limits.output_limit, 4_000_000)
    deadline = started + limits.timeout_s
    selector = selectors.DefaultSelector()
    for fd in captures:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    reason: str | None = None
    killed_at: float | None = None
    exited_at: float | None = None
    try:
        while selector.get_map():
            now = time.monotonic()
            if killed_at is None:
                if cancel is not None and cancel.is_set():
                    reason = "cancelled"
                elif now >= deadline:
                    reason = "timeout"
                elif out.total + err.total > flood:
                    reason = "output_limit"
                if reason is not None or (exited_at is not None and now - exited_at > 0.5):
                    # (the second case: the main process is done but something it left holds the pipes)
                    killed_at = now
                    _kill_tree(proc, backend, cgroup)
            elif now - killed_at > 3.0:
                break  # the pipes are held by something we could not kill; stop reading
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            for key, _ in selector.select(timeout=0.05):
                try:
                    chunk = os.read(key.fd, 1 << 16)
                except BlockingIOError:
                    continue
                if chunk:
                    captures[key.fd].add(chunk)
                else:
                    selector.unregister(key.fd)
    finally:
        selector.close()
        try:
            proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            _kill_tree(proc, backend, cgroup)
            proc.wait(timeout=2.0)
        proc.stdout.close()
        proc.stderr.close()
    return out.text(), err.text(), reason


def _remove_tree(path: Path) -> None:
    def make_writable(folder: str) -> None:
        # Through a descriptor opened without following links: a link planted by the code must not
        # turn this chmod onto a file outside the run folder.
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            return
        try:
            os.fchmod(fd, 0o700)
        except OSError:
            pass
        finally:
            os.close(fd)

    def retry(func, target, _exc) -> None:  # the code may have left folders without write permission
        make_writable(os.path.dirname(target))
        make_writable(target)
        try:
            func(target)
        except OSError:
            pass

    try:
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=retry)
        else:
            shutil.rmtree(path, onerror=retry)
    except RecursionError:
        # The code nested folders deeper than Python's recursion limit ('d/d/d/…' ×3000); rm's
        # directory walk is iterative and, like rmtree, never follows links.
        subprocess.run(
            ["rm", "-rf", "--one-file-system", "--", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )


# ---------------------------------------------------------------------------------- probing, protections

_lock = threading.Lock()
_facts_cache: dict[str, dict[str, Any]] = {}
_cgroup_cache: list[_CgroupSupport] = []
_cleaned: list[bool] = []


def _cgroup_support_cached() -> _CgroupSupport:
    with _lock:
        if not _cgroup_cache:
            _cgroup_cache.append(_cgroup_support())
        support = _cgroup_cache[0]
    if not _cleaned:
        _cleaned.append(True)
        remove_stale_leftovers(support)
    return support


def remove_stale_leftovers(support: _CgroupSupport | None = None) -> int:
    """Clean up after app processes that died mid-run (kill -9, crash): kill what is left in their
    cgroups, delete their run folders. Runs once per process on first use; returns folders removed."""
    for parent in (support or _cgroup_support_cached()).parents.values():
        _remove_stale_cgroups(parent)
    removed = 0
    root = tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(root) if n.startswith(RUN_DIR_PREFIX)]
    except OSError:
        return 0
    for name in names:
        owner = name[len(RUN_DIR_PREFIX) :].split("-")[0]
        path = os.path.join(root, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not owner.isdigit() or os.path.exists(f"/proc/{owner}") or info.st_uid != os.getuid():
            continue
        if stat.S_ISDIR(info.st_mode):
            _remove_tree(Path(path))
            removed += 1
    return removed


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
        _cgroup_cache.clear()


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
