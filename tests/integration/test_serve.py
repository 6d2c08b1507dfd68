"""`serve` driven by the official openai client on 127.0.0.1, with the REAL bundled model.

The server under test is built exactly as `purpose-desktop serve` builds it (ModelOwner on its own thread
+ ModelCatalog + create_app, uvicorn on a free port); one test also runs the real CLI in a subprocess.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import openai
import pytest

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.serve import ModelCatalog, ModelOwner, ServeOptions, create_app, start_server
from purpose_desktop.engine.settings import EngineSettings, load_settings
from purpose_desktop.engine.store import Store

KEY = "sk-test-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]


def _serve(engine_factory, *, grounding=False, api_key=KEY, max_body=64 * 1024):
    engines: list[Engine] = []

    def build():
        engine = engine_factory()
        engines.append(engine)
        return engine

    owner = ModelOwner(engine_factory=build)
    owner.start()
    catalog = ModelCatalog(lambda: engines[0].model if engines else None)
    options = ServeOptions(api_key=api_key, grounding=grounding, max_body_bytes=max_body)
    handle = start_server(create_app(owner, catalog, options), "127.0.0.1", 0, owner=owner)
    return SimpleNamespace(
        url=handle.url,
        port=handle.port,
        owner=owner,
        engines=engines,
        options=options,
        handle=handle,
        catalog=catalog,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("serve-home")
    settings = EngineSettings(n_ctx=2048)

    def factory():
        engine = Engine(store=Store(home / "serve.db"), settings=settings)
        engine.load_model(None)
        return engine

    s = _serve(factory)
    yield s
    s.handle.stop()


@pytest.fixture
def client(served):
    return openai.OpenAI(base_url=served.url, api_key=KEY, max_retries=0, timeout=300)


def _post(served, path, body: bytes, key=KEY, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=120)
    h = {
        "Content-Type": "application/json",
        **({"Authorization": f"Bearer {key}"} if key else {}),
        **(headers or {}),
    }
    conn.request("POST", path, body, h)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, json.loads(data) if data else None


def _last_job(served, label="chat", after=0):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        jobs = [j for j in served.owner.recent() if j.label.startswith(label) and j.seq > after]
        if jobs:
            return jobs[-1]
        time.sleep(0.05)
    raise AssertionError("the owner never finished the job")


def test_models_lists_the_loaded_model(client, served):
    models = client.models.list().data
    assert models and models[0].owned_by == "purpose-desktop"
    assert models[0].id == served.catalog.loaded_id()


def test_chat_non_streaming_with_usage_and_sources_field(client, served):
    model = served.catalog.loaded_id()
    r = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=8,
        temperature=0,
        seed=7,
    )
    choice = r.choices[0]
    assert choice.message.role == "assistant" and choice.message.content.strip()
    assert choice.finish_reason in ("stop", "length")
    assert 0 < r.usage.completion_tokens <= 8 and r.usage.prompt_tokens > 0
    extra = r.model_extra["purpose_desktop"]
    assert extra["grounded"] is False and extra["memories"] == [] and extra["passages"] == []
    # same seed, temperature 0: the same answer (the server passes the sampling settings through)
    again = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Say hello."}], max_tokens=8, temperature=0, seed=7
    )
    assert again.choices[0].message.content == choice.message.content


def test_chat_streaming_ends_with_finish_and_done(client, served):
    stream = client.chat.completions.create(
        model=served.catalog.loaded_id(),
        messages=[{"role": "user", "content": "Write one short sentence about cats."}],
        max_tokens=12,
        temperature=0,
        seed=1,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) >= 2
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0].choices[0].finish_reason in ("stop", "length")
    assert "purpose_desktop" in finals[0].model_extra
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == len(pieces)


def test_stop_string_cuts_the_answer(client, served):
    model = served.catalog.loaded_id()
    base = (
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "List three fruits."}],
            max_tokens=24,
            temperature=0,
            seed=3,
        )
        .choices[0]
        .message.content
    )
    assert len(base) > 4
    stop = base[len(base) // 2 : len(base) // 2 + 2]
    cut = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "List three fruits."}],
        max_tokens=24,
        temperature=0,
        seed=3,
        stop=[stop],
    )
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].message.content == base[: base.index(stop)]


def test_json_schema_is_grammar_constrained(client, served):
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    r = client.chat.completions.create(
        model=served.catalog.loaded_id(),
        messages=[{"role": "user", "content": "Invent a person. Reply in JSON."}],
        max_tokens=60,
        temperature=0,
        seed=1,
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}},
    )
    value = json.loads(r.choices[0].message.content)
    assert isinstance(value["name"], str) and isinstance(value["age"], int)


def test_tools_answer_with_an_openai_shaped_tool_call(client, served):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    r = client.chat.completions.create(
        model=served.catalog.loaded_id(),
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=tools,
        tool_choice="required",
        max_tokens=60,
        temperature=0,
        seed=1,
    )
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather" and call.id.startswith("call_")
    assert isinstance(json.loads(call.function.arguments)["city"], str)


def test_embeddings_use_the_bundled_embedder(client):
    r = client.embeddings.create(model="all-MiniLM-L6-v2", input=["def add(a, b): return a + b", "hello"])
    assert [d.index for d in r.data] == [0, 1]
    assert len(r.data[0].embedding) == 384
    norm = sum(x * x for x in r.data[0].embedding)
    assert abs(norm - 1.0) < 1e-3
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input="x")


def test_errors_have_the_openai_shape_and_status(served):
    model = served.catalog.loaded_id()
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "hi"}]}).encode()
    status, err = _post(served, "/v1/chat/completions", body, key="wrong-key")
    assert status == 401 and err["error"]["code"] == "invalid_api_key" and "wrong-key" not in json.dumps(err)
    status, err = _post(served, "/v1/chat/completions", body, key=None)
    assert status == 401
    status, err = _post(served, "/v1/chat/completions", b'{"model": "x", "messages": [')
    assert (
        status == 400
        and err["error"]["code"] == "invalid_json"
        and err["error"]["type"] == "invalid_request_error"
    )
    big = json.dumps({"model": model, "messages": [{"role": "user", "content": "x" * 70_000}]}).encode()
    status, err = _post(served, "/v1/chat/completions", big)
    assert (
        status == 413 and err["error"]["code"] == "request_too_large" and "65,536" in err["error"]["message"]
    )
    status, err = _post(
        served,
        "/v1/chat/completions",
        json.dumps({"model": "nope", "messages": [{"role": "user", "content": "hi"}]}).encode(),
    )
    assert status == 404 and err["error"]["code"] == "model_not_found" and model in err["error"]["message"]
    status, err = _post(served, "/v1/chat/completions", json.dumps({"model": model, "messages": []}).encode())
    assert status == 400 and err["error"]["param"] == "messages"
    status, err = _post(
        served,
        "/v1/chat/completions",
        json.dumps(
            {"model": model, "messages": [{"role": "user", "content": "hi"}], "temperature": 9}
        ).encode(),
    )
    assert status == 400 and err["error"]["param"] == "temperature"


def test_openai_client_sees_wrong_key_oversize_and_unknown_model(served):
    wrong = openai.OpenAI(base_url=served.url, api_key="not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    good = openai.OpenAI(base_url=served.url, api_key=KEY, max_retries=0)
    with pytest.raises(openai.APIStatusError) as info:
        good.chat.completions.create(model="x", messages=[{"role": "user", "content": "y" * 100_000}])
    assert info.value.status_code == 413
    with pytest.raises(openai.NotFoundError):
        good.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])


def test_client_disconnect_stops_generation_and_the_next_request_is_served(client, served):
    before = max((j.seq for j in served.owner.recent()), default=0)
    stream = client.chat.completions.create(
        model=served.catalog.loaded_id(),
        messages=[{"role": "user", "content": "Count from 1 to 1000, one number per line."}],
        max_tokens=400,
        temperature=0,
        seed=1,
        stream=True,
    )
    seen = 0
    for c in stream:
        if c.choices and c.choices[0].delta.content:
            seen += 1
            if seen == 3:
                break
    stream.close()  # the client goes away mid-reply
    job = _last_job(served, after=before)
    assert job.result is not None, job.error
    assert job.result.finish_reason == "cancelled"
    assert job.result.completion_tokens < 400
    r = client.chat.completions.create(
        model=served.catalog.loaded_id(), messages=[{"role": "user", "content": "Hi"}], max_tokens=4
    )
    assert r.choices[0].message.content


def test_fair_queue_serves_clients_in_turn(served):
    """Client A queues three jobs, then B one: B's job runs second, not after all of A's."""
    import threading

    gate = threading.Event()
    order: list[str] = []
    served.owner.submit("gate", lambda engine: gate.wait(30), label="test-gate")
    jobs = [
        served.owner.submit(who, lambda engine, w=who: order.append(w), label="test")
        for who in ("A", "A", "A", "B")
    ]
    gate.set()
    for job in jobs:
        assert job.done.wait(30)
    assert order == ["A", "B", "A", "A"]


def test_chain_a_second_data_folder_chats_through_serve(served, _isolated_home):
    """Another data folder adds this serve as a remote server and chats through it (one real model)."""
    engine = Engine(store=Store(_isolated_home / "second.db"))
    try:
        row = engine.servers.add(served.url, name="first app", api_key=KEY)
        assert row.models and not row.remote and row.has_key
        spec = row.spec(row.models[0])
        # its models are offered for chat (Models pane) and for single roles (Team builder) too
        assert spec in [m.id for m in engine.model_files.scan().models if m.source == "server"]
        assert spec in [model_id for model_id, _label in engine.teams.catalog().models]
        before = max((j.seq for j in served.owner.recent()), default=0)
        engine.load_model(spec)
        assert engine.model_files.summary().remote_host is None  # loopback: nothing leaves the computer
        conv = engine.store.create_conversation()
        engine.settings = engine.settings.with_changes(max_tokens=8)
        _, reply = engine.send_message(conv.id, "Say hi.")
        assert reply.status == "complete" and reply.content
        job = _last_job(served, after=before)
        assert job.result.text == reply.content  # the first app's owner produced this very answer
        mode = stat.S_IMODE(os.stat(_isolated_home / "settings.json").st_mode)
        assert mode == 0o600  # the stored key is readable only by the person
        assert KEY in (_isolated_home / "settings.json").read_text()
    finally:
        engine.close()


def test_remote_servers_need_confirmation_and_show_in_privacy(served, _isolated_home):
    from purpose_desktop.engine.errors import InputError, ModelError
    from purpose_desktop.engine.models.backends import resolve_backend

    engine = Engine(store=Store(_isolated_home / "third.db"))
    try:
        with pytest.raises(InputError, match="not this computer"):
            engine.servers.add("http://192.0.2.10:8080/v1")
        with pytest.raises(ModelError, match="it is not this computer"):
            resolve_backend("openai-compat:http://192.0.2.10:8080/v1#m")
        # stored as allowed (as after the person confirmed): now resolve_backend accepts it
        engine.config.update(
            {
                "servers": (
                    {
                        "name": "gpu box",
                        "base_url": "http://192.0.2.10:8080/v1",
                        "api_key": None,
                        "allowed": True,
                    },
                )
            }
        )
        model = resolve_backend("openai-compat:http://192.0.2.10:8080/v1#m")
        assert model.allow_remote
        lines = engine.diagnostics.leaves_computer()
        assert any("192.0.2.10" in line and "another computer" in line for line in lines)
    finally:
        engine.close()


def test_grounding_adds_approved_lessons_and_reports_them(tmp_path_factory):
    from purpose_desktop.engine.memory import similarity
    from purpose_desktop.engine.memory.api import MemoryBank
    from tests.fakes import DistinctEmbedder, distinct_embed

    home = tmp_path_factory.mktemp("grounded")
    with similarity.use_embedder(distinct_embed, DistinctEmbedder.name):
        store_path = home / "g.db"
        seed = Store(store_path)
        taught = MemoryBank(seed).teach("Always add type hints to Python functions.").memory
        seed.close()

        def factory():
            engine = Engine(store=Store(store_path), settings=EngineSettings(chat_uses_vault=False))
            engine.load_model(None)
            return engine

        s = _serve(factory, grounding=True)
        try:
            c = openai.OpenAI(base_url=s.url, api_key=KEY, max_retries=0, timeout=300)
            ask = {"role": "user", "content": "Write a Python function that adds two numbers."}
            on = c.chat.completions.create(
                model=s.catalog.loaded_id(), messages=[ask], max_tokens=4, temperature=0
            )
            extra = on.model_extra["purpose_desktop"]
            assert extra["grounded"] is True and [m["id"] for m in extra["memories"]] == [taught.id]
            s.options.grounding = False
            off = c.chat.completions.create(
                model=s.catalog.loaded_id(), messages=[ask], max_tokens=4, temperature=0
            )
            assert off.model_extra["purpose_desktop"]["memories"] == []
            assert on.usage.prompt_tokens > off.usage.prompt_tokens  # the lesson was in the prompt
        finally:
            s.handle.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_serve_runs_and_refuses_unsafe_binds(_isolated_home):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PURPOSE_DESKTOP_HOME": str(_isolated_home)}
    cmd = [sys.executable, "-m", "purpose_desktop", "serve"]
    bad = subprocess.run([*cmd, "--host", "0.0.0.0"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "needs an API key" in bad.stderr
    port = _free_port()
    proc = subprocess.Popen(
        [*cmd, "--port", str(port), "--api-key", KEY], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        c = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0, timeout=60)
        deadline = time.monotonic() + 120
        while True:
            try:
                ids = [m.id for m in c.models.list().data]
                break
            except openai.APIConnectionError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert ids
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="nope", max_retries=0).models.list()
        add = subprocess.run(
            [
                sys.executable,
                "-m",
                "purpose_desktop",
                "models",
                "add-server",
                f"http://127.0.0.1:{port}/v1",
                "--name",
                "mine",
                "--api-key",
                KEY,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert add.returncode == 0, add.stderr
        assert "mine" in add.stdout and KEY not in add.stdout and "readable only by you" in add.stdout
        listed = subprocess.run(
            [sys.executable, "-m", "purpose_desktop", "models", "list"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (
            f"openai-compat:http://127.0.0.1:{port}/v1#{ids[0]}" in listed.stdout and KEY not in listed.stdout
        )
        assert load_settings(_isolated_home / "settings.json").servers[0]["name"] == "mine"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert KEY not in err  # the request log never holds the key
    assert "GET /v1/models 200" in err and "GET /v1/models 401" in err
