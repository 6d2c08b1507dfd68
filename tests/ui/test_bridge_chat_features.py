"""EngineBridge chat extras on a real engine thread: regenerate, edit, stop, mark wrong, search, export."""

from __future__ import annotations

import threading

import pytest

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.settings import EngineSettings
from purpose_desktop.engine.store import MessageHit, Store
from purpose_desktop.ui.bridge import EngineBridge
from purpose_desktop.ui.bridge.requests import ReplyResult
from tests.fakes import ScriptedModel


@pytest.fixture
def started(qtbot, tmp_path):
    """A running EngineBridge whose engine (built on the engine thread) uses ``model`` and a temp database."""
    bridges: list[EngineBridge] = []

    def start(model: ScriptedModel) -> EngineBridge:
        def factory() -> Engine:
            return Engine(
                store=Store(tmp_path / "chat.db"),
                settings=EngineSettings(),
                model_factory=lambda *a, **k: model,
            )

        bridge = EngineBridge(factory)
        bridges.append(bridge)
        with qtbot.waitSignal(bridge.sig_model_loaded, timeout=10_000):
            bridge.start()
        return bridge

    yield start
    for bridge in bridges:
        assert bridge.shutdown(5000)


def _send(qtbot, bridge, conversation_id, text) -> ReplyResult:
    with qtbot.waitSignal(
        bridge.sig_reply_finished, timeout=10_000, check_params_cb=lambda rid, _r: True
    ) as blocker:
        bridge.send_message(conversation_id, text)
    return blocker.args[1]


def test_regenerate_streams_through_the_chat_signals(qtbot, started):
    model = ScriptedModel(replies=["first answer", "second answer here"])
    bridge = started(model)
    first = _send(qtbot, bridge, None, "question")
    tokens: list[tuple[str, str]] = []
    bridge.sig_token_received.connect(lambda rid, piece: tokens.append((rid, piece)))
    with qtbot.waitSignal(bridge.sig_reply_finished, timeout=10_000) as blocker:
        req = bridge.regenerate(first.conversation.id)
    rid, result = blocker.args
    assert rid == req.id and req.mode == "regenerate"
    assert result.user.id == first.user.id and result.assistant.content == "second answer here"
    assert "".join(p for r, p in tokens if r == req.id) == "second answer here"
    assert "context" in result.assistant.meta
    with qtbot.waitSignal(bridge.sig_call_finished, timeout=5000) as loaded:
        bridge.call(lambda e: e.store.messages(first.conversation.id))
    assert [m.content for m in loaded.args[1]] == ["question", "second answer here"]
    assert bridge.in_flight() == []


def test_edit_and_resend_and_stop(qtbot, started):
    hold = threading.Event()
    model = ScriptedModel(replies=["a1", "a2", "edited reply words"])
    bridge = started(model)
    first = _send(qtbot, bridge, None, "q1")
    _send(qtbot, bridge, first.conversation.id, "q2")
    with qtbot.waitSignal(bridge.sig_reply_finished, timeout=10_000) as blocker:
        req = bridge.edit_and_resend(first.conversation.id, first.user.id, "q1 edited")
    result = blocker.args[1]
    assert blocker.args[0] == req.id and result.user.content == "q1 edited"
    assert result.conversation.message_count == 2

    # a regenerate held mid-stream is stopped by stop(req), like a normal reply
    model.replies, model.hold, model.hold_after = ["one two three four"], hold, 1
    with qtbot.waitSignal(bridge.sig_token_received, timeout=10_000):
        req = bridge.regenerate(first.conversation.id)
    with qtbot.waitSignal(bridge.sig_reply_cancelled, timeout=10_000) as cancelled:
        bridge.stop(req)
    assert cancelled.args[0] == req.id and cancelled.args[1].assistant.status == "cancelled"

    with qtbot.waitSignal(bridge.sig_reply_failed, timeout=10_000) as failed:
        bridge.edit_and_resend(first.conversation.id, cancelled.args[1].assistant.id, "not mine")
    assert "Only your own" in failed.args[1].message


def test_one_shot_calls_answer_with_call_finished_or_call_failed(qtbot, started, tmp_path):
    bridge = started(ScriptedModel(replies=["Use snake_case for names."]))
    first = _send(qtbot, bridge, None, "How should I name things?")

    def call(fn):
        with qtbot.waitSignal(bridge.sig_call_finished, timeout=5000) as done:
            req = bridge.call(fn)
        assert done.args[0] == req.id
        return done.args[1]

    def fails(fn):
        with qtbot.waitSignal(bridge.sig_call_failed, timeout=5000) as failed:
            req = bridge.call(fn)
        assert failed.args[0] == req.id
        return failed.args[1]

    marked = call(lambda e: e.mark_wrong(first.assistant.id, "too vague"))
    assert marked == {"message_id": first.assistant.id, "already_marked": False, "memories": []}
    assert call(lambda e: e.mark_wrong(first.assistant.id, ""))["already_marked"] is True

    hits = call(lambda e: e.search_messages("SNAKE_case", 50))
    assert [type(h) for h in hits] == [MessageHit] and hits[0].message_id == first.assistant.id

    target = tmp_path / "export.md"
    assert call(lambda e: str(e.export_conversation(first.conversation.id, str(target)))) == str(target)
    text = target.read_text(encoding="utf-8")
    assert "### You\n\nHow should I name things?" in text and "*Marked wrong: too vague*" in text

    assert "is a folder" in fails(lambda e: e.export_conversation(first.conversation.id, str(tmp_path))).message
    assert "Only an answer" in fails(lambda e: e.mark_wrong(first.user.id, "")).message
