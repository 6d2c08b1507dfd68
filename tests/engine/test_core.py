"""Engine facade: persisted chat turns, checkpointed streaming, clear errors, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.core import MAX_INPUT_CHARS, Engine, title_for
from purpose_desktop.engine.errors import InputError, ModelError
from purpose_desktop.engine.settings import EngineSettings
from purpose_desktop.engine.store import Store
from tests.fakes import ScriptedModel


def _engine(tmp_path, model):
    return Engine(store=Store(tmp_path / "c.db"), settings=EngineSettings(), model_factory=lambda *a, **k: model)


def test_send_message_persists_both_turns_and_titles_the_chat(tmp_path):
    engine = _engine(tmp_path, ScriptedModel(replies=["Use a list comprehension."]))
    engine.load_model()
    conv = engine.store.create_conversation()
    tokens = []
    user, reply = engine.send_message(conv.id, "How do I square a list?", on_token=tokens.append)
    assert "".join(tokens) == reply.content == "Use a list comprehension."
    assert reply.status == "complete" and reply.meta["finish_reason"] == "stop"
    assert engine.store.get_conversation(conv.id).title == "How do I square a list?"
    # the second turn sees the first as history
    engine.send_message(conv.id, "And cubes?")
    history = engine.model.calls[-1]
    assert [m["role"] for m in history] == ["system", "user", "assistant", "user"]
    engine.close()


def test_cancelled_reply_is_kept_as_cancelled(tmp_path):
    model = ScriptedModel(replies=["one two three four"])
    engine = _engine(tmp_path, model)
    engine.load_model()
    conv = engine.store.create_conversation()
    cancel = CancelToken()
    seen = []

    def on_token(piece):
        seen.append(piece)
        if len(seen) == 2:
            cancel.set()

    _, reply = engine.send_message(conv.id, "count", cancel=cancel, on_token=on_token)
    assert reply.status == "cancelled" and reply.content == "one two"
    engine.close()


@pytest.mark.parametrize("text", ["", "   \n  ", "x" * (MAX_INPUT_CHARS + 1)])
def test_bad_input_is_refused_and_nothing_is_written(tmp_path, text):
    engine = _engine(tmp_path, ScriptedModel())
    engine.load_model()
    conv = engine.store.create_conversation()
    with pytest.raises(InputError) as err:
        engine.send_message(conv.id, text)
    assert err.value.hint
    assert engine.store.messages(conv.id) == []
    engine.close()


def test_no_model_loaded_is_a_clear_error(tmp_path):
    engine = _engine(tmp_path, ScriptedModel())
    conv = engine.store.create_conversation()
    with pytest.raises(ModelError, match="No model"):
        engine.send_message(conv.id, "hi")


def test_title_for():
    assert title_for("  Fix my code\nmore") == "Fix my code"
    assert title_for("word " * 30).endswith("…") and not title_for("word " * 30).endswith(" …")


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.settings import EngineSettings
    engine = Engine(settings=EngineSettings(temperature=0.0, max_tokens=2000))
    engine.load_model()
    conv = engine.store.create_conversation()
    engine.send_message(conv.id, "Say hello.")
    print(conv.id, flush=True)
    n = [0]
    def on_token(piece):
        n[0] += 1
        if n[0] == 5:
            print("STREAMING", flush=True)
    engine.send_message(conv.id, "Write a very long essay about the history of computing.", on_token=on_token)
    """
)


@pytest.mark.model
def test_kill_9_mid_reply_loses_no_earlier_message(tmp_path, _isolated_home):
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT], stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    conv_id = proc.stdout.readline().strip()
    assert proc.stdout.readline().strip() == "STREAMING"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    store = Store()  # reopening recovers the interrupted reply
    try:
        msgs = store.messages(conv_id)
        assert [m.role for m in msgs] == ["user", "assistant", "user", "assistant"]
        assert msgs[1].status == "complete" and msgs[1].content
        assert msgs[2].content.startswith("Write a very long essay")
        assert msgs[3].status == "cancelled" and msgs[3].meta.get("interrupted") is True
        assert store.connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        store.close()
