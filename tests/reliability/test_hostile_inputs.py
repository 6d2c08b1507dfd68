"""Hostile-input battery: chat, vault and memory edit take multi-megabyte text, binary, control
characters, right-to-left overrides and broken Unicode without crashing or corrupting anything.

The oracle for every input: the call either stores exactly what was given (read back and compared)
or refuses with the app's own error (a message and a hint); any other exception is a failure; the
database passes ``PRAGMA integrity_check`` afterwards and everything stored still reads back.
"""

from __future__ import annotations

import os
import time

import pytest

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.memory import similarity
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.settings import EngineSettings
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.vault import Vault
from tests.fakes import DemoEmbedder, DistinctEmbedder, ScriptedModel, distinct_embed
from tests.reliability.board import record

MAX_S = 15.0
INPUTS: dict[str, str] = {
    "multi_mb": "def f():\n    return 1\n" * 150_000,  # ~3.3 MB
    "one_huge_line": "a" * 1_000_000,
    "many_empty_lines": "\n" * 500_000 + "end",
    "binary_latin1": bytes(range(256)).decode("latin-1") * 200,
    "nul_bytes": "before\x00after\x00" * 100,
    "undecodable_bytes": os.urandom(4096).decode("utf-8", "surrogateescape"),
    "lone_surrogates": "text \ud800 more \udfff end",
    "control_chars": "".join(chr(i) for i in range(1, 32)) * 50 + "\x7f\x1b[2J\x1b]0;title\x07",
    "rtl_overrides": "print('safe') \u202e ;)(metsys.so \u202c # \u2066hidden\u2069 \u200f\u200e",
    "mixed_scripts": "مرحبا بالعالم שלום עולם Hello 世界 " * 500,
    "zalgo": "Z" + "\u0336\u0337\u0338\u0489" * 20_000,
    "emoji_zwj": "👨\u200d👩\u200d👧\u200d👦 🏳️\u200d🌈 " * 5_000,
    "invisible_only": "\u200b\u200c\u200d\ufeff\u2060",
    "fts_syntax": 'NEAR("unterminated AND OR NOT * ^ col: (( ))',
    "sql_like": "'); DROP TABLE messages; -- \" OR 1=1",
}


def _outcome(fn) -> tuple[str, object]:
    started = time.monotonic()
    try:
        value = fn()
        kind = "ok"
    except PurposeError as exc:
        assert exc.message and exc.hint, f"refusal without a message and a hint: {exc!r}"
        value, kind = exc, "refused"
    elapsed = time.monotonic() - started
    assert elapsed < MAX_S, f"took {elapsed:.1f} s"
    return kind, value


def _integrity(store: Store) -> None:
    assert store.connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


@pytest.fixture(scope="module")
def tallies():
    counts: dict[str, dict[str, int]] = {}
    yield counts
    record("hostile_inputs", inputs=len(INPUTS), **{k: v for k, v in sorted(counts.items())})


def _tally(tallies, surface: str, kind: str) -> None:
    tallies.setdefault(surface, {"ok": 0, "refused": 0})[kind] += 1


@pytest.mark.parametrize("name", list(INPUTS))
def test_chat_takes_hostile_input(tmp_path, tallies, name):
    text = INPUTS[name]
    engine = Engine(
        store=Store(tmp_path / "chat.db"), settings=EngineSettings(), model_factory=lambda *a, **k: None
    )
    engine.model = ScriptedModel(replies=["noted " + text[:2000]])
    conv = engine.store.create_conversation()
    kind, value = _outcome(lambda: engine.send_message(conv.id, text))
    _tally(tallies, "chat", kind)
    messages = engine.store.messages(conv.id)
    if kind == "ok":
        user, reply = value
        assert messages[0].content == text.strip() and reply.status == "complete"
        assert engine.store.list_conversations()[0].title  # a title was made from it
    else:
        assert messages == [], "a refused message left rows behind"
    _integrity(engine.store)
    engine.close()


@pytest.mark.parametrize("name", list(INPUTS))
def test_vault_indexes_and_searches_hostile_text(tmp_path, tallies, name):
    text = INPUTS[name]
    with Store(tmp_path / "vault.db") as store:
        vault = Vault(store, embedder=DemoEmbedder())
        kind, _ = _outcome(
            lambda: vault.add_texts([text, "normal note about retry_upload"], names=["evil.md", "ok.md"])
        )
        _tally(tallies, "vault_add", kind)
        hits = vault.query("retry_upload")
        assert kind == "refused" or any("retry_upload" in h.text for h in hits)
        for query in (text[:500], INPUTS["fts_syntax"], INPUTS["control_chars"][:200]):
            _outcome(lambda q=query: vault.query(q))  # searching never raises
        _integrity(store)


@pytest.mark.parametrize("name", list(INPUTS))
def test_memory_edit_takes_hostile_text(tmp_path, tallies, name):
    text = INPUTS[name]
    with similarity.use_embedder(distinct_embed, DistinctEmbedder.name), Store(tmp_path / "mem.db") as store:
        bank = MemoryBank(store)
        first = bank.submit(
            "Prefer pathlib for file paths.", kind="skill_card", provenance={"source": "battery"}
        )
        kind, value = _outcome(lambda: bank.edit(first.memory.id, text, reason="hostile edit"))
        _tally(tallies, "memory_edit", kind)
        after = bank.get(first.memory.id)
        if kind == "refused":
            assert after.text == first.memory.text, "a refused edit changed the memory"
        else:
            assert after.text == value.text and after.status in ("quarantined", "rejected")
        kind, _ = _outcome(lambda: bank.submit(text, kind="skill_card", provenance={"source": "battery"}))
        _tally(tallies, "memory_submit", kind)
        bank.list()  # everything stored still reads back
        _integrity(store)
