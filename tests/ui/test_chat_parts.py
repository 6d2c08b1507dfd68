"""Message parts on their own: context chips built from meta["context"], the action row, editing in the composer."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QGuiApplication

from purpose_desktop.engine.store import Message
from purpose_desktop.ui.chat.actions import export_file_name, marked_wrong_text
from purpose_desktop.ui.chat.composer import EDITING_TEXT, Composer
from purpose_desktop.ui.chat.messages import MessageList, link_citations
from purpose_desktop.ui.chat.search import emphasised

CONTEXT = {
    "memories": [
        {
            "id": "m1",
            "kind": "skill_card",
            "text": "Retry only network errors and HTTP 5xx; a 4xx is final.",
            "score": 0.81,
        }
    ],
    "vault": [
        {
            "n": 1,
            "chunk_id": 7,
            "source_id": "s1",
            "path": "/tmp/project/src/uploader.py",
            "rel_path": "src/uploader.py",
            "start_line": 16,
            "end_line": 22,
            "page": None,
            "title": "upload_with_retry",
            "snippet": "def upload_with_retry(client, path)",
            "score": 0.5,
        }
    ],
    "withheld": [
        {"rel_path": "notes/secrets.md", "start_line": 1, "end_line": 4, "reasons": ["prompt injection"]}
    ],
}


def _message(role: str, content: str, meta: dict | None = None, mid: str = "a1") -> Message:
    return Message(mid, "c1", role, content, "complete", "2024-05-01T10:00:00+00:00", meta or {})


def test_chips_are_built_from_the_context_and_ask_to_open_what_they_name(qtbot):
    messages = MessageList()
    qtbot.addWidget(messages)
    messages.resize(800, 500)
    messages.show()
    widget = messages.add_message("assistant", "Assistant")
    widget.set_message(_message("assistant", "Use backoff [1].", {"context": CONTEXT}))
    qtbot.waitUntil(widget.isVisible)
    chips = widget.chips
    assert chips.isVisible()
    assert chips.chip_texts() == [
        "Memory · skill card: Retry only network errors and HTTP…",
        "[1] src/uploader.py:16-22",
        "1 passage withheld by the safety scan",
    ]
    memory_chip, source_chip, withheld = chips.chips
    assert "notes/secrets.md:1-4 — prompt injection" in withheld.toolTip()
    with qtbot.waitSignal(messages.sig_memory_requested) as memory:
        qtbot.mouseClick(memory_chip, Qt.MouseButton.LeftButton)
    assert memory.args == ["m1"]
    with qtbot.waitSignal(messages.sig_source_requested) as source:
        qtbot.mouseClick(source_chip, Qt.MouseButton.LeftButton)
    assert source.args[0]["start_line"] == 16 and source.args[0]["path"].endswith("uploader.py")

    # No context, or the person's own message: no chips at all.
    plain = messages.add_message("assistant", "Assistant")
    plain.set_message(_message("assistant", "Hi", {}, mid="a2"))
    assert plain.chips.isHidden() and plain.chips.chip_texts() == []


def test_a_passage_the_scan_cannot_read_is_marked_on_its_chip(qtbot):
    messages = MessageList()
    qtbot.addWidget(messages)
    messages.resize(800, 300)
    messages.show()
    welsh = {**CONTEXT["vault"][0], "unread_languages": ["Welsh"]}
    widget = messages.add_message("assistant", "Assistant")
    widget.set_message(_message("assistant", "Three retries [1].", {"context": {"vault": [welsh]}}))
    qtbot.waitUntil(widget.isVisible)
    assert widget.chips.chip_texts() == ["[1] src/uploader.py:16-22 ⚠"]
    tip = widget.chips.chips[0].toolTip()
    assert "Partly in Welsh, which the safety scan cannot read" in tip and "quoted data" in tip


def test_citation_markers_in_an_answer_open_their_excerpt(qtbot):
    messages = MessageList()
    qtbot.addWidget(messages)
    widget = messages.add_message("assistant", "Assistant")
    widget.set_message(
        _message(
            "assistant",
            "Retry 5xx [1], not [3]; `x[1]` stays code.\n\n```python\nprint(a[1])\n```",
            {"context": CONTEXT},
        )
    )
    html = widget.body.toHtml()
    assert html.count('href="cite:1"') == 1 and "cite:3" not in html  # only excerpts it was given
    with qtbot.waitSignal(messages.sig_source_requested) as source:
        widget._on_link(QUrl("cite:1"))
    assert source.args[0]["rel_path"] == "src/uploader.py" and source.args[0]["start_line"] == 16
    with qtbot.assertNotEmitted(messages.sig_source_requested):
        widget._on_link(QUrl("cite:3"))


def test_link_citations_leaves_code_links_and_unknown_numbers_alone():
    html = '<p>See [1] and [2].</p><pre>a[1]</pre><p><code>b[1]</code> <a href="x">[1]</a></p>'
    out = link_citations(html, {1})
    assert out.count('href="cite:1"') == 1
    assert "<pre>a[1]</pre>" in out and "<code>b[1]</code>" in out and "[2]" in out
    assert link_citations(html, set()) == html


def test_action_row_copy_and_which_actions_show(qtbot):
    messages = MessageList()
    qtbot.addWidget(messages)
    messages.show()
    user = messages.add_message("user", "You")
    user.set_message(_message("user", "Question?", mid="u1"))
    reply = messages.add_message("assistant", "Assistant")
    reply.set_message(
        _message("assistant", "**Answer** with `code`.", {"feedback": {"verdict": "wrong", "note": "n"}})
    )
    qtbot.waitUntil(reply.isVisible)
    user.set_actions(edit=True)
    reply.set_actions(regenerate=False, wrong=True)
    assert user.actions_row.edit_button.isVisible() and not user.actions_row.wrong_button.isVisible()
    row = reply.actions_row
    assert row.regenerate_button.isVisible() and not row.regenerate_button.isEnabled()
    assert row.feedback_label.isVisible() and row.feedback_label.text() == "✗ Marked as wrong"
    assert not row.wrong_button.isEnabled()  # already marked
    with qtbot.waitSignal(messages.sig_status):
        qtbot.mouseClick(row.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "**Answer** with `code`."
    assert row.copy_button.text() == "Copied ✓"
    qtbot.waitUntil(lambda: row.copy_button.text() == "Copy", timeout=3000)
    reply.set_actions(regenerate=None)
    assert not row.regenerate_button.isVisible()


def test_editing_asks_before_replacing_later_messages_and_esc_restores_the_draft(qtbot):
    composer = Composer(1000)
    qtbot.addWidget(composer)
    composer.show()
    composer.set_state(ready=True, streaming=False)
    qtbot.keyClicks(composer.input, "half-written draft")
    composer.start_editing("u1", "original question", later=3)
    assert composer.edit_banner.isVisible() and composer.edit_banner.message_label.text() == EDITING_TEXT
    assert composer.input.toPlainText() == "original question"
    assert composer.send_button.text() == "Resend"

    sent = []
    composer.sig_send_requested.connect(lambda: sent.append(composer.input.toPlainText()))
    qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert not sent and composer.confirm_banner.isVisible()
    assert "replaces the 3 messages" in composer.confirm_banner.message_label.text()
    qtbot.keyClick(composer.input, Qt.Key.Key_Escape)  # back to editing
    assert not composer.confirm_banner.isVisible() and composer.editing is not None
    qtbot.keyClick(composer.input, Qt.Key.Key_Escape)  # cancel editing
    assert composer.editing is None and not composer.edit_banner.isVisible()
    assert composer.input.toPlainText() == "half-written draft"

    composer.start_editing("u1", "original question", later=3)
    qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    replace_button = composer.confirm_banner.action_buttons()[0]
    assert replace_button.text() == "Replace and resend"
    qtbot.mouseClick(replace_button, Qt.MouseButton.LeftButton)
    assert sent == ["original question"]

    # The last message (only its own reply follows) resends without asking.
    composer.finish_editing()
    composer.start_editing("u2", "last question", later=1)
    qtbot.keyClick(composer.input, Qt.Key.Key_Return)
    assert sent[-1] == "last question" and not composer.confirm_banner.isVisible()


def test_helpers():
    assert emphasised("Use <b> backoff with Jitter", "jitter") == "Use &lt;b&gt; backoff with <b>Jitter</b>"
    assert export_file_name('Retry: "uploads"/v2?') == "Retry uploads v2.md"
    assert export_file_name("") == "Chat.md"
    report = {
        "message_id": "a1",
        "already_marked": False,
        "memories": [{"id": "m1", "verdict": "hurt", "demoted": True}],
    }
    text = marked_wrong_text(report, CONTEXT)
    assert text.startswith(
        "Marked as wrong — 1 memory lost credit: skill card “Retry only network errors and"
    )
    assert "(demoted)" in text
    assert "already" in marked_wrong_text({"already_marked": True}, {})
    assert "none lost credit" in marked_wrong_text({"memories": []}, {})
