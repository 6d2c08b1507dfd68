#!/usr/bin/env bash
# Removes what install-desktop.sh put in place for this user: the menu entry, the icons and the copied
# app folder ($XDG_DATA_HOME/purpose-desktop). Your chats, memories, vault and settings stay, unless:
#
#   ./uninstall-desktop.sh --purge     also delete the data folder ($PURPOSE_DESKTOP_HOME or
#                                      $XDG_DATA_HOME/PurposeDesktop) and $XDG_CONFIG_HOME/PurposeDesktop
set -euo pipefail

DATA_HOME="${XDG_DATA_HOME:-$HOME/.local/share}"
CONFIG_HOME="${XDG_CONFIG_HOME:-$HOME/.config}"
APP_ID="purpose-desktop"
# Not "PurposeDesktop" (the data folder): the two must never be the same folder, whatever the case rules.
INSTALL_DIR="$DATA_HOME/purpose-desktop-app"
say() { printf '[uninstall-desktop] %s\n' "$*"; }

PURGE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --purge) PURGE=1; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) printf '[uninstall-desktop] error: unknown option %s (try --help)\n' "$1" >&2; exit 1 ;;
  esac
done

# Everything the installer wrote (listed in its manifest), plus the fixed names in case the list is gone.
targets=("$DATA_HOME/applications/$APP_ID.desktop" "$DATA_HOME/icons/hicolor/scalable/apps/$APP_ID.svg")
for png in "$DATA_HOME"/icons/hicolor/*/apps/"$APP_ID".png; do
  [ -e "$png" ] && targets+=("$png")
done
MANIFEST="$INSTALL_DIR/installed-files"
if [ -f "$MANIFEST" ]; then
  while IFS= read -r line; do
    # Only paths inside the places the installer writes to.
    case "$line" in
      "$DATA_HOME/applications/"*|"$DATA_HOME/icons/"*|"$INSTALL_DIR/"*) targets+=("$line") ;;
    esac
  done < "$MANIFEST"
fi
removed=0
for path in "${targets[@]}"; do
  if [ -e "$path" ] || [ -L "$path" ]; then
    rm -rf -- "$path"
    removed=$((removed + 1))
    case "$path" in  # icon size folders left empty: <size>/apps and <size>
      "$DATA_HOME/icons/hicolor/"*) rmdir "$(dirname "$path")" "$(dirname "$(dirname "$path")")" 2>/dev/null || true ;;
    esac
  fi
done
rm -rf -- "${INSTALL_DIR:?}"

if command -v update-desktop-database >/dev/null 2>&1 && [ -d "$DATA_HOME/applications" ]; then
  update-desktop-database -q "$DATA_HOME/applications" || true
fi
say "removed the menu entry, icons and installed app ($removed items)"

DATA_DIR="${PURPOSE_DESKTOP_HOME:-$DATA_HOME/PurposeDesktop}"
if [ "$PURGE" = 1 ]; then
  for dir in "$DATA_DIR" "$CONFIG_HOME/PurposeDesktop"; do
    if [ -d "$dir" ]; then
      rm -rf -- "$dir"
      say "deleted $dir"
    fi
  done
elif [ -d "$DATA_DIR" ]; then
  say "kept your data in $DATA_DIR (delete it with --purge)"
fi
