"""Markdown → Qt rich-text HTML: raw HTML disabled, fenced code highlighted by pygments, one Copy link per block."""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from purpose_desktop.engine.chat.code_blocks import is_python

#: Scheme of the links that copy a code block: ``copy:<n>`` where n indexes ``RenderedMarkdown.code_blocks``.
COPY_SCHEME = "copy"
#: ``run:<n>`` runs Python block n in the sandbox; ``runtests:<n>`` runs the chat's attached tests against it.
RUN_SCHEME = "run"
RUN_TESTS_SCHEME = "runtests"
#: Output shown under a block is cut to this many characters (the stored run keeps more).
RUN_OUTPUT_CHARS = 4000


def run_link(url: str) -> tuple[str, int] | None:
    """("run" | "runtests", block index) for a Run link, or None for any other link."""
    scheme, sep, rest = url.partition(":")
    if sep and scheme in (RUN_SCHEME, RUN_TESTS_SCHEME) and rest.isdigit():
        return scheme, int(rest)
    return None


def run_summary(run: dict) -> tuple[str, str]:
    """(state, one line) for a run record: state is "passed", "failed", "not_run" or "running"."""
    status = run.get("status", "")
    tests = run.get("kind") == "tests"
    if status == "running":
        return "running", "Running the tests in the sandbox…" if tests else "Running in the sandbox…"
    if status == "not_run":
        return "not_run", "Not run — " + str(run.get("reason") or "the sandbox refused")
    if tests:
        counts = f"{run.get('passed', 0)} passed, {run.get('failed', 0)} failed"
        if status == "passed":
            return "passed", f"✓ Tests passed ({counts})"
        return "failed", f"✗ Tests failed ({counts})" + (f" — {run['reason']}" if run.get("reason") else "")
    if status == "passed":
        return "passed", f"✓ Ran in the sandbox (exit 0, {run.get('elapsed_ms', 0) / 1000:.1f} s)"
    return "failed", "✗ Failed — " + str(run.get("reason") or "the code did not finish")


@dataclass(frozen=True)
class CodeTheme:
    """Colours of a code block; ``pygments_style`` colours the tokens, the rest frames the block."""

    pygments_style: str = "default"
    background: str = "#f6f8fa"
    header_background: str = "#eaeef2"
    border: str = "#d0d7de"
    header_text: str = "#57606a"
    link: str = "#0969da"
    inline_background: str = "#eff1f3"


LIGHT = CodeTheme()
DARK = CodeTheme(
    pygments_style="github-dark",
    background="#161b22",
    header_background="#21262d",
    border="#30363d",
    header_text="#8b949e",
    link="#58a6ff",
    inline_background="#2d333b",
)


@dataclass(frozen=True)
class RenderedMarkdown:
    """HTML for a QTextDocument plus the exact source of each code block, in order, for the Copy links."""

    html: str
    code_blocks: tuple[str, ...]


def copy_index(url: str) -> int | None:
    """The code-block index a ``copy:<n>`` link points at, or None for any other link."""
    scheme, sep, rest = url.partition(":")
    if sep and scheme == COPY_SCHEME and rest.isdigit():
        return int(rest)
    return None


@lru_cache(maxsize=64)
def _lexer(language: str):
    if not language:
        return TextLexer(ensurenl=False)
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(ensurenl=False)


#: Languages whose lexers are loaded ahead of time: the first lookup scans pygments' plugins (~60 ms).
COMMON_LANGUAGES = ("python", "bash", "javascript", "json", "text")


def warm_up(style: str = "default") -> None:
    """Load the common lexers and the formatter now, so the first code block never stalls streaming."""
    for language in COMMON_LANGUAGES:
        highlight("x = 1\n", _lexer(language), _formatter(style))


@lru_cache(maxsize=8)
def _formatter(style: str) -> HtmlFormatter:
    # Inline styles: Qt's rich text understands <span style="color:…">, not stylesheet classes.
    return HtmlFormatter(style=style, noclasses=True, nowrap=True)


class MarkdownRenderer:
    """Renders chat Markdown the way a message view shows it; one instance can serve every message."""

    def __init__(self, *, mono_family: str = "monospace", theme: CodeTheme = LIGHT) -> None:
        self.mono_family = mono_family
        self.theme = theme
        # "commonmark" with html off: model output like <img onerror=…> shows as text, never as markup.
        # breaks=True: chat models put code and lists on single lines without fences; keep those lines.
        self._md = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(
            ["table", "strikethrough"]
        )
        # markdown-it binds each rule to its renderer, so pass plain functions that call back here.
        rules = {
            "fence": self._render_fence,
            "code_block": self._render_fence,
            "code_inline": self._render_code_inline,
            "image": self._render_image,
            "table_open": self._render_table_open,
            "th_open": self._render_cell_open,
            "td_open": self._render_cell_open,
        }
        for name, method in rules.items():
            self._md.add_render_rule(name, lambda _r, tokens, idx, _opts, env, m=method: m(tokens, idx, env))

    def render(
        self,
        text: str,
        *,
        copied_index: int | None = None,
        runnable: bool = False,
        tests: bool = False,
        runs: dict | None = None,
        first_index: int = 0,
        highlight: bool = True,
    ) -> RenderedMarkdown:
        """Render ``text``; an unterminated fence (a reply still streaming) runs to the end as a code block.

        ``copied_index`` labels that block's link "Copied" (feedback right after a click). ``runnable``
        adds "Run" to Python blocks (and "Run the tests" when ``tests``); ``runs`` (block index → run
        record) shows each block's last run under it.
        ``first_index`` numbers the Copy links from there (a piece of a longer message rendered alone).
        ``highlight`` False shows code as plain text (the block still being streamed: highlighting it again
        on every frame is most of the cost; the final render colours it).
        """
        env: dict = {
            "code_blocks": [],
            "copied_index": copied_index,
            "runnable": runnable,
            "tests": tests,
            "runs": runs or {},
            "first_index": first_index,
            "highlight": highlight,
        }
        body = self._md.render(text, env)
        return RenderedMarkdown(html=body, code_blocks=tuple(env["code_blocks"]))

    # -- render rules -------------------------------------------------------------------------
    def _render_fence(self, tokens, idx, env) -> str:
        token = tokens[idx]
        language = token.info.strip().split(" ")[0] if token.info else ""
        source = token.content[:-1] if token.content.endswith("\n") else token.content
        index = len(env["code_blocks"]) + env.get("first_index", 0)
        env["code_blocks"].append(source)
        links: tuple[tuple[str, str], ...] = ()
        if env.get("runnable") and is_python(language, source):
            links = ((f"{RUN_SCHEME}:{index}", "Run"),)
            if env.get("tests"):
                links += ((f"{RUN_TESTS_SCHEME}:{index}", "Run the tests"),)
        out = self.code_block_html(
            source,
            language,
            index,
            copied=index == env.get("copied_index"),
            links=links,
            highlight_code=env.get("highlight", True),
        )
        run = (env.get("runs") or {}).get(index)
        if isinstance(run, dict):
            out += self.run_output_html(run)
        return out

    def run_output_html(self, run: dict) -> str:
        """What a run printed, under its block: a one-line verdict, then stdout and stderr."""
        t = self.theme
        state, line = run_summary(run)
        colour = {
            "passed": "#1a7f37",
            "failed": "#cf222e",
            "not_run": t.header_text,
            "running": t.header_text,
        }[state]
        body = ""
        if state != "running":
            parts = [p.rstrip("\n") for p in (run.get("stdout"), run.get("stderr")) if p and p.strip()]
            text = "\n".join(parts)
            if len(text) > RUN_OUTPUT_CHARS:
                text = "…" + text[-RUN_OUTPUT_CHARS:]
            if text:
                body = (
                    f"<pre style=\"white-space: pre-wrap; margin: 4px 0 0 0; font-family: '{self.mono_family}';\">"
                    f"{html.escape(text)}</pre>"
                )
            elif state == "passed":
                body = f'<div style="color: {t.header_text}; font-size: small;">(no output)</div>'
            if run.get("hint") and state == "not_run":
                body += (
                    f'<div style="color: {t.header_text}; font-size: small;">{html.escape(run["hint"])}</div>'
                )
        return (
            f'<table width="100%" cellspacing="0" cellpadding="0" border="1" '
            f'style="border-collapse: collapse; border-color: {t.border}; border-style: dashed; margin-top: -6px; '
            f'margin-bottom: 10px;"><tr><td style="padding: 6px 12px; border-color: {t.border};">'
            f'<span style="color: {colour}; font-size: small;"><b>Output</b> · {html.escape(line)}</span>'
            f"{body}</td></tr></table>\n"
        )

    def code_block_html(
        self,
        source: str,
        language: str,
        index: int,
        *,
        copied: bool = False,
        links: tuple[tuple[str, str], ...] = (),
        highlight_code: bool = True,
    ) -> str:
        """One code block as a two-row table (language + Copy link, then the code): Qt draws table
        backgrounds and padding, which it does not do for <pre>."""
        t = self.theme
        lexer = _lexer(language.lower())
        style = t.pygments_style
        # Pygments ends its output with a newline, which a <pre> would show as an extra empty line.
        if not source:
            code_html = ""
        elif highlight_code:
            code_html = highlight(source, lexer, _formatter(style)).rstrip("\n")
        else:
            code_html = html.escape(source)
        background = t.background
        label = html.escape(language or "text")
        return (
            f'<table width="100%" cellspacing="0" cellpadding="0" border="1" '
            f'style="border-collapse: collapse; border-color: {t.border}; border-style: solid; '
            f'margin-top: 6px; margin-bottom: 10px;">'
            f'<tr><td bgcolor="{t.header_background}" style="padding: 5px 12px; border-color: {t.border};">'
            f'<table width="100%" cellspacing="0" cellpadding="0" border="0"><tr>'
            f'<td style="color: {t.header_text}; font-size: small;">{label}</td>'
            f'<td align="right" style="font-size: small;">'
            + "".join(
                f'<a href="{href}" style="color: {t.link}; text-decoration: none;"><b>{label}</b></a>&nbsp;&nbsp;&nbsp;'
                for href, label in links
            )
            + f'<a href="{COPY_SCHEME}:{index}" style="color: {t.link}; text-decoration: none;">{"Copied ✓" if copied else "Copy"}</a>'
            f"</td></tr></table></td></tr>"
            f'<tr><td bgcolor="{background}" style="padding: 10px 12px; border-color: {t.border};">'
            f"<pre style=\"white-space: pre-wrap; margin: 0; font-family: '{self.mono_family}';\">"
            f"{code_html}</pre></td></tr></table>\n"
        )

    def _render_code_inline(self, tokens, idx, _env) -> str:
        t = self.theme
        return (
            f"<code style=\"font-family: '{self.mono_family}'; background-color: {t.inline_background};\">"
            f"{html.escape(tokens[idx].content)}</code>"
        )

    def _render_table_open(self, _tokens, _idx, _env) -> str:
        # Qt draws no cell borders or padding unless the table asks for them.
        return (
            f'<table cellspacing="0" cellpadding="6" border="1" '
            f'style="border-collapse: collapse; border-color: {self.theme.border}; border-style: solid; '
            f'margin-top: 4px; margin-bottom: 10px;">\n'
        )

    def _render_cell_open(self, tokens, idx, _env) -> str:
        token = tokens[idx]
        tag = token.tag
        align = ""
        style = token.attrGet("style") or ""
        if "text-align:" in style:
            align = f' align="{style.split("text-align:")[1].strip().rstrip(";")}"'
        background = f' bgcolor="{self.theme.background}"' if tag == "th" else ""
        return f"<{tag}{align}{background}>"

    def _render_image(self, tokens, idx, _env) -> str:
        # Never let model output make the view load a file or URL; show the alt text as a link instead.
        token = tokens[idx]
        alt = html.escape(token.content or "image")
        src = token.attrGet("src") or ""
        return f'<a href="{html.escape(str(src), quote=True)}">[{alt}]</a>'


def stable_boundary(text: str, start: int = 0) -> int:
    """Where the finished Markdown blocks of a streaming ``text`` end: just after the last blank line (or
    closing fence) outside a code fence, searching from ``start`` (itself such a boundary).

    Everything before the boundary will not change as more tokens arrive, so a streaming view renders it
    once and re-renders only what follows. Only complete lines count.
    """
    boundary = start
    fence: str | None = None
    pos = start
    while True:
        end = text.find("\n", pos)
        if end == -1:
            return boundary
        line = text[pos:end]
        stripped = line.lstrip(" ")
        if len(line) - len(stripped) <= 3 and stripped[:3] in ("```", "~~~"):
            marker = stripped[:3]
            if fence is None:
                fence = marker
            elif marker == fence and not stripped.strip("`~ "):
                fence = None
                boundary = end + 1  # a closed code block is finished
        elif fence is None and not line.strip():
            boundary = end + 1
        pos = end + 1


@lru_cache(maxsize=1)
def _default_renderer() -> MarkdownRenderer:
    return MarkdownRenderer()


def render_markdown(text: str) -> RenderedMarkdown:
    """Render with the default renderer (generic monospace font, light theme)."""
    return _default_renderer().render(text)
