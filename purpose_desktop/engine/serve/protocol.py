"""The OpenAI wire format: parse and check a chat/embeddings request, shape errors and responses."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

#: Largest request body accepted (bigger ones get 413): a long chat plus a pasted file fits easily.
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_STOP_STRINGS = 4
MAX_EMBED_INPUTS = 256


class ApiError(Exception):
    """An error answered in OpenAI's shape: ``{"error": {"message", "type", "code", "param"}}``."""

    def __init__(self, status: int, message: str, kind: str, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.code, self.param = status, message, kind, code, param

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "code": self.code, "param": self.param}}


def bad_request(message: str, param: str | None = None, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, "invalid_request_error", code, param)


def parse_json(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 saying what is wrong with it."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise bad_request(f"The request body is not UTF-8 text ({exc.reason}).", code="invalid_json") from exc
    except ValueError as exc:
        raise bad_request(
            f"The request body is not valid JSON ({exc}). Send a JSON object such as "
            '{"model": "...", "messages": [{"role": "user", "content": "Hi"}]}.',
            code="invalid_json",
        ) from exc
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.", code="invalid_json")
    return data


@dataclass
class ChatCall:
    """A checked /v1/chat/completions request."""

    model: str
    messages: list[dict[str, str]]
    stream: bool = False
    include_usage: bool = False
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    schema: dict | None = None  # response_format json_schema / json_object
    tools: list[dict] = field(default_factory=list)
    tool_choice: Any = "auto"
    user: str | None = None


def _number(data: dict, name: str, lo: float, hi: float) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise bad_request(f"'{name}' must be a number from {lo:g} to {hi:g}.", name)
    return float(value)


def _int(data: dict, name: str, lo: int, hi: int) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise bad_request(f"'{name}' must be a whole number from {lo} to {hi}.", name)
    return value


def _content_text(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            else:
                kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                raise bad_request(f"{where}: only text content is supported here, not {kind!r}.", "messages")
        return "\n".join(texts)
    raise bad_request(f"{where}.content must be a string or a list of text parts.", "messages")


def _message(m: Any, i: int) -> dict[str, str]:
    """One message as the model sees it; tool calls and tool results become plain text."""
    where = f"messages[{i}]"
    if not isinstance(m, dict):
        raise bad_request(f"{where} must be an object with 'role' and 'content'.", "messages")
    role = m.get("role")
    if role not in ("system", "developer", "user", "assistant", "tool", "function"):
        raise bad_request(f"{where}.role must be system, user, assistant or tool (got {role!r}).", "messages")
    text = _content_text(m.get("content"), where)
    if role == "developer":
        role = "system"
    if role in ("tool", "function"):
        ref = m.get("tool_call_id") or m.get("name") or "a tool"
        return {"role": "user", "content": f"Result of tool call {ref}:\n{text}"}
    if role == "assistant" and m.get("tool_calls"):
        calls = [
            {
                "name": (c.get("function") or {}).get("name"),
                "arguments": (c.get("function") or {}).get("arguments"),
            }
            for c in m["tool_calls"]
            if isinstance(c, dict)
        ]
        text = (text + "\n" if text else "") + json.dumps({"tool_calls": calls})
    return {"role": role, "content": text}


def parse_chat(data: dict[str, Any]) -> ChatCall:
    """Check a chat request; a 400 names the field that is wrong and what it must be."""
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise bad_request("'model' is required: one of the ids GET /v1/models lists.", "model", "missing")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' must be a non-empty list of {role, content} objects.", "messages")
    msgs = [_message(m, i) for i, m in enumerate(messages)]
    stop = data.get("stop")
    if stop is None:
        stops: list[str] = []
    elif isinstance(stop, str):
        stops = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop) and len(stop) <= MAX_STOP_STRINGS:
        stops = list(stop)
    else:
        raise bad_request(f"'stop' must be a string or a list of at most {MAX_STOP_STRINGS} strings.", "stop")
    stops = [s for s in stops if s]
    n = data.get("n")
    if n not in (None, 1):
        raise bad_request("Only n = 1 is supported (one model, one answer per request).", "n")
    call = ChatCall(
        model=model.strip(),
        messages=msgs,
        stream=bool(data.get("stream")),
        temperature=_number(data, "temperature", 0.0, 2.0),
        top_p=_number(data, "top_p", 0.0, 1.0),
        max_tokens=_int(data, "max_completion_tokens", 1, 32768) or _int(data, "max_tokens", 1, 32768),
        stop=stops,
        seed=_int(data, "seed", -(2**63), 2**63 - 1),
        user=data.get("user") if isinstance(data.get("user"), str) else None,
    )
    opts = data.get("stream_options")
    call.include_usage = bool(isinstance(opts, dict) and opts.get("include_usage"))
    call.schema = _response_schema(data.get("response_format"))
    tools = data.get("tools")
    if tools is not None:
        call.tools = _tools(tools)
        call.tool_choice = data.get("tool_choice", "auto")
        if call.schema is not None and call.tools and call.tool_choice != "none":
            raise bad_request("Use either 'tools' or 'response_format', not both.", "response_format")
    return call


def _response_schema(fmt: Any) -> dict | None:
    if fmt is None:
        return None
    if not isinstance(fmt, dict):
        raise bad_request("'response_format' must be an object.", "response_format")
    kind = fmt.get("type")
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        schema = fmt.get("schema")  # llama-cpp-python's own form carries a schema here
        return schema if isinstance(schema, dict) else {"type": "object"}
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise bad_request(
                "response_format json_schema needs {'json_schema': {'name': ..., 'schema': {...}}}.",
                "response_format",
            )
        if schema.get("type") not in (None, "object") and "properties" not in schema:
            raise bad_request("The JSON schema's top level must be an object.", "response_format")
        return schema
    raise bad_request(
        f"response_format type {kind!r} is not supported: use text, json_object or json_schema.",
        "response_format",
    )


def _tools(tools: Any) -> list[dict]:
    if not isinstance(tools, list):
        raise bad_request("'tools' must be a list of {type: function, function: {...}} objects.", "tools")
    out = []
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise bad_request(
                f"tools[{i}] must be {{type: 'function', function: {{name, parameters}}}}.", "tools"
            )
        params = fn.get("parameters")
        out.append(
            {
                "name": fn["name"],
                "description": str(fn.get("description") or ""),
                "parameters": params if isinstance(params, dict) else {"type": "object", "properties": {}},
            }
        )
    return out


def parse_embeddings(data: dict[str, Any]) -> tuple[str, list[str], str]:
    model = data.get("model")
    if not isinstance(model, str) or not model.strip():
        raise bad_request("'model' is required (see GET /v1/models).", "model", "missing")
    texts = data.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if (
        not isinstance(texts, list)
        or not texts
        or len(texts) > MAX_EMBED_INPUTS
        or not all(isinstance(t, str) for t in texts)
    ):
        raise bad_request(
            f"'input' must be a string or a list of 1 to {MAX_EMBED_INPUTS} strings (token arrays are not supported).",
            "input",
        )
    fmt = data.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise bad_request("encoding_format must be 'float' or 'base64'.", "encoding_format")
    return model.strip(), texts, fmt


# -- responses ---------------------------------------------------------------------------------------
def completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex


def chunk(cid: str, model: str, delta: dict, finish: str | None = None, **extra: Any) -> dict:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode("utf-8") + b"\n\n"


SSE_DONE = b"data: [DONE]\n\n"


class StopScanner:
    """Cuts streamed text at the first stop string; holds back a tail that may be the start of one."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = stops
        self.text = ""
        self.sent = 0
        self.hit = False

    def feed(self, piece: str) -> str:
        """Add ``piece``; returns what may be shown now (empty once a stop string was seen)."""
        if self.hit:
            return ""
        self.text += piece
        if not self.stops:
            out, self.sent = self.text[self.sent :], len(self.text)
            return out
        cut = min(
            (i for i in (self.text.find(s, max(0, self.sent - len(s))) for s in self.stops) if i >= 0),
            default=-1,
        )
        if cut >= 0:
            self.hit = True
            self.text = self.text[:cut]
            out, self.sent = self.text[self.sent :], cut
            return out
        hold = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(self.text)), 0, -1):
                if self.text.endswith(s[:k]):
                    hold = max(hold, k)
                    break
        safe = len(self.text) - hold
        out = self.text[self.sent : safe] if safe > self.sent else ""
        self.sent = max(self.sent, safe)
        return out

    def flush(self) -> str:
        """The held-back tail once the reply ended without a stop string."""
        out = "" if self.hit else self.text[self.sent :]
        self.sent = len(self.text)
        return out
