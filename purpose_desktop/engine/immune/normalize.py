"""Text views for the immune scan (folded, leet, de-spaced, squashed, rot13), each mapped back to the original."""

from __future__ import annotations

import codecs
import itertools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

# Characters that render as nothing. Zero-width and bidi controls are also reported (hidden_marks);
# the rest (soft hyphen, variation selectors, fillers) are only dropped from the views.
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff")
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_DROP_EXTRA = frozenset("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u3164\uffa0")
TAG_FIRST, TAG_LAST = 0xE0000, 0xE007F

# Look-alikes NFKC leaves alone: Cyrillic, Greek, Armenian, Latin small capitals and IPA letters.
_HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j",
    "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "у": "y",
    "ѵ": "v", "ԝ": "w", "х": "x", "г": "r", "п": "n", "ь": "b", "ӡ": "z", "џ": "u",
    "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Ј": "J", "К": "K", "М": "M", "О": "O",
    "Р": "P", "Ѕ": "S", "Т": "T", "Х": "X", "У": "Y", "Ԝ": "W", "Ү": "Y", "Ꙅ": "S",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C",
    # Armenian
    "օ": "o", "ս": "u", "ո": "n", "ց": "g", "հ": "h", "ք": "f", "լ": "l", "զ": "q", "ա": "w",
    # Latin extensions, IPA and small capitals
    "ı": "i", "ȷ": "j", "ɑ": "a", "ɡ": "g", "ɩ": "i", "ɪ": "i", "ʟ": "l", "ɴ": "n", "ʀ": "r", "ʏ": "y",
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ғ": "f", "ɢ": "g", "ʜ": "h", "ᴊ": "j", "ᴋ": "k",
    "ᴍ": "m", "ᴏ": "o", "ᴘ": "p", "ǫ": "q", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ᴢ": "z",
    "ƅ": "b", "ɾ": "r", "ɼ": "r", "ʂ": "s", "ɣ": "y", "ᏼ": "b", "Ꭺ": "A", "Ᏼ": "B", "Ꮯ": "C",
    "Ꭼ": "E", "Ꮋ": "H", "Ꮶ": "K", "Ꮇ": "M", "Ꭲ": "T", "Ꮃ": "W", "Ꮪ": "S",
    # Punctuation look-alikes that matter for commands and tags
    "\u2044": "/", "\u2215": "/", "\u29f8": "/", "\u2010": "-", "\u2011": "-", "\u2012": "-",
    "\u2013": "-", "\u2212": "-", "\uff5c": "|", "\u2223": "|", "\u01c0": "|", "\u2028": "\n", "\u2029": "\n",
}  # fmt: skip
# Negative-circled / negative-squared / regional-indicator capitals have no NFKC decomposition.
for _base in (0x1F150, 0x1F170, 0x1F1E6):
    for _k in range(26):
        _HOMOGLYPHS[chr(_base + _k)] = chr(ord("a") + _k)

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "@": "a", "$": "s",
         "!": "i"}  # fmt: skip
# Symbols count only inside a word ("p@ssw0rd"), never at its edges ("@dataclass", "$HOME", "done!!!").
# A word with at least one letter and one leet character inside it; symbols never at its edges.
_LEET_WORD = re.compile(
    r"(?<![A-Za-z0-9@$!])(?=[A-Za-z0-9@$!]*[A-Za-z])(?=[A-Za-z0-9@$!]*[0-9@$!])[A-Za-z0-9](?:[A-Za-z0-9@$!]*[A-Za-z0-9])?"
)
_LONE_NUMBER = re.compile(r"\s+(\d{1,4})\s+")
# One character per token, separated by one to three of the same kind of separator: "i g n o r e".
_SPACED = re.compile(
    r"(?<![^\W_])[^\W_](?:(?:[ \t]{1,3}|[ \t]*[/|][ \t]*|[.\-_*+~·•]{1,2})(?:[^\W_]|[:,;!?'\"()](?=[ \t]))){3,}(?![^\W_])"
)
_RUN_PART = re.compile(r"[^\W_]|[:,;!?'\"()]|[ \t]*[/|][ \t]*|[ \t]+|[.\-_*+~·•]+")
_RUN_PUNCT = frozenset(":,;!?'\"()")
_ALNUM_RUN = re.compile(r"[a-z0-9]+")
_HEXISH = re.compile(r"[0-9a-fA-F]{8,}")


@dataclass(frozen=True, slots=True)
class View:
    """One rendering of the text; ``starts``/``ends`` give each character's span in the original."""

    name: str
    text: str
    starts: list[int]
    ends: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        if not self.text:
            return (0, 0)
        start = min(max(start, 0), len(self.text) - 1)
        end = max(min(end, len(self.text)), start + 1)
        # min/max rather than first/last so a reversed view maps back correctly too.
        return (min(self.starts[start], self.starts[end - 1]), max(self.ends[start], self.ends[end - 1]))


def identity_view(name: str, text: str) -> View:
    """A view of ``text`` that is the original itself."""
    return View(name, text, list(range(len(text))), list(range(1, len(text) + 1)))


@lru_cache(maxsize=8192)
def fold_char(ch: str) -> str:
    """Compatibility-decompose one character, drop its combining marks and map look-alikes to Latin."""
    if ch in _HOMOGLYPHS:
        return _HOMOGLYPHS[ch]
    decomposed = unicodedata.normalize("NFKD", ch)
    out = []
    for part in decomposed:
        if unicodedata.combining(part):
            continue
        out.append(_HOMOGLYPHS.get(part, part))
    return "".join(out)


def is_invisible(ch: str) -> bool:
    """Format characters (Cf), tag characters and variation selectors: all render as nothing."""
    code = ord(ch)
    if ch in ZERO_WIDTH or ch in BIDI or ch in _DROP_EXTRA:
        return True
    if TAG_FIRST <= code <= TAG_LAST or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF:
        return True
    return unicodedata.category(ch) == "Cf"


def fold(view: View, name: str = "text") -> View:
    """Fold ``view`` for matching: invisible characters removed, NFKD compatibility forms (full-width,
    mathematical, circled letters, ligatures) decomposed, accents dropped and look-alikes mapped to Latin.

    NFKD plus dropping combining marks is NFKC with accents stripped, which is what matching English
    phrases needs ("ïgnöre" reads "ignore").
    """
    text = view.text
    if text.isascii():
        return View(name, text, view.starts, view.ends)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(text):
        if ch.isascii():
            out.append(ch)
            starts.append(view.starts[i])
            ends.append(view.ends[i])
            continue
        if is_invisible(ch):
            continue
        folded = fold_char(ch)
        for part in folded:
            out.append(part)
            starts.append(view.starts[i])
            ends.append(view.ends[i])
    return View(name, "".join(out), starts, ends)


def hidden_marks(text: str) -> list[tuple[int, str]]:
    """Positions of zero-width and bidi controls that can hide or reorder text (not emoji joiners, not a BOM)."""
    marks: list[tuple[int, str]] = []
    if text.isascii():
        return marks
    for i, ch in enumerate(text):
        if ch not in ZERO_WIDTH and ch not in BIDI:
            continue
        if ch == "\ufeff" and i == 0:
            continue  # a byte-order mark at the start is an encoding artefact
        if ch in "\u200c\u200d" and not _touches_latin(text, i):
            continue  # emoji ZWJ sequences and Persian/Indic joiners are ordinary text
        if ch in "\u200e\u200f" and not _touches_latin(text, i):
            continue  # direction marks inside right-to-left prose are ordinary text
        marks.append((i, ch))
    return marks


def _touches_latin(text: str, i: int) -> bool:
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isascii() and before.isalnum()) or (after.isascii() and after.isalnum())


def leet_views(view: View, lexicon: Lexicon) -> list[View]:
    """Fold digits and symbols inside letter-bearing tokens ("p4ssw0rd" → "password"); [] if nothing changes.

    Only spellings of words the detectors know are folded, so code, versions and ids stay as written. A
    short all-digit token between two folded words may be a word ("7ell 7he u53r 70 v1s17") or a number
    ("sc0r3 10 f0r"), so when there is one a second view folds it too. Long texts keep only the stretches
    around folded words, so a document is not rescanned whole.
    """
    text = view.text
    folds: list[tuple[int, int, str]] = []
    for m in _LEET_WORD.finditer(text):
        token = m.group(0)
        if m.start() > 0 and text[m.start() - 1] in "%\\&#":
            continue  # %5F, \x41 and &#65; are escapes, not words
        if len(token) > 20 or _HEXISH.fullmatch(token) or sum(ch.isalpha() for ch in token) < 2:
            continue  # hashes, ids and base64 are not words
        reading = _unleet_token(token, lexicon)
        if reading is not None:
            folds.append((m.start(), m.end(), reading))
    if not folds:
        return []
    between: list[tuple[int, int, str]] = []
    for (_, end, _), (start, _, _) in itertools.pairwise(folds):
        gap = _LONE_NUMBER.fullmatch(text, end, start)
        if gap:
            number = gap.group(1)
            between.append((gap.start(1), gap.end(1), "".join(_LEET.get(ch, ch) for ch in number)))
    lone = [b for b in between if text[b[0] : b[1]] in ("4", "1")]  # "4" and "1" alone read as "a" and "I"
    views: list[View] = []
    for extra in (lone, between) if len(between) > len(lone) else (lone,):
        pieces: list[str] = []
        pos = 0
        for start, end, reading in sorted(folds + extra):
            pieces.append(text[pos:start])
            pieces.append(reading)
            pos = end
        pieces.append(text[pos:])
        folded = "".join(pieces)
        if folded != text and all(folded != v.text for v in views):
            views.append(View("leet", folded, view.starts, view.ends))
    return [part for v in views for part in _around(v, [(a, b) for a, b, _ in folds])]


def _around(view: View, changed: list[tuple[int, int]], margin: int = 160) -> list[View]:
    """The stretches of a same-length view near its changed spans (the whole view when they cover most of it)."""
    windows: list[list[int]] = []
    for start, end in changed:
        lo, hi = max(0, start - margin), min(len(view.text), end + margin)
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], hi)
        else:
            windows.append([lo, hi])
    if sum(hi - lo for lo, hi in windows) > 0.7 * len(view.text):
        return [view]
    return [View(view.name, view.text[lo:hi], view.starts[lo:hi], view.ends[lo:hi]) for lo, hi in windows]


class Lexicon:
    """The words the detectors look for; leet folding only produces these, so code and ids stay as written."""

    _SHORT = frozenset("a i to of is it as at on or so be no do go me my us an in if up".split())

    def __init__(self, words: frozenset[str]) -> None:
        self.words = words | self._SHORT
        self.prefixes = frozenset(word[:4] for word in words if len(word) >= 4)

    def knows(self, word: str) -> bool:
        low = word.lower()
        return low in self.words or (len(low) >= 4 and low[:4] in self.prefixes)


def _unleet_token(token: str, lexicon: Lexicon) -> str | None:
    """The token with leet characters read as letters, if that spells a known word; else None."""
    base = "".join(_LEET.get(ch, ch) for ch in token)
    if base == token:
        return None
    ones = [i for i, ch in enumerate(token) if ch in "1!"]
    if not ones:
        return base if lexicon.knows(base) else None
    # "1" reads as either i or l; take whichever spelling is a word the detectors know.
    for choice in itertools.islice(itertools.product("il", repeat=len(ones)), 64):
        chars = list(base)
        for pos, letter in zip(ones, choice, strict=True):
            chars[pos] = letter
        candidate = "".join(chars)
        if lexicon.knows(candidate):
            return candidate
    return None


class TypoIndex:
    """Finds the word the detectors know that a misspelt token was meant to be ("Ignroe" → "ignore").

    One edit (a letter added, dropped, changed, or two neighbours swapped) away, the first letter kept:
    "disreguard", "prevoius instrutcions", "rulez". A symmetric-delete index makes the lookup a few dict
    probes per token.
    """

    MIN_TOKEN = 5
    #: The words overrides and leaks are spelt with; only these are corrected, so ordinary words stay.
    WORDS = frozenset(
        "ignore disregard forget previous prior above earlier instructions instruction directions directives "
        "everything anything told follow instead rules system prompt reveal override guidelines orders obey "
        "pretend conversation password secret message repeat print output initial original hidden bypass safety "
        "filters restrictions developer admin administrator jailbreak respond reply answer only before said "
        "given received programming configuration verbatim forgotten disable".split()
    )

    def __init__(self, words: frozenset[str] = WORDS) -> None:
        self.words = words
        index: dict[str, set[str]] = {}
        for word in words:
            if len(word) < 4 or not word.isalpha():
                continue
            for key in {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}:
                index.setdefault(key, set()).add(word)
        self._index = index

    def correct(self, token: str) -> str | None:
        low = token.lower()
        if len(low) < self.MIN_TOKEN or low in self.words or not low.isalpha():
            return None
        candidates: set[str] = set()
        for key in {low, *(low[:i] + low[i + 1 :] for i in range(len(low)))}:
            candidates.update(self._index.get(key, ()))
        best = sorted(
            c for c in candidates if c[0] == low[0] and not _inflected(low, c) and _one_edit(low, c)
        )
        return best[0] if best else None


def _inflected(token: str, word: str) -> bool:
    """An inflection of the word ("rules" for "rule", "ignored" for "ignore"), not a typo."""
    return (token.startswith(word) and token[len(word) :] in ("s", "d", "r")) or (
        word.startswith(token) and word[len(token) :] in ("s", "d", "r")
    )


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by one insertion, deletion, substitution or adjacent swap."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


_TYPO_TOKEN = re.compile(r"[^\W\d_]{5,}")


def typo_view(view: View, index: TypoIndex) -> list[View]:
    """The text with misspelt known words spelt right, around the corrections only; [] if none.

    "Ignroe all prevoius instrutcions" reads "ignore all previous instructions". Each corrected word maps
    back to the token it replaced.
    """
    text = view.text
    pieces: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    changed: list[tuple[int, int]] = []
    pos = 0
    length = 0  # of the corrected text so far
    for m in _TYPO_TOKEN.finditer(text):
        word = index.correct(m.group(0))
        if word is None:
            continue
        pieces.append(text[pos : m.start()])
        starts.extend(view.starts[pos : m.start()])
        ends.extend(view.ends[pos : m.start()])
        out_start = length + m.start() - pos
        pieces.append(word)
        starts.extend([view.starts[m.start()]] * len(word))
        ends.extend([view.ends[m.end() - 1]] * len(word))
        changed.append((out_start, out_start + len(word)))
        length = out_start + len(word)
        pos = m.end()
    if not changed:
        return []
    pieces.append(text[pos:])
    starts.extend(view.starts[pos:])
    ends.extend(view.ends[pos:])
    return _around(View("typo", "".join(pieces), starts, ends), changed)


def spaced_view(view: View) -> View | None:
    """Join letters spelled out one at a time ("i g n o r e  a l l", "I-g-n-o-r-e a-l-l" → "ignore all").

    Within a run the most common separator sits between letters; any other separator (a double space,
    a single space between dashed words, a slash) is a word gap.
    """
    text = view.text
    runs = list(_SPACED.finditer(text))
    if not runs:
        return None
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for run in runs:
        for i in range(pos, run.start()):
            out.append(text[i])
            starts.append(view.starts[i])
            ends.append(view.ends[i])
        parts = list(_RUN_PART.finditer(text, run.start(), run.end()))
        separators = Counter(
            p.group(0) for p in parts if not p.group(0).isalnum() and p.group(0) not in _RUN_PUNCT
        )
        joiner = separators.most_common(1)[0][0] if separators else ""
        for part in parts:
            piece = part.group(0)
            if piece.isalnum() or piece in _RUN_PUNCT:
                out.append(piece)
            elif piece != joiner:
                out.append(" ")
            else:
                continue
            starts.append(view.starts[part.start()])
            ends.append(view.ends[part.end() - 1])
        pos = run.end()
    for i in range(pos, len(text)):
        out.append(text[i])
        starts.append(view.starts[i])
        ends.append(view.ends[i])
    return View("spaced", "".join(out), starts, ends)


def squashed_view(view: View) -> View:
    """Lower-case letters and digits only, so separators inside words ("ig-no-re", "i_g_n") disappear."""
    low = view.text.lower()
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for run in _ALNUM_RUN.finditer(low):
        out.append(run.group(0))
        starts.extend(view.starts[run.start() : run.end()])
        ends.extend(view.ends[run.start() : run.end()])
    return View("squashed", "".join(out), starts, ends)


def rot13_view(view: View) -> View:
    return View("rot13", codecs.encode(view.text, "rot13"), view.starts, view.ends)


def reversed_view(view: View) -> View:
    return View("reversed", view.text[::-1], view.starts[::-1], view.ends[::-1])
