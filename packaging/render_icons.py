"""Render resources/icons/app.svg into the PNG icon set (16–512 px), app.ico and app.icns.

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icons.py

The results are committed: the build and the desktop install only copy them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
NAME = "purpose-desktop"  # the icon name the .desktop file asks for


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 — image plugins need it
    renderer = QSvgRenderer(str(ICONS / "app.svg"))
    if not renderer.isValid():
        print("app.svg is not a valid SVG", file=sys.stderr)
        return 1
    for size in SIZES:
        target = ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{NAME}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not render(renderer, size).save(str(target), "PNG"):
            print(f"could not write {target}", file=sys.stderr)
            return 1
        print(target.relative_to(ROOT))
    # Windows and macOS builds take their icon from these (build.spec); Qt writes both formats.
    for fmt, size in (("ico", 256), ("icns", 512)):
        target = ICONS / f"app.{fmt}"
        if render(renderer, size).save(str(target), fmt.upper()):
            print(target.relative_to(ROOT))
        else:
            print(f"skipped {target.name}: this Qt cannot write {fmt}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
