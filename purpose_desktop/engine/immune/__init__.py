"""Immune scan: ``scan(text)`` finds injection, score manipulation, secrets and tool misuse before text reaches a prompt.

Every candidate memory, taught lesson, edit and vault chunk passes through :func:`scan`. The text is
normalised into several views (look-alikes folded, invisible characters dropped, leetspeak and spaced-out
letters undone, escapes and base64/hex/rot13/tag-character payloads decoded), rules run over the views,
and each finding's span points back into the original text. Beside the rules, a small learned detector
(``learned.py``: logistic regression over hashed n-grams, plus the MiniLM embedding when the caller has
one) catches the shapes no rule spells out and names their category with a confidence. Findings the
person overruled (an :class:`AllowList`) are reported as allowed and do not block. No language model is
called; a memory-sized text takes a few milliseconds.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from . import rules_injection, rules_score, rules_secret, rules_tool
from .allow import AllowList, text_hash
from .decode import base64_payloads, escapes_view, hex_payloads, tag_payloads
from .detectors import (
    ALL_CATEGORIES,
    CATEGORIES,
    EXFIL,
    INJECTION,
    LEAK,
    SCORE,
    SECRET,
    TOOL,
    Hit,
    Rule,
    RuleSet,
)
from .language import foreign_passages
from .normalize import (
    Lexicon,
    TypoIndex,
    View,
    fold,
    fold_char,
    hidden_marks,
    identity_view,
    leet_views,
    reversed_view,
    rot13_view,
    spaced_view,
    squashed_view,
    typo_view,
)

__all__ = [
    "ALL_CATEGORIES",
    "CATEGORIES",
    "CONTEXTS",
    "LEARNED_RULE",
    "UNREAD_RULE",
    "SCANNER_VERSION",
    "AllowList",
    "Finding",
    "ScanResult",
    "scan",
]

log = logging.getLogger(__name__)

# 2: the learned detector joined the rules; 3: its embedding head; 4: the typo view and the new shapes;
# 5: passages in a language the scan does not read.
SCANNER_VERSION = "5"
CONTEXTS = ("memory", "vault", "critic", "tool")
LEARNED_RULE = "learned_detector"

# Which categories block in each context. Vault chunks are documents: only injection aimed at the model
# blocks; a key in a README is flagged for the person, not refused. The critic reads answers, where
# steering the score is the attack that matters; secrets and commands there are flagged.
# Tool output is untrusted text like a document, but nothing in it is the person's own file.
_BLOCKING = {
    "memory": frozenset(ALL_CATEGORIES),
    "vault": frozenset({INJECTION, EXFIL, LEAK}),
    "critic": frozenset({INJECTION, SCORE, EXFIL, LEAK}),
    "tool": frozenset({INJECTION, EXFIL, LEAK}),
}
# The learned detector was trained on text aimed at a model, so in tool output whatever it flags (a
# payment order, a note to the grader) is an injection attempt and every category but a secret blocks.
# The person's own documents legitimately hold commands ("to reset the VM: rm -rf ..."), so there a
# learned tool-misuse finding is only flagged, as the rules' is.
_LEARNED_BLOCKING = {
    "memory": frozenset(ALL_CATEGORIES),
    "vault": frozenset(ALL_CATEGORIES) - {SECRET, TOOL},
    "critic": frozenset(ALL_CATEGORIES) - {SECRET, TOOL},
    "tool": frozenset(ALL_CATEGORIES) - {SECRET},
}
_SEVERITY = {
    "memory": (INJECTION, EXFIL, TOOL, LEAK, SECRET, SCORE),
    "vault": (INJECTION, EXFIL, LEAK, TOOL, SECRET, SCORE),
    "critic": (SCORE, INJECTION, EXFIL, LEAK, TOOL, SECRET),
    "tool": (INJECTION, EXFIL, LEAK, TOOL, SECRET, SCORE),
}
_RULES: tuple[Rule, ...] = rules_injection.RULES + rules_score.RULES + rules_secret.RULES + rules_tool.RULES
_SQUASHED = (
    [(INJECTION, rule_id, pattern) for rule_id, pattern in rules_injection.SQUASHED]
    + [(SCORE, rule_id, pattern) for rule_id, pattern in rules_score.SQUASHED]
    + [(TOOL, rule_id, pattern) for rule_id, pattern in rules_tool.SQUASHED]
)
_MESSAGES = {rule.id: rule.message for rule in _RULES}
# Words the rules spell out: leet folding only yields these ("pr3v10us" → "previous", "a11" → "all").
_LEXICON = Lexicon(
    frozenset(word for rule in _RULES for word in re.findall(r"[a-z]{3,}", rule.pattern.pattern.lower()))
)
_VIEW_ORDER = {"text": 0, "escapes": 1, "leet": 2, "spaced": 3, "rot13": 4, "reversed": 5, "squashed": 6, "typo": 7}
_INTRAWORD_SEP = re.compile(r"[A-Za-z][-_.*|~^+·•][A-Za-z][-_.*|~^+·•][A-Za-z]")
_SQUASH_NEGATION = re.compile(r"(?:never|dont|donot|not|avoid|shouldnt|mustnt)$")
# Obfuscation on its own is flagged; next to a real finding it is part of the attack and blocks too.
_FLAG_RULES = frozenset({"hidden_characters", "lookalike_letters"})
# A passage in a language no rule or head reads is vouched for by nothing: where it can steer the model (a
# lesson, tool output) it blocks until the person allows the language; in their own documents it is flagged.
UNREAD_RULE = "unread_language"
_UNREAD_BLOCKING = frozenset({"memory", "tool"})
# Evidence of hiding never names the category while a decoded finding can.
_SUPPORTING = _FLAG_RULES | {"hidden_text", UNREAD_RULE}
_WORD = re.compile(r"[^\W\d_]{2,}")
_ASSIGNED_NAME = re.compile(r"[A-Za-z_][\w.\-]*[\"']?\s*(?:=|:|=>)\s*[\"'`]?")
_MAX_DEPTH = 2


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason a text was flagged; ``span`` indexes the original text (the encoded token for decoded payloads)."""

    category: str
    rule: str
    message: str
    span: tuple[int, int]
    excerpt: str
    blocking: bool = True
    via: str = "text"  # how it was seen: text, normalized, leet, spaced, escapes, base64, hex, rot13, tags, model, …
    # The learned detector's P(attack), or the language identifier's P(language); None for a rule.
    confidence: float | None = None
    allowed: bool = False  # the person overruled this finding before; it no longer blocks

    def to_dict(self) -> dict[str, Any]:
        out = {
            "category": self.category,
            "rule": self.rule,
            "message": self.message,
            "span": [self.span[0], self.span[1]],
            "excerpt": self.excerpt,
            "blocking": self.blocking,
            "via": self.via,
        }
        if self.confidence is not None:
            out["confidence"] = self.confidence
        if self.allowed:
            out["allowed"] = True
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            category=data["category"],
            rule=data["rule"],
            message=data["message"],
            span=(int(data["span"][0]), int(data["span"][1])),
            excerpt=data["excerpt"],
            blocking=bool(data.get("blocking", True)),
            via=data.get("via", "text"),
            confidence=data.get("confidence"),
            allowed=bool(data.get("allowed", False)),
        )


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The verdict on one text: ``blocked``, the most severe ``category`` and every finding in ``reasons``."""

    blocked: bool
    category: str | None
    reasons: list[Finding] = field(default_factory=list)
    context: str = "memory"
    # The learned detector's version, or "unavailable": provenance, not part of the verdict.
    detector: str | None = field(default=None, compare=False)

    def findings_by_category(self) -> dict[str, list[Finding]]:
        grouped: dict[str, list[Finding]] = {}
        for finding in self.reasons:
            grouped.setdefault(finding.category, []).append(finding)
        return grouped

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, stored on a memory as its scan report."""
        return {
            "blocked": self.blocked,
            "category": self.category,
            "context": self.context,
            "reasons": [finding.to_dict() for finding in self.reasons],
            "scanner": SCANNER_VERSION,
            "detector": self.detector,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanResult:
        return cls(
            blocked=bool(data["blocked"]),
            category=data.get("category"),
            reasons=[Finding.from_dict(item) for item in data.get("reasons", [])],
            context=data.get("context", "memory"),
            detector=data.get("detector"),
        )


@dataclass(frozen=True, slots=True)
class _Raw:
    category: str
    rule: str
    span: tuple[int, int]
    via: str
    mask: bool
    order: int


def scan(
    text: str,
    *,
    context: str = "memory",
    embedding: Any = None,
    allow: AllowList | None = None,
    learned: bool = True,
    compute_embedding: bool = True,
) -> ScanResult:
    """Scan ``text`` for injection, score manipulation, exfiltration, prompt leaks, secrets and tool misuse.

    ``context`` is "memory" (everything blocks), "vault" or "tool" (text aimed at the model blocks; a key
    or a shell line in a document is only flagged) or "critic" (injection and score manipulation block).
    ``embedding`` is the text's all-MiniLM-L6-v2 vector when the caller already has it (the learned
    detector then reads it too). Findings on ``allow`` are reported as allowed and do not block.
    ``learned=False`` runs the rules alone (benchmarks compare the two); the "critic" context always does.
    Without an ``embedding``, the scan computes one when the process's bundled embedder is already
    loaded (``learned.use_embedder``); ``compute_embedding=False`` leaves the n-gram head to decide alone
    (the Vault, which embeds its chunks in batches and looks again then).
    """
    if not isinstance(text, str):
        raise TypeError(f"scan() needs a str, not {type(text).__name__}")
    if context not in _BLOCKING:
        raise ValueError(f"unknown scan context {context!r}; expected one of {', '.join(CONTEXTS)}")
    raws = _dedupe(_scan_text(text, 0))
    blocking_categories = _BLOCKING[context]
    findings = [
        Finding(
            category=raw.category,
            rule=raw.rule,
            message=_message(raw),
            span=raw.span,
            excerpt=_excerpt(text, raw.span, raw.mask),
            blocking=raw.category in blocking_categories,
            via=raw.via,
        )
        for raw in raws
    ]
    findings.extend(_obfuscation_flags(text))
    findings.extend(_language_flags(text, context))
    detector_version = None
    # Answers under critique routinely assess themselves ("this answer is correct"); the critic already
    # keeps that from the judge, and capping a score on a classifier's guess would punish honest answers.
    # So the critic reads answers with the rules alone.
    if learned and context != "critic":
        learned_finding, detector_version = _learned_finding(text, context, embedding, compute_embedding)
        if learned_finding is not None:
            findings.append(learned_finding)
    if allow is not None and len(allow):
        whole = text_hash(text)
        findings = [
            replace(f, blocking=False, allowed=True, message=f"{f.message} — allowed: you overruled this before")
            if allow.allows(f.rule, f.category, f.excerpt, whole)
            else f
            for f in findings
        ]
    if any(f.blocking for f in findings):
        # Invisible or look-alike characters alongside a real finding are part of the attack.
        findings = [
            replace(f, blocking=True) if f.rule in _FLAG_RULES and f.category in blocking_categories else f
            for f in findings
        ]
    severity = _SEVERITY[context]
    # Substantive findings lead; obfuscation flags only support them, so they never set the category
    # unless they are all there is.
    findings.sort(
        key=lambda f: (
            not f.blocking,
            f.rule in _SUPPORTING,
            f.rule == LEARNED_RULE,
            severity.index(f.category),
            f.span[0],
            f.rule,
        )
    )
    blocked = any(f.blocking for f in findings)
    category = findings[0].category if findings else None
    return ScanResult(
        blocked=blocked, category=category, reasons=findings, context=context, detector=detector_version
    )


def _learned_finding(
    text: str, context: str, embedding: Any, compute_embedding: bool = True
) -> tuple[Finding | None, str]:
    from .learned import DetectorUnavailable, detector

    try:
        model = detector()
    except DetectorUnavailable as exc:
        log.warning("immune scan: rules only: %s", exc)
        return None, "unavailable"
    if embedding is None and compute_embedding and model.has_embedding_head:
        from .learned import embedding_for

        embedding = embedding_for(text)
    found = model.detect(text, embedding)
    version = f"learned-{model.version}"
    if found is None or not found.flagged:
        return None, version
    category = found.category
    message = (
        f"learned detector ({found.heads}): {found.confidence:.0%} likely an attack, most like "
        f"{category.replace('_', ' ')} ({found.category_probability:.0%})"
    )
    return (
        Finding(
            category=category,
            rule=LEARNED_RULE,
            message=message,
            span=found.span,
            excerpt=_excerpt(text, found.span, category == SECRET),
            blocking=category in _LEARNED_BLOCKING[context],
            via="model",
            confidence=found.confidence,
        ),
        version,
    )


def _scan_text(text: str, depth: int) -> list[_Raw]:
    base = identity_view("text", text)
    plain = fold(base)
    views: list[View] = [plain]
    leets = leet_views(plain, _LEXICON)
    spaced = spaced_view(plain)
    views.extend(leets)
    views.extend(typo_view(plain, _typo_index()))
    if spaced is not None:
        views.append(spaced)
    escaped = escapes_view(base)
    if escaped is not None:
        views.append(fold(escaped, "escapes"))
    low = plain.text.lower()
    if "rot13" in low or "rot-13" in low or "rot 13" in low or "caesar" in low:
        views.append(rot13_view(plain))
    if "revers" in low or "backward" in low or "\u202e" in text or "\u202d" in text:
        views.append(reversed_view(plain))

    raws = [_raw(hit, text) for hit in _ruleset().run(views)]
    obfuscated = (
        plain.text != text or leets or spaced is not None or _INTRAWORD_SEP.search(plain.text) is not None
    )
    if obfuscated:
        raws.extend(_squashed_hits(leets[-1] if leets else plain))
    if depth < _MAX_DEPTH:
        for payload in base64_payloads(plain) + hex_payloads(plain) + tag_payloads(text):
            for inner in _scan_text(payload.text, depth + 1):
                via = payload.via if inner.via in ("text", "normalized") else f"{payload.via}+{inner.via}"
                raws.append(_Raw(inner.category, inner.rule, payload.span, via, inner.mask, 10 + depth))
    return raws


@cache
def _typo_index() -> TypoIndex:
    return TypoIndex()


@cache
def _ruleset() -> RuleSet:
    """Built on first use: compiling the split and lower-cased patterns takes a noticeable moment."""
    return RuleSet(_RULES)


def _raw(hit: Hit, original: str) -> _Raw:
    start, end = hit.view.span(hit.start, hit.end)
    via = hit.view.name
    if via == "text" and original[start:end] != hit.view.text[hit.start : hit.end]:
        via = "normalized"
    return _Raw(
        hit.rule.category, hit.rule.id, (start, end), via, hit.rule.mask, _VIEW_ORDER.get(hit.view.name, 9)
    )


def _squashed_hits(view: View) -> list[_Raw]:
    squashed = squashed_view(view)
    out = []
    for category, rule_id, pattern in _SQUASHED:
        for m in pattern.finditer(squashed.text):
            if _SQUASH_NEGATION.search(squashed.text[max(0, m.start() - 8) : m.start()]):
                continue
            out.append(
                _Raw(
                    category,
                    rule_id,
                    squashed.span(m.start(), m.end()),
                    "squashed",
                    False,
                    _VIEW_ORDER["squashed"],
                )
            )
    return out


def _dedupe(raws: list[_Raw]) -> list[_Raw]:
    """One finding per rule per place: the clearest view wins when several views see the same thing."""
    kept: list[_Raw] = []
    for raw in sorted(raws, key=lambda r: (r.order, r.span[0])):
        if any(k.rule == raw.rule and k.span[0] < raw.span[1] and raw.span[0] < k.span[1] for k in kept):
            continue
        kept.append(raw)
    return kept


def _message(raw: _Raw) -> str:
    message = _MESSAGES.get(raw.rule, raw.rule.replace("_", " "))
    if raw.via in ("text", "normalized"):
        return message
    return f"{message} (seen via {raw.via.replace('+', ', then ')})"


def _excerpt(text: str, span: tuple[int, int], mask: bool, limit: int = 120) -> str:
    piece = text[span[0] : span[1]]
    piece = "".join(ch for ch in piece if ch.isprintable() or ch in " \n\t")
    if mask:
        # Never copy a secret into the stored scan report: keep the name it is assigned to and only the
        # first characters of each long part of the value.
        name = _ASSIGNED_NAME.match(piece)
        head, value = (name.group(0), piece[name.end() :]) if name else ("", piece)
        piece = head + re.sub(r"[^\s=:@'\"/,;]{6,}", lambda m: m.group(0)[:3] + "…", value)
    if len(piece) > limit:
        piece = piece[: limit - 1] + "…"
    return piece


def _obfuscation_flags(text: str) -> list[Finding]:
    flags: list[Finding] = []
    marks = hidden_marks(text)
    if marks:
        names = sorted({f"U+{ord(ch):04X}" for _, ch in marks})
        flags.append(
            Finding(
                category=INJECTION,
                rule="hidden_characters",
                message=f"contains {len(marks)} invisible zero-width or bidi control character(s)",
                span=(marks[0][0], marks[-1][0] + 1),
                excerpt=", ".join(names),
                blocking=False,
            )
        )
    if not text.isascii():
        for m in _WORD.finditer(text):
            word = m.group(0)
            if (
                not word.isascii()
                and any(ch.isascii() for ch in word)
                and any(_is_lookalike(ch) for ch in word)
            ):
                flags.append(
                    Finding(
                        category=INJECTION,
                        rule="lookalike_letters",
                        message="mixes Latin letters with look-alike letters from another script",
                        span=(m.start(), m.end()),
                        excerpt=word[:60],
                        blocking=False,
                    )
                )
                break
    for payload in tag_payloads(text):
        if sum(ch.isalpha() for ch in payload.text) >= 8:
            flags.append(
                Finding(
                    category=INJECTION,
                    rule="hidden_text",
                    message="hides text in invisible Unicode tag characters",
                    span=payload.span,
                    excerpt=payload.text[:60],
                    blocking=True,
                )
            )
    return flags


def _language_flags(text: str, context: str) -> list[Finding]:
    """One finding per language the scan does not read; its excerpt is the language's name, so allowing one
    lesson in Irish allows Irish in later scans too."""
    by_language: dict[str, list] = {}
    for passage in foreign_passages(text):
        by_language.setdefault(passage.name, []).append(passage)
    flags = []
    for name, passages in by_language.items():
        first = passages[0]
        many = len(passages) > 1
        flags.append(
            Finding(
                category=INJECTION,
                rule=UNREAD_RULE,
                message=(
                    f"has {f'{len(passages)} passages' if many else 'a passage'} in {name}: the scan reads English "
                    f"only, so nothing here vouches for {'them' if many else 'it'}; read "
                    f"{'them' if many else 'it'} yourself, and allow {name} if {'they are' if many else 'it is'} fine"
                ),
                span=first.span,
                excerpt=name,
                blocking=context in _UNREAD_BLOCKING,
                via="language",
                confidence=first.confidence,
            )
        )
    return flags


def _is_lookalike(ch: str) -> bool:
    """Cyrillic, Greek, Armenian and phonetic letters that fold to Latin are the usual stand-ins."""
    return ("\u0370" <= ch <= "\u058f" or "\u1d00" <= ch <= "\u1d7f") and fold_char(ch).isascii()
