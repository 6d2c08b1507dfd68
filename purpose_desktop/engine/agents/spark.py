"""Spark: one agent's step loop — grammar-constrained JSON steps, tool calls, a bounded final answer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from purpose_desktop.engine.agents.checkwriter import supports_grammar, write_checks
from purpose_desktop.engine.agents.roles import RoleSpec, role_template
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.events import RunEvent, StepStarted, TokenReceived, ToolCalled
from purpose_desktop.engine.immune.fence import guard
from purpose_desktop.engine.models import GenerationSettings, count_tokens
from purpose_desktop.engine.models.backends import resolve_backend
from purpose_desktop.engine.models.thinking import strip_thinking
from purpose_desktop.engine.settings import (  # noqa: F401 - re-exported for Team
    DEFAULT_STEP_TOKENS,
    DEFAULT_TOKEN_BUDGET,
    STEP_TOKENS_RANGE,
    TOKEN_BUDGET_RANGE,
)

FINAL = "final_answer"


@dataclass
class ToolCall:
    tool: str
    args: dict
    ok: bool
    output: str
    elapsed_ms: float
    scan: dict | None = None  # the immune scan of the output; ``fenced`` when it reached the prompt quoted

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SparkResult:
    """One agent turn: its answer, its raw steps (JSON replies) and the tools it called."""

    role: str
    answer: str
    status: str  # "complete" | "incomplete" (step or token budget ran out) | "cancelled"
    prompt: str
    raw_steps: list[dict] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    tokens: int = 0
    elapsed_ms: float = 0.0

    @property
    def thoughts(self) -> list[str]:
        return [s.get("thought", "") for s in self.raw_steps]


def step_schema(tool_names: Sequence[str]) -> dict:
    """The grammar for a step's decision: a short thought and one action from a closed list."""
    return {
        "type": "object",
        "properties": {
            "thought": {"type": "string", "maxLength": 200},
            "action": {"type": "string", "enum": [*tool_names, FINAL]},
        },
        "required": ["thought", "action"],
    }


def tool_input(tool, text: str) -> str:
    """The tool input in a free-text reply: the first fenced block's body, else the text itself."""
    from purpose_desktop.engine.critic import CODE_BLOCK

    m = CODE_BLOCK.search(text or "")
    body = m.group(2) if m else text
    return body.strip() if getattr(tool, "name", "") != "python" else body.strip("\n") + "\n"


def _tool_by_name(tools) -> dict:
    return {t.name: t for t in tools}


def _primary_args(tool, text: str) -> dict:
    """Map a step's single ``input`` string onto the tool's arguments."""
    params = getattr(tool, "parameters", {}) or {}
    required = params.get("required") or list((params.get("properties") or {}).keys())
    if len(required) == 1:
        return {required[0]: text}
    try:
        data = json.loads(text, strict=False)
        if isinstance(data, dict):
            return data
    except (TypeError, ValueError):
        pass
    return {required[0] if required else "input": text}


def _tool_args(tool, text: str) -> dict:
    """A tool's arguments from a free-text reply; a tool with ``args_from_text`` reads the whole reply
    (e.g. a file's path on the first line, then its content in a fenced block), a JSON object first."""
    parse = getattr(tool, "args_from_text", None)
    if parse is not None:
        try:
            data = json.loads((text or "").strip(), strict=False)
            if isinstance(data, dict):
                return data
        except (TypeError, ValueError):
            pass
        parsed = parse(text)
        if parsed:
            return parsed
    return _primary_args(tool, tool_input(tool, text))


class Spark:
    """One agent with one role.

    ``model`` is "default", a GGUF path, a model id or a model object; ``tools`` are Tool objects.
    """

    def __init__(
        self,
        role: str | RoleSpec = "assistant",
        model=None,
        tools: Sequence | None = None,
        *,
        instructions: str | None = None,
        max_steps: int = 3,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        max_tokens_per_step: int = DEFAULT_STEP_TOKENS,
        temperature: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.role = role if isinstance(role, RoleSpec) else role_template(role)
        if instructions:
            self.role.instructions = instructions
        self.model_spec = model if model is not None else self.role.model
        self.tools = list(tools) if tools is not None else []
        self.max_steps = max_steps
        self.token_budget = token_budget
        self.max_tokens_per_step = max_tokens_per_step
        self.temperature = temperature
        self.seed = seed
        self._model = None

    @property
    def model(self):
        if self._model is None:
            self._model = resolve_backend(self.model_spec)
        return self._model

    def system_prompt(self, purpose: str | None = None, memories: Sequence[str] = (), plain: bool = False) -> str:
        """``plain``: the role's instructions alone, as one plain chat answer would be asked (no "You are …")."""
        parts = [self.role.instructions if plain else f"You are the {self.role.title}. {self.role.instructions}"]
        if purpose:
            parts.append(f"The team's purpose: {purpose}")
        if memories:
            parts.append("Lessons approved by the user:\n" + "\n".join(f"- {m}" for m in memories))
        if self.tools:
            listing = "\n".join(f"- {t.name}: {t.description}" for t in self.tools)
            parts.append(f"Tools you may use before answering:\n{listing}")
        return "\n\n".join(parts)

    def run(
        self,
        task: str,
        *,
        context: str = "",
        purpose: str | None = None,
        memories: Sequence[str] = (),
        rules: Sequence[str] = (),
        cancel: CancelToken | None = None,
        on_event: Callable[[RunEvent], None] | None = None,
        run_id: str = "",
        step: int = 0,
        plain: bool = False,
        checks_for: str | None = None,
    ) -> SparkResult:
        """Run the step loop until a final answer, ``max_steps`` or the token budget.

        Each step is a grammar-constrained JSON decision (``thought`` and ``action`` from a closed
        list), then the action's content as free text: small models write far better code
        outside a JSON string, and nothing is parsed by guessing — the action comes from the
        grammar, the content is either the answer itself or a tool's input.

        ``memories`` are approved lessons for the system prompt; ``rules`` (the user's preferences
        among them) are restated after the task too, where small models actually follow them.
        ``plain``: the prompt one plain chat answer gets, the instructions as the system message and
        the task itself as the user's (code_phase.py's first candidate).
        ``checks_for``: a tester writing checks of that function; a model that decodes under a grammar
        answers with the assert lines its samples agree on (checkwriter.py), with no tool loop.
        """
        cancel = cancel or CancelToken()
        emit = on_event or (lambda _e: None)
        started = time.perf_counter()
        system = self.system_prompt(purpose, memories, plain=plain)
        user = (task if plain else f"Task: {task}") + (f"\n\n{context}" if context else "")
        if rules:
            user += "\n\nFollow these rules from the user:\n" + "\n".join(f"- {r}" for r in rules)
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        result = SparkResult(
            role=self.role.name, answer="", status="incomplete", prompt=f"{system}\n\n{user}"
        )
        tools = _tool_by_name(self.tools)
        schema = step_schema(list(tools))
        emit(StepStarted(run_id, step, self.role.name))

        def on_token(piece: str) -> None:
            emit(TokenReceived(run_id, step, self.role.name, piece))

        if checks_for and supports_grammar(self.model):
            written = write_checks(
                self.model, messages, checks_for, seed=self.seed, cancel=cancel,
                max_tokens=min(self.max_tokens_per_step, 220),
            )
            result.answer = written.answer_text()
            result.tokens = written.tokens + count_tokens(self.model, result.prompt)
            result.status = "cancelled" if written.cancelled else "complete"
            result.raw_steps.append(
                {"thought": written.summary(), "action": FINAL, "input": result.answer, "samples": written.raw}
            )
            on_token(result.answer)
            result.elapsed_ms = (time.perf_counter() - started) * 1000
            return result

        for i in range(self.max_steps):
            if cancel.is_set():
                result.status = "cancelled"
                break
            remaining = self.token_budget - result.tokens
            if remaining <= 16:
                break
            last = i == self.max_steps - 1 or remaining < 128
            decision = {"thought": "", "action": FINAL}
            if tools and not last:
                ask = {
                    "role": "user",
                    "content": 'Decide your next action. Reply with JSON: "thought" (one short sentence) and '
                    f'"action" (one of: {", ".join([*tools, FINAL])}).',
                }
                settings = GenerationSettings(max_tokens=64, temperature=self.temperature, seed=self.seed + i)
                decision = self.model.complete_json(
                    [*messages, ask], schema, settings=settings, cancel=cancel
                )
                result.tokens += count_tokens(self.model, json.dumps(decision)) + count_tokens(self.model, ask["content"])
                if cancel.is_set():
                    result.status = "cancelled"
                    break
            action = str(decision.get("action") or FINAL)
            action = action if action in tools else FINAL
            if action == FINAL:
                request = messages
            else:
                request = [
                    *messages,
                    {
                        "role": "user",
                        "content": f"Write only the input for {action}: {tools[action].description}",
                    },
                ]
            settings = GenerationSettings(
                max_tokens=min(self.max_tokens_per_step, remaining),
                temperature=self.temperature,
                seed=self.seed + i,
            )
            reply = self.model.chat(request, settings=settings, cancel=cancel, on_token=on_token)
            result.tokens += reply.n_tokens + (count_tokens(self.model, result.prompt) if i == 0 else 0)
            # A reasoning model's <think> block is neither the answer nor a tool's input; the budget
            # (reply.n_tokens) already counts only the answer's tokens.
            text = strip_thinking(reply.text)
            record = {"thought": str(decision.get("thought", "")), "action": action, "input": text}
            if getattr(reply, "n_thinking_tokens", 0):
                record["thinking_tokens"] = reply.n_thinking_tokens
            result.raw_steps.append(record)
            if reply.finish_reason == "cancelled" or cancel.is_set():
                result.status = "cancelled"
                result.answer = text if action == FINAL else result.answer
                break
            if action == FINAL:
                result.answer = text.strip()
                result.status = "complete"
                break
            tool = tools[action]
            args = _tool_args(tool, text)  # the reply without its thinking
            t0 = time.perf_counter()
            out = tool.run(args, cancel=cancel)
            text = out.output if out.ok else (out.error or out.output)
            # Tool output is untrusted: text in it that reads like instructions reaches the model only
            # quoted behind a warning, and the step records why.
            guarded = guard((text or "")[:2000], source=f"result of {action}")
            call = ToolCall(
                action,
                args,
                bool(out.ok),
                (text or "")[:4000],
                (time.perf_counter() - t0) * 1000,
                guarded.record(),
            )
            result.tool_calls.append(call)
            emit(ToolCalled(run_id, step, self.role.name, action, args, call.ok, call.output[:500]))
            messages = [
                *messages,
                {"role": "assistant", "content": text},
                {
                    "role": "user",
                    "content": f"Result of {action}:\n{guarded.prompt_text}\nNow continue the task.",
                },
            ]
        result.elapsed_ms = (time.perf_counter() - started) * 1000
        return result
