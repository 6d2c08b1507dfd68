"""ModelGate: one model, a person first — a background call gives the model up within one token and
runs again afterwards with the same result; the engine's own model calls always take the foreground."""

from __future__ import annotations

import threading
import time

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.models.gate import BackgroundModel, ForegroundModel, ModelGate
from purpose_desktop.engine.models.local import Reply
from tests.engine.services_helpers import make_engine
from tests.fakes import ScriptedModel


class EchoModel:
    """Answers with the last message's words, one token per word, ``delay_s`` apart; records who used it.

    The reply depends only on the messages (as a seeded real model's does), so a repeated call answers the
    same. ``busy`` proves no two calls ever overlapped.
    """

    display_name = "Echo"
    n_ctx = 2048

    def __init__(self, delay_s: float = 0.02) -> None:
        self.delay_s = delay_s
        self.log: list[tuple[str, str]] = []  # (who, token)
        self.overlaps = 0
        self._busy = threading.Lock()

    def chat(self, messages, *, settings=None, cancel=None, on_token=None) -> Reply:
        if not self._busy.acquire(blocking=False):
            self.overlaps += 1
            self._busy.acquire()
        try:
            who = threading.current_thread().name
            words = messages[-1]["content"].split()
            out: list[str] = []
            finish = "stop"
            for word in words:
                if cancel is not None and cancel.is_set():
                    finish = "cancelled"
                    break
                out.append(word)
                self.log.append((who, word))
                if on_token:
                    on_token(word)
                time.sleep(self.delay_s)
            return Reply(" ".join(out), finish, len(out), 1.0, None, 1.0, 0, self.display_name)
        finally:
            self._busy.release()

    def complete_json(self, messages, schema, *, settings=None, cancel=None):
        reply = self.chat(messages, cancel=cancel)
        return {} if reply.finish_reason == "cancelled" else {"text": reply.text}

    def close(self) -> None:
        pass


def _background(model, gate, text, out, name="replay", cancel=None):
    def work():
        out.append(BackgroundModel(model, gate).chat([{"role": "user", "content": text}], cancel=cancel))

    t = threading.Thread(target=work, name=name)
    t.start()
    return t


def test_a_foreground_call_cuts_in_within_one_token_and_the_background_call_repeats_unchanged():
    model, gate = EchoModel(), ModelGate()
    long_text = " ".join(f"b{i}" for i in range(60))
    out: list[Reply] = []
    t = _background(model, gate, long_text, out)
    while sum(who == "replay" for who, _ in model.log) < 5:  # the replay is well under way
        time.sleep(0.005)
    asked_at = len(model.log)
    fg = ForegroundModel(model, gate).chat([{"role": "user", "content": "f1 f2 f3"}])
    t.join(10)

    assert fg.text == "f1 f2 f3" and fg.finish_reason == "stop"
    first_fg = next(i for i, (who, _) in enumerate(model.log) if who == "MainThread")
    assert first_fg - asked_at <= 1, "the background produced more than one token after the person asked"
    assert out[0].text == long_text and out[0].finish_reason == "stop"  # repeated from the start, whole
    assert gate.preemptions == 1 and model.overlaps == 0


def test_without_a_foreground_request_the_background_runs_once():
    model, gate = EchoModel(delay_s=0), ModelGate()
    out: list[Reply] = []
    _background(model, gate, "one two three", out).join(5)
    assert out[0].text == "one two three" and gate.preemptions == 0 and len(model.log) == 3


def test_a_background_call_waiting_for_the_model_can_be_cancelled():
    model, gate = EchoModel(delay_s=0), ModelGate()
    stop = CancelToken()
    out: list[Reply] = []
    with gate.foreground():  # a person holds the model (a long team run, say)
        t = _background(model, gate, "never runs", out, cancel=stop)
        time.sleep(0.1)
        assert not out and gate.busy
        stop.set()
        t.join(5)
    assert out[0].finish_reason == "cancelled" and model.log == []


def test_a_cancelled_background_call_is_not_repeated():
    model, gate = EchoModel(), ModelGate()
    stop = CancelToken()
    out: list[Reply] = []
    t = _background(model, gate, " ".join(["w"] * 50), out, cancel=stop)
    while len(model.log) < 3:
        time.sleep(0.005)
    stop.set()
    t.join(5)
    assert out[0].finish_reason == "cancelled" and gate.preemptions == 0 and len(model.log) < 50


def test_background_json_calls_are_repeated_too():
    model, gate = EchoModel(), ModelGate()
    out: list = []

    def work():
        out.append(BackgroundModel(model, gate).complete_json([{"role": "user", "content": "a b c d e f g h"}], {}))

    t = threading.Thread(target=work, name="replay")
    t.start()
    while not model.log:
        time.sleep(0.005)
    ForegroundModel(model, gate).chat([{"role": "user", "content": "hi"}])
    t.join(5)
    assert out == [{"text": "a b c d e f g h"}] and gate.preemptions == 1


def test_the_foreground_is_reentrant_and_idle_time_counts_from_its_end():
    gate = ModelGate()
    with gate.foreground():
        with gate.foreground():  # a team run's own model calls inside the run
            assert gate.idle_for() == 0.0
    time.sleep(0.05)
    assert gate.idle_for() >= 0.04 and not gate.busy


def test_the_engine_wraps_every_model_it_holds_in_the_foreground(tmp_path):
    engine = make_engine(tmp_path)
    engine.load_model()
    assert isinstance(engine.model, ForegroundModel) and isinstance(engine.raw_model, ScriptedModel)
    engine.model = ScriptedModel(replies=["assigned"])  # tests (and nothing else) assign models directly
    assert isinstance(engine.model, ForegroundModel) and engine.model.display_name == "Scripted"
    conv = engine.store.create_conversation()
    _, answer = engine.send_message(conv.id, "hello")
    assert answer.content == "assigned"
    engine.model = None
    assert engine.model is None and engine.raw_model is None
    engine.close()
