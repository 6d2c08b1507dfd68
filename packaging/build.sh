#!/usr/bin/env bash
# Builds dist/PurposeDesktop/ (PyInstaller onedir, build.spec) with the existing .venv.
#   VENV=…  another environment;  DIST_DIR=… / WORK_DIR=…  other output and work folders (check-latest);
#   PD_LOCK= (empty)  installs the dist extra unpinned instead of from requirements/lock.txt.
# Reuses build/ between runs; adds --clean only when the hooks, the installed packages or the bundled
# system libraries changed (PyInstaller would otherwise reuse a stale analysis).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
DIST_DIR="${DIST_DIR:-dist}"
WORK_DIR="${WORK_DIR:-build}"
LOCK="${PD_LOCK-requirements/lock.txt}"
say() { printf '\033[1m[dist]\033[0m %s\n' "$*"; }
[ -x "$PY" ] || { say "no $VENV: run 'make install' first"; exit 1; }

CLEAN=0
# Qt's xcb platform plugin needs these at run time; PyInstaller bundles the copies found here, so a
# build machine without them makes an app that only starts where they happen to be installed.
# binutils: PyInstaller reads binaries with objdump.
SYS_PKGS=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libxcb-shape0 libxcb-randr0
          libxcb-render-util0 libxcb-image0 libegl1 libfontconfig1 libdbus-1-3 binutils)
if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for pkg in "${SYS_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = "0" ]; then
      say "installing system libraries to bundle: ${missing[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
      CLEAN=1
    else
      say "missing system libraries (the app would not start where they are absent): ${missing[*]}"
      say "install them with: sudo apt-get install ${missing[*]}   (then run make dist again)"
    fi
  fi
fi

# PyInstaller (and the pytest the sandbox runs) come from the `dist` extra.
if ! "$PY" -c "import PyInstaller, pytest" 2>/dev/null; then
  say "installing the dist extra (PyInstaller)"
  "$PY" -m pip install -q -e ".[dist]" ${LOCK:+-c "$LOCK"}
fi

# PyInstaller notices changes to the spec and to the sources itself, but not to hooks or installed packages.
KEY="$( (cat packaging/hooks/*.py packaging/rthooks/*.py; "$PY" -m pip freeze --exclude-editable 2>/dev/null) | sha1sum | cut -c1-16)"
STAMP="$WORK_DIR/.dist-key"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$KEY" ]; then
  CLEAN=1
fi
ARGS=(--noconfirm --log-level WARN --distpath "$DIST_DIR" --workpath "$WORK_DIR")
[ "$CLEAN" = 1 ] && ARGS+=(--clean)

say "pyinstaller ${ARGS[*]} build.spec (several minutes with torch; about 2 GB of disk in build/ and dist/)"
start=$(date +%s)
# (collecting torch's submodules imports them: hundreds of deprecation warnings that say nothing here)
PYTHONWARNINGS="ignore::DeprecationWarning,ignore::FutureWarning" "$PY" -m PyInstaller "${ARGS[@]}" build.spec
mkdir -p "$WORK_DIR"
echo "$KEY" > "$STAMP"
seconds=$(( $(date +%s) - start ))
echo "$seconds" > "$WORK_DIR/.dist-build-seconds"  # bench/dist.py reports it
say "built $DIST_DIR/PurposeDesktop in ${seconds} s ($(du -sh "$DIST_DIR/PurposeDesktop" | cut -f1))"
