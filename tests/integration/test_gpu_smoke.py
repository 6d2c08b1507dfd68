"""GPU smoke test: with an offloading llama.cpp build (GPU=cuda|vulkan|metal make test), the bundled model loads
with every layer on the GPU and generates. Skipped, with the reason, on a CPU-only build."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.models.gpu import offload_report
from purpose_desktop.engine.models.local import GenerationSettings, LocalModel

REPORT = offload_report()
pytestmark = pytest.mark.skipif(
    not REPORT["gpu_offload"],
    reason="no GPU offload: this llama-cpp-python build lists backends "
    f"{REPORT['backends'] or ['none']} and llama_supports_gpu_offload() is False. "
    "Rebuild with GPU=cuda (or vulkan/metal) make test on a machine with a GPU to run it.",
)


def test_report_names_the_offload_backend():
    assert REPORT["offload_backend"] and REPORT["offload_backend"] != "CPU"
    assert REPORT["offload_backend"] in REPORT["why"]


def test_model_loads_fully_offloaded_and_generates(default_model_path):
    with LocalModel(default_model_path, n_ctx=512, n_gpu_layers=-1) as model:
        assert model.gpu_offload and model.n_gpu_layers == -1
        assert model._llm.model_params.n_gpu_layers == 0x7FFFFFFF  # llama-cpp-python's "all layers" for -1
        pieces: list[str] = []
        reply = model.chat(
            [{"role": "user", "content": "Write a Python function that adds two numbers."}],
            settings=GenerationSettings(max_tokens=24, temperature=0.0, seed=1),
            on_token=pieces.append,
        )
        assert reply.n_tokens > 0 and reply.text.strip() and "".join(pieces) == reply.text
        assert reply.finish_reason in ("stop", "length")
