"""Streaming renders incrementally (bounded work per flush, correct at the end) and reasoning output shows as a
collapsed "Thinking" disclosure."""

from __future__ import annotations

import re
import threading

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QGuiApplication

from purpose_desktop.ui.chat import messages as messages_module
from purpose_desktop.ui.chat.markdown import stable_boundary
from purpose_desktop.ui.chat.messages import MessageWidget
from tests.fakes import ScriptedModel

REPLY = (
    "<think>The user wants a palindrome check. Strip non-alphanumerics first.</think>"
    "Here is a **palindrome** check:\n\n```python\ndef is_pal(s):\n    t = [c.lower() for c in s if c.isalnum()]\n"
    "    return t == t[::-1]\n```\n\nIt works like this:\n\n1. keep letters\n2. compare reversed\n\n"
    "And a test:\n\n```python\nassert is_pal('A man, a plan')\n```\n\nDone."
)


def _pieces(text: str) -> list[str]:
    return re.findall(r"\S+|\s+", text)


def test_stable_boundary_never_splits_inside_a_code_fence():
    text = "Intro.\n\n```python\nx = 1\n\ny = 2\n"
    assert stable_boundary(text) == len("Intro.\n\n")  # the blank line inside the open fence does not count
    closed = text + "```\nafter"
    assert stable_boundary(closed) == len(text + "```\n")
    assert stable_boundary("one line, no newline yet") == 0
    assert stable_boundary("a\n\nb\n\nc", start=3) == len("a\n\nb\n\n")


def _count_rendered(monkeypatch) -> list[int]:
    lengths: list[int] = []
    renderer = messages_module.shared_renderer()
    original = renderer.render

    def counting(text, **kwargs):
        lengths.append(len(text))
        return original(text, **kwargs)

    monkeypatch.setattr(renderer, "render", counting)
    return lengths


def test_streaming_renders_each_finished_block_once_not_the_whole_message_per_flush(qtbot, monkeypatch):
    widget = MessageWidget("assistant", "Model")
    qtbot.addWidget(widget)
    widget.resize(700, 400)
    widget.set_text("", "streaming")
    paragraphs = [f"Paragraph {i} says something useful about the code." for i in range(120)]
    text = "\n\n".join(paragraphs)
    lengths = _count_rendered(monkeypatch)
    acc = ""
    for piece in _pieces(text):
        acc += piece
        widget.stream_text(acc)
    # Re-rendering the whole message per flush would be ~ pieces × length / 2 (about 6 million characters
    # here); incrementally, only the paragraph being written is rendered again (~ 10 × the text).
    assert sum(lengths) < 12 * len(text), (sum(lengths), len(text))
    assert max(lengths) < 200  # never more than the block being written (plus the one just finished)
    assert widget.body.toPlainText().split() == text.split()


def test_the_streamed_view_matches_the_final_render_and_copy_links_point_at_the_right_block(qtbot):
    widget = MessageWidget("assistant", "Model")
    qtbot.addWidget(widget)
    widget.resize(700, 500)
    widget.set_text("", "streaming")
    acc = ""
    for piece in _pieces(REPLY):
        acc += piece
        widget.stream_text(acc)
    assert len(widget.code_blocks) == 2
    mid = MessageWidget("assistant", "Model")  # Copy links while streaming: the second block copies itself
    qtbot.addWidget(mid)
    mid.set_text("", "streaming")
    mid.stream_text(REPLY[: REPLY.index("Done")])
    mid.body.anchorClicked.emit(QUrl("copy:1"))
    assert QGuiApplication.clipboard().text() == "assert is_pal('A man, a plan')"
    streamed_words = widget.body.toPlainText().split()
    widget.set_text(acc, "complete")  # the pane's final full render
    final = MessageWidget("assistant", "Model")
    qtbot.addWidget(final)
    final.set_text(REPLY, "complete")
    assert widget.body.toHtml() == final.body.toHtml()
    assert streamed_words == final.body.toPlainText().split()
    assert "<think>" not in widget.body.toPlainText() and "Strip non-alphanumerics" not in widget.body.toPlainText()


def test_an_unclosed_think_block_streams_into_a_collapsed_thinking_disclosure(qtbot):
    widget = MessageWidget("assistant", "Model")
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    widget.show()
    widget.set_text("", "streaming")
    widget.stream_text("<think>Let me consider the edge cases")
    disclosure = widget.thinking
    assert disclosure.isVisible() and disclosure.toggle.text() == "Thinking…"
    assert not disclosure.expanded and not disclosure.text_label.isVisible()
    assert not widget.body.isVisible() and not widget.placeholder.isVisible()
    widget.stream_text("<think>Let me consider the edge cases: empty input.</think>The answer")
    assert disclosure.toggle.text() == "Thought for 8 words"
    assert widget.body.isVisible() and widget.body.toPlainText().strip() == "The answer"
    qtbot.mouseClick(disclosure.toggle, Qt.MouseButton.LeftButton)
    assert disclosure.expanded and disclosure.text_label.isVisible()
    assert disclosure.text_label.text() == "Let me consider the edge cases: empty input."
    widget.set_text("<think>Let me consider the edge cases: empty input.</think>The answer.", "complete")
    widget.copy_text()
    assert QGuiApplication.clipboard().text() == "The answer."
    widget.grab().save("/tmp/gen-thinking-disclosure.png")


def test_a_reply_without_thinking_shows_no_disclosure(qtbot):
    widget = MessageWidget("assistant", "Model")
    qtbot.addWidget(widget)
    widget.show()
    widget.set_text("Plain answer.", "complete")
    assert not widget.thinking.isVisible()


def test_a_thinking_reply_streams_through_the_chat_pane(qtbot, make_app):
    hold = threading.Event()
    model = ScriptedModel(replies=["<think> weighing options </think> Use a set."], hold=hold, hold_after=3)
    app = make_app(model)
    pane = app.pane
    pane.input.setPlainText("Which container?")
    pane.send()
    widget = pane.messages.messages()[-1]
    qtbot.waitUntil(lambda: widget.thinking.isVisible() and widget.thinking.toggle.text() == "Thinking…")
    hold.set()
    qtbot.waitUntil(lambda: not pane.streaming, timeout=5000)
    assert widget.thinking.toggle.text() == "Thought for 2 words"
    assert widget.body.toPlainText().strip() == "Use a set."
    assert widget.message.content.startswith("<think>")  # stored whole


def test_the_code_block_being_written_is_coloured_once_it_is_finished(qtbot):
    keyword = "#008000"  # pygments' default colour for "def" / "return"
    widget = MessageWidget("assistant", "Model")
    qtbot.addWidget(widget)
    widget.set_text("", "streaming")
    widget.stream_text("Code:\n\n```python\ndef f():\n    return 1\n")
    assert keyword not in widget.body.toHtml()  # still open: plain, so each frame stays cheap
    assert "def f():" in widget.body.toPlainText()
    widget.stream_text("Code:\n\n```python\ndef f():\n    return 1\n```\n\nMore text")
    assert keyword in widget.body.toHtml()  # a finished block is rendered (coloured) once
    widget.set_text("Code:\n\n```python\ndef f():\n    return 1\n", "complete")
    assert keyword in widget.body.toHtml()  # the final render colours even a block cut off unclosed
