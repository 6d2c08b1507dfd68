"""Secrets battery: redact() removes every canary credential from prompts, tool output, traces, vault
chunks and memory candidates — no 12-character piece of any key survives — and leaves placeholders,
hashes and ordinary code exactly as they were.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time

import pytest

from purpose_desktop.engine.immune.redact import MARK, RedactResult, redact
from tests.reliability.board import record
from tests.reliability.secret_canaries import PLACEHOLDERS, Canary, canaries

CANARIES = canaries()
WINDOW = 12


def _contexts(c: Canary) -> dict[str, str]:
    """The same credential where the app meets text: a prompt, tool output, a trace, a document, a memory."""
    return {
        "prompt": f"Why does this fail?\n\n```\n{c.text}\n```\nThanks!",
        "tool_output": json.dumps({"stdout": c.text + "\n", "stderr": "", "returncode": 0}),
        "trace": f"def connect():\n    # {c.text}\n    return client\n",
        "vault_chunk": f"# Deploying\n\nSet the environment first:\n\n    {c.text}\n\nThen run `make deploy`.\n",
        "memory": f"When deploying acme, use {c.text} for the release job.",
    }


def _survivors(value: str, text: str) -> list[str]:
    return [
        value[i : i + WINDOW]
        for i in range(0, max(1, len(value) - WINDOW + 1))
        if value[i : i + WINDOW] in text
    ]


@pytest.mark.parametrize("canary", CANARIES, ids=[f"{c.kind}-{i}" for i, c in enumerate(CANARIES)])
def test_every_canary_is_redacted_in_every_context(canary):
    for where, text in _contexts(canary).items():
        result = redact(text)
        assert not _survivors(canary.value, result.text), (
            f"{where}: part of the key survived: {result.text!r}"
        )
        assert canary.kind in result.kinds, f"{where}: found {result.kinds}"
        assert MARK.format(kind=canary.kind) in result.text
        for r in result.found:  # spans point into the original text
            assert 0 <= r.span[0] < r.span[1] <= len(text)


def test_all_canaries_in_one_text_and_idempotence():
    text = "\n\n".join(c.text for c in CANARIES)
    once = redact(text)
    for c in CANARIES:
        assert not _survivors(c.value, once.text), c.kind
    twice = redact(once.text)
    assert twice.text == once.text and not twice.found
    record("secrets", canaries=len(CANARIES), contexts=5, redactions_in_mixed_text=len(once.found))


@pytest.mark.parametrize("text", PLACEHOLDERS)
def test_placeholders_and_look_alikes_are_left_alone(text):
    result = redact(text)
    assert result.text == text and not result.found and not result


def test_hidden_keys_are_redacted_as_whole_tokens():
    ghp = next(c.value for c in CANARIES if c.value.startswith("ghp_"))
    password = next(c for c in CANARIES if c.kind == "password")
    hidden = {
        "zero_width": f"GITHUB_TOKEN={ghp[:10]}\u200b{ghp[10:]}",
        "base64": "config: " + base64.b64encode(password.text.encode()).decode(),
        "escaped": "s = '" + "".join(f"\\x{ord(ch):02x}" for ch in password.text) + "'",
    }
    for name, text in hidden.items():
        result = redact(text)
        assert result.found, f"{name}: nothing redacted in {text!r}"
        for piece in (ghp, password.value):
            assert not _survivors(piece.replace("\u200b", ""), result.text.replace("\u200b", "")), name


def test_multi_megabyte_text_with_keys_at_both_ends():
    first, last = CANARIES[0], CANARIES[5]
    filler = "def f(x):\n    return x * 2  # plain code, nothing secret\n" * 60_000  # ~3.4 MB
    text = first.text + "\n" + filler + "\n" + last.text
    started = time.monotonic()
    result = redact(text)
    elapsed = time.monotonic() - started
    assert not _survivors(first.value, result.text) and not _survivors(last.value, result.text)
    assert len(result.text) < len(text) and result.text.count("return x * 2") == 60_000
    record("secrets", multi_mb_chars=len(text), multi_mb_seconds=round(elapsed, 2))
    assert elapsed < 20


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\x00\x01\x02binary\xff\ufffd",
        "\u202etxt.exe\u202c",
        "a" * 10 + "\ud800",
        "\t\r\n" * 1000,
        "🔑" * 5000,
    ],
    ids=["empty", "binary", "rtl", "surrogate", "whitespace", "emoji"],
)
def test_hostile_text_never_raises(text):
    result = redact(text)
    assert isinstance(result, RedactResult) and isinstance(result.text, str)


# -- storage: every path that stores text stores it redacted ---------------------------------------------


def _db_text(path) -> str:
    conn = sqlite3.connect(path)
    try:
        out = []
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in conn.execute(f"SELECT * FROM [{table}]"):
                out.extend(str(v) for v in row)
        return "\n".join(out)
    finally:
        conn.close()


def test_memory_candidates_are_stored_redacted(tmp_path):
    from purpose_desktop.engine.memory import similarity
    from purpose_desktop.engine.memory.api import MemoryBank
    from purpose_desktop.engine.store import Store
    from tests.fakes import DistinctEmbedder, distinct_embed

    db = tmp_path / "purpose.db"
    with similarity.use_embedder(distinct_embed, DistinctEmbedder.name), Store(db) as store:
        bank = MemoryBank(store)
        for c in CANARIES[:6]:
            bank.submit(_contexts(c)["memory"], kind="skill_card", provenance={"source": "battery"})
    stored = _db_text(db)
    assert not [c.kind for c in CANARIES[:6] if _survivors(c.value, stored)]


def test_vault_chunks_are_stored_redacted(tmp_path):
    from purpose_desktop.engine.store import Store
    from purpose_desktop.engine.vault import Vault
    from tests.fakes import DemoEmbedder

    db = tmp_path / "purpose.db"
    with Store(db) as store:
        vault = Vault(store, embedder=DemoEmbedder())
        vault.add_texts(
            [_contexts(c)["vault_chunk"] for c in CANARIES[:6]], names=[f"d{i}.md" for i in range(6)]
        )
    stored = _db_text(db)
    assert not [c.kind for c in CANARIES[:6] if _survivors(c.value, stored)]


def test_trace_steps_are_stored_redacted(tmp_path):
    from purpose_desktop.engine.runmode import RunMode
    from purpose_desktop.engine.store import Store
    from purpose_desktop.engine.store.trace import TraceRecorder

    db = tmp_path / "purpose.db"
    with Store(db) as store:
        trace = TraceRecorder(store, RunMode.LEARNING_TRAIN)
        trace.start(task=CANARIES[0].text, purpose=None, team="t", roles=["coder"])
        for c in CANARIES[1:6]:
            ctx = _contexts(c)
            trace.add_step(
                {
                    "role": "coder",
                    "prompt": ctx["prompt"],
                    "output": ctx["trace"],
                    "tool_calls": [{"output": ctx["tool_output"]}],
                }
            )
        trace.finish(status="finished", answer=CANARIES[6].text, score=1.0, tokens_work=1, tokens_judge=0)
    stored = _db_text(db)
    assert not [c.kind for c in CANARIES[:7] if _survivors(c.value, stored)]
