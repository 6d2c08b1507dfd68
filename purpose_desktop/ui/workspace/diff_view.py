"""DiffView: a unified diff, one row per line — added green, removed red — with the code coloured by pygments."""

from __future__ import annotations

import html
import re
from functools import lru_cache

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QSizePolicy, QTextBrowser, QWidget

from purpose_desktop.ui import theme

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
#: Row colours per theme: (added, removed, hunk header, line-number text).
_COLOURS = {
    "light": ("#e6ffec", "#ffebe9", "#ddf4ff", "#8c959f"),
    "dark": ("#12261e", "#301b1e", "#161f2e", "#6e7681"),
}
MAX_HEIGHT = 320


@lru_cache(maxsize=32)
def _lexer(path: str):
    try:
        return get_lexer_for_filename(path, stripnl=False, stripall=False)
    except ClassNotFound:
        return TextLexer(stripnl=False)


@lru_cache(maxsize=4)
def _formatter(dark: bool) -> HtmlFormatter:
    return HtmlFormatter(nowrap=True, noclasses=True, style="github-dark" if dark else "default")


def _code(text: str, path: str, dark: bool) -> str:
    if not text:
        return "&nbsp;"
    out = highlight(text, _lexer(path), _formatter(dark)).rstrip("\n")
    return out.replace("  ", "&nbsp; ")


def diff_html(diff: str, path: str, dark: bool | None = None) -> str:
    """Qt rich text for ``diff``: a table row per line with old/new line numbers, the sign and coloured code."""
    dark = theme.current() == "dark" if dark is None else dark
    added, removed, hunk, muted = _COLOURS["dark" if dark else "light"]
    rows = []
    old = new = 0
    for line in diff.splitlines():
        if line.startswith(("--- ", "+++ ")):
            continue
        m = _HUNK.match(line)
        if m:
            old, new = int(m.group(1)), int(m.group(2))
            rows.append(
                f'<tr bgcolor="{hunk}"><td colspan="4" style="color:{muted}">&nbsp;{html.escape(line)}</td></tr>'
            )
            continue
        if line.startswith("\\"):
            rows.append(f'<tr><td colspan="4" style="color:{muted}">&nbsp;{html.escape(line)}</td></tr>')
            continue
        sign, body = (line[:1] or " "), line[1:]
        if sign == "+":
            colour, a, b = added, "", str(new)
            new += 1
        elif sign == "-":
            colour, a, b = removed, str(old), ""
            old += 1
        else:
            colour, a, b = None, str(old), str(new)
            old += 1
            new += 1
        bg = f' bgcolor="{colour}"' if colour else ""
        rows.append(
            f"<tr{bg}>"
            f'<td align="right" style="color:{muted}">{a}&nbsp;</td>'
            f'<td align="right" style="color:{muted}">{b}&nbsp;</td>'
            f"<td>{html.escape(sign)}&nbsp;</td>"
            f'<td width="100%" style="white-space:pre">{_code(body, path, dark)}</td>'
            "</tr>"
        )
    if not rows:
        rows.append(f'<tr><td style="color:{muted}">No change.</td></tr>')
    return '<table width="100%" cellspacing="0" cellpadding="1">' + "".join(rows) + "</table>"


class DiffView(QTextBrowser):
    """A read-only, syntax-coloured view of one file's unified diff, as tall as it needs up to MAX_HEIGHT."""

    def __init__(self, diff: str = "", path: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diffView")
        self.setOpenLinks(False)
        self.setLineWrapMode(QTextBrowser.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        # Never wider than the column it sits in: long lines scroll inside the view instead.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(120)
        self.diff = ""
        self.set_diff(diff, path)

    def set_diff(self, diff: str, path: str) -> None:
        self.diff = diff
        self.setHtml(diff_html(diff, path))
        lines = max(1, sum(1 for line in diff.splitlines() if not line.startswith(("--- ", "+++ "))))
        height = (
            self.fontMetrics().lineSpacing() * lines + 16 + self.horizontalScrollBar().sizeHint().height()
        )
        self.setFixedHeight(min(MAX_HEIGHT, max(48, height)))
