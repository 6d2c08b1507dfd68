"""Chunkers: a Document's text → Chunks that follow its structure, each with its exact 1-based line range.

Markdown and reStructuredText split at sections, Python at whole top-level functions and classes (via
``ast``; a big class splits into its methods), other code at top-level ``{…}`` blocks or by indentation,
prose into paragraphs packed to a size with overlap. A chunk's text is always the exact lines it cites.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from purpose_desktop.engine.vault.ingest import INDENT_LANGUAGES, Document

MAX_CHUNK_CHARS = 1200  # ~250–350 model tokens: all-MiniLM-L6-v2 reads the first 256
MIN_CHUNK_CHARS = 240  # smaller neighbours are packed together
PROSE_OVERLAP_CHARS = 200
CODE_OVERLAP_CHARS = 80


@dataclass(frozen=True)
class Chunk:
    """A piece of a file: ``text`` is lines ``start_line``–``end_line`` (1-based, inclusive)."""

    text: str
    start_line: int
    end_line: int
    kind: str  # section, function, class, module, block, prose, page
    title: str = ""
    page: int | None = None


@dataclass
class _Seg:
    start: int
    end: int
    kind: str
    title: str


# -- shared helpers ---------------------------------------------------------------------------------


def split_lines(text: str) -> list[str]:
    """Lines as editors number them: split on "\\n" only, without an extra empty line at the end."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _size(lines: list[str], start: int, end: int) -> int:
    return sum(len(lines[i - 1]) + 1 for i in range(start, end + 1))


def _blank(line: str) -> bool:
    return not line.strip()


def _windows(
    lines: list[str], start: int, end: int, max_chars: int, overlap: int
) -> list[tuple[int, int, str]]:
    """Split lines start..end into pieces of at most ``max_chars``, preferring blank-line breaks, with overlap."""
    out: list[tuple[int, int, str]] = []
    s = start
    while s <= end and _blank(lines[s - 1]):
        s += 1
    while s <= end:
        if len(lines[s - 1]) > max_chars:  # one enormous line (minified code, a table): hard-split it
            line = lines[s - 1]
            out.extend((s, s, line[i : i + max_chars]) for i in range(0, len(line), max_chars))
            s += 1
            continue
        e, size = s, len(lines[s - 1]) + 1
        while e < end and size + len(lines[e]) + 1 <= max_chars and len(lines[e]) <= max_chars:
            e += 1
            size += len(lines[e - 1]) + 1
        if e < end:  # break at the last blank line in the window's final 40%, if there is one
            floor = s + int((e - s) * 0.6)
            for b in range(e, floor, -1):
                if _blank(lines[b - 1]):
                    e = b - 1 if b > s else b
                    break
        text = "\n".join(lines[s - 1 : e])
        if text.strip():
            out.append((s, e, text))
        if e >= end:
            break
        nxt = e + 1
        kept = 0
        while nxt - 1 > s and kept + len(lines[nxt - 2]) + 1 <= overlap:
            nxt -= 1
            kept += len(lines[nxt - 1]) + 1
        if overlap and kept == 0:
            # Long lines (a paragraph per line): repeat the last non-blank line if it is not huge.
            last = e
            while last > s and _blank(lines[last - 1]):
                last -= 1
            if last > s and len(lines[last - 1]) <= 2 * overlap:
                nxt = last
        s = nxt
        while s <= end and _blank(lines[s - 1]):
            s += 1
    return out


def _trim(lines: list[str], seg: _Seg) -> _Seg | None:
    """The segment without leading/trailing blank lines (None if it is all blank)."""
    s, e = seg.start, seg.end
    while s <= e and _blank(lines[s - 1]):
        s += 1
    while e >= s and _blank(lines[e - 1]):
        e -= 1
    if s > e:
        return None
    return _Seg(s, e, seg.kind, seg.title)


def _pack(lines: list[str], segs: list[_Seg]) -> list[_Seg]:
    """Merge small neighbouring segments (< MIN_CHUNK_CHARS) while the result stays ≤ MAX_CHUNK_CHARS.

    A small segment that fits with neither neighbour (a divider comment between two big functions)
    becomes the first lines of the next segment rather than a chunk of its own.
    """
    out: list[_Seg] = []
    for seg in segs:
        if not out:
            out.append(seg)
            continue
        prev = out[-1]
        prev_size, seg_size = _size(lines, prev.start, prev.end), _size(lines, seg.start, seg.end)
        combined = _size(lines, prev.start, seg.end)
        if (prev_size < MIN_CHUNK_CHARS or seg_size < MIN_CHUNK_CHARS) and combined <= MAX_CHUNK_CHARS:
            titles = [t for t in (prev.title, seg.title) if t]
            kind = prev.kind if prev.kind == seg.kind else "block"
            out[-1] = _Seg(prev.start, seg.end, kind, ", ".join(dict.fromkeys(titles)))
        elif prev_size < MIN_CHUNK_CHARS:  # too big to pack: the small one leads into this one
            out[-1] = _Seg(prev.start, seg.end, seg.kind, seg.title or prev.title)
        else:
            out.append(seg)  # if it is small, the next round folds it into its successor
    return out


def _emit(lines: list[str], segs: list[_Seg], overlap: int, page: int | None = None) -> list[Chunk]:
    chunks: list[Chunk] = []
    trimmed = [t for t in (_trim(lines, s) for s in segs) if t is not None]
    for seg in _pack(lines, trimmed):
        if _size(lines, seg.start, seg.end) <= MAX_CHUNK_CHARS:
            text = "\n".join(lines[seg.start - 1 : seg.end])
            chunks.append(Chunk(text, seg.start, seg.end, seg.kind, seg.title, page))
            continue
        pieces = _windows(lines, seg.start, seg.end, MAX_CHUNK_CHARS, overlap)
        for i, (s, e, text) in enumerate(pieces, 1):
            title = f"{seg.title} (part {i})" if seg.title and len(pieces) > 1 else seg.title
            chunks.append(Chunk(text, s, e, seg.kind, title, page))
    return chunks


# -- Python -----------------------------------------------------------------------------------------

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _def_start(node: ast.AST, lines: list[str], floor: int) -> int:
    """First line of a def/class: its decorators, plus comment lines directly above it."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    while start - 1 > floor and lines[start - 2].lstrip().startswith("#"):
        start -= 1
    return start


def _python_segments(
    nodes: list[ast.stmt], lines: list[str], first: int, last: int, prefix: str
) -> list[_Seg]:
    segs: list[_Seg] = []
    cursor = first
    for node in nodes:
        if not isinstance(node, _DEFS) or node.end_lineno is None:
            continue
        start = max(_def_start(node, lines, cursor - 1), cursor)
        end = min(node.end_lineno, last)
        if start > cursor:
            segs.append(_Seg(cursor, start - 1, "module" if not prefix else "class", prefix.rstrip(".")))
        name = prefix + node.name
        kind = "class" if isinstance(node, ast.ClassDef) else "function"
        if kind == "class" and _size(lines, start, end) > MAX_CHUNK_CHARS:
            segs.extend(_python_segments(node.body, lines, start, end, name + "."))
        else:
            segs.append(_Seg(start, end, kind, name))
        cursor = end + 1
    if cursor <= last:
        segs.append(_Seg(cursor, last, "module" if not prefix else "class", prefix.rstrip(".")))
    return segs


def chunk_python(text: str, lines: list[str]) -> list[Chunk] | None:
    """Whole top-level functions and classes (big classes by method); None if the file does not parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return _emit(lines, _python_segments(tree.body, lines, 1, len(lines), ""), CODE_OVERLAP_CHARS)


# -- other code -------------------------------------------------------------------------------------

_STRING = re.compile(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|`(?:\\.|[^`\\])*`")
_CLOSERS = re.compile(r"^(?:end\b|fi\b|done\b|esac\b|else\b|elif\b|elsif\b|rescue\b|ensure\b|[)\]}>])")


def _title(lines: list[str], start: int, end: int) -> str:
    for i in range(start, end + 1):
        line = lines[i - 1].strip()
        if line and not line.startswith(("//", "/*", "*", "#", "--", ";", "<!--")):
            return line[:80]
    return ""


def _brace_segments(lines: list[str]) -> list[_Seg]:
    """Top-level blocks: a segment ends where brace depth returns to 0, or at a blank line at depth 0."""
    segs: list[_Seg] = []
    depth, in_comment, seg_start = 0, False, None
    for i, raw in enumerate(lines, 1):
        line = _STRING.sub('""', raw)
        if in_comment:
            if "*/" not in line:
                continue
            line = line.split("*/", 1)[1]
            in_comment = False
        line = re.sub(r"/\*.*?\*/", "", line)
        if "/*" in line:
            line, in_comment = line.split("/*", 1)[0], True
        line = line.split("//", 1)[0]
        if seg_start is None:
            if _blank(raw):
                continue
            seg_start = i
        before = depth
        depth = max(0, depth + line.count("{") - line.count("}"))
        closed = before > 0 and depth == 0
        if depth == 0 and (closed or _blank(raw)):
            segs.append(_Seg(seg_start, i, "block", ""))
            seg_start = None
    if seg_start is not None:
        segs.append(_Seg(seg_start, len(lines), "block", ""))
    return segs


def _indent_segments(lines: list[str]) -> list[_Seg]:
    """Split at blank lines followed by an unindented line that does not close a block (end, fi, }, …)."""
    segs: list[_Seg] = []
    start = 1
    for i in range(2, len(lines) + 1):
        line = lines[i - 1]
        if _blank(lines[i - 2]) and line[:1] not in ("", " ", "\t") and not _CLOSERS.match(line):
            segs.append(_Seg(start, i - 1, "block", ""))
            start = i
    segs.append(_Seg(start, len(lines), "block", ""))
    return segs


_INDENT_LANGS = frozenset(INDENT_LANGUAGES.values()) | {"make", "dockerfile", "cmake"}


def chunk_code(lines: list[str], language: str) -> list[Chunk]:
    """Top-level ``{…}`` blocks for brace languages, indentation-led blocks for the rest; packed and split."""
    segs = _indent_segments(lines) if language in _INDENT_LANGS else _brace_segments(lines)
    for seg in segs:
        seg.title = _title(lines, seg.start, seg.end)
    return _emit(lines, segs, CODE_OVERLAP_CHARS)


# -- Markdown / reStructuredText ---------------------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_RST_ADORN = re.compile(r"^([=\-~^\"'`#*+<>:._!$%&,;?@\\|/])\1{2,}\s*$")


def _markdown_headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(first line, level, title) of each heading outside fenced code."""
    heads: list[tuple[int, int, str]] = []
    fence: str | None = None
    for i, line in enumerate(lines, 1):
        m = _FENCE.match(line)
        if m:
            marker = m.group(1)[0] * 3
            if fence is None:
                fence = marker
            elif line.strip().startswith(fence):
                fence = None
            continue
        if fence:
            continue
        m = _ATX.match(line)
        if m:
            heads.append((i, len(m.group(1)), m.group(2).strip()))
            continue
        m = _SETEXT.match(line)
        if m and i > 1 and not _blank(lines[i - 2]) and not (heads and heads[-1][0] == i - 1):
            prev = lines[i - 2]
            if not prev.lstrip().startswith(("-", "*", "+", ">", "|", "#")) and (
                i == 2 or _blank(lines[i - 3])
            ):
                heads.append((i - 1, 1 if m.group(1)[0] == "=" else 2, prev.strip()))
    return heads


def _rst_headings(lines: list[str]) -> list[tuple[int, int, str]]:
    heads: list[tuple[int, int, str]] = []
    styles: list[tuple[str, bool]] = []
    i = 1
    while i < len(lines):
        title, under = lines[i - 1], lines[i]
        if title.strip() and not _RST_ADORN.match(title) and _RST_ADORN.match(under):
            if len(under.rstrip()) >= len(title.rstrip()) or len(title.strip()) <= 3:
                over = i >= 2 and lines[i - 2].strip() == under.strip()
                style = (under.strip()[0], over)
                if style not in styles:
                    styles.append(style)
                heads.append((i - 1 if over else i, styles.index(style) + 1, title.strip()))
                i += 2
                continue
        i += 1
    return heads


def _section_segments(lines: list[str], heads: list[tuple[int, int, str]]) -> list[_Seg]:
    segs: list[_Seg] = []
    if not heads or heads[0][0] > 1:
        segs.append(_Seg(1, (heads[0][0] - 1) if heads else len(lines), "section", ""))
    path: list[tuple[int, str]] = []
    for n, (line, level, title) in enumerate(heads):
        path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
        end = heads[n + 1][0] - 1 if n + 1 < len(heads) else len(lines)
        segs.append(_Seg(line, end, "section", " > ".join(t for _, t in path)[:200]))
    return segs


def chunk_sections(lines: list[str], heads: list[tuple[int, int, str]]) -> list[Chunk]:
    return _emit(lines, _section_segments(lines, heads), PROSE_OVERLAP_CHARS)


# -- prose and PDF ----------------------------------------------------------------------------------


def chunk_prose(
    lines: list[str], start: int = 1, end: int | None = None, page: int | None = None
) -> list[Chunk]:
    """Paragraphs packed to MAX_CHUNK_CHARS with ~PROSE_OVERLAP_CHARS of overlap."""
    end = len(lines) if end is None else end
    title = f"page {page}" if page is not None else ""
    kind = "page" if page is not None else "prose"
    return [
        Chunk(text, s, e, kind, title, page)
        for s, e, text in _windows(lines, start, end, MAX_CHUNK_CHARS, PROSE_OVERLAP_CHARS)
    ]


def chunk_document(doc: Document) -> list[Chunk]:
    """Structure-aware chunks of ``doc``; blank documents give none."""
    lines = split_lines(doc.text)
    if not lines or not doc.text.strip():
        return []
    if doc.kind == "python":
        chunks = chunk_python(doc.text, lines)
        return chunks if chunks is not None else chunk_code(lines, "python")
    if doc.kind == "code":
        return chunk_code(lines, doc.language)
    if doc.kind == "markdown":
        return chunk_sections(lines, _markdown_headings(lines))
    if doc.kind == "rst":
        return chunk_sections(lines, _rst_headings(lines))
    if doc.kind == "pdf":
        chunks: list[Chunk] = []
        starts = list(doc.pages) + [len(lines) + 1]
        for page, (s, nxt) in enumerate(zip(starts, starts[1:], strict=False), 1):
            if s <= nxt - 1:
                chunks.extend(chunk_prose(lines, s, min(nxt - 1, len(lines)), page))
        return chunks
    return chunk_prose(lines)


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*[A-Za-z0-9]")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def identifier_terms(text: str, limit: int = 400) -> str:
    """Sub-words of camelCase / PascalCase / letter+digit identifiers ("parseHTTPResponse" → "parse http response").

    FTS's tokenizer already splits snake_case at "_"; what it cannot see is added here, for the FTS
    ``terms`` column: camelCase parts (so "http response" finds parseHTTPResponse) and each snake_case
    name joined into one token ("retry_failed_upload" → "retryfailedupload"), which is far rarer, so
    ranks far better, than its common parts.
    """
    seen: dict[str, None] = {}
    for ident in _IDENT.findall(text):
        pieces = [p for p in ident.split("_") if p]
        if len(pieces) > 1:  # snake_case also as one rare token: "retryfailedupload"
            seen.setdefault("".join(pieces).lower(), None)
        for word in pieces:
            if not word or word.islower() or (word.isupper() and word.isalpha()):
                continue
            parts = _CAMEL.findall(word)
            if len(parts) > 1:
                seen.setdefault(" ".join(p.lower() for p in parts), None)
                if len(seen) >= limit:
                    return " ".join(seen)
    return " ".join(seen)
