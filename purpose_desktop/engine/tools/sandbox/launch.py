"""Starting one run: the supervisor script, the command line and mounts per backend, rlimits, the
child's pre-exec (death signal, no_new_privs, cgroup entry), the scrubbed environment and removing the
run folder afterwards."""

from __future__ import annotations

import ctypes
import math
import os
import resource
import shutil
import site
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from purpose_desktop.engine.tools.base import ToolError
from purpose_desktop.engine.tools.sandbox.limits import _MB, _SAFE_ENV, _SECRET_WORDS, INSIDE_WORKDIR, Limits
from purpose_desktop.sandbox_python import FLAG as FROZEN_PYTHON_FLAG

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
