"""The detector machinery: Rule, the helpers rules use to read context, and the loop that runs rules over views."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .normalize import View

INJECTION = "injection"
SCORE = "score_manipulation"
SECRET = "secret"
TOOL = "tool_misuse"
CATEGORIES = (INJECTION, SCORE, SECRET, TOOL)

# Natural-language rules read every view; literal rules (keys, shell syntax) only the text as written
# (after invisible characters and look-alikes are folded) and its decoded escapes.
LANGUAGE_VIEWS = frozenset({"text", "leet", "spaced", "rot13", "reversed", "escapes"})
LITERAL_VIEWS = frozenset({"text", "escapes"})

Check = Callable[[re.Match[str], str], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    """One detector: a pattern, the cheap substrings that must occur first, and an optional check."""

    id: str
    category: str
    message: str
    pattern: re.Pattern[str]
    needles: tuple[str, ...] = ()
    views: frozenset[str] = LANGUAGE_VIEWS
    check: Check | None = None
    negatable: bool = False
    mask: bool = False  # the excerpt is a secret: report only its edges


@dataclass(frozen=True, slots=True)
class Hit:
    rule: Rule
    view: View
    start: int
    end: int


def rx(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """Compile a rule pattern (case-insensitive unless ``flags`` says otherwise)."""
    return re.compile(pattern, flags)


def words(*items: str) -> str:
    """A non-capturing alternation of phrases; spaces inside a phrase match any run of whitespace."""
    return "(?:" + "|".join(item.replace(" ", r"\s+") for item in items) + ")"


_NEGATION = re.compile(
    r"\b(?:never|not|don'?t|doesn'?t|didn'?t|avoid|shouldn'?t|mustn'?t|cannot|can'?t|won'?t|"
    r"refuse to|no one should|nobody should|instead of|rather than|without)\b"
    r"(?:\s+(?:\w+ly|ever|even|just|blindly|simply|be tempted to|try to|to|you|yourself|the|a|go|and|or))*\s*$",
    re.IGNORECASE,
)
# A third-person description of model behaviour ("the model may ignore long instructions") is advice
# about models, not an instruction to one.
_DESCRIPTIVE = re.compile(
    r"\b(?:models?|llms?|it|they|assistants?|agents?|chatbots?)\s+(?:may|might|can|could|often|sometimes|tends?\s+to|"
    r"will|would|usually|frequently|starts?\s+to|begins?\s+to|is\s+likely\s+to|are\s+likely\s+to)(?:\s+\w+ly)?\s*$"
    r"|\b(?:telling|asking|instructing|tricking|getting|making|convincing|persuading)\s+(?:the\s+|a\s+)?(?:models?|llms?|ai|assistants?|agents?|chatbots?)\s+(?:in)?to\s*$",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[.;!?\n]|\s-\s|\s—\s")


def negated(text: str, start: int) -> bool:
    """True when the words just before ``start`` negate it ("never ignore", "don't skip the tests")."""
    head = text[max(0, start - 48) : start]
    return _NEGATION.search(head) is not None or _DESCRIPTIVE.search(head) is not None


def clause_after(text: str, end: int, limit: int = 120) -> str:
    """The rest of the sentence after ``end`` (up to ``limit`` characters), lower-cased."""
    tail = text[end : end + limit]
    m = _CLAUSE_END.search(tail)
    return (tail[: m.start()] if m else tail).lower()


def clause_before(text: str, start: int, limit: int = 120) -> str:
    head = text[max(0, start - limit) : start]
    cut = max(head.rfind("."), head.rfind(";"), head.rfind("\n"), head.rfind("!"), head.rfind("?"))
    return head[cut + 1 :].lower()


def window(text: str, start: int, end: int, before: int = 80, after: int = 80) -> str:
    return text[max(0, start - before) : end + after].lower()


class RuleSet:
    """Rules compiled together for speed: needles are looked up once per view, and case-insensitive
    patterns search the lower-cased text with a case-sensitive twin (several times faster in ``re``),
    then the original pattern re-matches at each hit so checks see the text as written.
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self._twins = tuple(_lowered_twin(rule.pattern) for rule in self.rules)

    def run(self, views: Iterable[View]) -> list[Hit]:
        """Every match of every rule on every view it reads, after needles, negation and checks."""
        hits: list[Hit] = []
        for view in views:
            text = view.text
            low = text.lower()
            same_length = len(low) == len(text)  # true after folding; guards odd case mappings
            seen: dict[str, bool] = {}
            for rule, twin in zip(self.rules, self._twins, strict=True):
                if view.name not in rule.views or (rule.needles and not _any_needle(rule.needles, low, seen)):
                    continue
                if twin is not None and same_length:
                    matches = (rule.pattern.match(text, m.start()) for m in twin.finditer(low))
                else:
                    matches = rule.pattern.finditer(text)
                for m in matches:
                    if m is None:
                        continue
                    if rule.negatable and negated(text, m.start()):
                        continue
                    if rule.check is not None and not rule.check(m, text):
                        continue
                    hits.append(Hit(rule, view, m.start(), m.end()))
        return hits


def _any_needle(needles: tuple[str, ...], low: str, seen: dict[str, bool]) -> bool:
    for needle in needles:
        found = seen.get(needle)
        if found is None:
            found = seen[needle] = needle in low
        if found:
            return True
    return False


def _lowered_twin(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """A case-sensitive copy of an IGNORECASE pattern with its literals lower-cased, for lower-cased text."""
    source = pattern.pattern
    if not pattern.flags & re.IGNORECASE or "(?-i" in source:
        return None
    out: list[str] = []
    i = 0
    while i < len(source):
        if source[i] == "\\" and i + 1 < len(source):
            out.append(source[i : i + 2])  # escapes keep their case: \S is not \s
            i += 2
        elif source.startswith("(?P", i):
            out.append("(?P")
            i += 3
        else:
            out.append(source[i].lower())
            i += 1
    return re.compile("".join(out), pattern.flags & ~re.IGNORECASE)
