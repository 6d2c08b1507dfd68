"""resolve_backend and EndpointModel against a loopback OpenAI-compatible server that streams SSE."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from purpose_desktop.engine.agents.spark import Spark
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.models import GenerationSettings
from purpose_desktop.engine.models.backends import (
    EndpointModel,
    is_loopback_host,
    parse_endpoint_spec,
    resolve_backend,
    schema_problems,
)
from tests.fakes import ScriptedJsonModel

SCHEMA = {
    "type": "object",
    "properties": {
        "thought": {"type": "string"},
        "action": {"type": "string", "enum": ["final_answer", "calculator"]},
    },
    "required": ["thought", "action"],
}


class FakeServer:
    """A tiny OpenAI-compatible server: ``reply(body) -> (pieces, finish)`` decides each stream."""

    def __init__(
        self, *, chunked=False, delay_s=0.0, first_byte_delay_s=0.0, refuse_json_schema=False, status=200
    ):
        self.requests: list[dict] = []
        self.pieces = ["Hello", ",", " world", "!"]
        self.finish = "stop"
        self.json_text = '{"thought": "easy", "action": "final_answer"}'
        self.chunked = chunked
        self.delay_s = delay_s
        self.first_byte_delay_s = first_byte_delay_s
        self.refuse_json_schema = refuse_json_schema
        self.status = status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if chunked else "HTTP/1.0"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body})
                time.sleep(outer.first_byte_delay_s)
                fmt = (body.get("response_format") or {}).get("type")
                if outer.status != 200 or (fmt == "json_schema" and outer.refuse_json_schema):
                    status = outer.status if outer.status != 200 else 400
                    data = json.dumps({"error": {"message": f"unsupported ({status})"}}).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                pieces = [outer.json_text] if fmt else outer.pieces
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    self._event(
                        {"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
                    )
                    self._raw(": keep-alive\n\n")
                    for piece in pieces:
                        time.sleep(outer.delay_s)
                        self._event(
                            {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                        )
                    self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": outer.finish}]})
                    self._raw("data: [DONE]\n\n")
                    if chunked:
                        self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _event(self, data):
                self._raw(f"data: {json.dumps(data)}\n\n")

            def _raw(self, text):
                data = text.encode()
                if outer.chunked:
                    data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
                self.wfile.write(data)
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FakeServer()
    yield s
    s.close()


# -- specs and the local-only rule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("http://127.0.0.1:8080/v1", ("http://127.0.0.1:8080/v1", None)),
        ("http://127.0.0.1:8080", ("http://127.0.0.1:8080/v1", None)),
        (
            "openai-compat:http://localhost:11434/v1#qwen2.5:0.5b",
            ("http://localhost:11434/v1", "qwen2.5:0.5b"),
        ),
        ("openai-compat:localhost:1234/v1/", ("http://localhost:1234/v1", None)),
        ("http://[::1]:8080/v1#m", ("http://[::1]:8080/v1", "m")),
    ],
)
def test_endpoint_specs_parse(spec, expected):
    assert parse_endpoint_spec(spec) == expected


@pytest.mark.parametrize(
    "host", ["localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]", "::ffff:127.0.0.1", "app.localhost"]
)
def test_loopback_hosts(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host", ["example.com", "10.0.0.5", "192.168.1.2", "0.0.0.0", "localhost.evil.com", ""]
)
def test_other_hosts_are_not_loopback(host):
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    "spec",
    ["http://example.com/v1", "openai-compat:http://10.0.0.5:11434/v1#llama3", "https://api.example.org/v1"],
)
def test_a_non_local_endpoint_is_refused_without_opt_in(spec):
    with pytest.raises(ModelError) as err:
        resolve_backend(spec)
    assert "not this computer" in err.value.message and "allow_remote=True" in err.value.hint
    model = resolve_backend(spec, allow_remote=True)  # explicit opt-in: built, nothing sent yet
    assert isinstance(model, EndpointModel) and model.allow_remote


def test_bad_specs_and_objects_are_refused():
    with pytest.raises(ModelError, match="user name or password"):
        parse_endpoint_spec("http://me:secret@127.0.0.1:8080/v1")
    with pytest.raises(ModelError, match="Cannot use int"):
        resolve_backend(42)
    scripted = ScriptedJsonModel()
    assert resolve_backend(scripted) is scripted


def test_resolve_backend_caches_an_endpoint_per_thread(server):
    a = resolve_backend(server.url + "#tiny")
    assert isinstance(a, EndpointModel) and a is resolve_backend(server.url + "#tiny")
    assert a.model == "tiny" and a.display_name.startswith("tiny @ 127.0.0.1:") and a.info is None
    other = []
    t = threading.Thread(target=lambda: other.append(resolve_backend(server.url + "#tiny")))
    t.start()
    t.join()
    assert other[0] is not a


# -- streaming chat ---------------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True])
def test_chat_streams_tokens_over_sse(chunked):
    server = FakeServer(chunked=chunked)
    try:
        model = EndpointModel(server.url, "tiny")
        pieces = []
        settings = GenerationSettings(max_tokens=32, temperature=0.0, seed=7)
        reply = model.chat([{"role": "user", "content": "hi"}], settings=settings, on_token=pieces.append)
        assert reply.text == "Hello, world!" and pieces == ["Hello", ",", " world", "!"]
        assert reply.finish_reason == "stop" and reply.n_tokens == 4 and reply.ttft_ms is not None
        request = server.requests[0]
        assert request["path"] == "/v1/chat/completions"
        body = request["body"]
        assert (
            body["stream"] is True
            and body["model"] == "tiny"
            and body["max_tokens"] == 32
            and body["seed"] == 7
        )
        assert body["messages"] == [{"role": "user", "content": "hi"}]
    finally:
        server.close()


def test_length_finish_is_reported(server):
    server.finish = "length"
    reply = EndpointModel(server.url).chat([{"role": "user", "content": "hi"}])
    assert reply.finish_reason == "length" and "model" not in server.requests[0]["body"]


def test_cancel_from_on_token_stops_the_stream_at_once():
    server = FakeServer(delay_s=0.2)
    server.pieces = [f"w{i} " for i in range(50)]
    try:
        cancel = CancelToken()
        started = time.perf_counter()
        reply = EndpointModel(server.url).chat(
            [{"role": "user", "content": "go"}], cancel=cancel, on_token=lambda piece: cancel.set()
        )
        assert reply.finish_reason == "cancelled" and reply.text == "w0 "
        assert time.perf_counter() - started < 2
    finally:
        server.close()


def test_cancel_wakes_a_read_blocked_before_the_first_token():
    server = FakeServer(first_byte_delay_s=5)
    try:
        cancel = CancelToken()
        threading.Timer(0.2, cancel.set).start()
        started = time.perf_counter()
        reply = EndpointModel(server.url).chat([{"role": "user", "content": "go"}], cancel=cancel)
        assert reply.finish_reason == "cancelled" and reply.text == ""
        assert time.perf_counter() - started < 1.5
    finally:
        server.close()


def test_an_unreachable_server_says_what_to_do():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    with pytest.raises(ModelError) as err:
        EndpointModel(f"http://127.0.0.1:{port}/v1").chat([{"role": "user", "content": "hi"}])
    assert "Cannot reach the model server" in err.value.message and "llama-server" in err.value.hint


def test_server_errors_carry_the_servers_message():
    server = FakeServer(status=500)
    try:
        with pytest.raises(ModelError, match=r"HTTP 500: unsupported \(500\)"):
            EndpointModel(server.url).chat([{"role": "user", "content": "hi"}])
    finally:
        server.close()


# -- JSON -----------------------------------------------------------------------------------------


def test_complete_json_asks_for_the_schema_and_checks_the_reply(server):
    model = EndpointModel(server.url, "tiny")
    value = model.complete_json([{"role": "user", "content": "decide"}], SCHEMA)
    assert value == {"thought": "easy", "action": "final_answer"}
    fmt = server.requests[0]["body"]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == SCHEMA


def test_complete_json_falls_back_to_json_object_and_remembers(tmp_path):
    server = FakeServer(refuse_json_schema=True)
    try:
        model = EndpointModel(server.url)
        assert (
            model.complete_json([{"role": "user", "content": "decide"}], SCHEMA)["action"] == "final_answer"
        )
        assert [r["body"]["response_format"]["type"] for r in server.requests] == [
            "json_schema",
            "json_object",
        ]
        assert "matching this schema" in server.requests[1]["body"]["messages"][-1]["content"]
        model.complete_json([{"role": "user", "content": "again"}], SCHEMA)
        assert server.requests[-1]["body"]["response_format"]["type"] == "json_object"
    finally:
        server.close()


def test_json_that_does_not_fit_the_schema_is_an_error(server):
    server.json_text = '{"thought": "x", "action": "dance"}'
    with pytest.raises(ModelError, match=r"\$.action must be one of"):
        EndpointModel(server.url).complete_json([{"role": "user", "content": "decide"}], SCHEMA)
    server.json_text = "not json"
    with pytest.raises(ModelError, match="not valid JSON"):
        EndpointModel(server.url).complete_json([{"role": "user", "content": "decide"}], SCHEMA)


def test_truncated_json_is_closed_when_the_length_ran_out(server):
    server.finish = "length"
    server.json_text = '{"thought": "a long thou'
    value = EndpointModel(server.url).complete_json(
        [{"role": "user", "content": "x"}], {"type": "object", "properties": {"thought": {"type": "string"}}}
    )
    assert value == {"thought": "a long thou"}


def test_schema_problems_cover_the_engine_subset():
    schema = {
        "type": "object",
        "properties": {
            "calls": {
                "type": "array",
                "maxItems": 2,
                "items": {"anyOf": [{"type": "integer"}, {"const": "x"}]},
            },
            "n": {"type": "integer"},
        },
        "required": ["calls"],
        "additionalProperties": False,
    }
    assert schema_problems(schema, {"calls": [1, "x"]}) == []
    problems = schema_problems(schema, {"calls": [1, "y", 2], "n": True, "extra": 1})
    assert any("more than 2 items" in p for p in problems) and any("$.calls[1]" in p for p in problems)
    assert any("$.n must be integer" in p for p in problems) and any(
        "unexpected keys: extra" in p for p in problems
    )
    assert schema_problems(schema, {}) == ["$.calls is missing"]


def test_a_spark_runs_on_an_endpoint_spec(server):
    server.pieces = ["The answer is 42."]
    res = Spark("analyst", model=f"openai-compat:{server.url}#tiny").run("What is 6*7?")
    assert res.status == "complete" and res.answer == "The answer is 42."
    assert server.requests[0]["body"]["model"] == "tiny"
