"""Markdown → HTML for the message view: safe, highlighted, copyable, streaming-tolerant (no Qt needed)."""

from __future__ import annotations

from purpose_desktop.ui.chat.markdown import COPY_SCHEME, MarkdownRenderer, copy_index, render_markdown


def test_raw_html_in_model_output_is_shown_as_text():
    out = render_markdown('Look: <img src=x onerror="alert(1)"> and <script>alert(2)</script>')
    assert "<img" not in out.html and "<script" not in out.html
    assert "&lt;script&gt;" in out.html


def test_images_never_load_and_unsafe_links_are_not_links():
    out = render_markdown("![diagram](http://example.com/x.png) [click](javascript:alert(1))")
    assert "<img" not in out.html
    assert "[diagram]" in out.html
    assert 'href="javascript' not in out.html


def test_fenced_code_is_highlighted_with_inline_styles_and_a_copy_link():
    code = "def add(a, b):\n    return a + b"
    out = render_markdown(f"Sum:\n\n```python\n{code}\n```\n")
    assert out.code_blocks == (code,)
    assert 'style="color: #008000; font-weight: bold">def</span>' in out.html  # pygments, inline
    assert 'bgcolor="#f6f8fa"' in out.html  # the block has a background
    assert f'href="{COPY_SCHEME}:0"' in out.html
    assert ">python<" in out.html  # the language label


def test_copy_keeps_exact_source_including_characters_html_would_mangle():
    code = 'if a < b and c > d:\n\tprint("&amp; <tag>")\n\n\n    # trailing spaces   '
    out = render_markdown(f"```\n{code}\n```")
    assert out.code_blocks == (code,)
    assert ">text<" in out.html  # unlabeled blocks say "text"


def test_several_blocks_are_numbered_in_order():
    out = render_markdown("```js\nlet a = 1\n```\n\ntext\n\n```\nplain\n```\n\n    indented code\n")
    assert out.code_blocks == ("let a = 1", "plain", "indented code")
    for n in range(3):
        assert f'href="copy:{n}"' in out.html


def test_unterminated_fence_while_streaming_renders_as_a_growing_code_block():
    partial = "Here:\n\n```python\nfor i in range(3):\n    print(i"
    out = render_markdown(partial)
    assert out.code_blocks == ("for i in range(3):\n    print(i",)
    assert "<pre" in out.html
    # A fence opener with nothing after it yet must not crash either.
    assert render_markdown("Here:\n\n```py").code_blocks == ("",)
    assert render_markdown("Here:\n\n``").code_blocks == ()


def test_unknown_language_falls_back_to_plain_text():
    out = render_markdown("```no-such-language-xyz\nsome <code>\n```")
    assert out.code_blocks == ("some <code>",)
    assert "&lt;code&gt;" in out.html


def test_copied_feedback_and_copy_index():
    renderer = MarkdownRenderer(mono_family="DejaVu Sans Mono")
    out = renderer.render("```\na\n```\n```\nb\n```", copied_index=1)
    assert out.html.count("Copied ✓") == 1 and out.html.count(">Copy<") == 1
    assert "DejaVu Sans Mono" in out.html
    assert copy_index("copy:12") == 12
    assert copy_index("copy:") is None and copy_index("https://x") is None and copy_index("copy:-1") is None


def test_tables_and_inline_code():
    out = render_markdown("| a | b |\n|---|---|\n| 1 | `x<y` |\n")
    assert "<table cellspacing" in out.html and "<th bgcolor" in out.html
    assert "x&lt;y</code>" in out.html


def test_single_newlines_are_kept_as_line_breaks():
    # Small models often answer with unfenced code; joining its lines into one paragraph would mangle it.
    out = render_markdown("def f():\nreturn 1")
    assert "<br" in out.html
