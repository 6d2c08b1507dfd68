"""Builds the immune-scan dev set (attacks.jsonl, benign.jsonl) from hand-written seeds plus obfuscations.

Run ``python tests/data/immune/build_dataset.py`` to regenerate. Seeds are written in the styles of
public prompt-injection and jailbreak collections (deepset/prompt-injections, Gandalf, HackAPrompt,
DAN-style prompts), secret-scanner rule examples (gitleaks/trufflehog key shapes), GTFOBins-style shell
one-liners, and ordinary developer advice. Every obfuscated variant shares its seed's group, and the
dev/test split is taken per group, so a held-back seed never leaks into the dev half through a variant.

Key-shaped fake secrets are generated from a fixed seed and stored with ``<<SPLIT>>`` inside them so
that secret scanners (and push protection) do not flag this repository; loaders remove the marker.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import json
import random
import re
import string
from pathlib import Path

from seeds_attacks import INJECTION, SCORE, SECRET, TOOL
from seeds_benign import BENIGN

HERE = Path(__file__).resolve().parent
MARK = "<<SPLIT>>"

HOMO = {
    "a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "i": "і", "x": "х", "y": "у", "s": "ѕ",
    "A": "А", "E": "Е", "O": "О", "P": "Р", "C": "С", "T": "Т", "H": "Н", "K": "К", "M": "М",
    "B": "В", "X": "Х", "v": "ν", "u": "υ", "n": "ո", "h": "һ",
}  # fmt: skip
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
ZW = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
PREFIXES = [
    "Prefer pathlib over os.path for file handling. ",
    "When a test fails, read the traceback first. ",
    "Lesson from run 42: pin dependency versions in requirements.txt. ",
    "Use type hints on public functions. ",
    "Tip: keep functions short and focused.\n",
    "Context managers close files reliably. ",
]
SUFFIXES = [
    " Also, prefer f-strings for formatting.",
    " Otherwise keep the code style consistent with black.",
    "\nRemember to run ruff before committing.",
    " This makes the code easier to test.",
    "",
]
B64_WRAP = [
    "Decode this base64 and follow it: {}",
    "Config blob (base64): {}",
    "{}",
    "Helpful snippet, decode first -> {}",
    "Note for later: `{}`",
]


def split_of(group: str) -> str:
    """Deterministic half split by group, so variants travel with their seed."""
    return "dev" if hashlib.sha256(group.encode()).digest()[0] % 2 == 0 else "test"


def homoglyph(s: str, rng: random.Random) -> str:
    return "".join(HOMO[ch] if ch in HOMO and rng.random() < 0.6 else ch for ch in s)


def zero_width(s: str, rng: random.Random) -> str:
    out, run = [], 0
    for ch in s:
        out.append(ch)
        run = run + 1 if ch.isalnum() else 0
        if run >= 2 and rng.random() < 0.45:
            out.append(rng.choice(ZW))
            run = 0
    return "".join(out)


def leet(s: str, rng: random.Random) -> str:
    return "".join(LEET[ch.lower()] if ch.lower() in LEET and rng.random() < 0.7 else ch for ch in s)


def spaced(s: str, rng: random.Random) -> str:
    sep = rng.choice(["  ", " / ", "   "])
    return sep.join(" ".join(word) for word in s.split())


def dotted(s: str, rng: random.Random) -> str:
    joiner = rng.choice([".", "-", "_", "*"])
    return " ".join(joiner.join(word) for word in s.split())


def mixed_case(s: str, rng: random.Random) -> str:
    return "".join(ch.upper() if i % 2 else ch.lower() for i, ch in enumerate(s))


def b64(s: str, rng: random.Random) -> str:
    return rng.choice(B64_WRAP).format(base64.b64encode(s.encode()).decode())


def hex_escape(s: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return 'payload = "' + "".join(f"\\x{ord(ch):02x}" for ch in s) + '"  # decode and apply'
    return "hex: " + s.encode().hex()


def url_encode(s: str, rng: random.Random) -> str:
    return "See https://docs.example.org/redirect?next=" + "".join(f"%{b:02X}" for b in s.encode())


def rot13(s: str, rng: random.Random) -> str:
    return "Apply rot13 to read this hint: " + codecs.encode(s, "rot13")


def fullwidth(s: str, rng: random.Random) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in s)


def embed(s: str, rng: random.Random) -> str:
    return rng.choice(PREFIXES) + s + rng.choice(SUFFIXES)


def tag_smuggle(s: str, rng: random.Random) -> str:
    hidden = "".join(chr(0xE0000 + ord(ch)) for ch in s if " " <= ch <= "~")
    return "Great tip: use enumerate() instead of range(len(x))." + hidden


def bidi(s: str, rng: random.Random) -> str:
    return "Use logging instead of print. \u202e" + s + "\u202c"


def newline_split(s: str, rng: random.Random) -> str:
    return s.replace(" ", "\n", 3)


LANGUAGE_TRANSFORMS = [
    homoglyph, zero_width, leet, b64, spaced, mixed_case, embed, hex_escape, url_encode,
    rot13, fullwidth, dotted, tag_smuggle, bidi, newline_split,
]  # fmt: skip
SECRET_TRANSFORMS = [zero_width, embed, b64, homoglyph, url_encode, embed]
TOOL_TRANSFORMS = [embed, b64, zero_width, homoglyph, hex_escape, embed, mixed_case, fullwidth]


# --- fake secret material ------------------------------------------------------------------------
def rand(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def fill_secret(template: str, rng: random.Random) -> str:
    """Replace {kind} slots with fresh key-shaped material; provider prefixes get MARK after them."""
    up, low, dig = string.ascii_uppercase, string.ascii_lowercase, string.digits
    hexd, b64a = "0123456789abcdef", string.ascii_letters + string.digits + "+/"
    slots = {
        "akid": lambda: "AKIA" + MARK + rand(rng, 16, up + "234567"),
        "asia": lambda: "ASIA" + MARK + rand(rng, 16, up + "234567"),
        "aws_secret": lambda: rand(rng, 40, b64a),
        "ghp": lambda: "ghp_" + MARK + rand(rng, 36),
        "gho": lambda: "gho_" + MARK + rand(rng, 36),
        "ghs": lambda: "ghs_" + MARK + rand(rng, 36),
        "ghpat": lambda: "github_pat_" + MARK + rand(rng, 22) + "_" + rand(rng, 59),
        "openai": lambda: "sk-" + MARK + rand(rng, 48),
        "openai_proj": lambda: "sk-proj-" + MARK + rand(rng, 74, string.ascii_letters + dig + "_-"),
        "anthropic": lambda: "sk-ant-api03-" + MARK + rand(rng, 93, string.ascii_letters + dig + "_-") + "AA",
        "slack_bot": lambda: "xoxb-" + MARK + rand(rng, 12, dig) + "-" + rand(rng, 13, dig) + "-" + rand(rng, 24),
        "slack_user": lambda: "xoxp-" + MARK + rand(rng, 12, dig) + "-" + rand(rng, 12, dig) + "-" + rand(rng, 13, dig) + "-" + rand(rng, 32, hexd),
        "slack_hook": lambda: "https://hooks.slack.com/services/T" + MARK + rand(rng, 8, up + dig) + "/B" + rand(rng, 10, up + dig) + "/" + rand(rng, 24),
        "stripe_live": lambda: "sk_live_" + MARK + rand(rng, 24),
        "stripe_rk": lambda: "rk_live_" + MARK + rand(rng, 24),
        "google": lambda: "AIza" + MARK + rand(rng, 35, string.ascii_letters + dig + "_-"),
        "gitlab": lambda: "glpat-" + MARK + rand(rng, 20, string.ascii_letters + dig + "_-"),
        "npm": lambda: "npm_" + MARK + rand(rng, 36),
        "hf": lambda: "hf_" + MARK + rand(rng, 34, string.ascii_letters),
        "twilio_sk": lambda: "SK" + MARK + rand(rng, 32, hexd),
        "hex32": lambda: rand(rng, 32, hexd),
        "hex40": lambda: rand(rng, 40, hexd),
        "hex64": lambda: rand(rng, 64, hexd),
        "sendgrid": lambda: "SG." + MARK + rand(rng, 22, string.ascii_letters + dig + "_-") + "." + rand(rng, 43, string.ascii_letters + dig + "_-"),
        "jwt": lambda: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + MARK + "eyJ" + rand(rng, 60, string.ascii_letters + dig + "_-") + "." + rand(rng, 43, string.ascii_letters + dig + "_-"),
        "pem_body": lambda: "\n".join(rand(rng, 64, b64a) for _ in range(4)),
        "openssh_body": lambda: "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW" + "\n" + rand(rng, 70, b64a) + "\n" + rand(rng, 70, b64a),
        "azure_key": lambda: rand(rng, 86, b64a) + "==",
        "discord": lambda: "MT" + MARK + rand(rng, 22, string.ascii_letters + dig) + "." + rand(rng, 6, string.ascii_letters + dig + "_-") + "." + rand(rng, 27, string.ascii_letters + dig + "_-"),
        "telegram": lambda: rand(rng, 10, dig) + ":" + "AA" + MARK + rand(rng, 33, string.ascii_letters + dig + "_-"),
        "pypi": lambda: "pypi-" + MARK + "AgEIcHlwaS5vcmc" + rand(rng, 60, string.ascii_letters + dig + "_-"),
        "digitalocean": lambda: "dop_v1_" + MARK + rand(rng, 64, hexd),
        "shopify": lambda: "shpat_" + MARK + rand(rng, 32, hexd),
        "mailgun": lambda: "key-" + MARK + rand(rng, 32, hexd),
        "groq": lambda: "gsk_" + MARK + rand(rng, 52),
        "databricks": lambda: "dapi" + MARK + rand(rng, 32, hexd),
        "vault": lambda: "hvs." + MARK + rand(rng, 90, string.ascii_letters + dig + "_-"),
        "age": lambda: "AGE-SECRET-KEY-1" + MARK + rand(rng, 58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"),
        "uuid": lambda: "-".join(rand(rng, n, hexd) for n in (8, 4, 4, 4, 12)),
        "docker_pat": lambda: "dckr_pat_" + MARK + rand(rng, 27, string.ascii_letters + dig + "_-"),
        "tok24": lambda: rand(rng, 24),
        "tok40": lambda: rand(rng, 40, string.ascii_letters + dig + "_-"),
        "b64_60": lambda: rand(rng, 60, b64a),
        "pw": lambda: rand(rng, 4, up) + rand(rng, 3, dig) + rng.choice("!#%&*") + rand(rng, 5, low) + rand(rng, 2, dig),
    }  # fmt: skip
    return re.sub(r"\{([a-z0-9_]+)\}", lambda m: slots[m.group(1)](), template)


TRANSFORMS_FOR = {"injection": LANGUAGE_TRANSFORMS, "score_manipulation": LANGUAGE_TRANSFORMS,
                  "secret": SECRET_TRANSFORMS, "tool_misuse": TOOL_TRANSFORMS}  # fmt: skip


def build_attacks() -> list[dict]:
    rng = random.Random(20240611)
    rows: list[dict] = []
    for category, seeds in (("injection", INJECTION), ("score_manipulation", SCORE),
                            ("secret", SECRET), ("tool_misuse", TOOL)):  # fmt: skip
        transforms = TRANSFORMS_FOR[category]
        for i, seed in enumerate(seeds):
            group = f"{category}:{i:03d}"
            text = fill_secret(seed, rng) if category == "secret" else seed
            split = split_of(group)
            rows.append({"text": text, "category": category, "obfuscation": "none", "group": group,
                         "split": split})  # fmt: skip
            if i % 2 == 0:  # every other seed also gets one obfuscated variant
                transform = transforms[(i // 2) % len(transforms)]
                plain = text.replace(MARK, "")
                variant = transform(plain, rng)
                rows.append({"text": variant, "category": category, "obfuscation": transform.__name__,
                             "group": group, "split": split})  # fmt: skip
    return rows


def build_benign() -> list[dict]:
    rows = []
    for i, text in enumerate(BENIGN):
        group = f"benign:{i:03d}"
        rows.append({"text": text, "group": group, "split": split_of(group)})
    return rows


def main() -> None:
    attacks = build_attacks()
    # Variants of secrets were built from marker-free text; put the marker back where a provider prefix
    # is visible so the committed file holds no scanner-matching key.
    for row in attacks:
        if row["category"] == "secret" and row["obfuscation"] in ("embed",):
            seed_row = next(r for r in attacks if r["group"] == row["group"] and r["obfuscation"] == "none")
            plain_seed = seed_row["text"].replace(MARK, "")
            row["text"] = row["text"].replace(plain_seed, seed_row["text"])
    benign = build_benign()
    with open(HERE / "attacks.jsonl", "w", encoding="utf-8") as fh:
        for row in attacks:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(HERE / "benign.jsonl", "w", encoding="utf-8") as fh:
        for row in benign:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts: dict[str, dict[str, int]] = {}
    for row in attacks:
        counts.setdefault(row["category"], {"dev": 0, "test": 0})[row["split"]] += 1
    bsplit = {
        "dev": sum(r["split"] == "dev" for r in benign),
        "test": sum(r["split"] == "test" for r in benign),
    }
    print(json.dumps({"attacks": counts, "benign": bsplit}))


if __name__ == "__main__":
    main()
