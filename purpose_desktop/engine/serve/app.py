"""The OpenAI-compatible HTTP API (a Starlette ASGI app): /v1/models, /v1/chat/completions, /v1/embeddings.

Every model call goes through the :class:`ModelOwner`'s fair queue; the event loop only parses, checks,
streams and logs. A client that disconnects sets its job's CancelToken, which stops generation within one
token (or drops the job if it has not started). Nothing that could hold a secret (headers, bodies, keys)
is logged: the request log has the time, client address, path, status, model, token count and duration.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.serve.catalog import ModelCatalog
from purpose_desktop.engine.serve.completions import ChatOutcome, run_chat
from purpose_desktop.engine.serve.owner import Job, ModelOwner
from purpose_desktop.engine.serve.protocol import (
    MAX_BODY_BYTES,
    SSE_DONE,
    ApiError,
    chunk,
    completion_id,
    parse_chat,
    parse_embeddings,
    parse_json,
    sse,
)

log = logging.getLogger(__name__)


@dataclass
class ServeOptions:
    """What a running server may change while it runs (the app's Settings toggle ``grounding``)."""

    api_key: str | None = None
    grounding: bool = True
    max_body_bytes: int = MAX_BODY_BYTES
    on_request: Callable[[RequestRecord], None] | None = None


@dataclass(frozen=True)
class RequestRecord:
    """One line of the request log (no headers, no bodies, no keys)."""

    at: float
    client: str
    method: str
    path: str
    status: int
    model: str = ""
    tokens: int = 0
    ms: float = 0.0
    outcome: str = ""  # stop | length | tool_calls | cancelled | disconnected | the error code


@dataclass
class _Ctx:
    request: Request
    started: float = field(default_factory=time.perf_counter)
    model: str = ""
    tokens: int = 0
    outcome: str = ""


def _client(request: Request) -> str:
    c = request.client
    return f"{c.host}:{c.port}" if c else "unknown"


def _error_response(exc: ApiError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def _from_engine(exc: BaseException) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, PurposeError):
        text = exc.message + (f" {exc.hint}" if exc.hint else "")
        return ApiError(500, text, "server_error", type(exc).__name__.lower())
    return ApiError(
        500, f"The server failed ({type(exc).__name__}); see its log.", "server_error", "internal_error"
    )


def create_app(owner: ModelOwner, catalog: ModelCatalog, options: ServeOptions | None = None) -> Starlette:
    """The ASGI app; ``owner`` runs model work, ``catalog`` says which model ids are served."""
    opts = options or ServeOptions()

    def record(ctx: _Ctx, status: int) -> None:
        rec = RequestRecord(
            at=time.time(),
            client=_client(ctx.request),
            method=ctx.request.method,
            path=ctx.request.url.path,
            status=status,
            model=ctx.model,
            tokens=ctx.tokens,
            ms=(time.perf_counter() - ctx.started) * 1000,
            outcome=ctx.outcome,
        )
        log.info(
            "%s %s %s %d %s %d tok %.0f ms %s",
            rec.client,
            rec.method,
            rec.path,
            status,
            rec.model,
            rec.tokens,
            rec.ms,
            rec.outcome,
        )
        if opts.on_request is not None:
            try:
                opts.on_request(rec)
            except Exception:
                log.exception("the request log callback failed")

    def authorize(request: Request) -> None:
        if not opts.api_key:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        expected = opts.api_key.encode("utf-8")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode("utf-8"), expected)
        if not ok:
            raise ApiError(
                401,
                "Missing or wrong API key. Send it as 'Authorization: Bearer KEY' (the key serve was started with).",
                "invalid_request_error",
                "invalid_api_key",
            )

    async def read_json(request: Request) -> dict[str, Any]:
        limit = opts.max_body_bytes
        too_big = ApiError(
            413,
            f"The request body is larger than the limit of {limit:,} bytes. Send less text, or put large "
            "files in the Vault and let grounding find the parts that matter.",
            "invalid_request_error",
            "request_too_large",
        )
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise too_big
        parts, size = [], 0
        async for piece in request.stream():
            size += len(piece)
            if size > limit:
                raise too_big
            parts.append(piece)
        return parse_json(b"".join(parts))

    def handled(fn):
        async def endpoint(request: Request) -> Response:
            ctx = _Ctx(request)
            try:
                authorize(request)
                response = await fn(request, ctx)
            except ApiError as exc:
                ctx.outcome = exc.code
                record(ctx, exc.status)
                return _error_response(exc)
            except Exception as exc:
                log.exception("serve: %s %s failed", request.method, request.url.path)
                err = _from_engine(exc)
                ctx.outcome = err.code
                record(ctx, err.status)
                return _error_response(err)
            if not isinstance(response, StreamingResponse):
                record(ctx, response.status_code)
            return response

        return endpoint

    async def models(request: Request, ctx: _Ctx) -> Response:
        ids = await asyncio.to_thread(catalog.ids)
        data = [{"id": i, "object": "model", "created": 0, "owned_by": "purpose-desktop"} for i in ids]
        return JSONResponse({"object": "list", "data": data})

    async def embeddings(request: Request, ctx: _Ctx) -> Response:
        model, texts, fmt = parse_embeddings(await read_json(request))
        if model not in catalog.embedding_ids():
            raise ApiError(
                404,
                f"The embedding model {model!r} does not exist here. Use {catalog.embedding_ids()[0]!r}.",
                "invalid_request_error",
                "model_not_found",
                "model",
            )
        ctx.model = model
        vectors = await asyncio.to_thread(catalog.embed, texts)
        ctx.tokens = sum(max(1, len(t) // 4) for t in texts)
        data = [
            {"object": "embedding", "index": i, "embedding": _vector(v, fmt)} for i, v in enumerate(vectors)
        ]
        usage = {"prompt_tokens": ctx.tokens, "total_tokens": ctx.tokens}
        return JSONResponse({"object": "list", "data": data, "model": model, "usage": usage})

    async def chat(request: Request, ctx: _Ctx) -> Response:
        call = parse_chat(await read_json(request))
        # ApiError 404 for an unknown model; off the event loop, as the first look scans for GGUF files
        model_id, spec = await asyncio.to_thread(catalog.resolve, call.model)
        ctx.model = model_id
        loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        cancel = CancelToken()

        def put(item) -> None:
            try:
                loop.call_soon_threadsafe(events.put_nowait, item)
            except RuntimeError:  # the loop has closed (server shutting down)
                cancel.set()

        grounding = opts.grounding

        def work(engine) -> ChatOutcome:
            catalog.ensure_loaded(engine, spec)
            return run_chat(
                engine,
                call,
                grounding=grounding,
                cancel=cancel,
                emit=(lambda piece: put(("piece", piece))) if call.stream else None,
                model_id=model_id,
            )

        client = call.user or _client(request)
        owner.submit(
            client, work, cancel=cancel, label=f"chat {model_id}", on_done=lambda job: put(("done", job))
        )
        if call.stream:
            return StreamingResponse(
                _stream(events, cancel, call, model_id, grounding, ctx, record),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        watcher = asyncio.create_task(_watch_disconnect(request, cancel))
        try:
            while True:
                kind, job = await events.get()
                if kind == "done":
                    break
        finally:
            watcher.cancel()
        if job.error is not None:
            if cancel.is_set():
                ctx.outcome = "disconnected"
                record(ctx, 499)
                return Response(status_code=499)
            raise job.error
        outcome: ChatOutcome = job.result
        ctx.tokens, ctx.outcome = outcome.completion_tokens, outcome.finish_reason
        message: dict[str, Any] = {
            "role": "assistant",
            "content": outcome.text if not outcome.tool_calls else None,
        }
        if outcome.tool_calls:
            message["tool_calls"] = outcome.tool_calls
        return JSONResponse(
            {
                "id": completion_id(),
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model_id,
                "choices": [{"index": 0, "message": message, "finish_reason": outcome.finish_reason}],
                "usage": _usage(outcome),
                "purpose_desktop": _grounding_field(outcome, grounding),
            }
        )

    async def not_found(request: Request, exc: HTTPException) -> Response:
        status = exc.status_code
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
        message = (
            f"{request.method} {request.url.path} is not part of this API: it serves GET /v1/models, "
            "POST /v1/chat/completions and POST /v1/embeddings."
        )
        return _error_response(ApiError(status, message, "invalid_request_error", code))

    routes = [
        Route("/v1/models", handled(models), methods=["GET"]),
        Route("/v1/chat/completions", handled(chat), methods=["POST"]),
        Route("/v1/embeddings", handled(embeddings), methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found})
    app.state.owner = owner
    app.state.options = opts
    return app


def _vector(v, fmt: str):
    """One embedding as a list of floats, or (the openai client's default) base64 of little-endian float32."""
    if fmt == "base64":
        import base64

        import numpy as np

        return base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode("ascii")
    return [float(x) for x in v]


def _usage(outcome: ChatOutcome) -> dict[str, int]:
    return {
        "prompt_tokens": outcome.prompt_tokens,
        "completion_tokens": outcome.completion_tokens,
        "total_tokens": outcome.prompt_tokens + outcome.completion_tokens,
    }


def _grounding_field(outcome: ChatOutcome, grounding: bool) -> dict[str, Any]:
    sources = outcome.sources or {"memories": [], "passages": [], "withheld": []}
    return {"grounded": grounding, **sources}


async def _watch_disconnect(request: Request, cancel: CancelToken) -> None:
    """Set ``cancel`` when the client goes away (the body has been read: only a disconnect can come)."""
    while True:
        message = await request.receive()
        if message.get("type") == "http.disconnect":
            cancel.set()
            return


async def _stream(
    events: asyncio.Queue, cancel: CancelToken, call, model_id: str, grounding: bool, ctx: _Ctx, record
):
    """SSE chunks: the role, each piece of text, the finish (with the sources), usage if asked, [DONE]."""
    cid = completion_id()
    finished = False
    status = 200
    try:
        yield sse(chunk(cid, model_id, {"role": "assistant", "content": ""}))
        while True:
            kind, value = await events.get()
            if kind == "piece":
                yield sse(chunk(cid, model_id, {"content": value}))
                continue
            job: Job = value
            break
        if job.error is not None:
            err = _from_engine(job.error)
            ctx.outcome = err.code
            yield sse(err.body())
            yield SSE_DONE
            finished = True
            return
        outcome: ChatOutcome = job.result
        ctx.tokens, ctx.outcome = outcome.completion_tokens, outcome.finish_reason
        if outcome.tool_calls:
            calls = [{"index": i, **c} for i, c in enumerate(outcome.tool_calls)]
            yield sse(chunk(cid, model_id, {"tool_calls": calls}))
        yield sse(
            chunk(
                cid, model_id, {}, outcome.finish_reason, purpose_desktop=_grounding_field(outcome, grounding)
            )
        )
        if call.include_usage:
            usage = chunk(cid, model_id, {}, usage=_usage(outcome))
            usage["choices"] = []
            yield sse(usage)
        yield SSE_DONE
        finished = True
    finally:
        if not finished:
            cancel.set()  # the client went away: stop generating within one token
            ctx.outcome, status = "disconnected", 499
        record(ctx, status)
