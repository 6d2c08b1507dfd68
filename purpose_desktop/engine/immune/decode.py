"""Finds encoded payloads (base64, hex, escapes, percent-encoding, Unicode tags) and decodes them for scanning."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from .normalize import TAG_FIRST, TAG_LAST, View

_B64 = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_HEX = re.compile(r"(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{2}){8,}(?![0-9A-Za-z])")
_HEX_SPACED = re.compile(
    r"(?<![0-9A-Za-z])(?:(?:0x)?[0-9A-Fa-f]{2}[ ,:]\s?){7,}(?:0x)?[0-9A-Fa-f]{2}(?![0-9A-Za-z])"
)
_ESCAPE = re.compile(
    r"\\x([0-9A-Fa-f]{2})|\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})|%([0-9A-Fa-f]{2})"
    r"|&#([0-9]{2,7});|&#[xX]([0-9A-Fa-f]{2,6});|\\([0-7]{3})"
)
_MAX_CANDIDATES = 24
_TAG = re.compile("[\U000e0000-\U000e007f]")


@dataclass(frozen=True, slots=True)
class Payload:
    """Text decoded from an encoded token; ``span`` is where the encoded token sits in the original."""

    via: str
    text: str
    span: tuple[int, int]


def _readable(data: bytes) -> str | None:
    """The decoded text if it is mostly printable prose or code, else None."""
    if len(data) < 6:
        return None
    # PowerShell -EncodedCommand and Windows tooling use UTF-16LE: every other byte is zero.
    encoding = (
        "utf-16-le" if len(data) % 2 == 0 and data[1::2].count(0) >= 0.9 * (len(data) // 2) else "utf-8"
    )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\r\t")
    letters = sum(1 for ch in text if ch.isalpha())
    if printable < 0.95 * len(text) or letters < 0.45 * len(text):
        return None
    return text


def base64_payloads(view: View) -> list[Payload]:
    out = []
    for m in _B64.finditer(view.text):
        token = m.group(0)
        body = token.rstrip("=")
        if body.isalpha() and (body.islower() or body.isupper()):
            continue  # a long plain word or identifier, not base64
        if not any(ch.isdigit() or ch.isupper() for ch in body) or not any(ch.islower() for ch in body):
            continue
        padded = body + "=" * (-len(body) % 4)
        try:
            if "-" in body or "_" in body:
                data = base64.urlsafe_b64decode(padded)
            else:
                data = base64.b64decode(padded, validate=True)
        except (binascii.Error, ValueError):
            continue
        text = _readable(data)
        if text is not None:
            out.append(Payload("base64", text, view.span(m.start(), m.end())))
        if len(out) >= _MAX_CANDIDATES:
            break
    return out


def hex_payloads(view: View) -> list[Payload]:
    out = []
    for pattern in (_HEX, _HEX_SPACED):
        for m in pattern.finditer(view.text):
            digits = re.sub(r"0x|[^0-9A-Fa-f]", "", m.group(0))
            if len(digits) % 2:
                continue
            text = _readable(bytes.fromhex(digits))
            if text is not None:
                out.append(Payload("hex", text, view.span(m.start(), m.end())))
            if len(out) >= _MAX_CANDIDATES:
                return out
    return out


def tag_payloads(text: str) -> list[Payload]:
    """Unicode tag characters (U+E0020–E007E) spell invisible ASCII; flag emoji use short runs legitimately."""
    out: list[Payload] = []
    if text.isascii() or _TAG.search(text) is None:
        return out
    i = 0
    while i < len(text):
        if TAG_FIRST <= ord(text[i]) <= TAG_LAST:
            j = i
            while j < len(text) and TAG_FIRST <= ord(text[j]) <= TAG_LAST:
                j += 1
            decoded = "".join(
                chr(ord(ch) - TAG_FIRST) for ch in text[i:j] if 0x20 <= ord(ch) - TAG_FIRST <= 0x7E
            )
            is_flag = i > 0 and text[i - 1] == "\U0001f3f4" and j - i <= 7
            if decoded and not is_flag:
                out.append(Payload("tags", decoded, (i, j)))
            i = j
        else:
            i += 1
    return out


def escapes_view(view: View) -> View | None:
    """Decode \\xNN, \\uNNNN, %NN, &#NN; and octal escapes in place; None unless at least three are present."""
    text = view.text
    if "\\" not in text and "%" not in text and "&" not in text:
        return None
    matches = list(_ESCAPE.finditer(text))
    if len(matches) < 3:
        return None
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    pending: list[int] = []  # raw bytes of consecutive \x / % escapes, decoded together as UTF-8
    pending_span = [0, 0]

    def flush() -> None:
        if pending:
            decoded = bytes(pending).decode("utf-8", errors="replace")
            for ch in decoded:
                out.append(ch)
                starts.append(view.starts[pending_span[0]])
                ends.append(view.ends[pending_span[1] - 1])
            pending.clear()

    for m in matches:
        if m.start() != pos:
            flush()
            for i in range(pos, m.start()):
                out.append(text[i])
                starts.append(view.starts[i])
                ends.append(view.ends[i])
        hx, u4, u8, pct, dec, hexent, octal = m.groups()
        if hx or pct:
            if not pending:
                pending_span[0] = m.start()
            pending.append(int(hx or pct, 16))
            pending_span[1] = m.end()
        else:
            flush()
            if u4 or u8 or hexent:
                code = int(u4 or u8 or hexent, 16)
            elif dec:
                code = int(dec)
            else:
                code = int(octal, 8)
            ch = chr(code) if code <= 0x10FFFF else "\ufffd"
            out.append(ch)
            starts.append(view.starts[m.start()])
            ends.append(view.ends[m.end() - 1])
        pos = m.end()
    flush()
    for i in range(pos, len(text)):
        out.append(text[i])
        starts.append(view.starts[i])
        ends.append(view.ends[i])
    decoded = "".join(out)
    if decoded == text:
        return None
    return View("escapes", decoded, starts, ends)
