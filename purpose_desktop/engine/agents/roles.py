"""Role templates (data in resources/roles/roles.json) and purpose → roles by whole-word rules."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from purpose_desktop.engine.resources import resource


@dataclass
class RoleSpec:
    """One team member: its own instructions, tools and model; nothing leaks between roles."""

    name: str
    title: str
    instructions: str
    tools: list[str] = field(default_factory=list)
    model: str | None = None
    kind: str = "text"  # "plan" | "code" | "test" | "text": what the critic can check

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RoleSpec:
        known = {k: data[k] for k in ("name", "title", "instructions", "tools", "model", "kind") if k in data}
        if not known.get("name"):
            raise ValueError("a role needs a name")
        known.setdefault("title", known["name"].title())
        known.setdefault("instructions", "")
        known["tools"] = list(known.get("tools") or [])
        return cls(**known)


@lru_cache(maxsize=1)
def _templates() -> dict:
    with open(resource("roles", "roles.json"), encoding="utf-8") as f:
        return json.load(f)


def known_roles() -> list[str]:
    return list(_templates()["roles"])


def role_template(name: str) -> RoleSpec:
    """A fresh RoleSpec for a known role, or a generic one named after an unknown role."""
    data = _templates()["roles"].get(name)
    if data is None:
        return RoleSpec(
            name=name,
            title=name.replace("_", " ").title(),
            instructions=f"You are the team's {name.replace('_', ' ')}. Do your part of the task carefully.",
        )
    return RoleSpec(name=name, **{k: (list(v) if isinstance(v, list) else v) for k, v in data.items()})


def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + r"\s+".join(map(re.escape, word.split())) + r"(?![\w-])", re.IGNORECASE)


def match_rule(description: str) -> tuple[str, list[str]] | None:
    """The rule with the most whole-word hits in ``description``, or None.

    Ties go to the rule whose first hit comes earliest ("Research the history of Rust" is research,
    "Write a blog post about Python" is writing), then to the rule listed first.
    """
    best: tuple[int, int, int, str, list[str]] | None = None
    for order, rule in enumerate(_templates()["rules"]):
        positions = [m.start() for w in rule["words"] if (m := _word_pattern(w).search(description))]
        if not positions:
            continue
        key = (-len(positions), min(positions), order)
        if best is None or key < best[:3]:
            best = (*key, rule["name"], list(rule["roles"]))
    return None if best is None else (best[3], best[4])


ROLE_CHOICE_SCHEMA_MAX = 4


def role_choice_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "roles": {
                "type": "array",
                "items": {"type": "string", "enum": known_roles()},
                "minItems": 1,
                "maxItems": ROLE_CHOICE_SCHEMA_MAX,
            }
        },
        "required": ["roles"],
    }


def choose_roles(description: str, model=None) -> tuple[list[str], str]:
    """Roles for a purpose and how they were chosen ("rule:<name>", "model" or "fallback").

    Rules first (cheap, predictable); when none matches and a model is given, the model picks from
    the known roles through a JSON-schema-constrained reply, so its answer is always a valid list.
    """
    matched = match_rule(description)
    if matched:
        return matched[1], f"rule:{matched[0]}"
    if model is not None:
        prompt = [
            {
                "role": "system",
                "content": "Choose the team roles that best serve the user's purpose. Known roles: "
                + ", ".join(known_roles())
                + ". Reply as JSON.",
            },
            {"role": "user", "content": f"Purpose: {description}"},
        ]
        from purpose_desktop.engine.models import GenerationSettings

        reply = model.complete_json(prompt, role_choice_schema(), settings=GenerationSettings(max_tokens=48, temperature=0.0, seed=0))
        roles: list[str] = []
        for r in reply.get("roles", []):
            if r in known_roles() and r not in roles:
                roles.append(r)
        if roles:
            return roles, "model"
    return list(_templates()["fallback"]), "fallback"
