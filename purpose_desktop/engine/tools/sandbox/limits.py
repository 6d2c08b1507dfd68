"""What a sandboxed run may use and what it reports: Limits, ExecResult, backend and protection names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from purpose_desktop.engine.tools.base import ToolError

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
