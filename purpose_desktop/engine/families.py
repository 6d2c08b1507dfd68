"""Task families: one word for the kind of task ("strings", "lists", "numbers" …), used wherever the app
learns something per kind of task — a critic_calibration's scope (critic) and a memory's expected effect
(memory.value). One list, so the two always agree on what a task is."""

from __future__ import annotations

import re

GENERAL = "general"

#: family → keyword stems, matched against the start of the task's lower-cased words. The family with the
#: most matching words wins; ties go to the one listed first; no match is "general".
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("files", ("file", "path", "folder", "director", "csv", "json")),
    ("strings", ("string", "str", "text", "word", "char", "letter", "palindrome", "vowel", "substring",
                 "upper", "lower", "reverse", "anagram", "format")),
    ("lists", ("list", "array", "element", "item", "duplicate", "sort", "merge", "flatten", "unique")),
    ("numbers", ("number", "integer", "prime", "factorial", "fibonacci", "digit", "gcd", "lcm", "square",
                 "power", "divis", "even", "odd", "sum", "average", "median", "maximum", "minimum",
                 "celsius", "fahrenheit", "add", "multiply")),
    ("dicts", ("dict", "dictionar", "key", "map", "count", "frequen", "group")),
    ("classes", ("class", "method", "object", "stack", "queue", "tree", "graph", "node")),
)
_WORD = re.compile(r"[a-z]+")


def task_family(task: str) -> str:
    """The family a task belongs to, by its words ("general" when none fits)."""
    words = _WORD.findall((task or "").lower())
    best, hits = GENERAL, 0
    for name, stems in FAMILIES:
        n = sum(any(w.startswith(stem) for stem in stems) for w in words)
        if n > hits:
            best, hits = name, n
    return best


#: Scope tags of this form keep a lesson to one task family; retrieval adds the task's own family tag.
FAMILY_TAG = "family:"
#: The tag of a lesson for tasks of every family (how to answer, not what about).
ANY_FAMILY_TAG = FAMILY_TAG + "any"


def family_tag(family: str) -> str:
    """The scope tag that keeps a memory to ``family`` ("family:lists" …)."""
    return FAMILY_TAG + family
