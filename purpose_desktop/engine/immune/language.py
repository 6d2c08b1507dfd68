"""Passages in a language the scan does not read: found with py3langid, named, and never vouched for.

Every rule and both learned heads read English (and a few override phrases in other large languages).
An instruction translated into Irish, Zulu or Welsh passes all of them unread — a known way round
safety filters ("low-resource language" attacks). Rather than pretend to read those languages, the scan
says so: :func:`foreign_passages` finds each clause that a language identifier (py3langid, the
maintained fork of langid.py: a naive Bayes model over byte n-grams, 140 labels, BSD licence) places
confidently outside English, and the scan reports one finding per language. Where such a passage can
steer the model — a lesson, tool output — that finding blocks until the person reads it and allows the
language; in the person's own documents it is only flagged.

A clause is a run of text between sentence, line, colon and list punctuation with at least four words
and twenty characters; shorter pieces are too short to identify. "Confidently" means the top language
has probability ≥ 0.9 and English ≤ 0.01 (py3langid's length-calibrated probabilities). Code, hashes and
other text without language fall in py3langid's "zxx" class and are never reported.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

MIN_WORDS = 4
MIN_CHARS = 20
MIN_CONFIDENCE = 0.9
MAX_ENGLISH = 0.01
_NOT_A_LANGUAGE = frozenset({"en", "zxx"})
_CLAUSE = re.compile(r"[^.!?\n|:;*#]+")
_WORD = re.compile(r"[^\W\d_]{2,}")

# py3langid's labels, named for the person (ISO 639-1/-3 codes).
LANGUAGE_NAMES = {
    "af": "Afrikaans", "am": "Amharic", "an": "Aragonese", "ar": "Arabic", "ary": "Moroccan Arabic",
    "arz": "Egyptian Arabic", "as": "Assamese", "ace": "Acehnese", "az": "Azerbaijani", "ba": "Bashkir",
    "bcl": "Central Bikol", "be": "Belarusian", "bg": "Bulgarian", "bn": "Bengali", "br": "Breton",
    "bs": "Bosnian", "ca": "Catalan", "crh": "Crimean Tatar", "cs": "Czech", "cy": "Welsh", "da": "Danish",
    "de": "German", "dz": "Dzongkha", "el": "Greek", "eo": "Esperanto", "es": "Spanish", "et": "Estonian",
    "eu": "Basque", "ext": "Extremaduran", "fa": "Persian", "fi": "Finnish", "fo": "Faroese", "fr": "French",
    "fuv": "Nigerian Fulfulde", "fy": "Frisian", "ga": "Irish", "gcf": "Guadeloupean Creole",
    "gcr": "Guianese Creole", "gd": "Scottish Gaelic", "gl": "Galician", "gom": "Konkani",
    "grc": "Ancient Greek", "gu": "Gujarati", "gug": "Guarani", "guw": "Gun", "ha": "Hausa",
    "hbo": "Ancient Hebrew", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "ht": "Haitian Creole",
    "hu": "Hungarian", "hy": "Armenian", "id": "Indonesian", "ig": "Igbo", "is": "Icelandic",
    "it": "Italian", "ja": "Japanese", "jv": "Javanese", "ka": "Georgian", "kab": "Kabyle", "kik": "Kikuyu",
    "kk": "Kazakh", "km": "Khmer", "kn": "Kannada", "ko": "Korean", "ku": "Kurdish", "ky": "Kyrgyz",
    "la": "Latin", "lb": "Luxembourgish", "lg": "Ganda", "lij": "Ligurian", "ln": "Lingala", "lo": "Lao",
    "lt": "Lithuanian", "ltg": "Latgalian", "lv": "Latvian", "mg": "Malagasy", "mk": "Macedonian",
    "ml": "Malayalam", "mn": "Mongolian", "mr": "Marathi", "ms": "Malay", "mt": "Maltese", "my": "Burmese",
    "ne": "Nepali", "nl": "Dutch", "nn": "Norwegian Nynorsk", "no": "Norwegian", "nso": "Northern Sotho",
    "oc": "Occitan", "om": "Oromo", "or": "Odia", "pa": "Punjabi", "pcm": "Nigerian Pidgin", "pl": "Polish",
    "ps": "Pashto", "pt": "Portuguese", "qu": "Quechua", "ro": "Romanian", "ru": "Russian",
    "rw": "Kinyarwanda", "sa": "Sanskrit", "sdh": "Southern Kurdish", "se": "Northern Sami",
    "si": "Sinhala", "sk": "Slovak", "sl": "Slovenian", "sn": "Shona", "so": "Somali", "sq": "Albanian",
    "sr": "Serbian", "st": "Sesotho", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu",
    "tg": "Tajik", "th": "Thai", "tk": "Turkmen", "tl": "Tagalog", "tr": "Turkish", "tt": "Tatar",
    "ug": "Uyghur", "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek", "uzs": "Southern Uzbek",
    "vec": "Venetian", "vi": "Vietnamese", "vo": "Volapük", "wa": "Walloon", "wuu": "Wu Chinese",
    "xh": "Xhosa", "yo": "Yoruba", "yue": "Cantonese", "zh": "Chinese", "zu": "Zulu",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Passage:
    """One clause in another language: its ISO code, name, span in the text and the identifier's probability."""

    code: str
    name: str
    span: tuple[int, int]
    confidence: float


_lock = threading.Lock()
_identifier: Any = None


def identifier() -> Any:
    """py3langid's identifier with probabilities, loaded once per process (about half a second)."""
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _identifier


def foreign_passages(text: str) -> list[Passage]:
    """Every clause of ``text`` confidently in a language other than English, in order."""
    clauses = []
    for m in _CLAUSE.finditer(text):
        piece = m.group(0)
        stripped = piece.strip()
        if len(stripped) >= MIN_CHARS and len(_WORD.findall(stripped)) >= MIN_WORDS:
            start = m.start() + piece.index(stripped)
            clauses.append((stripped, (start, start + len(stripped))))
    if not clauses:
        return []
    ident = identifier()
    found = []
    for clause, span in clauses:
        ranked = dict(ident.rank(clause))
        code = max(ranked, key=ranked.__getitem__)
        confidence = ranked[code]
        if code in _NOT_A_LANGUAGE or confidence < MIN_CONFIDENCE or ranked.get("en", 0.0) > MAX_ENGLISH:
            continue
        found.append(Passage(code, LANGUAGE_NAMES.get(code, code), span, round(float(confidence), 3)))
    return found
