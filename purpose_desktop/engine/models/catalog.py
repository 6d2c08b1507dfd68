"""The curated model catalog (resources/models/catalog.json): load, check its shape, judge fit, recommend one."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.models.fit import DEFAULT_ESTIMATE_CTX, Fit, gpu_offload_available, judge_fit
from purpose_desktop.engine.resources import resource

SCHEMA = "purpose-desktop/model-catalog"
SCHEMA_VERSION = 1
_MB = 1024 * 1024
# Bits per weight of common llama.cpp quantisations (their mixes' averages), for a size estimate when the
# catalog has no confirmed file size.
_BPW = {"Q4_0": 4.55, "Q4_K_S": 4.6, "Q4_K_M": 4.85, "Q5_K_M": 5.7, "Q6_K": 6.6, "Q8_0": 8.5, "F16": 16.0}
# The KV cache is not known before the file's header is read: this allowance covers every catalog model
# at DEFAULT_ESTIMATE_CTX tokens (the largest, Qwen3-1.7B, needs about 448 MiB there).
_KV_ALLOWANCE = 512 * _MB
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_REV_RE = re.compile(r"^([0-9a-f]{40}|main)$")
_REPO_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class Score:
    """A published coding score and where it was published."""

    benchmark: str
    value: float
    unit: str
    source: str  # the catalog's ``sources`` text (what grounds the number)


@dataclass(frozen=True)
class CatalogEntry:
    """One downloadable model: where it lives on the hub, what it is, what its license asks."""

    id: str
    name: str
    repo: str
    file: str
    revision: str
    quantization: str
    params_b: float
    size_bytes: int | None
    sha256: str | None
    license: str
    license_url: str
    license_accept_required: bool
    context_length: int
    chat_template: str
    tags: tuple[str, ...] = ()
    scores: tuple[Score, ...] = ()
    revision_note: str | None = None
    license_note: str | None = None
    pin_source: str | None = None
    family: str = ""

    @property
    def pinned(self) -> bool:
        return self.revision != "main"

    @property
    def size_estimated(self) -> bool:
        return self.size_bytes is None

    @property
    def download_size(self) -> int:
        """The confirmed file size, else an estimate from the parameter count and the quantisation."""
        if self.size_bytes:
            return self.size_bytes
        return int(self.params_b * 1e9 * _BPW.get(self.quantization, 5.0) / 8)

    def ram_needed(self, n_ctx: int | None = None) -> int:
        """Bytes of RAM to run it: weights + a KV allowance (scaled to ``n_ctx``) + llama.cpp's buffers."""
        ctx = n_ctx or DEFAULT_ESTIMATE_CTX
        kv = int(_KV_ALLOWANCE * ctx / DEFAULT_ESTIMATE_CTX)
        size = self.download_size
        return size + kv + int(size * 0.08) + 96 * _MB

    def fit(self, total: int | None, available: int | None, n_ctx: int | None = None) -> Fit:
        return judge_fit(self.ram_needed(n_ctx), n_ctx or DEFAULT_ESTIMATE_CTX, total, available)

    @property
    def best_code_score(self) -> float | None:
        values = [s.value for s in self.scores if s.benchmark.lower().startswith("humaneval")]
        return max(values) if values else None

    @property
    def hf_source(self) -> str:
        """The ``hf:OWNER/REPO/FILE@REVISION`` form ``models pull`` also accepts."""
        return f"hf:{self.repo}/{self.file}@{self.revision}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "repo": self.repo,
            "file": self.file,
            "revision": self.revision,
            "pinned": self.pinned,
            "quantization": self.quantization,
            "params_b": self.params_b,
            "size_bytes": self.size_bytes,
            "download_size": self.download_size,
            "size_estimated": self.size_estimated,
            "sha256": self.sha256,
            "license": self.license,
            "license_url": self.license_url,
            "license_accept_required": self.license_accept_required,
            "context_length": self.context_length,
            "chat_template": self.chat_template,
            "tags": list(self.tags),
            "scores": [s.__dict__ for s in self.scores],
        }


@dataclass(frozen=True)
class Catalog:
    """The whole catalog: its version, its entries, and the sources its numbers come from."""

    version: str
    entries: tuple[CatalogEntry, ...]
    sources: dict[str, str] = field(default_factory=dict)
    notes: str = ""

    def get(self, model_id: str) -> CatalogEntry | None:
        key = model_id.strip().lower()
        return next((e for e in self.entries if e.id == key), None)

    def find_file(self, repo: str, file: str) -> CatalogEntry | None:
        return next((e for e in self.entries if e.repo == repo and e.file == file), None)


def _bad(where: str, why: str) -> InputError:
    return InputError(f"The model catalog is malformed: {where} {why}.", "Reinstall Purpose Desktop.")


def parse_catalog(data: Any) -> Catalog:
    """Check the catalog's shape strictly (a bad pin must never reach a download) and build it."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise _bad("the file", f"is not a {SCHEMA} document")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise InputError(
            f"The model catalog has schema version {data.get('schema_version')!r}; this app reads {SCHEMA_VERSION}.",
            "Update Purpose Desktop.",
        )
    sources = data.get("sources") or {}
    entries: list[CatalogEntry] = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get("models") or []):
        where = f"entry {i} ({raw.get('id', '?') if isinstance(raw, dict) else '?'})"
        if not isinstance(raw, dict):
            raise _bad(where, "is not an object")
        need = (
            "id",
            "name",
            "repo",
            "file",
            "revision",
            "quantization",
            "license",
            "license_url",
            "chat_template",
        )
        for key in need:
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise _bad(where, f"has no {key}")
        if raw["id"] in seen:
            raise _bad(where, "repeats an id")
        seen.add(raw["id"])
        if not _REPO_RE.match(raw["repo"]):
            raise _bad(where, f"has a bad repo {raw['repo']!r}")
        if not raw["file"].endswith(".gguf") or "/" in raw["file"] or ".." in raw["file"]:
            raise _bad(where, f"has a bad file name {raw['file']!r}")
        if not _REV_RE.match(raw["revision"]):
            raise _bad(where, "has a revision that is neither a 40-hex commit nor 'main'")
        if raw["revision"] == "main" and not raw.get("revision_note"):
            raise _bad(where, "is not pinned and does not say why (revision_note)")
        sha = raw.get("sha256")
        if sha is not None and not (isinstance(sha, str) and _SHA_RE.match(sha)):
            raise _bad(where, "has a sha256 that is not 64 lowercase hex digits")
        size = raw.get("size_bytes")
        if size is not None and not (isinstance(size, int) and size > 0):
            raise _bad(where, "has a size that is not a positive whole number")
        if (sha or size) and raw.get("pin_source") not in sources:
            raise _bad(
                where, "gives a sha256 or size without a pin_source naming one of the catalog's sources"
            )
        if not isinstance(raw.get("license_accept_required"), bool):
            raise _bad(where, "does not say whether its license needs an explicit accept")
        params, ctx = raw.get("params_b"), raw.get("context_length")
        if not isinstance(params, int | float) or params <= 0:
            raise _bad(where, "has no parameter count")
        if not isinstance(ctx, int) or ctx <= 0:
            raise _bad(where, "has no context length")
        scores = []
        for s in raw.get("scores") or []:
            if s.get("source") not in sources or not isinstance(s.get("value"), int | float):
                raise _bad(where, "has a score without a value or a known source")
            scores.append(
                Score(str(s["benchmark"]), float(s["value"]), str(s.get("unit", "")), sources[s["source"]])
            )
        entries.append(
            CatalogEntry(
                id=raw["id"],
                name=raw["name"],
                repo=raw["repo"],
                file=raw["file"],
                revision=raw["revision"],
                quantization=raw["quantization"],
                params_b=float(params),
                size_bytes=size,
                sha256=sha,
                license=raw["license"],
                license_url=raw["license_url"],
                license_accept_required=raw["license_accept_required"],
                context_length=ctx,
                chat_template=raw["chat_template"],
                tags=tuple(raw.get("tags") or ()),
                scores=tuple(scores),
                revision_note=raw.get("revision_note"),
                license_note=raw.get("license_note"),
                pin_source=sources.get(raw.get("pin_source", "")),
                family=raw.get("family", ""),
            )
        )
    if not entries:
        raise _bad("the file", "lists no models")
    return Catalog(
        str(data.get("catalog_version", "")), tuple(entries), dict(sources), str(data.get("notes", ""))
    )


_CACHE: dict[Path, Catalog] = {}


#: On a CPU, writing one token reads every weight once, so speed ≈ memory bandwidth ÷ model size. The
#: bandwidth llama.cpp gets grows with the cores it uses, up to the memory's limit. Checked here: 2 cores ran
#: the bundled 98 MB model at ~100 tokens/s (~9.8 GB/s), which 4.5 GB/s per core slightly undershoots.
CPU_GBPS_PER_CORE = 4.5
CPU_GBPS_MAX = 60.0
#: Below this estimated speed a model is "slow here": a team run of several steps would take minutes.
MIN_TOKENS_PER_S = 6.0


def _cores(cores: int | None) -> int:
    return max(1, cores or os.cpu_count() or 1)


def estimate_speed(size_bytes: int, cores: int | None = None) -> float:
    """Tokens per second a model of ``size_bytes`` should write on ``cores`` CPU cores (an estimate)."""
    return min(_cores(cores) * CPU_GBPS_PER_CORE, CPU_GBPS_MAX) * 1e9 / max(size_bytes, 1)


def speed_note(entry: CatalogEntry, cores: int | None = None) -> str:
    """"about 8 tokens/s on 2 CPU cores (an estimate)" — what ``recommend`` weighed besides the RAM."""
    cores = _cores(cores)
    return f"about {estimate_speed(entry.download_size, cores):.0f} tokens/s on {cores} CPU core{'s' if cores != 1 else ''} (an estimate)"


def load_catalog(path: str | Path | None = None) -> Catalog:
    """The shipped catalog (or ``path``), parsed once per process."""
    p = Path(path) if path else resource("models", "catalog.json")
    if p not in _CACHE:
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(
                f"The model catalog cannot be read: {exc}", "Reinstall Purpose Desktop."
            ) from None
        _CACHE[p] = parse_catalog(data)
    return _CACHE[p]


def recommend(
    catalog: Catalog, total: int | None, available: int | None, cores: int | None = None, offload: bool | None = None
) -> CatalogEntry | None:
    """The best coding model that fits this computer without an extra license to accept.

    Best = highest published HumanEval among "fits" entries tagged code that are not slow here (estimated
    ``MIN_TOKENS_PER_S`` or more on this computer's CPU cores; not weighed when llama.cpp can offload to a
    GPU); ties go to the smaller download. If every fitting one is slow, the fastest of them. None when
    nothing fits (the bundled model is then the only choice).
    """
    candidates = [
        e
        for e in catalog.entries
        if "code" in e.tags and not e.license_accept_required and e.fit(total, available).state == "fits"
    ]
    if not candidates:
        return None
    offload = gpu_offload_available() if offload is None else offload
    quick = candidates if offload else [e for e in candidates if estimate_speed(e.download_size, cores) >= MIN_TOKENS_PER_S]
    if not quick:
        return min(candidates, key=lambda e: (e.download_size, -(e.best_code_score or 0.0)))
    return max(quick, key=lambda e: (e.best_code_score or 0.0, -e.download_size))
