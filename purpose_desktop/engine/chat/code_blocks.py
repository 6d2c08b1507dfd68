"""The code blocks of an answer, numbered exactly as the chat view numbers them, and which are Python."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt

#: Fence labels that mean Python; an unlabelled block counts too when it parses as Python.
PYTHON_LABELS = frozenset({"python", "py", "python3", "py3", "pycon"})


@dataclass(frozen=True)
class CodeBlock:
    """One fenced (or indented) block: its index in the answer, its label and its exact source."""

    index: int
    language: str
    source: str

    @property
    def is_python(self) -> bool:
        return is_python(self.language, self.source)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # The chat view's settings (ui/chat/markdown.py): the same tokens, so index n here is block n there.
    return MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])


def code_blocks(text: str) -> list[CodeBlock]:
    """Every code block of ``text`` in order (fenced and indented, as the view renders them)."""
    out = []
    for token in _parser().parse(text or ""):
        if token.type not in ("fence", "code_block"):
            continue
        language = token.info.strip().split(" ")[0].lower() if token.info else ""
        source = token.content[:-1] if token.content.endswith("\n") else token.content
        out.append(CodeBlock(len(out), language, source))
    return out


def is_python(language: str, source: str) -> bool:
    """Can this block be run as Python? Labelled python, or unlabelled and valid Python syntax."""
    language = (language or "").lower()
    if language in PYTHON_LABELS:
        return True
    if language or not source.strip():
        return False
    try:
        compile(source, "<answer>", "exec")
    except (SyntaxError, ValueError):
        return False
    # One bare word or sentence fragment compiles too ("hello"); ask for something code-like.
    return any(ch in source for ch in "=()[]:") or "import " in source


def python_block_indexes(text: str) -> list[int]:
    """The indexes of the blocks a Run button belongs on."""
    return [b.index for b in code_blocks(text) if b.is_python]
