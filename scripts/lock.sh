#!/usr/bin/env bash
# The dependency lock, updated on purpose and never by accident.
#   scripts/lock.sh lock    (make lock)          resolve the newest versions pyproject.toml allows in a
#                                                throwaway venv and write them to requirements/lock.txt;
#                                                then test the change like any other: make test dist-selftest
#   scripts/lock.sh check   (make check-latest)  the same throwaway venv, then the frozen app built from it
#                                                and its self-test: finds the next break before users do.
#                                                requirements/lock.txt is left alone; exit 1 if the app fails.
# Both print what moved against the current lock. Nothing here runs in CI's required path.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-lock}"
LOCK="requirements/lock.txt"
VENV="build/latest-venv"
say() { printf '\033[1m[lock]\033[0m %s\n' "$*"; }
case "$MODE" in lock|check) ;; *) echo "usage: $0 lock|check" >&2; exit 2 ;; esac

say "resolving the newest allowed versions in $VENV (llama-cpp-python comes from pip's wheel cache once built)"
rm -rf "$VENV"
VENV="$VENV" PD_LOCK= scripts/setup.sh all

mkdir -p build
RESOLVED="build/latest.lock"
{
  echo "# Purpose Desktop dependency lock: every package of the app, dev and dist installs, pinned."
  echo "# Used as pip constraints (-c) by scripts/setup.sh and packaging/build.sh. Update it only with"
  echo "# 'make lock', then run 'make test dist-selftest' and commit it with what changed."
  echo "# Resolved $(date -u +%Y-%m-%d) on Python $("$VENV/bin/python" -c 'import platform; print(platform.python_version(), platform.system(), platform.machine())')."
  echo "# Local version labels are dropped (torch==2.13.0 is the CPU build pip picks on these machines)."
  "$VENV/bin/python" -m pip freeze --all --exclude-editable \
    | sed -E 's/^([^=]+==[^+]+)\+.*/\1/' | LC_ALL=C sort -f
} > "$RESOLVED"

changes() {
  if [ -f "$LOCK" ]; then
    # diff exits 1 when the files differ; with pipefail that must not read as "nothing changed".
    local moved
    moved="$(diff <(grep -v '^#' "$LOCK") <(grep -v '^#' "$RESOLVED") | grep '^[<>]' || true)"
    if [ -n "$moved" ]; then printf '%s\n' "$moved"; else say "no version changed"; fi
  fi
}

if [ "$MODE" = lock ]; then
  say "changes against the current lock (< old, > new):"
  changes || true
  mkdir -p "$(dirname "$LOCK")"
  cp "$RESOLVED" "$LOCK"
  say "wrote $LOCK; now test it: make test dist-selftest"
  exit 0
fi

say "newer than the lock (< locked, > newest):"
changes || true
VENV="$VENV" PD_LOCK= DIST_DIR=build/latest-dist WORK_DIR=build/latest-work packaging/build.sh
say "frozen self-test of the app built from the newest versions"
set +e
env -u DISPLAY -u WAYLAND_DISPLAY QT_QPA_PLATFORM=offscreen build/latest-dist/PurposeDesktop/PurposeDesktop --self-test \
  > build/latest-selftest.json
status=$?
set -e
if [ "$status" = 0 ]; then
  say "the newest allowed versions work: 'make lock' can take them"
else
  say "the app built from the newest versions FAILS its self-test (report: build/latest-selftest.json)"
fi
exit "$status"
