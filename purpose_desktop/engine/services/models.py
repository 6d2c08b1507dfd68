"""ModelFiles: the GGUF models on this computer (scan, add, forget) and the loaded model's summary."""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.errors import InputError

if TYPE_CHECKING:
    from purpose_desktop.engine.core import Engine


@dataclass(frozen=True)
class ModelRow:
    """One discovered model as the Models pane lists it."""

    id: str
    path: str
    source: str
    name: str
    architecture: str | None = None
    size_label: str | None = None
    quantization: str | None = None
    context_length: int | None = None
    file_size: int = 0
    n_params: int | None = None
    has_chat_template: bool = True
    ram_bytes: int | None = None  # estimated RAM to run it at ``ram_context`` tokens
    ram_context: int | None = None
    error: str | None = None
    server: str | None = None  # source "server": the added server's name (``path`` is the model spec)

    @property
    def usable(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class ModelsReport:
    """What the Models pane shows: the models, which one is chosen, and what this computer has."""

    models: tuple[ModelRow, ...]
    active_spec: str | None  # EngineSettings.model (None: the bundled one)
    added: tuple[str, ...]
    n_ctx: int | None
    n_threads: int | None
    n_gpu_layers: int | None
    gpu_offload: bool
    total_ram: int | None
    available_ram: int | None
    cpu_count: int | None
    added_id: str | None = None  # the model ModelFiles.add added
    gpu_note: str = ""  # what the GPU-layers control can do with this build, and why (engine.models.gpu)


@dataclass(frozen=True)
class ModelSummary:
    """What the status bar shows about the loaded model."""

    name: str
    path: str
    size_label: str | None = None
    quantization: str | None = None
    context_length: int | None = None
    gpu_offload: bool = False
    load_s: float = 0.0
    note: str | None = None  # e.g. "x.gguf has no chat template; using the ChatML format instead."
    remote_host: str | None = None  # set when prompts go to a server on another computer


class ModelFiles:
    """``engine.model_files``: find, add and forget GGUF files; describe the loaded model."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def scan(self, added_id: str | None = None) -> ModelsReport:
        """Discover GGUF models (bundled, added, other apps' folders) and read their headers."""
        from purpose_desktop.engine.models import discover_models
        from purpose_desktop.engine.models.fit import estimate_ram, gpu_offload_available, memory_info
        from purpose_desktop.engine.models.gpu import offload_report

        s = self._engine.settings
        rows = []
        for entry in discover_models(added=s.added_models):
            info = entry.info
            ram, ctx = estimate_ram(info, s.n_ctx) if info is not None else (None, None)
            rows.append(
                ModelRow(
                    id=entry.id,
                    path=str(entry.path),
                    source=entry.source,
                    name=entry.display_name,
                    architecture=getattr(info, "architecture", None),
                    size_label=getattr(info, "size_label", None),
                    quantization=getattr(info, "quantization", None),
                    context_length=getattr(info, "context_length", None),
                    file_size=int(getattr(info, "file_size", 0) or _size(entry.path)),
                    n_params=getattr(info, "n_params", None),
                    has_chat_template=bool(getattr(info, "has_chat_template", True)),
                    ram_bytes=ram,
                    ram_context=ctx,
                    error=entry.error,
                )
            )
        rows += self._server_rows()
        total, available = memory_info()
        return ModelsReport(
            models=tuple(rows),
            active_spec=s.model,
            added=tuple(s.added_models),
            n_ctx=s.n_ctx,
            n_threads=s.n_threads,
            n_gpu_layers=s.n_gpu_layers,
            gpu_offload=gpu_offload_available(),
            total_ram=total,
            available_ram=available,
            cpu_count=os.cpu_count(),
            added_id=added_id,
            gpu_note=offload_report()["why"],
        )

    def _server_rows(self) -> list[ModelRow]:
        """Each model of each added OpenAI-compatible server (one row saying why, when it is unreachable)."""
        rows = []
        for server in self._engine.servers.list():
            where = (
                f"on {server.host} (text leaves this computer)"
                if server.remote
                else "server on this computer"
            )
            if server.error:
                rows.append(
                    ModelRow(
                        id=server.base_url,
                        path=server.base_url,
                        source="server",
                        name=f"{server.name} (server)",
                        architecture=where,
                        error=server.error,
                        server=server.name,
                    )
                )
            for m in server.models:
                rows.append(
                    ModelRow(
                        id=server.spec(m),
                        path=server.spec(m),
                        source="server",
                        name=f"{m} @ {server.name}",
                        architecture=where,
                        server=server.name,
                    )
                )
        return rows

    def add(self, path: str) -> ModelsReport:
        """Check ``path`` is a usable GGUF, remember it, and report (``added_id`` names it)."""
        from purpose_desktop.engine.models import read_gguf_info

        engine = self._engine
        p = Path(path).expanduser()
        if p.is_dir():
            raise InputError(f"{p.name} is a folder.", "Pick a .gguf file inside it.")
        read_gguf_info(p)  # raises ModelError with a plain message for non-GGUF, truncated, unsupported
        real = str(p.resolve())
        if real not in engine.settings.added_models:
            engine.config.update({"added_models": (*engine.settings.added_models, real)})
        report = self.scan()
        added = next((m.id for m in report.models if Path(m.path).resolve() == Path(real)), None)
        return dataclasses.replace(report, added_id=added)

    def forget(self, path: str) -> ModelsReport:
        """Drop an added model from the list (the file itself is never touched)."""
        engine = self._engine
        real = str(Path(path).expanduser().resolve())
        kept = tuple(p for p in engine.settings.added_models if str(Path(p).expanduser().resolve()) != real)
        changes: dict[str, Any] = {"added_models": kept}
        if engine.settings.model and str(Path(engine.settings.model).expanduser().resolve()) == real:
            changes["model"] = None
        engine.config.update(changes)
        return self.scan()

    def load(self, spec: str | None = None, *, remember: bool = False, on_progress=None) -> ModelSummary:
        """Load (or switch to) ``spec`` and summarise it; ``remember`` saves it as the chat model."""
        engine = self._engine
        started = time.perf_counter()
        info = engine.load_model(spec, on_progress=on_progress)
        summary = self.summary(info, time.perf_counter() - started)
        if remember and engine.settings.model != spec:
            engine.config.update({"model": spec})
        return summary

    def summary(self, info: Any = None, load_s: float = 0.0) -> ModelSummary:
        """The loaded model as the status bar shows it (``info``: its GGUFInfo, default the loaded one's)."""
        model = self._engine.model
        info = info if info is not None else getattr(model, "info", None)
        path = str(getattr(info, "path", ""))
        if isinstance(getattr(model, "base_url", None), str):
            from purpose_desktop.engine.models.backends import endpoint_spec

            path = endpoint_spec(model.base_url, model.model or "")
        return ModelSummary(
            name=str(getattr(model, "display_name", None) or getattr(info, "name", None) or "model"),
            path=path,
            size_label=getattr(info, "size_label", None),
            quantization=getattr(info, "quantization", None),
            context_length=getattr(model, "n_ctx", None) or getattr(info, "context_length", None),
            gpu_offload=bool(getattr(model, "gpu_offload", False)),
            load_s=load_s,
            note=getattr(model, "template_note", None),
            remote_host=_remote_host(model),
        )


def _remote_host(model: Any) -> str | None:
    """The host a model on another computer sends prompts to (None for local models and loopback servers)."""
    from urllib.parse import urlsplit

    from purpose_desktop.engine.models.backends import is_loopback_host

    base_url = getattr(model, "base_url", None)
    if not isinstance(base_url, str):
        return None
    host = urlsplit(base_url).hostname or ""
    return None if is_loopback_host(host) else host


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
