"""The streaming renderer: a reply's Markdown drawn into its document as it arrives, with bounded work per flush.

Finished Markdown blocks are rendered (with colours) once and appended; only the block still being written
is rendered again on each flush, without colours. Also here: the one shared :class:`MarkdownRenderer` and
the citation links ("[n]" → ``cite:n``) every rendered answer gets.
"""

from __future__ import annotations

import re

from PySide6.QtGui import QFontDatabase, QTextBlockFormat, QTextCharFormat, QTextCursor, QTextDocument

from purpose_desktop.ui import theme
from purpose_desktop.ui.chat.markdown import DARK as DARK_CODE
from purpose_desktop.ui.chat.markdown import LIGHT as LIGHT_CODE
from purpose_desktop.ui.chat.markdown import MarkdownRenderer, stable_boundary

#: "[n]" in an answer's prose: a reference to the numbered Vault excerpt n it was given.
_CITE = re.compile(r"\[(\d{1,2})\]")
#: What citation links leave alone: code (blocks and inline), existing links, and tags themselves.
_NOT_PROSE = re.compile(r"(<pre\b.*?</pre>|<code\b.*?</code>|<a\b.*?</a>|<[^>]+>)", re.S)


def link_citations(html: str, numbers: set[int]) -> str:
    """Make each "[n]" in the prose of rendered ``html`` a ``cite:n`` link when excerpt n exists."""
    if not numbers:
        return html
    parts = _NOT_PROSE.split(html)
    for i in range(0, len(parts), 2):  # even parts are the text between the skipped pieces
        parts[i] = _CITE.sub(
            lambda m: (
                f'<a href="cite:{m.group(1)}">[{m.group(1)}]</a>'
                if int(m.group(1)) in numbers
                else m.group(0)
            ),
            parts[i],
        )
    return "".join(parts)


_renderer: MarkdownRenderer | None = None


def shared_renderer() -> MarkdownRenderer:
    """One renderer for all messages, using the system's fixed-width font for code and the theme's colours."""
    global _renderer
    code_theme = DARK_CODE if theme.current() == "dark" else LIGHT_CODE
    if _renderer is None or _renderer.theme is not code_theme:
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
        _renderer = MarkdownRenderer(mono_family=mono, theme=code_theme)
    return _renderer


def _new_block(cursor: QTextCursor) -> None:
    """Start a fresh block (no list, no table) at the cursor, so inserted HTML never merges into the block
    before it (a paragraph would otherwise join the last list item)."""
    if cursor.position() > 0:
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())


class StreamRenderer:
    """Draws one streaming answer into a document, incrementally.

    The answer's source up to ``done`` is final and already in the document up to character ``tail_pos``;
    only what follows is rendered again. ``forget()`` when the document is rendered whole some other way.
    """

    def __init__(self) -> None:
        self.done = 0
        self.tail_pos = 0
        self.prefix = ""
        self.blocks: list[str] = []

    def forget(self) -> None:
        """Start over on the next ``feed`` (the document was replaced whole)."""
        self.done = self.tail_pos = 0
        self.prefix = ""
        self.blocks = []

    def feed(self, doc: QTextDocument, answer: str, citations: set[int]) -> tuple[str, ...]:
        """Show ``answer`` (all of it so far) in ``doc``; returns the code blocks' sources, in order."""
        if not answer.startswith(self.prefix):  # the think block closed late (R1) or the text changed
            doc.clear()
            self.forget()
        cursor = QTextCursor(doc)
        cursor.setPosition(min(self.tail_pos, doc.characterCount() - 1))
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        renderer = shared_renderer()
        boundary = stable_boundary(answer, self.done)
        if boundary > self.done:
            finished = renderer.render(answer[self.done : boundary], first_index=len(self.blocks))
            _new_block(cursor)
            cursor.insertHtml(link_citations(finished.html, citations))
            self.blocks.extend(finished.code_blocks)
            self.done = boundary
            self.prefix = answer[:boundary]
            self.tail_pos = cursor.position()
        tail_text = answer[boundary:]
        # The block still being written is drawn again every frame: without colours (the costly part);
        # finished blocks above are coloured once, and the final render colours everything.
        tail = (
            renderer.render(tail_text, first_index=len(self.blocks), highlight=False)
            if tail_text.strip()
            else None
        )
        if tail is not None:
            _new_block(cursor)
            cursor.insertHtml(link_citations(tail.html, citations))
        return (*self.blocks, *(tail.code_blocks if tail else ()))
