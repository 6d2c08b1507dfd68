"""engine.models.gpu: the offload backend read from llama.cpp's system info, and what doctor says."""

from __future__ import annotations

from purpose_desktop.engine.models.gpu import backends_in, offload_report
from purpose_desktop.engine.services.diagnostics import diagnose

CPU_INFO = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
CUDA_INFO = "CUDA : ARCHS = 890 | USE_GRAPHS = 1 | PEER_MAX_BATCH_SIZE = 128 | " + CPU_INFO
METAL_INFO = "Metal : EMBED_LIBRARY = 1 | BF16 = 1 | " + CPU_INFO


def test_backends_are_read_from_the_system_info():
    assert backends_in(CPU_INFO) == ["CPU"]  # CPU features ("AVX = 1") are not backends
    assert backends_in(CUDA_INFO) == ["CUDA", "CPU"]
    assert backends_in(METAL_INFO) == ["Metal", "CPU"]
    assert backends_in("") == []


def test_this_build_is_reported_as_it_is():
    import llama_cpp

    report = offload_report()
    assert report["gpu_offload"] == bool(llama_cpp.llama_supports_gpu_offload())
    assert "CPU" in report["backends"]
    if not report["gpu_offload"]:  # the CPU build (no GPU here): the reason says how to get a GPU build
        assert report["offload_backend"] is None
        assert "CPU only" in report["why"] and "GPU=cuda" in report["why"]
    llama = diagnose()["llama"]
    assert llama["gpu_offload"] == report["gpu_offload"]
    assert llama["offload_backend"] == (report["offload_backend"] or "none (CPU build)")
    assert llama["gpu_layers"] == report["why"]
