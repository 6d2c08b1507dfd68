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
# The learned detector also names these two; the rules file them under injection.
EXFIL = "exfiltration"
LEAK = "prompt_leak"
ALL_CATEGORIES = (*CATEGORIES, EXFIL, LEAK)

# Natural-language rules read every view; literal rules (keys, shell syntax) only the text as written
# (after invisible characters and look-alikes are folded) and its decoded escapes.
LANGUAGE_VIEWS = frozenset({"text", "leet", "spaced", "rot13", "reversed", "escapes", "typo"})
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


def family(
    rule_id: str, category: str, message: str, parts: Sequence[tuple[str, str]], **options: object
) -> tuple[Rule, ...]:
    """One rule written as alternatives, each run only when one of its own ``|``-separated needles occurs.

    Python's ``re`` tries every branch of an alternation at every position, so a rule with many branches
    is much cheaper as several small patterns gated by needles.
    """
    flags = options.pop("flags", re.IGNORECASE)
    return tuple(
        Rule(rule_id, category, message, rx(pattern, flags), needles=tuple(needles.split("|")), **options)  # type: ignore[arg-type]
        for needles, pattern in parts
    )


def words(*items: str) -> str:
    """A non-capturing alternation of phrases; spaces inside a phrase match any run of whitespace."""
    return "(?:" + "|".join(item.replace(" ", r"\s+") for item in items) + ")"


_NEGATION = re.compile(
    r"\b(?:never|not|don'?t|doesn'?t|didn'?t|avoid|shouldn'?t|mustn'?t|cannot|can'?t|won'?t|"
    r"refuse to|no one should|nobody should|instead of|rather than|without|no need to|there is no need to)\b"
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
    """Rules compiled together for speed.

    Needles are indexed: one regex pass per view finds which needles occur, and only the entries they
    gate are run. Case-insensitive patterns search the lower-cased text with a case-sensitive twin
    (several times faster in ``re``), then the original pattern re-matches at each hit so checks see the
    text as written.
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        # Each entry: (rule, pattern, lower-cased twin or None). A rule whose top-level branches each start
        # with known words is split, so a branch runs only when its own words occur.
        entries: list[tuple[Rule, re.Pattern[str], re.Pattern[str] | None]] = []
        by_needle: dict[str, list[int]] = {}
        always: list[int] = []
        for rule in self.rules:
            for pattern, needles in _branches(rule):
                index = len(entries)
                entries.append((rule, pattern, _lowered_twin(pattern)))
                for needle in needles:
                    by_needle.setdefault(needle.lower(), []).append(index)
                if not needles:
                    always.append(index)
        self._entries = tuple(entries)
        self._by_needle = {needle: tuple(indexes) for needle, indexes in by_needle.items()}
        self._always = frozenset(always)
        # One pass of a trie-shaped regex finds the longest needle starting at each position; every needle
        # that is a prefix of it starts there too. Much cheaper than a substring test per needle.
        self._needle_scan = re.compile("(?=(" + _trie(by_needle) + "))")
        self._prefixes = {n: tuple(p for p in by_needle if n.startswith(p)) for n in by_needle}

    def _active(self, low: str) -> list[int]:
        """Indexes of the entries whose needles occur in ``low`` (plus those without needles), in order."""
        found: set[str] = set()
        for m in self._needle_scan.finditer(low):
            found.update(self._prefixes[m.group(1)])
        active = set(self._always)
        for needle in found:
            active.update(self._by_needle[needle])
        return sorted(active)

    def run(self, views: Iterable[View]) -> list[Hit]:
        """Every match of every rule on every view it reads, after needles, negation and checks."""
        hits: list[Hit] = []
        for view in views:
            text = view.text
            low = text.lower()
            same_length = len(low) == len(text)  # true after folding; guards odd case mappings
            for index in self._active(low):
                rule, pattern, twin = self._entries[index]
                if view.name not in rule.views:
                    continue
                if twin is not None and same_length:
                    matches = (pattern.match(text, m.start()) for m in twin.finditer(low))
                else:
                    matches = pattern.finditer(text)
                for m in matches:
                    if m is None:
                        continue
                    if rule.negatable and negated(text, m.start()):
                        continue
                    if rule.check is not None and not rule.check(m, text):
                        continue
                    hits.append(Hit(rule, view, m.start(), m.end()))
        return hits


def _trie(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, shaped as a trie so that ``re`` branches once per character."""
    root: dict[str, dict] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(root)


_LEADING_WORDS = re.compile(
    r"\\b(?:\(\?:((?:[a-z]+(?:\\s\+[a-z]+)*\|)*[a-z]+(?:\\s\+[a-z]+)*)\)|([a-z]{3,}))(?![?*{])"
)


def _branches(rule: Rule) -> list[tuple[re.Pattern[str], tuple[str, ...]]]:
    """The rule's top-level alternatives with the words each must start with, when every branch has them."""
    source = rule.pattern.pattern
    if "(?P<" in source or "(?-i" in source or not rule.pattern.flags & re.IGNORECASE:
        return [(rule.pattern, rule.needles)]
    parts = _split_top_level(source)
    if len(parts) < 2:
        return [(rule.pattern, rule.needles)]
    out = []
    for part in parts:
        lead = _LEADING_WORDS.match(part)
        if lead is None:
            return [(rule.pattern, rule.needles)]
        words = (lead.group(1) or lead.group(2)).split("|")
        needles = tuple(sorted({word.split("\\s+")[0] for word in words}))
        out.append((re.compile(part, rule.pattern.flags), needles))
    return out


def _split_top_level(source: str) -> list[str]:
    """Split a pattern at the ``|`` that are outside every group and character class."""
    parts, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if source.startswith("[]", i) or source.startswith("[^]", i):
                i += 1 if source[i + 1] == "]" else 2  # a "]" first in a class is literal
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(source[start:i])
            start = i + 1
        i += 1
    parts.append(source[start:])
    return parts


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
