"""Tool contract: the Tool base class, ToolResult, argument checking and the name → tool ToolRegistry."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import PurposeError


class ToolError(PurposeError):
    """A tool refused or failed to do what it was asked; the message is shown to the agent and the person."""


@dataclass(frozen=True)
class ToolResult:
    """What one tool call produced. ``output`` is the text an agent reads; ``data`` is structured detail."""

    ok: bool
    output: str
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    elapsed_ms: float = 0.0

    @classmethod
    def failure(cls, error: str, *, hint: str = "", data: dict[str, Any] | None = None) -> ToolResult:
        details = dict(data or {})
        if hint:
            details.setdefault("hint", hint)
        text = f"Error: {error}" + (f" ({hint})" if hint else "")
        return cls(ok=False, output=text, data=details, error=error)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "output": self.output,
            "data": self.data,
            "error": self.error,
            "elapsed_ms": self.elapsed_ms,
        }


# JSON-schema type name → Python types accepted. bool is an int subclass, so it is excluded by hand.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list, tuple),
    "null": (type(None),),
}


def _type_ok(value: Any, expected: str | list[str]) -> bool:
    names = [expected] if isinstance(expected, str) else list(expected)
    for name in names:
        types = _JSON_TYPES.get(name)
        if types is None:
            continue
        if isinstance(value, bool) and name in ("integer", "number"):
            continue
        if isinstance(value, types):
            return True
    return False


def validate_args(schema: Mapping[str, Any], args: Any) -> list[str]:
    """Check ``args`` against the small JSON-schema subset tools use; return human problems (empty = fine).

    Covers: an object at the top, ``required`` keys, each property's ``type``, ``enum``, ``maxLength``,
    ``minimum``/``maximum``, and ``additionalProperties: false``.
    """
    if not isinstance(args, Mapping):
        return [f"arguments must be a JSON object, not {type(args).__name__}"]
    problems: list[str] = []
    properties: Mapping[str, Any] = schema.get("properties", {})
    for key in schema.get("required", ()):
        if key not in args:
            problems.append(f"missing required argument '{key}'")
    if schema.get("additionalProperties", True) is False:
        extra = sorted(str(k) for k in args if k not in properties)
        if extra:
            problems.append(f"unknown argument(s): {', '.join(extra)}")
    for key, value in args.items():
        prop = properties.get(key)
        if prop is None:
            continue
        expected = prop.get("type")
        if expected is not None and not _type_ok(value, expected):
            shown = expected if isinstance(expected, str) else " or ".join(expected)
            problems.append(f"argument '{key}' must be {shown}, not {type(value).__name__}")
            continue
        if "enum" in prop and value not in prop["enum"]:
            problems.append(f"argument '{key}' must be one of {prop['enum']}")
        if isinstance(value, str) and "maxLength" in prop and len(value) > prop["maxLength"]:
            problems.append(f"argument '{key}' is longer than {prop['maxLength']} characters")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "minimum" in prop and value < prop["minimum"]:
                problems.append(f"argument '{key}' must be at least {prop['minimum']}")
            if "maximum" in prop and value > prop["maximum"]:
                problems.append(f"argument '{key}' must be at most {prop['maximum']}")
    return problems


class Tool(ABC):
    """A capability an agent may call by name with JSON arguments.

    Subclasses set ``name``, ``description`` and ``parameters`` (a JSON schema for an object) and implement
    ``execute``. Callers use ``run``, which checks arguments, times the call and turns every failure into
    a ``ToolResult`` with ``ok=False`` — a tool call never raises into the agent loop.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    parameters: ClassVar[dict[str, Any]]

    @abstractmethod
    def execute(self, args: Mapping[str, Any], cancel: CancelToken | None) -> ToolResult:
        """Do the work on already-checked ``args``; raise ToolError (or any PurposeError) to refuse."""

    def run(self, args: Mapping[str, Any], cancel: CancelToken | None = None) -> ToolResult:
        started = time.monotonic()
        problems = validate_args(self.parameters, args)
        if problems:
            result = ToolResult.failure(
                f"{self.name}: " + "; ".join(problems),
                hint=f"expected arguments: {self.signature()}",
            )
        elif cancel is not None and cancel.is_set():
            result = ToolResult(ok=False, output="Cancelled.", data={"cancelled": True}, error="cancelled")
        else:
            try:
                result = self.execute(args, cancel)
            except PurposeError as exc:
                result = ToolResult.failure(exc.message, hint=exc.hint)
            except Exception as exc:  # noqa: BLE001 — a tool bug must not take the agent loop down
                result = ToolResult.failure(
                    f"{self.name} failed unexpectedly: {type(exc).__name__}: {exc}",
                    hint="this is a bug in the tool; the call was not completed",
                )
        elapsed = (time.monotonic() - started) * 1000.0
        return ToolResult(result.ok, result.output, result.data, result.error, round(elapsed, 3))

    def signature(self) -> str:
        """``name(arg: type, [optional: type])`` — a compact form small models follow well."""
        props = self.parameters.get("properties", {})
        required = set(self.parameters.get("required", ()))
        parts = []
        for key, prop in props.items():
            kind = prop.get("type", "any")
            kind = kind if isinstance(kind, str) else "|".join(kind)
            parts.append(f"{key}: {kind}" if key in required else f"[{key}: {kind}]")
        return f"{self.name}({', '.join(parts)})"

    def spec(self) -> dict[str, Any]:
        """The description shown to a model: name, description and the JSON schema of its arguments."""
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class ToolRegistry:
    """The tools an agent may use, by name. ``call`` never raises: unknown names and bad arguments
    come back as failed ToolResults the agent can read and correct."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: Tool) -> None:
        if not isinstance(tool, Tool):
            raise TypeError(f"not a Tool: {tool!r}")
        if tool.name in self._tools:
            raise ValueError(f"a tool named {tool.name!r} is already registered")
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def specs(self) -> list[dict[str, Any]]:
        return [self._tools[name].spec() for name in self.names()]

    def prompt_text(self) -> str:
        """One line per tool, ``signature — description``, for prompts that do not take JSON schemas."""
        return "\n".join(f"- {t.signature()} — {t.description}" for t in map(self._tools.get, self.names()))

    def call(self, name: str, args: Any, cancel: CancelToken | None = None) -> ToolResult:
        tool = self._tools.get(name) if isinstance(name, str) else None
        if tool is None:
            available = ", ".join(self.names()) or "none"
            return ToolResult.failure(f"unknown tool {name!r}", hint=f"available tools: {available}")
        if not isinstance(args, Mapping):
            return ToolResult.failure(
                f"{tool.name}: arguments must be a JSON object, not {type(args).__name__}",
                hint=f"expected arguments: {tool.signature()}",
            )
        return tool.run(args, cancel)
