"""Memory review re-tests in the background: while T's replay is under way, chat still answers at once,
the queue line says what runs, and Pause holds it."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.store import Store
from purpose_desktop.ui.memory.replay_bar import describe_queue
from tests.engine.test_memory_team import TESTS
from tests.engine.test_replay_queue import TASK, TeamAndChatModel
from tests.fakes import ScriptedModel
from tests.ui.conftest import press


@pytest.fixture
def lesson_with_a_past_run(demo_embedder):
    """A lesson waiting for review and one past team run to replay, in the app's real database."""
    model = TeamAndChatModel()
    with Store() as store:
        engine = Engine(store=store, model_factory=lambda *a, **k: model)
        engine.load_model()
        engine.teams.run(engine.teams.propose("Help me write Python code"), TASK, tests=TESTS)
        engine.replays.close()
        mid = MemoryBank(store).submit(
            "Check edge cases first.", kind="skill_card", provenance={"source": "distil"}
        ).memory.id
    return model, mid


def test_chat_answers_while_a_memory_is_retested_and_pause_holds_the_queue(qtbot, make_app, lesson_with_a_past_run, tmp_path):
    model, mid = lesson_with_a_past_run
    model.hold = threading.Event()
    app = make_app(model)
    pane = app.window.memory_pane
    press(app.window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: pane.model.rowCount() > 0, timeout=15_000)
    qtbot.waitUntil(lambda: [m.id for m in pane.selected()] == [mid] and pane.detail.memory is not None, timeout=15_000)
    pane.table.setFocus()

    press(app.window, Qt.Key.Key_T)
    assert model.replay_held.wait(20)  # the re-test is inside a team run on the replay thread
    qtbot.waitUntil(lambda: "Re-testing" in pane.queue_bar.label.text(), timeout=15_000)
    assert "“Check edge cases first.”" in pane.queue_bar.label.text() and "chat goes first" in pane.queue_bar.label.text()
    pane.grab().save(str(tmp_path / "memory-retest-background.png"))

    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=10_000) as replied:
        app.bridge.send_message(None, "Are you still there?")
    assert replied.args[1].assistant.content == "chat answer"
    assert pane._retest is not None  # the re-test is still going

    with qtbot.waitSignal(app.bridge.sig_replay_status_changed, timeout=15_000):
        pane.queue_bar.pause_button.click()
    qtbot.waitUntil(lambda: pane.queue_bar.paused and pane.queue_bar.label.text().startswith("Re-tests paused"), timeout=15_000)
    assert pane.queue_bar.pause_button.text() == "Resume re-tests"
    model.hold.set()
    with qtbot.waitSignal(app.bridge.sig_memory_retested, timeout=120_000) as done:
        pane.queue_bar.pause_button.click()  # resume: the stopped re-test starts over and finishes
    assert done.args[1].status == "complete" and done.args[1].memory_id == mid
    qtbot.waitUntil(lambda: not pane.retest_busy.active, timeout=15_000)


def test_the_queue_line_in_plain_words():
    from purpose_desktop.engine.services import ReplayQueueStatus

    idle = ReplayQueueStatus(None, None, 0, 0, (), False, False, 0, 0)
    assert "auto-promotion is off" in describe_queue(idle)
    auto = ReplayQueueStatus("abcdef123456", "auto", 3, 12, ("x",), False, True, 2, 1)
    line = describe_queue(auto)
    assert "Re-testing “abcdef12”" in line and "run 3/12" in line and "1 waiting" in line and "auto-promotion" in line
    paused = ReplayQueueStatus(None, None, 0, 0, ("x", "y"), True, True, 2, 0)
    assert describe_queue(paused) == "Re-tests paused · 2 waiting"


def test_time_to_first_token_counts_from_send_including_a_wait_for_the_model(qtbot, make_app):
    app = make_app(ScriptedModel(replies=["hello there"]))
    gate = app.bridge._worker._engine.gate
    release = threading.Event()

    def busy_elsewhere():  # something else holds the model (a team run on another thread, say)
        with gate.foreground():
            release.wait(10)

    holder = threading.Thread(target=busy_elsewhere)
    holder.start()
    qtbot.waitUntil(lambda: gate.busy, timeout=2000)
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=20_000) as replied:
        request = app.bridge.send_message(None, "hi")
        qtbot.wait(400)
        released_after_ms = (time.perf_counter() - request.sent_at) * 1000
        release.set()
    holder.join(5)
    result = replied.args[1]
    assert released_after_ms > 300
    assert result.ttft_ms >= released_after_ms  # the person waited for the model, so the status bar says so
    assert (result.assistant.meta.get("ttft_ms") or 0) < released_after_ms  # the model's own figure starts later
    assert "first token" in app.window.reply_stats.text()


def test_propose_tidy_ups_puts_a_merge_in_review_with_why(qtbot, make_app, tmp_path):
    from purpose_desktop.engine.memory import similarity
    from tests.engine.test_lesson_evolution import EMPTY_A, EMPTY_B, keyed_embed

    with similarity.use_embedder(keyed_embed, "keyed-test"):
        with Store() as store:
            bank = MemoryBank(store)
            for text in (EMPTY_A, EMPTY_B):
                bank.submit(text, kind="skill_card", provenance={"source": "distil"})
        app = make_app()
        pane = app.window.memory_pane
        press(app.window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: pane.model.rowCount() == 2, timeout=15_000)
        messages = []
        pane.sig_status.connect(lambda text, _ms: messages.append(text))
        pane.evolve_button.click()
        qtbot.waitUntil(lambda: pane.model.rowCount() == 3, timeout=10_000)
        assert any("1 merge" in m for m in messages) and pane.evolve_button.isEnabled()
        merged = next(m for m in pane.model._rows if m.provenance[0].get("source") == "evolution")
        qtbot.wait(300)
        pane.select(merged.id)
        assert [m.id for m in pane.selected()] == [merged.id]
        qtbot.waitUntil(lambda: pane.detail.memory is not None and pane.detail.memory.get("id") == merged.id, timeout=15_000)
        qtbot.wait(200)  # let the detail lay out its wrapped lines
        pane.grab().save(str(tmp_path / "memory-merge-proposal.png"))
        from PySide6.QtWidgets import QLabel

        texts = " ".join(label.text() for label in pane.detail.findChildren(QLabel))
        assert "Proposed because lessons" in texts and "say nearly the same" in texts
