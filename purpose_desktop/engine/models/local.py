"""LocalModel: one llama.cpp model owned by one thread — streaming chat, cancel, context fitting, JSON."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.models.gguf import GGUFInfo, read_gguf_info
from purpose_desktop.engine.models.thinking import (
    ThinkingCounter,
    template_supports_thinking_switch,
    template_thinks,
    with_thinking_switch,
)

if TYPE_CHECKING:
    from llama_cpp import Llama

DEFAULT_MAX_CTX = 4096
DEFAULT_N_BATCH = 256  # prompt evaluation cannot be interrupted: keep each batch short
FALLBACK_CHAT_FORMAT = "chatml"
# Rough template cost: role markers per message, plus a default system prompt some templates insert.
PER_MESSAGE_OVERHEAD = 8
BASE_OVERHEAD = 48
MIN_REPLY_TOKENS = 16
TRUNCATION_MARKER = "\n[… {n} tokens cut to fit the model's context …]\n"

_HASH_STEM = re.compile(r"^(sha256[-:])?[0-9a-f]{32,}$")


@dataclass(frozen=True)
class GenerationSettings:
    """Sampling settings for one reply; ``seed`` fixed makes a reply repeatable.

    ``max_tokens`` is the answer's budget: a reasoning model's ``<think>`` block is not counted against
    it but gets ``thinking_tokens`` more. ``thinking`` False turns thinking off where the model's chat
    template has a switch (Qwen3); None leaves the model's default.
    """

    max_tokens: int = 512
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    repeat_penalty: float = 1.1
    seed: int | None = None
    thinking: bool | None = None
    thinking_tokens: int = 1024


@dataclass(frozen=True)
class Reply:
    """The outcome of one chat call: the text, why it ended, and how fast it came."""

    text: str
    finish_reason: str  # "stop" | "length" | "cancelled"
    n_tokens: int
    ttft_ms: float | None
    tokens_per_s: float | None
    elapsed_ms: float
    n_prompt_messages_dropped: int
    model: str
    max_tokens_used: int | None = None  # the budget after fitting the context (may be below the setting)
    n_thinking_tokens: int = 0  # tokens inside <think> blocks; ``n_tokens`` counts only the answer's

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class ChatModel(Protocol):
    """What the engine needs from a model; LocalModel is the real one, tests use scripted ones."""

    display_name: str
    n_ctx: int

    def chat(
        self,
        messages: list[dict],
        *,
        settings: GenerationSettings | None = None,
        cancel: CancelToken | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Reply: ...

    def complete_json(
        self,
        messages: list[dict],
        schema: dict,
        *,
        settings: GenerationSettings | None = None,
        cancel: CancelToken | None = None,
    ) -> dict: ...

    def close(self) -> None: ...


def count_tokens(model, text: str) -> int:
    """Tokens ``text`` takes for ``model``: its own ``count_tokens`` when it has one, else ~4 characters a token."""
    counter = getattr(model, "count_tokens", None)
    if counter is not None:
        try:
            return int(counter(text))
        except Exception:  # a model that cannot count (closed, scripted) still gets an estimate
            pass
    return max(1, len(text) // 4)


def default_n_ctx(info: GGUFInfo, limit: int = DEFAULT_MAX_CTX) -> int:
    """The context we open by default: the trained context, capped to keep memory and start-up small."""
    return min(info.context_length or limit, limit)


def display_name_for(info: GGUFInfo) -> str:
    """The file's stem (what people downloaded), unless it is a content hash (Ollama blobs)."""
    stem = info.path.stem
    if _HASH_STEM.match(stem):
        return info.name or stem
    return stem


def _load_error_hint(exc: BaseException) -> str:
    text = str(exc).lower()
    if isinstance(exc, MemoryError) or "memory" in text or "alloc" in text:
        return "There is not enough memory for this model: close other programs or pick a smaller model."
    return (
        "llama.cpp could not load this file. It may need a newer llama.cpp, or the file is damaged: "
        "download it again or pick another model."
    )


class LocalModel:
    """A GGUF model loaded with llama-cpp-python; not thread-safe — one owner thread calls everything."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        n_gpu_layers: int | None = None,
        on_progress: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        progress = on_progress or (lambda _msg: None)
        progress(f"Checking {self.path.name}…")
        # Validate first: llama.cpp's own errors on bad files are terse (or worse).
        self.info: GGUFInfo = read_gguf_info(self.path)
        self.display_name: str = display_name_for(self.info)
        self.n_ctx: int = int(n_ctx) if n_ctx and n_ctx > 0 else default_n_ctx(self.info)
        self.n_threads: int = n_threads or os.cpu_count() or 4
        # Without a template llama-cpp-python silently uses "llama-2"; ChatML is what most small models know.
        self.template_fallback: bool = not self.info.has_chat_template
        self.chat_format: str | None = FALLBACK_CHAT_FORMAT if self.template_fallback else None
        #: A reasoning model (its template knows <think>), and whether thinking can be switched off.
        self.thinks: bool = template_thinks(self.info.chat_template)
        self.thinking_switch: bool = template_supports_thinking_switch(self.info.chat_template)

        progress(f"Loading {self.display_name}…")
        try:
            import llama_cpp
        except Exception as exc:  # ImportError, or OSError from a missing shared library
            raise ModelError(
                "The llama.cpp runtime (llama-cpp-python) is not available",
                f"Reinstall Purpose Desktop ({type(exc).__name__}: {exc}).",
            ) from exc
        supports_gpu = bool(llama_cpp.llama_supports_gpu_offload())
        if n_gpu_layers is None:
            n_gpu_layers = -1 if supports_gpu else 0
        self.n_gpu_layers: int = n_gpu_layers
        self.gpu_offload: bool = supports_gpu and n_gpu_layers != 0
        started = time.perf_counter()
        try:
            self._llm: Llama | None = llama_cpp.Llama(
                model_path=str(self.path),
                n_ctx=self.n_ctx,
                n_batch=min(DEFAULT_N_BATCH, self.n_ctx),
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                n_gpu_layers=n_gpu_layers,
                chat_format=self.chat_format,
                verbose=False,
            )
        except Exception as exc:
            raise ModelError(f"Could not load {self.path.name}: {exc}", _load_error_hint(exc)) from exc
        self.load_s: float = time.perf_counter() - started
        self._count_cache: dict[str, int] = {}
        self._last_fit: tuple[int, int | None] = (0, None)  # (messages dropped, max_tokens) of the last call
        progress(f"{self.display_name} ready")

    # --- lifecycle -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Free the model now (not at interpreter exit); safe to call twice."""
        llm, self._llm = getattr(self, "_llm", None), None
        if llm is not None:
            llm.close()

    @property
    def closed(self) -> bool:
        return self._llm is None

    def __enter__(self) -> LocalModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalModel({self.display_name!r}, n_ctx={self.n_ctx}, closed={self.closed})"

    @property
    def template_note(self) -> str | None:
        """Says so when the file had no chat template and ChatML is used instead."""
        if self.template_fallback:
            return f"{self.path.name} has no chat template; using the ChatML format instead."
        return None

    def _require(self) -> Llama:
        if self._llm is None:
            raise ModelError("The model has been closed", "Load the model again.")
        return self._llm

    # --- tokens and context --------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's vocabulary (special tokens counted as such)."""
        cached = self._count_cache.get(text)
        if cached is None:
            cached = len(self._require().tokenize(text.encode("utf-8"), add_bos=False, special=True))
            if len(self._count_cache) > 4096:
                self._count_cache.clear()
            self._count_cache[text] = cached
        return cached

    def _message_cost(self, message: dict) -> int:
        return self.count_tokens(message["content"]) + PER_MESSAGE_OVERHEAD

    def _truncate(self, text: str, budget: int) -> str:
        """Cut the middle out of ``text`` so it fits ``budget`` tokens; the start and (mostly) the end stay."""
        llm = self._require()
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        marker_cost = self.count_tokens(TRUNCATION_MARKER.format(n=len(tokens))) + 2
        keep = max(budget - marker_cost, 0)
        if len(tokens) <= budget:
            return text
        head_n = keep // 4  # the end of a long message usually holds the question
        tail_n = keep - head_n
        head = llm.detokenize(tokens[:head_n]).decode("utf-8", errors="ignore") if head_n else ""
        tail = (
            llm.detokenize(tokens[len(tokens) - tail_n :]).decode("utf-8", errors="ignore") if tail_n else ""
        )
        return head + TRUNCATION_MARKER.format(n=len(tokens) - keep) + tail

    def fit_messages(
        self, messages: list[dict], max_tokens: int, margin: int = 0
    ) -> tuple[list[dict], int, int]:
        """Messages that fit the context with room for the reply: (messages, n dropped, max_tokens).

        Keeps every system message and the latest message; drops the oldest turns first; shrinks the
        reply budget if it must; cuts the middle out of a message that alone is longer than the context.
        """
        msgs = [
            {
                "role": str(m.get("role") or "user"),
                "content": "" if m.get("content") is None else str(m["content"]),
            }
            for m in messages
        ]
        if not msgs:
            raise ModelError("Nothing to reply to: the conversation is empty", "Type a message first.")
        n_ctx = self.n_ctx
        if max_tokens <= 0:
            max_tokens = n_ctx  # "as long as fits"
        base = BASE_OVERHEAD + margin
        last = len(msgs) - 1
        system_idx = [i for i, m in enumerate(msgs) if m["role"] == "system" and i != last]
        middle = [i for i in range(last) if i not in system_idx]
        fixed = base + self._message_cost(msgs[last]) + sum(self._message_cost(msgs[i]) for i in system_idx)
        optional = [self._message_cost(msgs[i]) for i in middle]
        reply_floor = min(max_tokens, max(MIN_REPLY_TOKENS, n_ctx // 8))
        # History may use at most half the context before the reply budget shrinks instead of it.
        reserve = min(max_tokens, max(reply_floor, n_ctx // 2))

        # Drop whole turns, oldest first, until the history plus the reply reserve fits.
        drop = 0
        total = fixed + sum(optional)
        while drop < len(middle) and total + reserve > n_ctx:
            total -= optional[drop]
            drop += 1
        # A template may insist that history starts with a user turn (Gemma's raises otherwise).
        while drop < len(middle) and msgs[middle[drop]]["role"] == "assistant":
            total -= optional[drop]
            drop += 1
        keep = set(system_idx) | set(middle[drop:]) | {last}

        if fixed + reply_floor > n_ctx:
            # System + latest message alone overflow: system gets at most a third, the latest the rest.
            room = n_ctx - base - reply_floor - PER_MESSAGE_OVERHEAD * (len(system_idx) + 1)
            room = max(room, 8)
            sys_budget = room // 3 if system_idx else 0
            for i in system_idx:
                share = max(sys_budget // len(system_idx), 4)
                if self.count_tokens(msgs[i]["content"]) > share:
                    msgs[i]["content"] = self._truncate(msgs[i]["content"], share)
            used = sum(self.count_tokens(msgs[i]["content"]) for i in system_idx)
            msgs[last]["content"] = self._truncate(msgs[last]["content"], max(room - used, 4))
            total = base + sum(self._message_cost(msgs[i]) for i in keep)
        out = [msgs[i] for i in sorted(keep)]
        budget = max(1, min(max_tokens, n_ctx - total))
        return out, drop, budget

    # --- generation ----------------------------------------------------------------------------------

    def _stream(
        self, messages: list[dict], settings: GenerationSettings, extra: dict[str, Any]
    ) -> Iterator[dict]:
        """Start a streamed chat completion; a prompt llama.cpp still finds too long is refit once, harder."""
        llm = self._require()
        margin = 0
        for attempt in range(2):
            fitted, dropped, max_tokens = self.fit_messages(messages, self._call_budget(settings), margin)
            self._last_fit = (dropped, max_tokens)
            stream = llm.create_chat_completion(
                messages=fitted,
                max_tokens=max_tokens,
                temperature=settings.temperature,
                top_p=settings.top_p,
                top_k=settings.top_k,
                repeat_penalty=settings.repeat_penalty,
                seed=settings.seed,
                stream=True,
                **extra,
            )
            iterator = iter(stream)
            try:
                try:
                    first = next(iterator)
                except StopIteration:
                    return
                except ValueError as exc:
                    if attempt == 0 and "context window" in str(exc):
                        margin = self.n_ctx // 4
                        continue
                    raise ModelError(
                        f"The model could not start a reply: {exc}", "Start a new chat."
                    ) from exc
                except Exception as exc:
                    raise ModelError(f"The model failed: {exc}", "Try again, or reload the model.") from exc
                yield first
                yield from iterator
                return
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()  # leaving the loop early stops llama.cpp at once

    def _call_budget(self, settings: GenerationSettings) -> int:
        """Tokens llama.cpp may generate: the answer's budget, plus the thinking allowance of a reasoning model."""
        if settings.max_tokens <= 0:
            return settings.max_tokens
        thinking = self.thinks and settings.thinking is not False
        return settings.max_tokens + (max(0, settings.thinking_tokens) if thinking else 0)

    def chat(
        self,
        messages: list[dict],
        *,
        settings: GenerationSettings | None = None,
        cancel: CancelToken | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Reply:
        """Stream a reply, calling ``on_token`` per piece; ``cancel`` stops it within one token."""
        return self._generate(messages, settings or GenerationSettings(), cancel, on_token, {})

    def _generate(
        self,
        messages: list[dict],
        settings: GenerationSettings,
        cancel: CancelToken | None,
        on_token: Callable[[str], None] | None,
        extra: dict[str, Any],
    ) -> Reply:
        started = time.perf_counter()
        self._require()
        self._last_fit = (0, settings.max_tokens)
        if cancel is not None and cancel.is_set():
            return self._reply("", "cancelled", 0, started, None, None)

        parts: list[str] = []
        finish: str | None = None
        first_at = last_at = None
        counter = ThinkingCounter(enabled=self.thinks)
        if self.thinking_switch and settings.thinking is False:
            messages = with_thinking_switch(messages, False)
        stream = self._stream(messages, settings, extra)
        try:
            while True:
                if cancel is not None and cancel.is_set():
                    finish = "cancelled"
                    break
                try:
                    chunk = next(stream)
                except StopIteration:
                    break
                except ModelError:
                    raise
                except Exception as exc:
                    raise ModelError(
                        f"The model failed while replying: {exc}", "Try again, or reload the model."
                    ) from exc
                choice = chunk["choices"][0]
                content = (choice.get("delta") or {}).get("content")
                if content:
                    last_at = time.perf_counter()
                    if first_at is None:
                        first_at = last_at
                    parts.append(content)
                    counter.feed(content)
                    if on_token is not None:
                        on_token(content)
                    if cancel is not None and cancel.is_set():
                        finish = "cancelled"  # stop now rather than compute one more token
                        break
                    if 0 < settings.max_tokens <= counter.answer_tokens:
                        finish = "length"  # the answer's budget is spent (thinking is not counted)
                        break
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        finally:
            stream.close()  # stops llama.cpp at once; the Llama stays usable

        n = len(parts)
        rate = None
        if n >= 2 and first_at is not None and last_at is not None and last_at > first_at:
            rate = (n - 1) / (last_at - first_at)
        elif n == 1 and first_at is not None:
            rate = 1 / max(first_at - started, 1e-6)
        ttft = (first_at - started) * 1000 if first_at is not None else None
        return self._reply(
            "".join(parts), finish or "stop", counter.answer_tokens, started, ttft, rate, counter.thinking_tokens
        )

    def _reply(
        self,
        text: str,
        finish: str,
        n: int,
        started: float,
        ttft: float | None,
        rate: float | None,
        n_thinking: int = 0,
    ) -> Reply:
        dropped, budget = self._last_fit
        if finish not in ("stop", "length", "cancelled"):
            finish = "stop"
        return Reply(
            text=text,
            finish_reason=finish,
            n_tokens=n,
            ttft_ms=ttft,
            tokens_per_s=rate,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            n_prompt_messages_dropped=dropped,
            model=self.display_name,
            max_tokens_used=budget,
            n_thinking_tokens=n_thinking,
        )

    def complete_grammar(
        self,
        messages: list[dict],
        grammar: str,
        *,
        settings: GenerationSettings | None = None,
        cancel: CancelToken | None = None,
    ) -> Reply:
        """A reply whose text matches the GBNF ``grammar`` (llama.cpp's), streamed like ``chat``.

        For shapes JSON makes hard for a small model, such as lines of Python (agents/checkwriter.py);
        a reasoning model gets no <think> block, since the grammar would not allow one.
        """
        from llama_cpp import LlamaGrammar

        try:
            compiled = LlamaGrammar.from_string(grammar, verbose=False)
        except Exception as exc:  # llama.cpp's parser raises ValueError on a bad grammar
            raise ModelError(f"The grammar could not be parsed: {exc}", "This is a bug; please report it.") from exc
        settings = replace(settings or GenerationSettings(temperature=0.0, max_tokens=256), thinking=False)
        return self._generate(messages, settings, cancel, None, {"grammar": compiled})

    def complete_json(
        self,
        messages: list[dict],
        schema: dict,
        *,
        settings: GenerationSettings | None = None,
        cancel: CancelToken | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> dict:
        """A JSON object matching ``schema`` (top level must be an object), decoded under a grammar.

        ``on_token`` sees the raw JSON text as it streams. Output cut off by ``max_tokens`` is
        closed (open string, arrays and objects) rather than thrown away, since the grammar kept
        everything before the cut valid. Returns ``{}`` when cancelled (callers check their
        token); ModelError if the output still does not parse.
        """
        settings = settings or GenerationSettings(temperature=0.0, max_tokens=512)
        # The grammar allows only JSON, so a reasoning model must not start a <think> block.
        settings = replace(settings, thinking=False)
        extra = {"response_format": {"type": "json_object", "schema": schema}}
        reply = self._generate(messages, settings, cancel, on_token, extra)
        if reply.finish_reason == "cancelled":
            return {}
        text = reply.text if reply.finish_reason != "length" else close_truncated_json(reply.text)
        try:
            value = json.loads(text, strict=False)  # the grammar allows control characters in strings
        except ValueError as exc:
            why = "it ran out of tokens" if reply.finish_reason == "length" else str(exc)
            raise ModelError(
                f"The model's answer was not valid JSON ({why})",
                "Try again, raise max_tokens, or simplify the requested structure.",
            ) from exc
        if not isinstance(value, dict):
            raise ModelError(
                f"The model answered with JSON {type(value).__name__}, not an object",
                "Ask for an object at the top level of the schema.",
            )
        return value


def close_truncated_json(text: str) -> str:
    """Close what a grammar-constrained but length-cut JSON text left open (string, arrays, objects)."""
    stack: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    out = text
    if in_string:
        out += ("\\" if escaped else "") + '"'
    stripped = out.rstrip()
    if stripped.endswith(","):
        out = stripped[:-1]
    elif stripped.endswith(":"):
        out = stripped + ' ""'
    elif stack and stack[-1] == "}" and stripped.endswith('"') and _dangling_key(stripped):
        out = stripped + ': ""'
    return out + "".join(reversed(stack))


def _dangling_key(text: str) -> bool:
    """True when the last complete string in an object is a key with no value yet."""
    i = len(text) - 2
    while i >= 0 and not (text[i] == '"' and (i == 0 or text[i - 1] != "\\")):
        i -= 1
    before = text[:i].rstrip()
    return before.endswith("{") or before.endswith(",")
