"""Secret rules: provider key formats, private keys, literal passwords, connection strings, high-entropy tokens."""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter

from .detectors import LITERAL_VIEWS, SECRET, Rule, rx

# Words that mark a value as a documentation placeholder. Short words must stand alone, so a random
# key that happens to contain "bar" is still a key.
_PLACEHOLDER_ANYWHERE = re.compile(
    r"example|sample|dummy|placeholder|changeme|change_me|change-me|replace|insert|redacted|your|yours|"
    r"xxxx|\*\*\*|\.\.\.|…|<|>|\{\{|\$\{|%\(|1234|0000|abcdef|qwerty|lorem|secret_here|key_here|token_here|"
    r"notreal|not_real|not-real|fake|mock|todo|fixme|removed|hidden|masked|censored",
    re.IGNORECASE,
)
_PLACEHOLDER_WORD = re.compile(
    r"(?:^|[^a-z0-9])(?:foo|bar|baz|test|testing|none|null|nil|empty|unset|not_?set|here|my_?key|my_?token|"
    r"api_?key|secret|token|password|passwd|pass|pwd|admin|root|user|username|guest|postgres|mysql|demo|"
    r"default|value|string|str|key|abc|abc123|xyz|letmein|welcome|hunter|dev|local|localhost)(?:$|[^a-z0-9])",
    re.IGNORECASE,
)
_REFERENCE = re.compile(
    r"^(?:\$|%|\{|\[|<|@|os\.|env\b|env\[|env\(|process\.|config|settings|self\.|cls\.|args\.|opts\.|options\.|"
    r"request|getenv|secrets\.|vault|keyring|get_|read_|load_|input|getpass|none\b|null\b|undefined|true\b|false\b|"
    r"str\(|f\"|f'|b64|base64|hashlib|bcrypt|argon|hmac|crypt|ctx\.|context\.|cfg\.|conf\.|params|props\.|this\.|"
    r"import\.meta|deps\.|inputs\.|vars\.|matrix\.|github\.)",
    re.IGNORECASE,
)


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _classes(value: str) -> int:
    return (
        any(ch.islower() for ch in value)
        + any(ch.isupper() for ch in value)
        + any(ch.isdigit() for ch in value)
        + any(not ch.isalnum() for ch in value)
    )


def _sequential(value: str) -> bool:
    """Runs like "abcdefgh" or "12345678" that people type as fake keys."""
    run = best = 1
    for a, b in zip(value, value[1:], strict=False):
        run = run + 1 if ord(b) - ord(a) == 1 else 1
        best = max(best, run)
    return best >= 6


def is_placeholder(value: str) -> bool:
    """True for values that are obviously not real credentials (docs placeholders, masks, fake runs)."""
    stripped = value.strip("'\"`")
    if len(set(stripped.lower())) <= 3 or _sequential(stripped):
        return True
    if _PLACEHOLDER_ANYWHERE.search(stripped) is not None:
        return True
    # A marker word beside a long random part is a format prefix ("key-…", "AGE-SECRET-KEY-1…"), not a placeholder.
    if any(_random_part(part) for part in re.split(r"[-_.:/+=]+", stripped)):
        return False
    return _PLACEHOLDER_WORD.search(stripped) is not None


def _random_part(part: str) -> bool:
    return (
        len(part) >= 16
        and any(ch.isdigit() for ch in part)
        and any(ch.isalpha() for ch in part)
        and entropy(part) >= 3.0
    )


def looks_random(value: str, *, min_len: int = 16, min_entropy: float = 3.0) -> bool:
    """A long token with mixed character classes and high entropy, i.e. key material rather than a word."""
    if len(value) < min_len or entropy(value) < min_entropy or is_placeholder(value):
        return False
    has_digit = any(ch.isdigit() for ch in value)
    has_alpha = any(ch.isalpha() for ch in value)
    return (has_digit and has_alpha) or _classes(value) >= 3


_PREFIX = re.compile(r"^(?:[A-Za-z][A-Za-z0-9]{0,11}[-_.]){1,3}")


def _provider_ok(m: re.Match[str], text: str) -> bool:
    token = m.group(0)
    body = _PREFIX.sub("", token)  # judge the random part, not "sk-proj-" or "AGE-SECRET-KEY-"
    if "EXAMPLE" in token.upper() or is_placeholder(body):
        return False
    return _classes(body) >= 2 and entropy(body) >= 2.8


def _value_ok(m: re.Match[str], text: str) -> bool:
    return looks_random(m.group("value"))


def _password_ok(m: re.Match[str], text: str) -> bool:
    value = m.group("value").rstrip(".,;:")
    quoted = bool(m.groupdict().get("q"))
    if len(value) < 6 or _REFERENCE.match(value) or is_placeholder(value):
        return False
    if "(" in value or value.startswith(("http://", "https://", "/", "./", "~")):
        return False
    if not quoted and re.fullmatch(r"[A-Za-z_][A-Za-z_.]*", value):
        return False  # a variable or attribute name, not a literal
    if re.fullmatch(r"[a-z]+", value):
        return False  # a plain lower-case word is prose ("the password is ignored"), not a credential
    return _classes(value) >= 2 or entropy(value) >= 3.2


def _wordy(value: str) -> bool:
    """Paths, file names, versions and dotted identifiers are mostly whole words; keys are not."""
    parts = [p for p in re.split(r"[/\\._:-]+", value) if p]
    alpha = sum(len(p) for p in parts if p.isalpha() and len(p) >= 3)
    return len(parts) >= 2 and alpha >= 0.5 * len(value)


def _keyname_ok(m: re.Match[str], text: str) -> bool:
    value = m.group("value").rstrip(".,;:")
    if _REFERENCE.match(value) or "(" in value or "://" in value or value.startswith(("/", "./", "~", "\\")):
        return False
    return not _wordy(value) and looks_random(value)


def _conn_ok(m: re.Match[str], text: str) -> bool:
    user, value = m.group("user"), m.group("value")
    if value == user or is_placeholder(value) or _REFERENCE.match(value):
        return False
    return len(value) >= 4


def _basic_ok(m: re.Match[str], text: str) -> bool:
    try:
        decoded = base64.b64decode(m.group("value") + "=" * (-len(m.group("value")) % 4)).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    user, _, password = decoded.partition(":")
    return bool(password) and not is_placeholder(password) and password != user


def _pem_ok(m: re.Match[str], text: str) -> bool:
    body = re.sub(r"\\n|\s", "", text[m.end() : m.end() + 400])
    # A full key, or a short one that is closed right after (a key cut for the message is still a key).
    return re.match(r"[A-Za-z0-9+/=]{40,}|[A-Za-z0-9+/=]{20,}-----END", body) is not None


# Marker words only: a stated value ("the wifi password for the office is X") is taken as meant, even when
# it looks made up, unless it says it is a placeholder.
_STATED_PLACEHOLDER = re.compile(
    r"example|sample|dummy|placeholder|changeme|change_me|redacted|your|xxxx|\*\*\*|\.\.\.|…|<|>|\{\{|\$\{|%\(|"
    r"notreal|not_real|fake|mock|masked|censored|hidden|removed",
    re.IGNORECASE,
)


def _stated_ok(m: re.Match[str], text: str) -> bool:
    value = (m.group("value") or m.group("value2") or m.group("value3")).rstrip(".,;:)'\"`")
    if len(value) < 8 or _REFERENCE.match(value) or _STATED_PLACEHOLDER.search(value):
        return False
    if "(" in value or "://" in value or value.startswith(("/", "./", "~", "\\")) or _wordy(value):
        return False
    if re.fullmatch(r"[a-z]+|[A-Z][a-z]+", value):
        return False  # a plain word is prose ("the password is required"), not a credential
    return _classes(value) >= 2 or entropy(value) >= 3.2


_NAME = (
    r"(?:(?:password|passwd|pwd|passphrase|pass_?word|db_?pass|secret|token|api[_-]?key|apikey|"
    r"access[_-]?key|private[_-]?key|secret[_-]?key|client[_-]?secret|auth[_-]?token|auth[_-]?key|credentials?|"
    r"signing[_-]?key|encryption[_-]?key|master[_-]?key|session[_-]?key|webhook[_-]?secret|account[_-]?key|"
    r"admin[_-]?secret|bearer)[A-Za-z0-9_.-]*)"
)
_SEP = r"[\"'\]]?\s*(?:=|:|=>|:=|<-)\s*"
_VALUE = r"(?P<q>[bru]?[\"'`])?(?P<value>[^\s\"'`,;)}\]]{6,})"

# (needles, pattern) per provider family; split so that each runs only when its prefix is present.
# fmt: off
_PROVIDERS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("akia", "asia", "abia", "acca", "agpa", "aida", "aipa", "anpa", "anva", "apka", "aroa", "asca"),
     r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)[A-Z2-7]{16}\b"),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
     r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{50,}"),
    (("sk-",), r"\bsk-ant-(?:api|admin|oat)\d\d-[A-Za-z0-9_-]{20,}|\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    (("xox", "hooks.slack.com"),
     r"\bxox[baprse]-[0-9A-Za-z-]{10,}|https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}"),
    (("k_live_", "k_test_"), r"\b[sr]k_(?:live|test)_[0-9A-Za-z]{16,}"),
    (("aiza",), r"\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),
    (("glpat-", "glptt-", "gldt-", "glrt-"), r"\bgl(?:pat|ptt|dt|rt)-[0-9A-Za-z_-]{20,}"),
    (("npm_",), r"\bnpm_[A-Za-z0-9]{36}\b"),
    (("hf_",), r"\bhf_[A-Za-z0-9]{30,}\b"),
    (("sk",), r"\bSK[0-9a-fA-F]{32}\b"),
    (("sg.",), r"\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}"),
    (("eyj",), r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    ((".",), r"\b[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}\b"),
    ((":aa",), r"\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b"),
    (("pypi-agei",), r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"),
    (("_v1_",), r"\bdo[por]_v1_[a-f0-9]{64}\b"),
    (("shpat_", "shpss_", "shpca_", "shppa_"), r"\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}\b"),
    (("key-",), r"\bkey-[0-9a-z]{32}\b"),
    (("gsk_",), r"\bgsk_[A-Za-z0-9]{48,}"),
    (("dapi",), r"\bdapi[a-f0-9]{32}\b"),
    (("hvs.", "hvb."), r"\bhv[sb]\.[A-Za-z0-9_-]{24,}"),
    (("dckr_pat_", "r8_", "pplx-", "xai-", "lin_api_", "ntn_", "pmak-", "atatt3", "sntry", "dp.", "whsec_", "age-secret-key-"),
     r"\bdckr_pat_[A-Za-z0-9_-]{20,}|\br8_[A-Za-z0-9]{37}\b|\bpplx-[A-Za-z0-9]{40,}|\bxai-[A-Za-z0-9]{60,}"
     r"|\blin_api_[A-Za-z0-9]{40}\b|\bntn_[A-Za-z0-9]{40,}|\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}\b|\bATATT3[A-Za-z0-9_=-]{100,}"
     r"|\bsntry[su]_[A-Za-z0-9+/=_-]{40,}|\bdp\.(?:pt|st|sa|ct)\.[A-Za-z0-9]{40,}|\bwhsec_[A-Za-z0-9+/=]{24,}"
     r"|\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b"),
)
# fmt: on

# fmt: off
RULES: tuple[Rule, ...] = (
    *(
        Rule("provider_key", SECRET, "contains an API key or token in a known provider format", rx(pattern, 0),
             needles=needles, views=LITERAL_VIEWS, check=_provider_ok, mask=True)
        for needles, pattern in _PROVIDERS
    ),
    Rule(
        "private_key", SECRET, "contains a private key block",
        rx(r"-----BEGIN\s+(?:[A-Z0-9]+\s+)*PRIVATE\s+KEY(?:\s+BLOCK)?-----", 0),
        needles=("private key",),
        views=LITERAL_VIEWS,
        check=_pem_ok,
        mask=True,
    ),
    Rule(
        "password_literal", SECRET, "assigns a literal password",
        rx(
            r"(?P<name>(?:password|passwd|pwd|passphrase|pass_?word|db_?pass)[A-Za-z0-9_.-]*)"
            + _SEP + _VALUE
            + r"|\b(?:(?:password|passphrase|passcode|pin)\s+(?:for\s+\S+\s+)?(?:is|was)|(?:with|using|use)\s+(?:the\s+)?(?:password|passphrase))\s+(?P<q2>[\"'`])?(?P<value2>[^\s\"'`,;)]{6,})"
        ),
        needles=("pass", "pwd"),
        views=LITERAL_VIEWS,
        check=lambda m, text: _password_ok(_Alt(m, "value2", "q2") if m.group("value") is None else m, text),
        mask=True,
    ),
    Rule(
        "secret_assignment", SECRET, "assigns a high-entropy token to a key-like name",
        rx(r"(?P<name>" + _NAME + r")" + _SEP + r"(?P<q>[bru]?[\"'`])?(?P<value>[^\s\"'`,;)}\]]{16,})"),
        needles=("pass", "pwd", "secret", "token", "key", "credential", "bearer"),
        views=LITERAL_VIEWS,
        check=_keyname_ok,
        mask=True,
    ),
    Rule(
        "secret_in_prose", SECRET, "mentions a key or token followed by a high-entropy value",
        rx(
            r"\b(?:token|key|secret|password|passphrase|credential)s?\b[^.\n:=]{0,40}[:=]\s*[\"'`]?(?P<value>[A-Za-z0-9_\-+/=.~]{20,})"
            r"|\b(?:token|key|secret)\s+(?:is|was)\s+[\"'`]?(?P<value2>[A-Za-z0-9_\-+/=.~]{20,})"
        ),
        needles=("token", "key", "secret", "password", "passphrase", "credential"),
        views=LITERAL_VIEWS,
        check=lambda m, text: looks_random((m.group("value") or m.group("value2")).rstrip("."), min_entropy=3.3),
        mask=True,
    ),
    Rule(
        "stated_credential", SECRET, "states a concrete password, login or key for a named system",
        rx(
            r"\b(?:wi-?fi|wlan|admin|root|db|database|server|vpn|router|ssh|ftp|smtp|mail|e-?mail|office|account|login|sandbox|production|prod|staging)"
            r"\s+(?:\w+\s+){0,2}?(?:password|passphrase|passcode|pin)\s+(?:for\s+(?:the\s+)?[\w .-]{1,30}?\s+)?(?:is|was|=|:)\s+[\"'`]?(?P<value>\S{8,})"
            r"|\b(?:login|logon|credentials?|creds)\s+(?:for\s+(?:the\s+)?[\w .-]{1,30}?\s+)?(?:is|are|:)\s+[\w.@-]{2,32}\s*(?:/|:)\s*[\"'`]?(?P<value2>\S{8,})"
            r"|\b(?:api\s+|access\s+|secret\s+)?(?:secret|token|key)\s+for\s+(?:the\s+)?[\w .-]{1,40}?\s+is\s+[\"'`]?(?P<value3>[A-Za-z0-9_\-+/=.~]{16,})"
        ),
        needles=("password", "passphrase", "passcode", "pin", "login", "logon", "credential", "creds", "secret",
                 "token", "key"),
        views=LITERAL_VIEWS,
        check=_stated_ok,
        mask=True,
        negatable=True,
    ),
    Rule(
        "auth_header", SECRET, "contains a literal Authorization header credential",
        rx(r"\b(?:authorization|proxy-authorization)\s*[:=]\s*[\"']?(?:bearer|token)\s+(?P<value>[A-Za-z0-9._~+/=-]{16,})"),
        needles=("authorization",),
        views=LITERAL_VIEWS,
        check=_value_ok,
        mask=True,
    ),
    Rule(
        "basic_auth", SECRET, "contains HTTP basic-auth credentials",
        rx(r"\bbasic\s+(?P<value>[A-Za-z0-9+/]{12,}={0,2})(?![A-Za-z0-9+/=])"),
        needles=("basic",),
        views=LITERAL_VIEWS,
        check=_basic_ok,
        mask=True,
    ),
    Rule(
        "connection_string", SECRET, "contains a connection string with an embedded password",
        rx(r"\b(?P<scheme>[a-z][a-z0-9+.-]{1,20})://(?P<user>[^\s:/@'\"]{0,64}):(?P<value>[^\s@/'\"]{3,})@(?P<host>[^\s/'\"]+)"),
        needles=("://",),
        views=LITERAL_VIEWS,
        check=_conn_ok,
        mask=True,
    ),
    Rule(
        "cli_password", SECRET, "passes a literal password on a command line",
        rx(
            r"\bcurl\b[^\n]*?\s(?:-u|--user)\s+['\"]?(?P<user>[^:\s'\"]+):(?P<value>[^\s'\"@]{4,})"
            r"|\bsshpass\s+-p\s*['\"]?(?P<value2>[^\s'\"]{4,})"
            r"|\b(?:docker|podman|helm|oras)\s+(?:registry\s+)?login\b[^\n]*?\s(?:-p|--password)\s+['\"]?(?P<value3>[^\s'\"]{6,})"
            r"|\bmysql(?:dump|admin)?\b[^\n]*?\s-p(?P<value4>[^\s'\"-][^\s'\"]{3,})"
            r"|\bmachine\s+\S+\s+(?:login\s+\S+\s+)?password\s+(?P<value5>\S{6,})"
            r"|\bAccountKey=(?P<value6>[A-Za-z0-9+/]{40,}={0,2})"
        ),
        needles=("curl", "sshpass", "login", "mysql", "machine", "accountkey"),
        views=LITERAL_VIEWS,
        check=lambda m, text: _cli_ok(m),
        mask=True,
    ),
)
# fmt: on


class _Alt:
    """Presents an alternative branch's groups as ``value``/``q`` so one check serves both branches."""

    def __init__(self, m: re.Match[str], value: str, q: str) -> None:
        self._m, self._value, self._q = m, value, q

    def group(self, name: str) -> str | None:
        return self._m.group(self._value if name == "value" else name)

    def groupdict(self) -> dict[str, str | None]:
        return {"q": self._m.group(self._q), "value": self._m.group(self._value)}


def _cli_ok(m: re.Match[str]) -> bool:
    groups = m.groupdict()
    value = next(
        groups[k] for k in ("value", "value2", "value3", "value4", "value5", "value6") if groups.get(k)
    )
    if groups.get("user") and value == groups["user"]:
        return False
    if _REFERENCE.match(value) or is_placeholder(value):
        return False
    return len(value) >= 4
