"""serve's pure parts, no model: the fair queue, stop strings, request checking, the bind rule, server settings."""

from __future__ import annotations

import threading

import pytest

from purpose_desktop.engine.errors import InputError, ModelError
from purpose_desktop.engine.serve import FairQueue, Job, ModelOwner, check_bind
from purpose_desktop.engine.serve.protocol import (
    ApiError,
    StopScanner,
    parse_chat,
    parse_embeddings,
    parse_json,
)
from purpose_desktop.engine.settings import EngineSettings, load_settings, save_settings


def _job(client: str, tag: str) -> Job:
    return Job(client=client, fn=lambda _e: tag, label=tag)


def test_fair_queue_serves_each_client_in_turn():
    q = FairQueue()
    for tag in ("a1", "a2", "a3"):
        q.put(_job("A", tag))
    q.put(_job("B", "b1"))
    q.put(_job("C", "c1"))
    q.put(_job("B", "b2"))
    order = [q.get(0).label for _ in range(6)]
    assert order == ["a1", "b1", "c1", "a2", "b2", "a3"]
    assert q.get(0.01) is None
    q.put(_job("A", "late"))
    assert [j.label for j in q.close()] == ["late"]
    with pytest.raises(RuntimeError):
        q.put(_job("A", "x"))


def test_owner_runs_jobs_on_one_thread_skips_cancelled_and_reports_errors():
    threads = []

    class FakeEngine:
        def close(self):
            threads.append(("closed", threading.current_thread().name))

    owner = ModelOwner(engine_factory=FakeEngine)
    owner.start(5)
    gate = threading.Event()
    owner.submit("g", lambda e: gate.wait(5))
    skipped = owner.submit("x", lambda e: threads.append("must not run"))
    skipped.cancel.set()
    failing = owner.submit("y", lambda e: 1 / 0)
    ok = owner.submit("z", lambda e: threads.append(threading.current_thread().name) or "done")
    gate.set()
    assert ok.done.wait(5) and ok.result == "done"
    assert skipped.cancelled and "must not run" not in threads
    assert isinstance(failing.error, ZeroDivisionError)
    owner.stop()
    assert threads == ["serve-model-owner", ("closed", "serve-model-owner")]


def test_owner_reports_an_engine_that_cannot_start():
    def broken():
        raise ModelError("no model", "load one")

    with pytest.raises(ModelError, match="no model"):
        ModelOwner(engine_factory=broken).start(5)


def test_stop_scanner_cuts_across_tokens_and_holds_back_partial_matches():
    s = StopScanner(["END"])
    shown = [s.feed(p) for p in ("Hello E", "N", "D and more")]
    assert "".join(shown) == "Hello " and s.hit and s.text == "Hello "
    s = StopScanner(["END"])
    assert s.feed("Hi E") == "Hi "  # "E" may start END: held back
    assert s.feed("x") == "Ex"
    assert s.flush() == ""
    s = StopScanner(["###", "\n\n"])
    assert s.feed("a\n") == "a" and s.feed("b") == "\nb" and s.feed("##") == "" and s.flush() == "##"
    assert StopScanner([]).feed("plain") == "plain"


def test_parse_chat_checks_fields_and_turns_tool_turns_into_text():
    call = parse_chat(
        {
            "model": "m",
            "messages": [
                {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
                {"role": "user", "content": "Weather?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"function": {"name": "w", "arguments": "{}"}}],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            ],
            "stop": "\n",
            "stream": True,
            "stream_options": {"include_usage": True},
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object"}},
            },
        }
    )
    assert [m["role"] for m in call.messages] == ["system", "user", "assistant", "user"]
    assert '"tool_calls"' in call.messages[2]["content"] and "sunny" in call.messages[3]["content"]
    assert call.stop == ["\n"] and call.stream and call.include_usage and call.schema == {"type": "object"}
    for bad, param in (
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages"),
        ({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, "messages"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": ["a"] * 5}, "stop"),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "response_format": {"type": "xml"},
            },
            "response_format",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]},
            "tools",
        ),
    ):
        with pytest.raises(ApiError) as info:
            parse_chat(bad)
        assert info.value.status == 400 and info.value.param == param
        assert set(info.value.body()["error"]) == {"message", "type", "code", "param"}


def test_parse_json_and_embeddings_reject_bad_input_plainly():
    for raw in (b"{", b"[1]", b"\xff\xfe"):
        with pytest.raises(ApiError) as info:
            parse_json(raw)
        assert info.value.status == 400 and info.value.code == "invalid_json"
    assert parse_embeddings({"model": "e", "input": "x"}) == ("e", ["x"], "float")
    with pytest.raises(ApiError):
        parse_embeddings({"model": "e", "input": [1, 2, 3]})


def test_binding_beyond_loopback_needs_an_explicit_host_and_a_key():
    check_bind("127.0.0.1", None, host_given=False)
    check_bind("localhost", None, host_given=True)
    check_bind("::1", None, host_given=True)
    with pytest.raises(InputError, match="API key"):
        check_bind("0.0.0.0", None, host_given=True)
    with pytest.raises(InputError, match="--host explicitly"):
        check_bind("0.0.0.0", "k", host_given=False)
    check_bind("0.0.0.0", "k", host_given=True)


def test_server_settings_are_validated_saved_0600_and_never_echo_a_key(tmp_path):
    good = EngineSettings(
        servers=(
            {"name": "gpu", "base_url": "http://10.0.0.2:8080/v1", "api_key": "sk-secret", "allowed": True},
        ),
        serve_port=9000,
        serve_api_key="k" * 24,
    )
    path = save_settings(good, tmp_path / "settings.json")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert load_settings(path) == good
    with pytest.raises(InputError) as info:
        EngineSettings(servers=({"name": "x", "base_url": 5, "api_key": "sk-secret"},))
    assert "sk-secret" not in str(info.value)
    with pytest.raises(InputError) as info:
        EngineSettings(serve_api_key="")
    with pytest.raises(InputError):
        EngineSettings(serve_port=70000)


def test_doctor_lists_remote_servers_and_where_text_goes(_isolated_home):
    from purpose_desktop.engine.services.diagnostics import _network

    assert _network() == {"remote_servers": "none: nothing leaves this computer"}
    save_settings(
        EngineSettings(
            servers=(
                {"name": "gpu", "base_url": "http://10.0.0.2:8080/v1", "api_key": "sk-x", "allowed": True},
                {"name": "local", "base_url": "http://127.0.0.1:8080/v1", "api_key": None, "allowed": True},
            )
        )
    )
    report = _network()
    assert list(report) == ["gpu"] and "10.0.0.2" in report["gpu"] and "sk-x" not in report["gpu"]
