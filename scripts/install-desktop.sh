#!/usr/bin/env bash
# Puts Purpose Desktop in the desktop's application menu, for this user only (no root):
#   $XDG_DATA_HOME/applications/purpose-desktop.desktop and the icon set in $XDG_DATA_HOME/icons/hicolor.
#
#   ./install-desktop.sh                 inside the unpacked app folder: the menu entry runs the app there
#   ./install-desktop.sh --copy          first copy the app folder to $XDG_DATA_HOME/purpose-desktop-app/app
#                                        (then the download can be deleted)
#   scripts/install-desktop.sh [--app EXECUTABLE]   in a checkout: dist/PurposeDesktop, else .venv
#
# Undo with uninstall-desktop.sh (keeps your chats and memories unless --purge).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
APP_ID="purpose-desktop"
# Not "PurposeDesktop" (the data folder): the two must never be the same folder, whatever the case rules.
INSTALL_DIR="$DATA_HOME/purpose-desktop-app"
say() { printf '[install-desktop] %s\n' "$*"; }
die() { printf '[install-desktop] error: %s\n' "$*" >&2; exit 1; }

APP=""
COPY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --app) APP="${2:?--app needs the path of the executable}"; shift 2 ;;
    --copy) COPY=1; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) die "unknown option $1 (try --help)" ;;
  esac
done

# Where the .desktop template and icons are: inside the app folder, or in a checkout.
if [ -d "$HERE/_internal/resources" ]; then
  RES="$HERE/_internal/resources"
elif [ -d "$HERE/../resources" ]; then
  RES="$(cd "$HERE/../resources" && pwd)"
else
  die "cannot find the resources folder next to $0"
fi

if [ -z "$APP" ]; then
  for candidate in "$HERE/PurposeDesktop" "$HERE/../dist/PurposeDesktop/PurposeDesktop" "$HERE/../.venv/bin/purpose-desktop-gui"; do
    if [ -x "$candidate" ] && [ -f "$candidate" ]; then APP="$candidate"; break; fi
  done
  [ -n "$APP" ] || die "no app found: build it with 'make dist' (or 'make install'), or pass --app PATH"
fi
[ -x "$APP" ] || die "$APP is not an executable file"
APP="$(cd "$(dirname "$APP")" && pwd)/$(basename "$APP")"

mkdir -p "$INSTALL_DIR"
MANIFEST="$INSTALL_DIR/installed-files"
: > "$MANIFEST.new"

if [ "$COPY" = 1 ]; then
  SRC_DIR="$(dirname "$APP")"
  [ -d "$SRC_DIR/_internal" ] || die "--copy needs the frozen app folder (with _internal/), not $SRC_DIR"
  DEST="$INSTALL_DIR/app"
  if [ "$SRC_DIR" != "$DEST" ]; then
    say "copying $SRC_DIR to $DEST"
    rm -rf "$DEST.new"
    cp -a "$SRC_DIR" "$DEST.new"
    rm -rf "$DEST"
    mv "$DEST.new" "$DEST"
  fi
  APP="$DEST/$(basename "$APP")"
  echo "$DEST" >> "$MANIFEST.new"
fi

# Exec: a quoted absolute path (the desktop entry spec's quoting: \ " ` $ are escaped inside quotes).
quoted="$(printf '%s' "$APP" | sed -e 's/[\\"`$]/\\&/g')"
# sed replacement: escape & \ and the | delimiter.
esc="$(printf '%s' "\"$quoted\"" | sed -e 's/[&|\\]/\\&/g')"
mkdir -p "$DATA_HOME/applications"
DESKTOP="$DATA_HOME/applications/$APP_ID.desktop"
sed -e "s|^Exec=.*|Exec=$esc|" -e "s|^TryExec=.*|TryExec=$esc|" "$RES/$APP_ID.desktop" > "$DESKTOP.tmp"
chmod 644 "$DESKTOP.tmp"
mv "$DESKTOP.tmp" "$DESKTOP"
echo "$DESKTOP" >> "$MANIFEST.new"

for png in "$RES"/icons/hicolor/*/apps/"$APP_ID".png; do
  size="$(basename "$(dirname "$(dirname "$png")")")"
  target="$DATA_HOME/icons/hicolor/$size/apps/$APP_ID.png"
  mkdir -p "$(dirname "$target")"
  cp "$png" "$target"
  echo "$target" >> "$MANIFEST.new"
done
target="$DATA_HOME/icons/hicolor/scalable/apps/$APP_ID.svg"
mkdir -p "$(dirname "$target")"
cp "$RES/icons/app.svg" "$target"
echo "$target" >> "$MANIFEST.new"
mv "$MANIFEST.new" "$MANIFEST"

# Refresh the menus' caches where the tools exist (desktops also notice on their own).
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database -q "$DATA_HOME/applications" || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$DATA_HOME/icons/hicolor/index.theme" ]; then
  gtk-update-icon-cache -q -f "$DATA_HOME/icons/hicolor" || true
fi
touch "$DATA_HOME/icons/hicolor" 2>/dev/null || true

say "installed: $DESKTOP"
say "it runs: $APP"
if [ "$COPY" = 0 ] && [ -d "$(dirname "$APP")/_internal" ]; then
  say "keep the app folder where it is (or install again with --copy / after moving it)"
fi
