"""The look: Fusion style, a light palette, the app stylesheet and the SVG icons from resources/."""

from __future__ import annotations

import logging
from functools import lru_cache

from PySide6.QtGui import QColor, QFont, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from purpose_desktop.engine.resources import resource

log = logging.getLogger(__name__)


@lru_cache(maxsize=32)
def icon(name: str) -> QIcon:
    """``resources/icons/<name>.svg`` as a QIcon (an empty icon if the file is missing)."""
    try:
        path = resource("icons", f"{name}.svg")
    except FileNotFoundError:
        return QIcon()
    return QIcon(str(path)) if path.exists() else QIcon()


def stylesheet() -> str:
    try:
        return resource("styles", "app.qss").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        log.warning("stylesheet not loaded: %s", exc)
        return ""


def apply_theme(app: QApplication) -> None:
    """Fusion (looks the same on every OS) with a light palette and the app stylesheet."""
    app.setStyle("Fusion")
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
        (QPalette.ColorRole.ToolTipBase, "#111827"),
        (QPalette.ColorRole.ToolTipText, "#f9fafb"),
    ):
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#9ca3af"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#9ca3af"))
    app.setPalette(palette)
    font = QFont(app.font())
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(stylesheet())
