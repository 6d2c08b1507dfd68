"""Which compute backend this llama.cpp build offloads to (CUDA, Vulkan, Metal …), for doctor and the Models pane."""

from __future__ import annotations

import re

#: Backends llama.cpp can offload layers to; "CPU" (and the CPU's feature list) is not one of them.
OFFLOAD_BACKENDS = ("CUDA", "Vulkan", "Metal", "HIP", "ROCm", "SYCL", "CANN", "MUSA", "OpenCL", "Kompute", "RPC")
# In llama_print_system_info() each backend opens a section "NAME : key = value | …"; CPU features use " = ".
_SECTION = re.compile(r"(?:^|\|)\s*([A-Za-z][A-Za-z0-9_]*) : ")


def backends_in(system_info: str) -> list[str]:
    """The backend names a ``llama_print_system_info()`` text lists, in order ("CPU" included)."""
    return list(dict.fromkeys(_SECTION.findall(system_info or "")))


def offload_report() -> dict:
    """``{"importable", "gpu_offload", "offload_backend", "backends", "why"}`` for this llama-cpp-python build.

    ``gpu_offload`` is ``llama_supports_gpu_offload()``; ``offload_backend`` names the ggml backend that
    does it (None on a CPU build); ``why`` says in a sentence what that means for the GPU-layers control.
    """
    try:
        import llama_cpp
    except Exception as exc:  # a broken native build shows up here, not as a crash later
        return {
            "importable": False,
            "gpu_offload": False,
            "offload_backend": None,
            "backends": [],
            "why": f"llama-cpp-python cannot be imported ({type(exc).__name__}: {exc}).",
        }
    offload = bool(llama_cpp.llama_supports_gpu_offload())
    try:
        raw = llama_cpp.llama_print_system_info()
        info = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    except Exception:  # an older build without it: offload still answers
        info = ""
    names = backends_in(info)
    found = [n for n in names if n.upper() in {b.upper() for b in OFFLOAD_BACKENDS}]
    backend = found[0] if found else ("GPU (backend not named)" if offload else None)
    if offload:
        why = f"This llama.cpp build offloads model layers to the GPU ({backend})."
    else:
        why = (
            "This llama.cpp build runs on the CPU only, so GPU layers do not apply. "
            "Rebuild it for your GPU with GPU=cuda, GPU=vulkan or GPU=metal make run (see README)."
        )
    return {"importable": True, "gpu_offload": offload, "offload_backend": backend, "backends": names, "why": why}
