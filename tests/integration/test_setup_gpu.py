"""scripts/setup.sh's llama.cpp build choice (GPU=cuda|vulkan|metal), checked with its dry run: no install."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "scripts" / "setup.sh"


def dry(gpu: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("GPU", "CMAKE_ARGS")}
    env["PD_SETUP_DRY"] = "1"
    if gpu is not None:
        env["GPU"] = gpu
    return subprocess.run(["bash", str(SETUP), "app"], capture_output=True, text=True, timeout=60, env=env)


def locked_llama() -> str:
    line = next(ln for ln in (ROOT / "requirements" / "lock.txt").read_text().splitlines() if ln.lower().startswith("llama_cpp_python=="))
    return line.split("==")[1].strip()


def test_the_default_stays_the_portable_cpu_build():
    out = dry(None)
    assert out.returncode == 0, out.stderr
    assert "llama.cpp build: cpu" in out.stdout and "-DGGML_NATIVE=OFF" in out.stdout
    assert "GGML_CUDA" not in out.stdout and "--force-reinstall" not in out.stdout
    assert dry("cpu").stdout == out.stdout


@pytest.mark.parametrize(("gpu", "flag"), [("cuda", "-DGGML_CUDA=on"), ("vulkan", "-DGGML_VULKAN=on"), ("metal", "-DGGML_METAL=on"), ("CUDA", "-DGGML_CUDA=on")])
def test_a_gpu_build_rebuilds_the_locked_version_from_source(gpu, flag):
    out = dry(gpu)
    assert out.returncode == 0, out.stderr
    assert flag in out.stdout and "-DGGML_NATIVE=OFF" in out.stdout
    # The same version the lock pins, built from the sdist (not a cached CPU wheel), replacing the CPU one.
    assert f"llama-cpp-python=={locked_llama()}" in out.stdout
    for arg in ("--force-reinstall", "--no-binary llama-cpp-python", "--no-cache-dir", "--no-deps"):
        assert arg in out.stdout


def test_an_unknown_gpu_is_refused_with_what_to_type():
    out = dry("opencl9")
    assert out.returncode == 2
    assert "GPU=cuda, GPU=vulkan or GPU=metal" in out.stderr
