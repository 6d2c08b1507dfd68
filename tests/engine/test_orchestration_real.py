"""Flow, swarm, Council, LLMCompiler and EndpointModel end to end on the real bundled GGUF (mechanics, not brilliance)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from purpose_desktop.engine.agents.spark import Spark
from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.events import PlanMade, RoundStarted, TokenReceived
from purpose_desktop.engine.models import GenerationSettings, LocalModel
from purpose_desktop.engine.models.backends import EndpointModel
from purpose_desktop.engine.orchestration import (
    BEGIN,
    DONE_SIGNAL,
    Council,
    Flow,
    LLMCompiler,
    PlanError,
    swarm,
)
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.tools import CalculatorTool, ToolRegistry

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def model(default_model_path):
    m = LocalModel(default_model_path, n_ctx=2048)
    yield m
    m.close()


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "real.db")
    yield s
    s.close()


class Watched:
    """The real model, noting which threads call it and whether two calls ever overlap."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.display_name = inner.display_name
        self.n_ctx = inner.n_ctx
        self.info = inner.info
        self.threads: set[int] = set()
        self.overlaps = 0
        self.calls = 0
        self.prompts: list[str] = []  # the user message of each chat call
        self._busy = threading.Lock()

    def _call(self, method, *args, **kwargs):
        if not self._busy.acquire(blocking=False):
            self.overlaps += 1
            self._busy.acquire()
        try:
            self.threads.add(threading.get_ident())
            self.calls += 1
            return getattr(self.inner, method)(*args, **kwargs)
        finally:
            self._busy.release()

    def chat(self, messages, **kwargs):
        self.prompts.append(messages[-1]["content"])
        return self._call("chat", messages, **kwargs)

    def complete_json(self, messages, schema, **kwargs):
        return self._call("complete_json", messages, schema, **kwargs)

    def count_tokens(self, text):
        return self.inner.count_tokens(text)

    def close(self):
        pass


def _spark(role, model, **kwargs):
    kwargs.setdefault("max_tokens_per_step", 24)
    kwargs.setdefault("max_steps", 1)
    return Spark(role, model=model, **kwargs)


def test_flow_runs_real_sparks_and_stores_scored_steps(model, store):
    flow = Flow("brief", store=store, model=model)
    flow.add_node("research", _spark("researcher", model))
    flow.add_node("write", _spark("writer", model))
    flow.add_edge(BEGIN, "research").add_edge("research", "write")
    flow.add_conditional_edge(
        "write", lambda s: "pass" if s["write"] else "retry", {"pass": DONE_SIGNAL, "retry": "write"}
    )
    events = []
    result = flow.run(
        {"task": "Explain in two sentences why the sky is blue."}, max_steps=4, on_event=events.append
    )
    assert result.status == "complete" and result.answer and result.path[:2] == ["research", "write"]
    assert any(isinstance(e, TokenReceived) for e in events)
    steps = store.get_run(result.run_id)["steps"]
    assert [s["role"] for s in steps][:2] == ["research", "write"]
    assert all(0 <= s["score"] <= 10 and s["evidence"] for s in steps)
    assert result.tokens_work > 0 and result.tokens_judge > 0  # the real judge answered


def test_swarm_keeps_every_real_model_call_on_one_owner_thread(model, store):
    watched = Watched(model)
    agent = _spark("analyst", watched, tools=[CalculatorTool()], max_steps=2, max_tokens_per_step=24)
    tasks = ["What is 12 * 12?", "What is 7 + 35?"]
    results = swarm(tasks, agents=[agent], store=store)
    assert [r.task for r in results] == tasks and all(r.ok for r in results)
    assert (
        watched.overlaps == 0 and len(watched.threads) == 1 and threading.get_ident() not in watched.threads
    )
    assert watched.calls >= 2 * 3  # per task: a decision, a reply, a judge at least
    for r in results:
        stored = store.get_run(r.run_id)
        assert stored["status"] in ("complete", "incomplete") and 0 <= stored["steps"][0]["score"] <= 10


def test_council_deliberates_and_the_chair_answers_through_the_grammar(model, store):
    # One round keeps this test short on two shared cores; the scripted tests cover several rounds.
    watched = Watched(model)
    council = Council(
        [_spark("researcher", watched), _spark("reviewer", watched)],
        store=store,
        synthesis_tokens=64,
        answer_tokens=32,
    )
    events = []
    result = council.run(
        "Should a small script use a config file or command-line flags?", rounds=1, on_event=events.append
    )
    assert result.status == "complete" and result.answer
    assert isinstance(result.agreement, list) and isinstance(result.disagreement, list)
    assert all(isinstance(p, str) for p in result.agreement + result.disagreement)
    researcher = result.positions[0]["researcher"]
    assert researcher and f"- researcher: {researcher}" in watched.prompts[1]  # the reviewer saw it
    assert [e.round for e in events if isinstance(e, RoundStarted)] == [1, 2]
    steps = store.get_run(result.run_id)["steps"]
    assert [s["role"] for s in steps] == ["researcher", "reviewer", "chair"]
    assert all(s["score"] is not None for s in steps)


def test_compiler_plans_with_the_real_model_under_the_plan_grammar(model, store):
    compiler = LLMCompiler(
        model, ToolRegistry([CalculatorTool()]), store=store, plan_tokens=128, max_calls=3, answer_tokens=48
    )
    events = []
    try:
        result = compiler.compile_and_execute("Compute 17 * 23 and 19 * 29.", on_event=events.append)
    except PlanError as exc:  # a 135M planner may still wire references wrongly: the error must say how
        assert exc.message and exc.hint
        run = store.list_runs()[0]
        assert run["status"] == "failed" and store.get_run(run["id"])["steps"][0]["role"] == "planner"
        return
    assert result.plan and all(c["tool"] == "calculator" for c in result.plan)
    assert any(isinstance(e, PlanMade) for e in events) and result.calls
    assert [s["role"] for s in store.get_run(result.run_id)["steps"]][-1] == "joiner"


class _LocalServer:
    """A one-thread OpenAI-compatible server in front of the real model (what llama-server does)."""

    def __init__(self, model) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                settings = GenerationSettings(
                    max_tokens=body["max_tokens"], temperature=body["temperature"], seed=body.get("seed")
                )
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()

                def send(piece):
                    chunk = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()

                fmt = body.get("response_format")
                if fmt:
                    schema = (
                        fmt["json_schema"]["schema"]
                        if fmt["type"] == "json_schema"
                        else fmt.get("schema", {})
                    )
                    send(json.dumps(model.complete_json(body["messages"], schema, settings=settings)))
                    finish = "stop"
                else:
                    finish = model.chat(body["messages"], settings=settings, on_token=send).finish_reason
                end = {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
                self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_endpoint_model_streams_from_a_real_model_behind_a_loopback_server(model):
    server = _LocalServer(model)
    try:
        endpoint = EndpointModel(server.url, "smollm2")
        pieces = []
        reply = endpoint.chat(
            [{"role": "user", "content": "Say hello."}],
            settings=GenerationSettings(max_tokens=16, temperature=0.0, seed=0),
            on_token=pieces.append,
        )
        assert reply.text and len(pieces) > 1 and "".join(pieces) == reply.text
        spark = Spark(
            "analyst", model=endpoint, tools=[CalculatorTool()], max_steps=2, max_tokens_per_step=24
        )
        res = spark.run("What is 6 * 7?")
        assert res.status == "complete" and res.raw_steps[0]["action"] in ("calculator", "final_answer")
    except ModelError as exc:  # only a schema mismatch may surface, and it must say so
        pytest.fail(f"endpoint round trip failed: {exc}")
    finally:
        server.close()
