"""engine.replays: re-tests run in the background on a real SQLite file, behind chat and team runs.

A chat sent while a re-test is under way is answered before the re-test ends (the replay gives the model up
within one token); pausing stops the re-test in progress and it starts over on resume; with auto-promotion
on, memories without evidence are re-tested when the model is idle. The last test does it on the real GGUF.
"""

from __future__ import annotations

import threading
import time

import pytest

from purpose_desktop.engine.agents.code_phase import PLAIN_INSTRUCTIONS
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.models import GenerationSettings
from purpose_desktop.engine.models.gate import BackgroundModel, ModelGate
from purpose_desktop.engine.models.local import Reply
from tests.engine.services_helpers import make_engine
from tests.engine.test_memory_team import TESTS
from tests.engine.test_services_teams import CHECKS, GOOD, PLAN
from tests.fakes import DEMO_EMBEDDER_NAME, ScriptedInfo, ScriptedJsonModel, demo_embed, final

TASK = "Write add(a, b) that returns the sum"


@pytest.fixture(autouse=True)
def fake_embedder():
    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


class TeamAndChatModel(ScriptedJsonModel):
    """The coding team's scripted answers; a plain chat (no role prompt) answers "chat answer".

    ``hold`` (an Event), while clear, stops the replay thread inside its next role reply until the event is
    set or the reply is cancelled (the gate's preemption) — a deterministic "re-test under way".
    """

    def __init__(self) -> None:
        super().__init__({"Architect": [final(PLAN)], "Coder": [final(GOOD)], "Tester": [final(CHECKS)]})
        self.hold: threading.Event | None = None
        self.replay_held = threading.Event()
        self.threads: set[str] = set()
        self.info = ScriptedInfo()

    def chat(self, messages, *, settings=None, cancel=None, on_token=None) -> Reply:
        self.threads.add(threading.current_thread().name)
        if self._who(messages) == "?" and not messages[0]["content"].startswith(PLAIN_INSTRUCTIONS):  # chat, not a plain coder step
            return Reply("chat answer", "stop", 2, 1.0, 100.0, 1.0, 0, self.display_name)
        if self.hold is not None and threading.current_thread().name == "replay":
            self.replay_held.set()
            while not self.hold.wait(0.01):
                if cancel is not None and cancel.is_set():
                    return Reply("", "cancelled", 0, 1.0, None, None, 0, self.display_name)
        return super().chat(messages, settings=settings, cancel=cancel, on_token=on_token)


def _engine_with_lessons(tmp_path, **settings):
    model = TeamAndChatModel()
    engine = make_engine(tmp_path, model=model, **settings)
    engine.load_model()
    spec = engine.teams.propose("Help me write Python code")
    engine.teams.run(spec, TASK, tests=TESTS)
    bank = engine.memories.bank()
    texts = ("Check edge cases first.", "Define the function at module level.")
    ids = [bank.submit(t, kind="skill_card", provenance={"source": "distilled"}).memory.id for t in texts]
    return engine, model, ids


def _wait(predicate, timeout=20.0):
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_a_chat_sent_during_a_retest_is_answered_before_the_retest_ends(tmp_path):
    engine, model, ids = _engine_with_lessons(tmp_path)
    model.hold = threading.Event()
    ended = threading.Event()
    results: list = []
    progress: list = []
    engine.replays.submit(ids[0], progress=progress.append, done=lambda ev: (results.append(ev), ended.set()))
    assert model.replay_held.wait(10)  # the re-test is inside a role's reply on the replay thread
    assert engine.replays.status().running == ids[0]

    conv = engine.store.create_conversation()
    _, answer = engine.send_message(conv.id, "hello while it replays")
    assert answer.content == "chat answer" and not ended.is_set()
    assert engine.gate.preemptions >= 1  # the replay gave the model up for the chat

    model.hold.set()
    assert ended.wait(30)
    evidence = results[0]
    assert evidence.status == "complete" and evidence.n >= 1 and progress and progress[-1].done == progress[-1].total
    assert engine.memories.show(ids[0])["evidence"]["n"] == evidence.n  # stored, read on the engine's connection
    assert "replay" in model.threads and engine.replays.status().finished == 1
    engine.close()


def test_pause_stops_the_retest_in_progress_and_resume_starts_it_over(tmp_path):
    engine, model, ids = _engine_with_lessons(tmp_path)
    model.hold = threading.Event()
    ended = threading.Event()
    statuses: list = []
    engine.replays.on_status = statuses.append
    job = engine.replays.submit(ids[0], done=lambda ev: ended.set())
    assert model.replay_held.wait(10)
    engine.replays.pause()
    _wait(lambda: engine.replays.status().running is None)
    paused = engine.replays.status()
    assert paused.paused and paused.queued == (ids[0],) and not ended.is_set()
    assert not engine.memories.show(ids[0])["evidence"]  # a stopped re-test stores nothing
    model.hold.set()
    time.sleep(0.2)
    assert not ended.is_set()  # held while paused
    engine.replays.resume()
    assert ended.wait(30)
    assert job.restarts == 1 and engine.memories.show(ids[0])["evidence"]
    assert any(s.paused for s in statuses) and not statuses[-1].paused
    engine.close()


def test_cancel_and_close_report_cancelled_and_store_nothing(tmp_path):
    engine, model, ids = _engine_with_lessons(tmp_path)
    model.hold = threading.Event()
    results: list = []
    stop = CancelToken()
    engine.replays.submit(ids[0], done=results.append, cancel=stop)
    queued = engine.replays.submit(ids[1], done=results.append)
    assert model.replay_held.wait(10)
    stop.set()  # what the pane's Cancel does
    _wait(lambda: len(results) == 1)
    assert results[0].status == "cancelled" and not engine.memories.show(ids[0])["evidence"]
    engine.close()  # the queued one is dropped and reported
    assert queued.cancel.is_set() and [r.status for r in results] == ["cancelled", "cancelled"]


def test_auto_promotion_retests_pending_memories_when_the_model_is_idle(tmp_path):
    engine, model, ids = _engine_with_lessons(tmp_path, auto_promote=True)
    engine.replays.idle_after_s = 0.2
    engine.replays.kick()
    _wait(lambda: all(engine.memories.show(i)["evidence"] for i in ids), timeout=60)
    status = engine.replays.status()
    assert status.finished >= len(ids) and status.auto
    assert "replay" in model.threads  # done by the queue, not by anyone pressing T
    engine.close()


def test_auto_promotion_off_starts_nothing_by_itself(tmp_path):
    engine, model, ids = _engine_with_lessons(tmp_path, auto_promote=False)
    engine.replays.idle_after_s = 0.0
    engine.replays.kick()
    time.sleep(1.5)
    assert not any(engine.memories.show(i)["evidence"] for i in ids) and "replay" not in model.threads
    engine.close()


@pytest.mark.model
def test_real_model_chat_cuts_into_a_background_generation(default_model_path):
    from purpose_desktop.engine.models import LocalModel

    model = LocalModel(default_model_path, n_ctx=1024)
    gate = ModelGate()
    prompt = [{"role": "user", "content": "Count from one to forty in words, separated by commas."}]
    greedy = GenerationSettings(temperature=0.0, max_tokens=96, seed=7)
    alone = model.chat(prompt, settings=greedy).text

    out: list = []
    tokens: list[str] = []

    def work():
        out.append(BackgroundModel(model, gate).chat(prompt, settings=greedy, on_token=tokens.append))

    t = threading.Thread(target=work, name="replay")
    t.start()
    _wait(lambda: len(tokens) >= 10, timeout=60)
    asked = time.perf_counter()
    firsts: list[float] = []
    with gate.foreground():
        reply = model.chat(
            [{"role": "user", "content": "Say hello."}],
            settings=GenerationSettings(temperature=0.0, max_tokens=8),
            on_token=lambda _p: firsts.append(time.perf_counter()) if not firsts else None,
        )
    t.join(120)
    model.close()
    assert reply.text and firsts and not out[0].finish_reason == "cancelled"
    assert out[0].text == alone  # repeated from the start on a KV cache the chat changed: same answer
    assert gate.preemptions == 1
    assert firsts[0] - asked < 5.0  # generous: one token here is ~10 ms; a whole reply would be seconds


def test_idle_time_also_proposes_lesson_tidy_ups_when_auto_promotion_is_on(tmp_path):
    from purpose_desktop.engine.memory.api import MemoryBank
    from tests.engine.test_lesson_evolution import EMPTY_A, EMPTY_B, keyed_embed

    with similarity.use_embedder(keyed_embed, "keyed-test"):
        engine, model, _ids = _engine_with_lessons(tmp_path, auto_promote=True)
        bank = MemoryBank(engine.store)
        for text in (EMPTY_A, EMPTY_B):
            bank.submit(text, kind="skill_card", provenance={"source": "distil"})
        engine.replays.idle_after_s = 0.1
        engine.replays.evolve_every_s = 0.0
        engine.replays.kick()
        _wait(lambda: engine.replays.status().proposed >= 1, timeout=60)
        merge = engine.replays.evolved[0]
        assert merge.action == "merge" and engine.memories.show(merge.memory_id)["status"] == "quarantined"
        engine.close()
