"""The jobs the model owner runs for the server: one chat completion (grounded or not), on the Engine's model."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.chat.tool_calls import tool_prompt, tool_schema, with_system
from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.models import GenerationSettings, count_tokens
from purpose_desktop.engine.serve.protocol import ApiError, ChatCall, StopScanner

if TYPE_CHECKING:
    from purpose_desktop.engine.core import Engine

#: Per-message template cost added to the prompt token count in ``usage`` (an estimate, as OpenAI's is).
MESSAGE_OVERHEAD_TOKENS = 4
@dataclass
class ChatOutcome:
    """What one completion produced, for the HTTP layer to shape."""

    text: str
    finish_reason: str  # stop | length | tool_calls | cancelled
    prompt_tokens: int
    completion_tokens: int
    tool_calls: list[dict] = field(default_factory=list)
    sources: dict[str, Any] | None = None  # the purpose_desktop field (None when grounding is off)
    model: str = ""


def _sources(context) -> dict[str, Any]:
    meta = context.to_meta()
    out = {"memories": meta["memories"], "passages": meta["vault"], "withheld": meta["withheld"]}
    if meta.get("errors"):
        out["errors"] = meta["errors"]
    return out


def _last_user_text(messages: list[dict[str, str]]) -> str:
    return next((m["content"] for m in reversed(messages) if m["role"] == "user"), messages[-1]["content"])


def _tool_schema(tools: list[dict], choice: Any) -> dict:
    named = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    if named and not any(t["name"] == named for t in tools):
        raise ApiError(
            400,
            f"tool_choice names {named!r}, which is not in 'tools'.",
            "invalid_request_error",
            "invalid_value",
            "tool_choice",
        )
    return tool_schema(tools, choice)


def run_chat(
    engine: Engine,
    call: ChatCall,
    *,
    grounding: bool,
    cancel: CancelToken,
    emit: Callable[[str], None] | None = None,
    model_id: str = "",
    on_sources: Callable[[dict[str, Any] | None], None] | None = None,
) -> ChatOutcome:
    """Answer ``call`` with ``engine.model`` on the calling (owner) thread; ``emit`` gets visible text.

    With ``grounding``, the context the app's chat would use (approved lessons, Vault excerpts, flagged
    chunks withheld) is added to the system message, and the outcome's ``sources`` say what was used.
    """
    model = engine.model
    if model is None:
        raise ModelError(
            "No model is loaded.", "Load a model in the app (Models), or start serve with --model."
        )
    messages = call.messages
    sources = None
    if grounding:
        context = engine.chat_context(_last_user_text(messages))
        sources = _sources(context)
        messages = with_system(messages, context.system_prompt(""))
    if on_sources is not None:
        on_sources(sources)
    base = engine.settings
    settings = GenerationSettings(
        max_tokens=call.max_tokens or base.max_tokens,
        temperature=base.temperature if call.temperature is None else call.temperature,
        top_p=0.95 if call.top_p is None else call.top_p,
        seed=call.seed,
    )
    use_tools = bool(call.tools) and call.tool_choice != "none"
    if use_tools:
        messages = with_system(messages, tool_prompt(call.tools, call.tool_choice))
    prompt_tokens = sum(count_tokens(model, m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)
    outcome = ChatOutcome("", "stop", prompt_tokens, 0, sources=sources, model=model_id)

    if use_tools or call.schema is not None:
        schema = _tool_schema(call.tools, call.tool_choice) if use_tools else call.schema
        pieces: list[str] = []

        def collect(piece: str) -> None:
            pieces.append(piece)
            if emit is not None and not use_tools:
                emit(piece)  # JSON answers stream as they are written; tool calls come whole at the end

        value = model.complete_json(messages, schema, settings=settings, cancel=cancel, on_token=collect)
        outcome.completion_tokens = len(pieces)
        if cancel.is_set():
            outcome.finish_reason, outcome.text = "cancelled", "".join(pieces)
            return outcome
        if use_tools and isinstance(value.get("tool_calls"), list) and value["tool_calls"]:
            outcome.tool_calls = [
                {
                    "id": "call_" + uuid.uuid4().hex[:24],
                    "type": "function",
                    "function": {"name": c.get("name"), "arguments": json.dumps(c.get("arguments") or {})},
                }
                for c in value["tool_calls"]
                if isinstance(c, dict)
            ]
            outcome.finish_reason = "tool_calls"
            return outcome
        if use_tools:
            outcome.text = str(value.get("content") or "")
            if emit is not None and outcome.text:
                emit(outcome.text)
            return outcome
        outcome.text = "".join(pieces)
        try:
            json.loads(outcome.text, strict=False)
        except ValueError:
            outcome.text = json.dumps(value)  # cut by max_tokens: the engine closed what was left open
            outcome.finish_reason = "length"
        return outcome

    scanner = StopScanner(call.stop)
    stop_hit = CancelToken()

    def on_token(piece: str) -> None:
        shown = scanner.feed(piece)
        if shown and emit is not None:
            emit(shown)
        if scanner.hit:
            stop_hit.set()

    class _Either:  # stops the model for the client's cancel or for a stop string, within one token
        def is_set(self) -> bool:
            return cancel.is_set() or stop_hit.is_set()

    reply = model.chat(messages, settings=settings, cancel=_Either(), on_token=on_token)
    tail = scanner.flush()
    if tail and emit is not None:
        emit(tail)
    outcome.text = scanner.text
    outcome.completion_tokens = reply.n_tokens
    if cancel.is_set():
        outcome.finish_reason = "cancelled"
    elif stop_hit.is_set():
        outcome.finish_reason = "stop"
    else:
        outcome.finish_reason = "length" if reply.finish_reason == "length" else "stop"
    return outcome
