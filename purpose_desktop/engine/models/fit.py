"""Will a model fit? RAM a GGUF needs (from its header), RAM this computer has, and GPU offload support.

The Models pane and ``purpose-desktop models list`` show these; nothing here loads weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: Context length the RAM estimate assumes when the settings leave it to the loader.
DEFAULT_ESTIMATE_CTX = 4096
#: A model that needs more than this share of the free RAM is "tight".
TIGHT_SHARE = 0.8
_MB = 1024 * 1024

FIT_STATES = ("fits", "tight", "too_big", "unknown")


def estimate_ram(info, n_ctx: int | None) -> tuple[int | None, int | None]:
    """(bytes, context) a model needs in RAM: the weights, the f16 KV cache for ``n_ctx``, some overhead.

    Read from the GGUF header only (layers, embedding width, KV heads); None when it is too odd to say.
    """
    if info is None or not getattr(info, "file_size", 0):
        return None, None
    trained = getattr(info, "context_length", None) or DEFAULT_ESTIMATE_CTX
    ctx = int(n_ctx) if n_ctx else min(trained, DEFAULT_ESTIMATE_CTX)
    md = getattr(info, "metadata", {}) or {}
    arch = getattr(info, "architecture", "") or ""

    def num(key: str) -> int | None:
        value = md.get(f"{arch}.{key}")
        if isinstance(value, list):  # per-layer head counts (some architectures)
            value = max(value) if value else None
        return int(value) if isinstance(value, int | float) and value > 0 else None

    layers, width, heads = num("block_count"), num("embedding_length"), num("attention.head_count")
    kv_heads = num("attention.head_count_kv") or heads
    kv = 0
    if layers and width and heads and kv_heads:
        kv = 2 * layers * ctx * (width // heads) * kv_heads * 2  # K and V, f16
    overhead = int(info.file_size * 0.08) + 96 * _MB  # compute buffers, runtime
    return int(info.file_size + kv + overhead), ctx


def memory_info() -> tuple[int | None, int | None]:
    """(total, available) RAM in bytes where the OS says; (None, None) otherwise."""
    total = available = None
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    return total, available


def gpu_offload_available() -> bool:
    try:
        import llama_cpp

        return bool(llama_cpp.llama_supports_gpu_offload())
    except Exception:  # a broken native build: the Models pane simply hides GPU layers
        return False


def human_bytes(n: int | float | None) -> str:
    """1536 → "1.5 KB", 98_362_432 → "93.8 MB"; None → "–"."""
    if n is None:
        return "–"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


@dataclass(frozen=True)
class Fit:
    """Whether a model fits on this computer: a state (see FIT_STATES) and a sentence saying why."""

    state: str
    why: str


def judge_fit(need: int | None, context: int | None, total: int | None, available: int | None) -> Fit:
    """Compare what a model needs (``estimate_ram``) with this computer's total and free RAM."""
    if need is None or not (total or available):
        return Fit("unknown", "Not enough is known about this file or this computer to say.")
    ctx = f"at {context:,} tokens of context" if context else ""
    free = available or total or 0
    if total and need > total:
        return Fit(
            "too_big",
            f"Needs about {human_bytes(need)} {ctx}, more than this computer's {human_bytes(total)}. "
            "Pick a smaller or more strongly quantised file (Q4 instead of Q8), or lower the context length.",
        )
    if need > free * TIGHT_SHARE:
        return Fit(
            "tight",
            f"Needs about {human_bytes(need)} {ctx}; {human_bytes(free)} is free now. "
            "Close other programs first, or lower the context length.",
        )
    return Fit("fits", f"Needs about {human_bytes(need)} {ctx}; {human_bytes(free)} is free.")
