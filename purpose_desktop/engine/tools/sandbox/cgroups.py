"""Per-run cgroups: what this machine supports (found once, cached under its own lock), creating,
killing and removing a run's cgroup, and cleaning up after app processes that died mid-run."""

from __future__ import annotations

import errno
import os
import signal
import stat
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from purpose_desktop.engine.tools.sandbox.launch import _remove_tree
from purpose_desktop.engine.tools.sandbox.limits import _MB, RUN_DIR_PREFIX, Limits


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


_lock = threading.Lock()
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


def _forget_cgroup_support() -> None:
    """Forget the cached cgroup support (probe.reset_probes)."""
    with _lock:
        _cgroup_cache.clear()


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
