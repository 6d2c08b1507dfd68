"""The look: Fusion style, a light or dark palette, the app stylesheet and the SVG icons from resources/.

The stylesheet is written once, in light colours; the dark theme maps every light colour to its dark
counterpart (``DARK``), so the two can never drift apart in layout. Painted widgets (charts, list
delegates) ask :func:`color` for named colours at paint time.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from purpose_desktop.engine.resources import resource

log = logging.getLogger(__name__)

MODES = ("system", "light", "dark")

#: Light colour → dark colour, for every colour in app.qss (a test checks none is missing).
DARK: dict[str, str] = {
    "#ffffff": "#1e1f22",
    "#1f2328": "#e6e8eb",
    "#e3e6ea": "#2e3036",
    "#6b7280": "#9aa1ab",
    "#4b5563": "#a9b0ba",
    "#111827": "#f3f4f6",
    "#991b1b": "#fca5a5",
    "#4f46e5": "#6366f1",
    "#f8f9fb": "#1a1b1e",
    "#e5e7eb": "#33363c",
    "#c7d7fb": "#3b4a7a",
    "#c3c9d1": "#4a4e56",
    "#9ca3af": "#6b7280",
    "#92400e": "#fcd34d",
    "#8b95a1": "#7d8590",
    "#374151": "#d1d5db",
    "#1e3a8a": "#c7d2fe",
    "#fef3c7": "#3a2e12",
    "#fef2f2": "#2d1b1b",
    "#fee2e2": "#3b1d1d",
    "#fecaca": "#5b2727",
    "#f9fafb": "#f9fafb",
    "#f8fafc": "#d1d5db",
    "#f3f4f6": "#2a2c31",
    "#f1f3f6": "#17181b",
    "#f0f3f8": "#2d3036",
    "#eff6ff": "#172036",
    "#eef2fb": "#262b3a",
    "#eceff3": "#26282d",
    "#e5e8ec": "#2a2c31",
    "#e0e6f7": "#2f3a63",
    "#dfe5fb": "#2f3a63",
    "#dc2626": "#f87171",
    "#d6dae0": "#3a3d44",
    "#cfd5dd": "#3a3d44",
    "#cdd2d9": "#3d4148",
    "#c7cbd6": "#3a3d44",
    "#bfdbfe": "#2c4470",
    "#b4bbc5": "#50555e",
    "#7f1d1d": "#f8b4b4",
    "#4f6bed": "#6366f1",
    "#4338ca": "#4f46e5",
    "#2563eb": "#60a5fa",
    "#1f2937": "#e5e7eb",
    "#1e40af": "#a5c4f7",
    "#166534": "#86efac",
    "#15803d": "#4ade80",
    "#b45309": "#fbbf24",
    "#b91c1c": "#f87171",
    "#dcfce7": "#16351f",
    "#fde68a": "#4a3a12",
    "#ecfdf5": "#132a1e",
    "#a7f3d0": "#1f5137",
    "#065f46": "#6ee7b7",
    "#f6f8fa": "#24262b",
    "#d0d7de": "#3a3d44",
    "#57606a": "#9aa1ab",
    "#0969da": "#58a6ff",
    "#e0e7ff": "#2b3360",
    "#3730a3": "#c7d2fe",
    "#f5f3ff": "#221f35",
}

# Named colours for painted widgets (charts, delegates), light values; dark ones come from DARK.
_NAMED = {
    "text": "#1f2328",
    "muted": "#6b7280",
    "faint": "#e5e7eb",
    "base": "#ffffff",
    "accent": "#4f46e5",
    "good": "#15803d",
    "fair": "#b45309",
    "poor": "#b91c1c",
    "selected": "#e0e6f7",
    "selected_text": "#111827",
}
#: Distinct series colours for charts (same in both themes; chosen to read on white and on near-black).
SERIES = ("#6366f1", "#10b981", "#f59e0b", "#ef4444", "#0ea5e9", "#a855f7", "#84cc16", "#ec4899")

_current = "light"


#: The icons' stroke colour, and what it becomes on a dark background.
ICON_STROKE = "#374151"
ICON_STROKE_DARK = "#c9ced6"


def icon(name: str) -> QIcon:
    """``resources/icons/<name>.svg`` as a QIcon in the current theme (an empty icon if the file is missing)."""
    return _icon(name, _current)


@lru_cache(maxsize=64)
def _icon(name: str, theme: str) -> QIcon:
    try:
        path = resource("icons", f"{name}.svg")
    except FileNotFoundError:
        return QIcon()
    if not path.exists():
        return QIcon()
    if theme != "dark":
        return QIcon(str(path))
    data = path.read_bytes().replace(ICON_STROKE.encode(), ICON_STROKE_DARK.encode())
    pixmap = QPixmap()
    if not pixmap.loadFromData(data, "SVG"):
        return QIcon(str(path))
    return QIcon(pixmap)


def stylesheet(mode: str = "light") -> str:
    try:
        text = resource("styles", "app.qss").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        log.warning("stylesheet not loaded: %s", exc)
        return ""
    try:
        text = text.replace("{icons}", resource("icons", "app.svg").parent.as_posix())
    except FileNotFoundError:
        pass
    if mode != "dark":
        return text
    return re.sub(r"#[0-9a-fA-F]{6}\b", lambda m: DARK.get(m.group(0).lower(), m.group(0)), text)


def system_prefers_dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    try:
        return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark
    except AttributeError:  # Qt < 6.5
        return app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def resolve(mode: str) -> str:
    """ "light" or "dark" for a mode ("system" follows the desktop)."""
    if mode == "dark":
        return "dark"
    if mode == "light":
        return "light"
    return "dark" if system_prefers_dark() else "light"


def current() -> str:
    """The theme in use: "light" or "dark"."""
    return _current


def color(name: str) -> QColor:
    """A named colour ("text", "muted", "accent", "good" …) in the current theme."""
    light = _NAMED.get(name, name)
    return QColor(DARK.get(light, light) if _current == "dark" else light)


def apply_theme(app: QApplication, mode: str = "light") -> str:
    """Fusion (looks the same on every OS) with the palette and stylesheet of ``mode``; returns the theme used."""
    global _current
    theme = resolve(mode if mode in MODES else "light")
    _current = theme
    app.setStyle("Fusion")

    def c(light: str) -> QColor:
        return QColor(DARK.get(light, light) if theme == "dark" else light)

    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#ffffff"),
        (QPalette.ColorRole.WindowText, "#1f2328"),
        (QPalette.ColorRole.Base, "#ffffff"),
        (QPalette.ColorRole.AlternateBase, "#f6f8fa"),
        (QPalette.ColorRole.Text, "#1f2328"),
        (QPalette.ColorRole.Button, "#f3f4f6"),
        (QPalette.ColorRole.ButtonText, "#1f2328"),
        (QPalette.ColorRole.Highlight, "#4f46e5"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.Link, "#0969da"),
        (QPalette.ColorRole.PlaceholderText, "#8b95a1"),
        (QPalette.ColorRole.Mid, "#d0d7de"),
        (QPalette.ColorRole.Midlight, "#e5e7eb"),
    ):
        palette.setColor(role, c(colour))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor("#111827"))
    palette.setColor(QPalette.ColorRole.ToolTipText, QColor("#f9fafb"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, c("#9ca3af"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, c("#9ca3af"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, c("#9ca3af"))
    app.setPalette(palette)
    font = QFont(app.font())
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(stylesheet(theme))
    return theme
