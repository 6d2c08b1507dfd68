"""resolve_backend(spec): a model spec (default, GGUF path, model id, local endpoint, or object) → a chat model."""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.models.local import GenerationSettings, Reply, close_truncated_json

_local = threading.local()

ENDPOINT_PREFIX = "openai-compat:"
DEFAULT_ENDPOINT_CTX = 4096
_REMOTE_HINT = (
    "Purpose Desktop is local-first: only endpoints on this computer (localhost, 127.0.0.1, ::1) are used "
    "unless you pass allow_remote=True explicitly."
)


# Provider-prefixed model strings from cloud SDKs ("openai:gpt-4o", "anthropic/claude-…").
_CLOUD_PROVIDERS = (
    "anthropic",
    "azure",
    "bedrock",
    "cohere",
    "deepseek",
    "fireworks",
    "gemini",
    "google",
    "groq",
    "mistral",
    "openai",
    "openrouter",
    "together",
    "xai",
)


def _cloud_provider(spec) -> str | None:
    if not isinstance(spec, str):
        return None
    head = spec.strip().lower().replace("/", ":", 1).split(":", 1)
    return head[0] if len(head) == 2 and head[0] in _CLOUD_PROVIDERS else None


def _is_model(obj) -> bool:
    return callable(getattr(obj, "chat", None)) and callable(getattr(obj, "complete_json", None))


def is_endpoint_spec(spec) -> bool:
    """True for "http://…", "https://…" and "openai-compat:…" specs."""
    if not isinstance(spec, str):
        return False
    text = spec.strip().lower()
    return text.startswith((ENDPOINT_PREFIX, "http://", "https://"))


def resolve_backend(spec=None, *, added=(), allow_remote: bool = False):
    """Return a ready chat model for ``spec``; never silently a fake one.

    ``spec`` is a model object, None/"default", a GGUF path, a discovered model id, or an
    OpenAI-compatible endpoint ("http://127.0.0.1:8080/v1", "openai-compat:http://localhost:11434/v1#qwen2").
    Endpoints must be on this computer unless ``allow_remote=True``; cloud provider strings
    ("openai:gpt-4o") are refused with a message saying how to allow remote use.

    GGUF models are cached per thread and per file, because a llama context belongs to the thread
    that created it; two roles naming the same GGUF share one loaded model on that thread.
    """
    if _is_model(spec):
        return spec
    if spec is not None and not isinstance(spec, str | Path):
        raise ModelError(
            f"Cannot use {type(spec).__name__} as a model.",
            'Pass "default", a path to a .gguf file, a model id from `purpose-desktop models list`, '
            "an http://127.0.0.1:PORT/v1 endpoint, or a model object.",
        )
    cache: dict = getattr(_local, "models", None) or {}
    _local.models = cache
    if is_endpoint_spec(spec):
        base_url, model_name = parse_endpoint_spec(spec)
        server = registered_server(base_url)
        # A server the person added and confirmed (Models → Add server…) counts as allowed.
        allowed = allow_remote or bool(server and server.get("allowed"))
        key = ("endpoint", base_url, model_name, allowed)
        model = cache.get(key)
        if model is None:
            model = EndpointModel(
                base_url, model_name, allow_remote=allowed, api_key=(server or {}).get("api_key")
            )
            cache[key] = model
        return model
    provider = _cloud_provider(spec)
    if provider is not None and not Path(str(spec)).exists():
        raise ModelError(
            f"{spec!r} names the cloud provider {provider!r}; Purpose Desktop sends no prompts off this "
            "computer unless you allow it.",
            'Use a local model ("default", a .gguf path, or an Ollama/LM Studio name such as "qwen3:1.7b"), '
            "or allow remote use explicitly with an OpenAI-compatible endpoint: "
            'resolve_backend("openai-compat:https://HOST/v1#MODEL", allow_remote=True).',
        )
    from purpose_desktop.engine.models import LocalModel, resolve_model

    path = resolve_model(spec, added=[Path(p) for p in added]).resolve()
    model = cache.get(path)
    if model is None:
        model = LocalModel(path)
        cache[path] = model
    return model


def registered_server(base_url: str, servers=None) -> dict | None:
    """The server entry (settings ``servers``) whose base URL is ``base_url``, if the person added one."""
    if servers is None:
        from purpose_desktop.engine.settings import load_settings

        servers = load_settings().servers
    for server in servers:
        try:
            if parse_endpoint_spec(server["base_url"])[0] == base_url:
                return server
        except ModelError:
            continue
    return None


def endpoint_model(spec: str, servers=(), *, allow_remote: bool = False) -> EndpointModel:
    """An EndpointModel for ``spec`` with the key and the permission stored for its server."""
    base_url, name = parse_endpoint_spec(spec)
    server = registered_server(base_url, servers) or {}
    return EndpointModel(
        base_url, name, allow_remote=allow_remote or bool(server.get("allowed")), api_key=server.get("api_key")
    )


def endpoint_spec(base_url: str, model: str) -> str:
    """The model spec that names ``model`` on the server at ``base_url``."""
    return f"{ENDPOINT_PREFIX}{parse_endpoint_spec(base_url)[0]}#{model}"


def list_endpoint_models(
    base_url: str, *, api_key: str | None = None, allow_remote: bool = False, timeout_s: float = 10.0
) -> list[str]:
    """The model ids an OpenAI-compatible server lists at GET /models (ModelError says what failed)."""
    base_url, _ = parse_endpoint_spec(base_url)
    check_endpoint_allowed(base_url, allow_remote)
    parts = urlsplit(base_url)
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname, parts.port, timeout=timeout_s)
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        conn.request("GET", parts.path + "/models", headers=headers)
        resp = conn.getresponse()
        body = resp.read(2_000_000).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        raise ModelError(
            f"Cannot reach the model server at {base_url} ({type(exc).__name__}: {exc}).",
            "Check the address and port, and that the server (llama-server, vLLM, Ollama, serve) is running.",
        ) from exc
    finally:
        conn.close()
    if resp.status == 401:
        raise ModelError(f"The server at {base_url} refused the API key.", "Check the key, or add the server again.")
    if resp.status >= 400:
        raise ModelError(
            f"The server at {base_url} answered HTTP {resp.status}: {_error_message(body)}",
            "Check that the address ends with the API path (usually /v1).",
        )
    try:
        data = json.loads(body)
        ids = [str(m["id"]) for m in data["data"] if isinstance(m, dict) and m.get("id")]
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(
            f"The server at {base_url} did not answer GET /models like an OpenAI-compatible server.",
            "Check the address (it usually ends with /v1).",
        ) from exc
    return ids


def close_thread_models() -> None:
    """Free every model this thread loaded through resolve_backend."""
    release_thread_models()


def thread_models() -> list:
    """The models this thread holds through resolve_backend (per-role models of a team, endpoints)."""
    return list((getattr(_local, "models", None) or {}).values())


def release_thread_models(keep=()) -> int:
    """Close and forget the models this thread loaded through resolve_backend, except those in ``keep``.

    A team's per-role models are loaded on first use; the app calls this when a run ends so they do
    not stay in memory until quit. Returns how many were released.
    """
    cache: dict = getattr(_local, "models", None) or {}
    kept = {id(m) for m in keep if m is not None}
    released = 0
    for key, model in list(cache.items()):
        if id(model) in kept:
            continue
        del cache[key]
        close = getattr(model, "close", None)
        if close is not None:
            close()
        released += 1
    return released


# -- OpenAI-compatible local endpoints ------------------------------------------------------------


def parse_endpoint_spec(spec: str) -> tuple[str, str | None]:
    """``(base_url, model name or None)`` for an endpoint spec; "#name" picks the server's model.

    A URL with no path gets "/v1" (llama.cpp's llama-server, Ollama, LM Studio and vLLM all serve it).
    """
    text = spec.strip()
    if text.lower().startswith(ENDPOINT_PREFIX):
        text = text[len(ENDPOINT_PREFIX) :].strip()
    if "://" not in text:
        text = "http://" + text
    text, _, name = text.partition("#")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ModelError(
            f"'{spec}' is not an endpoint address.",
            'Use e.g. "http://127.0.0.1:8080/v1" or "openai-compat:http://localhost:11434/v1#model-name".',
        )
    if parts.username or parts.password:
        raise ModelError(
            "Endpoint addresses may not carry a user name or password.", "Remove the user@ part."
        )
    path = parts.path.rstrip("/") or "/v1"
    try:
        port = parts.port
    except ValueError as exc:
        raise ModelError(f"'{spec}' has an invalid port.", "Use a port number from 1 to 65535.") from exc
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = host + (f":{port}" if port else "")
    return f"{parts.scheme}://{netloc}{path}", (name.strip() or None)


def is_loopback_host(host: str) -> bool:
    """True for localhost names and loopback addresses (127.0.0.0/8, ::1, IPv4-mapped loopback)."""
    h = (host or "").strip().strip("[]").lower().rstrip(".")
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        addr = ipaddress.ip_address(h)
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return addr.is_loopback or bool(mapped and mapped.is_loopback)


def check_endpoint_allowed(base_url: str, allow_remote: bool) -> None:
    host = urlsplit(base_url).hostname or ""
    if not allow_remote and not is_loopback_host(host):
        raise ModelError(f"Refusing to send prompts to {host}: it is not this computer.", _REMOTE_HINT)


def schema_problems(schema: dict, value, where: str = "$") -> list[str]:
    """What is wrong with ``value`` against the JSON-schema subset the engine's grammars use."""
    problems: list[str] = []
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf") or []
        if options and all(schema_problems(o, value, where) for o in options):
            problems.append(f"{where} matches none of the allowed shapes")
        return problems
    if "const" in schema and value != schema["const"]:
        return [f"{where} must be {schema['const']!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where} must be one of {schema['enum']}"]
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind or [])
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }
    if kinds and not any(checks.get(k, lambda _v: True)(value) for k in kinds):
        return [f"{where} must be {' or '.join(kinds)}, not {type(value).__name__}"]
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for key in schema.get("required", ()):
            if key not in value:
                problems.append(f"{where}.{key} is missing")
        for key, sub in props.items():
            if key in value:
                problems += schema_problems(sub, value[key], f"{where}.{key}")
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(props))
            if extra:
                problems.append(f"{where} has unexpected keys: {', '.join(extra)}")
    elif isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            problems.append(f"{where} needs at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append(f"{where} has more than {schema['maxItems']} items")
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                problems += schema_problems(schema["items"], item, f"{where}[{i}]")
    elif isinstance(value, str) and "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(f"{where} is longer than {schema['maxLength']} characters")
    return problems


@dataclass
class _Stream:
    """One streamed completion: the text pieces, why it ended, and when the first piece came."""

    parts: list[str]
    finish: str
    first_at: float | None
    last_at: float | None


class EndpointModel:
    """An OpenAI-compatible chat endpoint (llama-server, Ollama, LM Studio) with LocalModel's surface.

    Uses http.client rather than urllib.request on purpose: no proxy from the environment sees
    local prompts, no redirect can move them off this computer, and Stop can shut the socket down
    while a read is blocked waiting for the server's first token.
    """

    info = None

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        *,
        allow_remote: bool = False,
        api_key: str | None = None,
        n_ctx: int = DEFAULT_ENDPOINT_CTX,
        timeout_s: float = 300.0,
    ) -> None:
        self.base_url, spec_model = parse_endpoint_spec(base_url)
        check_endpoint_allowed(self.base_url, allow_remote)
        self.model = model or spec_model
        self.allow_remote = allow_remote
        self.n_ctx = int(n_ctx)
        self.timeout_s = timeout_s
        self._api_key = api_key
        self._json_mode: str | None = None  # "json_schema" | "json_object" once the server told us
        self.closed = False
        parts = urlsplit(self.base_url)
        self.display_name = f"{self.model or 'endpoint'} @ {parts.netloc}"

    def __repr__(self) -> str:
        return f"EndpointModel({self.base_url!r}, model={self.model!r})"

    def close(self) -> None:
        """Nothing is held between calls; later calls raise."""
        self.closed = True

    def count_tokens(self, text: str) -> int:
        """An estimate (about four characters a token): the server's tokenizer is not at hand."""
        return max(1, (len(text or "") + 3) // 4)

    # -- HTTP ---------------------------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.base_url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        return cls(parts.hostname, parts.port, timeout=self.timeout_s)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _unreachable(self, exc: BaseException) -> ModelError:
        return ModelError(
            f"Cannot reach the model server at {self.base_url} ({type(exc).__name__}: {exc}).",
            "Start the server (llama.cpp's llama-server, Ollama, LM Studio) or check the address and port.",
        )

    def _body(self, messages: list[dict], settings: GenerationSettings, extra: dict) -> dict:
        body = {
            "messages": [
                {"role": str(m.get("role") or "user"), "content": str(m.get("content") or "")}
                for m in messages
            ],
            "stream": True,
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            **extra,
        }
        if settings.seed is not None:
            body["seed"] = settings.seed
        if self.model:
            body["model"] = self.model
        return body

    def _stream(
        self, body: dict, cancel: CancelToken | None, on_token: Callable[[str], None] | None
    ) -> _Stream:
        """POST a streamed completion and read its SSE events; a set ``cancel`` stops it at once."""
        if self.closed:
            raise ModelError("The endpoint model has been closed", "Resolve the endpoint again.")
        conn = self._connection()
        path = urlsplit(self.base_url).path + "/chat/completions"
        done = threading.Event()
        out = _Stream([], "stop", None, None)
        try:
            try:
                conn.connect()
            except OSError as exc:
                raise self._unreachable(exc) from exc
            if cancel is not None:
                threading.Thread(target=_shut_on_cancel, args=(cancel, conn.sock, done), daemon=True).start()
            try:
                conn.request("POST", path, json.dumps(body).encode("utf-8"), self._headers())
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                if cancel is not None and cancel.is_set():
                    out.finish = "cancelled"
                    return out
                raise self._unreachable(exc) from exc
            if resp.status >= 400:
                detail = resp.read(4000).decode("utf-8", "replace")
                raise _HttpError(resp.status, _error_message(detail))
            try:
                for event in _sse_events(resp):
                    if cancel is not None and cancel.is_set():
                        out.finish = "cancelled"
                        break
                    if event == "[DONE]":
                        break
                    try:
                        chunk = json.loads(event)
                    except ValueError:
                        continue
                    if isinstance(chunk, dict) and chunk.get("error"):
                        raise ModelError(
                            f"The model server failed: {_error_message(json.dumps(chunk))}",
                            "Check the server's log.",
                        )
                    choice = (chunk.get("choices") or [{}])[0] if isinstance(chunk, dict) else {}
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        out.last_at = time.perf_counter()
                        out.first_at = out.first_at or out.last_at
                        out.parts.append(piece)
                        if on_token is not None:
                            on_token(piece)
                        if cancel is not None and cancel.is_set():
                            out.finish = "cancelled"
                            break
                    if choice.get("finish_reason"):
                        out.finish = "length" if choice["finish_reason"] == "length" else "stop"
            except (OSError, http.client.HTTPException) as exc:
                if cancel is not None and cancel.is_set():
                    out.finish = "cancelled"
                    return out
                raise ModelError(
                    f"The connection to {self.base_url} broke while replying ({exc}).", "Try again."
                ) from exc
            return out
        finally:
            done.set()
            conn.close()

    def _reply(self, out: _Stream, started: float, max_tokens: int) -> Reply:
        n = len(out.parts)
        rate = None
        if n >= 2 and out.first_at and out.last_at and out.last_at > out.first_at:
            rate = (n - 1) / (out.last_at - out.first_at)
        return Reply(
            text="".join(out.parts),
            finish_reason=out.finish,
            n_tokens=n,
            ttft_ms=(out.first_at - started) * 1000 if out.first_at else None,
            tokens_per_s=rate,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            n_prompt_messages_dropped=0,
            model=self.display_name,
            max_tokens_used=max_tokens,
        )

    # -- the LocalModel surface -----------------------------------------------------------------
    def chat(
        self,
        messages: list[dict],
        *,
        settings: GenerationSettings | None = None,
        cancel: CancelToken | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Reply:
        """Stream a reply, calling ``on_token`` per piece; ``cancel`` stops it within one piece."""
        settings = settings or GenerationSettings()
        started = time.perf_counter()
        if cancel is not None and cancel.is_set():
            return self._reply(_Stream([], "cancelled", None, None), started, settings.max_tokens)
        try:
            out = self._stream(self._body(messages, settings, {}), cancel, on_token)
        except _HttpError as exc:
            raise ModelError(
                f"The model server refused the request: {exc}", "Check the server's log."
            ) from exc
        return self._reply(out, started, settings.max_tokens)

    def complete_json(
        self,
        messages: list[dict],
        schema: dict,
        *,
        settings: GenerationSettings | None = None,
        cancel: CancelToken | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> dict:
        """A JSON object matching ``schema``: asked for with ``response_format`` and checked here.

        Tries ``json_schema`` first (llama-server, Ollama ≥ 0.5, vLLM), falls back to ``json_object``
        with the schema in the prompt for servers that refuse it. Returns ``{}`` when cancelled;
        ModelError when the reply does not parse or does not fit the schema.
        """
        settings = settings or GenerationSettings(temperature=0.0, max_tokens=512)
        if cancel is not None and cancel.is_set():
            return {}
        formats = {
            "json_schema": {
                "type": "json_schema",
                "json_schema": {"name": "reply", "schema": schema, "strict": True},
            },
            "json_object": {"type": "json_object", "schema": schema},
        }
        order = [self._json_mode] if self._json_mode else ["json_schema", "json_object"]
        out: _Stream | None = None
        for mode in order:
            msgs = messages
            if mode == "json_object":
                hint = {
                    "role": "system",
                    "content": "Reply with one JSON object matching this schema:\n" + json.dumps(schema),
                }
                msgs = [*messages, hint]
            try:
                out = self._stream(
                    self._body(msgs, settings, {"response_format": formats[mode]}), cancel, on_token
                )
            except _HttpError as exc:
                if mode == "json_schema" and exc.status in (400, 404, 415, 422, 500, 501):
                    continue  # the server does not know json_schema: try json_object
                raise ModelError(
                    f"The model server refused the request: {exc}", "Check the server's log."
                ) from exc
            self._json_mode = mode
            break
        if out is None or out.finish == "cancelled":
            return {}
        text = "".join(out.parts).strip()
        if text.startswith("```"):
            text = text.strip("`").removeprefix("json").strip()
        if out.finish == "length":
            text = close_truncated_json(text)
        try:
            value = json.loads(text, strict=False)  # the grammar allows control characters in strings
        except ValueError as exc:
            why = "it ran out of tokens" if out.finish == "length" else str(exc)
            raise ModelError(
                f"The model's answer was not valid JSON ({why})",
                "Try again, raise max_tokens, or use a server that supports response_format json_schema.",
            ) from exc
        if not isinstance(value, dict):
            raise ModelError(
                f"The model answered with JSON {type(value).__name__}, not an object",
                "Ask for an object at the top level of the schema.",
            )
        problems = schema_problems(schema, value)
        if problems:
            raise ModelError(
                "The model's JSON does not fit the requested structure: " + "; ".join(problems[:5]),
                "Use a server that enforces response_format json_schema (llama-server does), or try again.",
            )
        return value


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def _error_message(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:300]
    err = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(err, dict):
        return str(err.get("message") or err)[:300]
    return str(err)[:300]


def _sse_events(resp) -> Iterator[str]:
    """The data of each server-sent event (several ``data:`` lines join with newlines)."""
    data: list[str] = []
    while True:
        raw = resp.readline()
        if not raw:
            break
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue  # a comment / keep-alive
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)


def _shut_on_cancel(cancel: CancelToken, sock, done: threading.Event) -> None:
    """Shut the socket down when ``cancel`` is set, which wakes a read blocked on the server."""
    while not done.wait(0.05):
        if cancel.is_set():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
