"""Plans for the LLMCompiler: the planner's grammar, checking a DAG of tool calls, references and waves."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from purpose_desktop.engine.immune.fence import guard
from purpose_desktop.engine.orchestration.base import OrchestrationError
from purpose_desktop.engine.tools.base import ToolRegistry

# "$$" is a literal dollar; "$2" and "${2}" mean call 2's output; "${2.error}" its error, "${2.ok}" true/false.
REFERENCE = re.compile(r"\$\$|\$\{\s*([A-Za-z0-9_-]+)(?:\.([A-Za-z_]+))?\s*\}|\$(\d+)")
REF_FIELDS = ("output", "error", "ok")
# The grammar's bound on an argument string: long enough for an expression, short enough for a grammar.
_ARG_MAX_CHARS = 200
_RESULT_CHARS = 1500


class PlanError(OrchestrationError):
    """A plan that cannot run: no calls, unknown tools, bad references or dependencies, or a cycle."""


@dataclass
class PlannedCall:
    id: str
    tool: str
    args: dict
    deps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Plan:
    """Checked calls in plan order and the waves (lists of ids) they run in."""

    calls: list[PlannedCall]
    waves: list[list[str]]

    def to_dicts(self) -> list[dict]:
        return [c.to_dict() for c in self.calls]


@dataclass
class CallOutcome:
    id: str
    tool: str
    args: dict
    ok: bool
    output: str
    error: str | None
    elapsed_ms: float
    wave: int
    skipped: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def _references(value) -> list[tuple[str, str]]:
    """Every (call id, field) an argument value refers to, at any depth."""
    if isinstance(value, str):
        out = []
        for m in REFERENCE.finditer(value):
            if m.group(0) != "$$":
                out.append((m.group(1) or m.group(3), m.group(2) or "output"))
        return out
    if isinstance(value, Mapping):
        return [r for v in value.values() for r in _references(v)]
    if isinstance(value, list | tuple):
        return [r for v in value for r in _references(v)]
    return []


def _cycle(deps: dict[str, list[str]], left: set[str]) -> list[str]:
    """One cycle among ``left`` (the calls Kahn's algorithm could not order), as ids."""
    start = min(left)
    seen: list[str] = []
    node = start
    while node not in seen:
        seen.append(node)
        node = next(d for d in deps[node] if d in left)
    return [*seen[seen.index(node) :], node]


def validate_plan(raw, registry: ToolRegistry) -> Plan:
    """Check a planner's reply (``{"calls": [...]}`` or a bare list) and order it into waves.

    Raises PlanError naming the call at fault for: no calls, a repeated id, an unknown tool, args
    that are not an object, a dependency or ``$N`` reference to a call not in the plan, an unknown
    reference field, or a cycle. A reference implies a dependency.
    """
    items = raw.get("calls") if isinstance(raw, Mapping) else raw
    if not isinstance(items, list) or not items:
        raise PlanError(
            "The plan has no calls.",
            'The planner must reply {"calls": [{"id": 1, "tool": ..., "args": {...}, "deps": []}]}.',
        )
    calls: list[PlannedCall] = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            raise PlanError(f"Plan entry {n} is not an object.", "Each call is {id, tool, args, deps}.")
        cid = str(item.get("id", n)).strip()
        if not cid or any(ch.isspace() for ch in cid):
            raise PlanError(f"Plan entry {n} has no usable id.", "Use ids like 1, 2, 3.")
        if any(c.id == cid for c in calls):
            raise PlanError(f"Two calls in the plan have the id {cid}.", "Give every call its own id.")
        tool = item.get("tool")
        if not isinstance(tool, str) or tool not in registry:
            raise PlanError(
                f"Call {cid} uses the unknown tool {tool!r}.",
                f"Available tools: {', '.join(registry.names()) or 'none'}.",
            )
        args = item.get("args") if item.get("args") is not None else {}
        if not isinstance(args, Mapping):
            raise PlanError(
                f"Call {cid}'s args must be an object, not {type(args).__name__}.", 'args: {"name": value}'
            )
        deps = item.get("deps") if item.get("deps") is not None else []
        if not isinstance(deps, list):
            raise PlanError(f"Call {cid}'s deps must be a list of call ids.", "deps: [1, 2]")
        calls.append(PlannedCall(cid, tool, dict(args), [str(d).strip() for d in deps]))
    ids = {c.id for c in calls}
    for call in calls:
        for ref, attr in _references(call.args):
            if ref not in ids:
                raise PlanError(
                    f"Call {call.id} refers to ${ref}, but the plan has no call {ref}.",
                    f"Refer only to calls in the plan ({', '.join(sorted(ids))}); write $$ for a literal dollar.",
                )
            if attr not in REF_FIELDS:
                raise PlanError(
                    f"Call {call.id} refers to ${{{ref}.{attr}}}; a call has no {attr!r}.",
                    f"Use ${{{ref}}} or ${{{ref}.output}}, ${{{ref}.error}}, ${{{ref}.ok}}.",
                )
            if ref not in call.deps:
                call.deps.append(ref)
        for dep in call.deps:
            if dep not in ids:
                raise PlanError(
                    f"Call {call.id} depends on call {dep}, which is not in the plan.", "Fix deps."
                )
    deps = {c.id: list(dict.fromkeys(c.deps)) for c in calls}
    level: dict[str, int] = {}
    left = set(ids)
    while left:
        ready = sorted((c for c in left if all(d in level for d in deps[c])), key=[c.id for c in calls].index)
        if not ready:
            raise PlanError(
                "The plan has a cycle: " + " → ".join(_cycle(deps, left)) + ".",
                "A call cannot wait for itself.",
            )
        for c in ready:
            level[c] = 1 + max((level[d] for d in deps[c]), default=-1)
            left.discard(c)
    waves = [[c.id for c in calls if level[c.id] == w] for w in range(max(level.values()) + 1)]
    for call in calls:
        call.deps = deps[call.id]
    return Plan(calls, waves)


def substitute(value, outcomes: Mapping[str, CallOutcome]):
    """``value`` with every reference replaced by the referred call's output (or error / ok)."""
    if isinstance(value, str):

        def repl(m: re.Match) -> str:
            if m.group(0) == "$$":
                return "$"
            out = outcomes[m.group(1) or m.group(3)]
            attr = m.group(2) or "output"
            return (
                str(out.ok).lower() if attr == "ok" else (out.error or "") if attr == "error" else out.output
            )

        return REFERENCE.sub(repl, value)
    if isinstance(value, Mapping):
        return {k: substitute(v, outcomes) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(v, outcomes) for v in value]
    return value


def coerce_args(args: dict, parameters: Mapping) -> dict:
    """A number-typed argument that became a string through a reference goes back to a number."""
    props = parameters.get("properties", {}) if isinstance(parameters, Mapping) else {}
    out = dict(args)
    for key, value in args.items():
        kind = (props.get(key) or {}).get("type")
        if isinstance(value, str) and kind in ("integer", "number"):
            try:
                number = json.loads(value.strip())
            except ValueError:
                continue
            if isinstance(number, int | float) and not isinstance(number, bool):
                out[key] = number
    return out


def _grammar_args(parameters: Mapping) -> dict:
    """A tool's argument schema made fit for a decoding grammar: no descriptions, short strings."""
    out = {k: v for k, v in parameters.items() if k != "description"}
    if isinstance(out.get("properties"), Mapping):
        out["properties"] = {k: _grammar_args(v) for k, v in out["properties"].items()}
        out["required"] = list(out.get("required") or out["properties"])
    if out.get("type") == "string":
        out["maxLength"] = min(int(out.get("maxLength", _ARG_MAX_CHARS)), _ARG_MAX_CHARS)
    return out


def plan_schema(registry: ToolRegistry, max_calls: int = 6) -> dict:
    """The planner's grammar: a list of calls, each one tool from the registry with that tool's args."""
    options = []
    for name in registry.names():
        tool = registry.get(name)
        options.append(
            {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "tool": {"const": name},
                    "args": _grammar_args(tool.parameters),
                    "deps": {"type": "array", "items": {"type": "integer"}, "maxItems": max_calls},
                },
                "required": ["id", "tool", "args", "deps"],
            }
        )
    item = options[0] if len(options) == 1 else {"anyOf": options}
    return {
        "type": "object",
        "properties": {"calls": {"type": "array", "items": item, "minItems": 1, "maxItems": max_calls}},
        "required": ["calls"],
    }


def describe_outcomes(plan: Plan, outcomes: Mapping[str, CallOutcome]) -> str:
    lines = []
    for call in plan.calls:
        out = outcomes.get(call.id)
        args = ", ".join(f"{k}={v!r}" for k, v in (out.args if out else call.args).items())
        if out is None:
            what = "not run"
        elif out.skipped:
            what = f"skipped ({out.error})"
        elif out.ok:
            # Untrusted: output that reads like instructions reaches the joiner quoted behind a warning.
            what = guard(out.output[:_RESULT_CHARS], source=f"result of call {call.id}").prompt_text
        else:
            what = f"failed: {(out.error or out.output)[:_RESULT_CHARS]}"
        lines.append(f"Call {call.id}: {call.tool}({args}) → {what}")
    return "\n".join(lines)


def drop_cut_entry(raw):
    """Without the last call when the token limit cut it short (closed JSON, but no tool or args).

    A grammar-constrained reply cut by ``max_tokens`` is closed rather than lost (LocalModel), so a
    plan may end in a stub; the complete calls before it are still a plan.
    """
    calls = raw.get("calls") if isinstance(raw, Mapping) else None
    if isinstance(calls, list) and len(calls) > 1 and isinstance(calls[-1], Mapping):
        last = calls[-1]
        if "tool" not in last or "args" not in last or last.get("id") in ("", None):
            return {**raw, "calls": calls[:-1]}
    return raw
