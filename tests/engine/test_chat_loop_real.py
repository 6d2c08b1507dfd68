"""Chat in the learning loop on the real bundled GGUF and the real all-MiniLM embedder: a coder's skill card
reaches the answer, the answer's code (when it has some) runs in the real sandbox, Good answer credits it."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.memory.records import Scope
from tests.engine.test_chat_features_real import GREEDY, embedder, engine, model  # noqa: F401 - fixtures

pytestmark = pytest.mark.model


def test_a_coder_skill_card_reaches_the_real_model_and_good_answer_credits_it(engine):  # noqa: F811
    bank = MemoryBank(engine.store)
    card = bank.submit(
        "To reverse a Python list, use slicing: items[::-1] returns a new reversed list.",
        kind="skill_card",
        scope=Scope(roles=("coder",)),
        provenance={"source": "run"},
    ).memory
    bank.approve(card.id)
    other = bank.submit(
        "To reverse a Python list in a report, cite the source of every figure.",
        kind="skill_card",
        scope=Scope(roles=("researcher",)),
        provenance={"source": "run"},
    ).memory
    bank.approve(other.id)
    conv = engine.store.create_conversation()
    tokens: list[str] = []
    _user, reply = engine.send_message(
        conv.id, "How do I reverse a list in Python?", settings=GREEDY, on_token=tokens.append
    )
    assert tokens and reply.status == "complete"
    used = [m["id"] for m in reply.meta["context"]["memories"]]
    assert card.id in used and other.id not in used
    system = engine.seen[-1][0]["content"]
    assert "items[::-1]" in system and "cite the source" not in system
    before = bank.get(card.id).utility
    report = engine.chat_loop.mark_good(reply.id)
    assert [m["id"] for m in report["memories"]] == [card.id]
    assert bank.get(card.id).utility > before


def test_a_real_answer_with_code_runs_in_the_sandbox(engine):  # noqa: F811
    conv = engine.store.create_conversation()
    _user, reply = engine.send_message(
        conv.id,
        "Write Python code that prints the sum of 2 and 3.",
        settings=GREEDY.__class__(temperature=0.0, seed=42, max_tokens=64),
    )
    from purpose_desktop.engine.chat.code_blocks import code_blocks

    blocks = [b for b in code_blocks(reply.content) if b.is_python]
    # Greedy decoding with a fixed seed: the bundled model writes a Python block for this prompt.
    assert blocks, f"no Python block in the reply: {reply.content[:200]!r}"
    run = engine.chat_loop.run_block(reply.id, blocks[0].index)
    # Whatever the small model wrote, it ran for real and its verdict is one of the honest three.
    assert run["status"] in ("passed", "failed") and "returncode" in run and run["backend"]
    assert engine.store.get_message(reply.id).meta["code_runs"][str(blocks[0].index)] == run
