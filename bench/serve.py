"""`serve` overhead and fairness with the real bundled model, in one process, alternating rounds.

1. Streaming speed: tokens/s a client reads through serve's SSE ÷ tokens/s of the engine's own model.chat on
   the same owner thread, same messages, temperature 0 and seed (target ≥ 0.95); TTFT overhead (target ≤ 30 ms).
2. Fairness: 8 clients (distinct ``user``), each with 2 concurrent streaming requests (16 at once): all complete,
   and while any client's first request waited, no other client was served twice (round-robin: at most
   CLIENTS - 1 jobs ran before it; FIFO could run up to 2 × CLIENTS - 1).
   Reports the spread of the clients' first-token times.

The client reads SSE with http.client (as a light client would); grounding is off so the prompts match.
Prints one JSON object.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time

from _common import PROMPT, median, rate

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
MAX_TOKENS = int(os.environ.get("BENCH_MAX_TOKENS", "200"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
FAIR_TOKENS = int(os.environ.get("BENCH_FAIR_TOKENS", "16"))


def stream(port: int, body: dict) -> tuple[float | None, list[float], float]:
    """POST a streaming chat; returns (ttft ms, token timestamps, start)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    start = time.perf_counter()
    conn.request(
        "POST",
        "/v1/chat/completions",
        json.dumps({**body, "stream": True}),
        {"Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    stamps: list[float] = []
    while True:
        line = resp.readline()
        if not line:
            break
        if not line.startswith(b"data: "):
            continue
        data = line[6:].strip()
        if data == b"[DONE]":
            break
        chunk = json.loads(data)
        if chunk.get("choices") and chunk["choices"][0]["delta"].get("content"):
            stamps.append(time.perf_counter())
    conn.close()
    return ((stamps[0] - start) * 1000 if stamps else None), stamps, start


def main() -> None:
    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.models import GenerationSettings
    from purpose_desktop.engine.serve import ModelCatalog, ModelOwner, ServeOptions, create_app, start_server
    from purpose_desktop.engine.settings import EngineSettings

    settings = EngineSettings(temperature=0.0, max_tokens=MAX_TOKENS)
    engines: list[Engine] = []

    def build() -> Engine:
        engine = Engine(settings=settings)
        engine.load_model(None)
        engines.append(engine)
        return engine

    owner = ModelOwner(engine_factory=build)
    owner.start()
    catalog = ModelCatalog(lambda: engines[0].model)
    handle = start_server(
        create_app(owner, catalog, ServeOptions(grounding=False)), "127.0.0.1", 0, owner=owner
    )
    model_id = catalog.loaded_id()
    messages = [{"role": "system", "content": settings.system_prompt}, {"role": "user", "content": PROMPT}]
    body = {"model": model_id, "messages": messages, "max_tokens": MAX_TOKENS, "temperature": 0, "seed": 0}
    gen = GenerationSettings(max_tokens=MAX_TOKENS, temperature=0.0, seed=0)

    def engine_run() -> tuple[float | None, float | None, int]:
        def work(engine):
            stamps: list[float] = []
            start = time.perf_counter()
            engine.model.chat(messages, settings=gen, on_token=lambda _p: stamps.append(time.perf_counter()))
            return ((stamps[0] - start) * 1000 if stamps else None), rate(stamps), len(stamps)

        return owner.call(work)

    def serve_run() -> tuple[float | None, float | None, int]:
        ttft, stamps, _ = stream(handle.port, body)
        return ttft, rate(stamps), len(stamps)

    def progress(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    engine_run()  # warm both paths once
    serve_run()
    progress("warmed up")
    eng, srv = [], []
    for i in range(ROUNDS):
        eng.append(engine_run())
        srv.append(serve_run())
        progress(f"round {i + 1}: engine {eng[-1]}, serve {srv[-1]}")
    eng_rate, srv_rate = median([e[1] for e in eng]), median([s[1] for s in srv])
    eng_ttft, srv_ttft = median([e[0] for e in eng]), median([s[0] for s in srv])

    # Fairness: 8 clients × 2 concurrent requests.
    first_seq = max((j.seq for j in owner.recent()), default=0)
    results: dict[tuple[int, int], tuple] = {}
    barrier = threading.Barrier(CLIENTS * 2)

    def client(c: int, k: int) -> None:
        barrier.wait()
        fair_body = {**body, "max_tokens": FAIR_TOKENS, "user": f"client-{c}"}
        results[(c, k)] = stream(handle.port, fair_body)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c, k)) for c in range(CLIENTS) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    progress(f"fairness: {CLIENTS * 2} requests in {wall:.1f} s")
    jobs = sorted((j for j in owner.recent() if j.seq > first_seq), key=lambda j: j.started_at or 0)
    order = [j.client for j in jobs]
    # Round-robin means: while a client's first request waits, every other client is served at most once.
    overtakes = {}
    for c in sorted(set(order)):
        first = min((j for j in jobs if j.client == c), key=lambda j: j.queued_at)
        overtakes[c] = sum(
            1
            for k in jobs
            if k.client != c and first.queued_at <= (k.started_at or 0) < (first.started_at or 0)
        )
    per_client_once = max(overtakes.values(), default=0) <= CLIENTS - 1
    firsts = []
    for c in range(CLIENTS):
        stamps = [s for k in range(2) for s in results[(c, k)][1][:1]]
        starts = [results[(c, k)][2] for k in range(2)]
        if stamps:
            firsts.append((min(stamps) - min(starts)) * 1000)
    complete = sum(1 for r in results.values() if r[1]) == CLIENTS * 2
    handle.stop()
    print(
        json.dumps(
            {
                "engine_tok_s": round(eng_rate, 1),
                "serve_tok_s": round(srv_rate, 1),
                "ratio": round(srv_rate / eng_rate, 3),
                "engine_ttft_ms": round(eng_ttft, 1),
                "serve_ttft_ms": round(srv_ttft, 1),
                "ttft_overhead_ms": round(srv_ttft - eng_ttft, 1),
                "tokens": {"engine": [e[2] for e in eng], "serve": [s[2] for s in srv]},
                "rounds": ROUNDS,
                "fair": {
                    "clients": CLIENTS,
                    "requests": CLIENTS * 2,
                    "all_complete": complete,
                    "max_served_while_a_first_request_waited": max(overtakes.values(), default=0),
                    "fair_round_robin": per_client_once,
                    "service_order": order,
                    "first_token_ms_min": round(min(firsts), 1) if firsts else None,
                    "first_token_ms_max": round(max(firsts), 1) if firsts else None,
                    "first_token_spread_ms": round(max(firsts) - min(firsts), 1) if firsts else None,
                    "wall_s": round(wall, 2),
                    "policy": "per-request round-robin between clients (not token-interleaved)",
                },
                "cpu_count": os.cpu_count(),
                "load_avg_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
