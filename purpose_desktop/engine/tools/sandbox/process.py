"""Running one command in the sandbox: the run folder, the launch, reading both pipes under the
deadline, cancellation and output cap, and killing the whole process tree."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.tools.base import ToolError
from purpose_desktop.engine.tools.files import split_relative_path
from purpose_desktop.engine.tools.sandbox.cgroups import _cgroup_support_cached, _RunCgroup
from purpose_desktop.engine.tools.sandbox.launch import (
    _launch_argv,
    _make_preexec,
    _python_argv,
    _remove_tree,
    _rlimits,
    _scrubbed_env,
)
from purpose_desktop.engine.tools.sandbox.limits import _PYTHON_FLAGS, INSIDE_WORKDIR, RUN_DIR_PREFIX, Limits


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
