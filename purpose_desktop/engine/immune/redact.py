"""Redaction: replace credentials in text with ``[REDACTED:<kind>]`` before it is stored or shown.

The immune scan's secret detectors decide what a credential is (provider key formats, private key
blocks, literal passwords, connection strings, auth headers, high-entropy values assigned to key-like
names) and the same placeholder rules keep ``your_api_key_here`` and friends untouched. Where a rule names
the value (``password = "…"``, ``postgres://user:…@host``) only the value is replaced, so the text still
reads; a key hidden through look-alike letters, escapes or base64 is replaced as the whole token.
Redacting twice changes nothing more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from purpose_desktop.engine.immune import scan
from purpose_desktop.engine.immune.detectors import SECRET, Rule
from purpose_desktop.engine.immune.rules_secret import RULES

MARK = "[REDACTED:{kind}]"
# Above this many characters only the literal detectors run (the full scan's decoded views cost more
# than they find in a multi-megabyte paste).
FULL_SCAN_LIMIT = 200_000

# Kinds for the provider-key rule, by the token's prefix (longest first wins).
_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("sk-ant-", "anthropic_key"),
    ("github_pat_", "github_token"),
    ("sk_live_", "stripe_key"),
    ("sk_test_", "stripe_key"),
    ("rk_live_", "stripe_key"),
    ("rk_test_", "stripe_key"),
    ("glpat-", "gitlab_token"),
    ("glptt-", "gitlab_token"),
    ("gldt-", "gitlab_token"),
    ("glrt-", "gitlab_token"),
    ("pypi-", "pypi_token"),
    ("hooks.slack.com", "slack_webhook"),
    ("xox", "slack_token"),
    ("ghp_", "github_token"),
    ("gho_", "github_token"),
    ("ghu_", "github_token"),
    ("ghs_", "github_token"),
    ("ghr_", "github_token"),
    ("npm_", "npm_token"),
    ("hf_", "huggingface_token"),
    ("AIza", "google_api_key"),
    ("SG.", "sendgrid_key"),
    ("eyJ", "jwt"),
    ("gsk_", "groq_key"),
    ("dckr_pat_", "docker_token"),
    ("hvs.", "vault_token"),
    ("hvb.", "vault_token"),
    ("AGE-SECRET-KEY-", "age_key"),
    ("whsec_", "webhook_secret"),
    ("sk-", "openai_key"),
    ("SK", "twilio_key"),
)
_AWS = re.compile(r"^(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)")
_RULE_KINDS = {
    "private_key": "private_key",
    "password_literal": "password",
    "secret_assignment": "secret",
    "secret_in_prose": "secret",
    "auth_header": "bearer_token",
    "basic_auth": "basic_auth",
    "connection_string": "connection_string",
    "cli_password": "password",
}
_VALUE_GROUPS = ("value", "value2", "value3", "value4", "value5", "value6")
_PEM_END = re.compile(r"-----END\s+(?:[A-Z0-9]+\s+)*PRIVATE\s+KEY(?:\s+BLOCK)?-----")
_PEM_BODY = re.compile(r"(?:[A-Za-z0-9+/=]|\\n|\s)*")
_ALREADY = re.compile(r"\[REDACTED:[a-z_]+\]")
# Text inside JSON or a string literal ('"key = \\"…\\"\\n"' in tool output) is matched with its escapes
# undone two characters for two characters, so every span still points into the original text.
_ESCAPED = re.compile(r"\\[\\\"'nrt/]")
_UNESCAPED = {"n": "\n", "r": "\r", "t": "\t"}
# When detectors overlap, the most specific one names the redaction.
_RANK = ("provider_key", "private_key", "connection_string", "auth_header", "basic_auth", "cli_password")


@dataclass(frozen=True)
class Redaction:
    """One replaced credential: its kind, the detector rule, and where it was in the original text."""

    kind: str
    rule: str
    span: tuple[int, int]


@dataclass(frozen=True)
class RedactResult:
    """The redacted ``text`` and what was ``found`` (empty when nothing was replaced)."""

    text: str
    found: tuple[Redaction, ...] = ()

    @property
    def kinds(self) -> list[str]:
        return sorted({r.kind for r in self.found})

    def __bool__(self) -> bool:
        return bool(self.found)


def redact(text: str) -> RedactResult:
    """Replace every credential in ``text`` with ``[REDACTED:<kind>]``; placeholders stay as they are."""
    if not isinstance(text, str):
        raise TypeError(f"redact() needs a str, not {type(text).__name__}")
    if not text:
        return RedactResult(text)
    spans = _literal_spans(text)
    if len(text) <= FULL_SCAN_LIMIT:
        spans += _scan_spans(text, spans)
    if not spans:
        return RedactResult(text)
    merged = _merge(spans)
    out, last = [], 0
    for start, end, kind, _rule in merged:
        out.append(text[last:start])
        out.append(MARK.format(kind=kind))
        last = end
    out.append(text[last:])
    found = tuple(Redaction(kind, rule, (start, end)) for start, end, kind, rule in merged)
    return RedactResult("".join(out), found)


def _literal_spans(original: str) -> list[tuple[int, int, str, str]]:
    text = _ESCAPED.sub(lambda m: " " + _UNESCAPED.get(m.group(0)[1], m.group(0)[1]), original)
    low = text.lower()
    spans = []
    for rule in RULES:
        if rule.needles and not any(n.lower() in low for n in rule.needles):
            continue
        for m in rule.pattern.finditer(text):
            if rule.check is not None and not rule.check(m, text):
                continue
            start, end = _value_span(m)
            if rule.id == "private_key":
                end = _pem_end(original, m.end())
            if _ALREADY.fullmatch(text[start:end]):
                continue
            spans.append((start, end, _kind(rule, text[start:end]), rule.id))
    return spans


def _value_span(m: re.Match[str]) -> tuple[int, int]:
    """The credential itself: the named value group when the rule has one, else the whole match."""
    names = m.re.groupindex
    for group in _VALUE_GROUPS:
        if group in names and m.group(group) is not None:
            start, end = m.span(group)
            while end > start and m.string[end - 1] in ".,;:":
                end -= 1  # "the password is hunter2!x." — keep the sentence's full stop
            return start, end
    return m.span()


def _pem_end(text: str, after: int) -> int:
    """The end of a private key block: its END line, or else the end of its base64 body."""
    end = _PEM_END.search(text, after, after + 20_000)
    if end:
        return end.end()
    body = _PEM_BODY.match(text, after)
    return body.end() if body else after


def _kind(rule: Rule, token: str) -> str:
    if rule.id != "provider_key":
        return _RULE_KINDS.get(rule.id, "secret")
    if _AWS.match(token):
        return "aws_access_key"
    for prefix, kind in _PROVIDERS:
        if token.startswith(prefix) or (prefix.islower() and token.lower().startswith(prefix)):
            return kind
    return "api_key"


def _scan_spans(text: str, literal: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    """Secrets the full scan sees through look-alikes, escapes or encodings that the literal pass missed."""
    spans = []
    for finding in scan(text).reasons:
        if finding.category != SECRET:
            continue
        start, end = finding.span
        if any(s < end and start < e for s, e, _, _ in literal):
            continue
        if _ALREADY.fullmatch(text[start:end]):
            continue
        kind = _RULE_KINDS.get(finding.rule, "secret") if finding.rule != "provider_key" else "api_key"
        spans.append((start, end, kind, finding.rule))
    return spans


def _rank(rule: str) -> int:
    return _RANK.index(rule) if rule in _RANK else len(_RANK)


def _merge(spans: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    """Overlapping spans become one (named by the most specific detector), ordered by position."""
    merged: list[tuple[int, int, str, str]] = []
    for start, end, kind, rule in sorted(spans, key=lambda s: (s[0], -s[1])):
        if merged and start < merged[-1][1]:
            prev = merged[-1]
            named = (kind, rule) if _rank(rule) < _rank(prev[3]) else (prev[2], prev[3])
            merged[-1] = (prev[0], max(prev[1], end), *named)
        else:
            merged.append((start, end, kind, rule))
    return merged
