"""Grounded chat on the real bundled GGUF and the real all-MiniLM embedder: citations, lessons, regenerate, edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.models.local import GenerationSettings, LocalModel
from purpose_desktop.engine.settings import EngineSettings
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.vault import Vault
from purpose_desktop.engine.vault.embed import default_embedder

pytestmark = pytest.mark.model

GREEDY = GenerationSettings(temperature=0.0, seed=42, max_tokens=12)


@pytest.fixture(scope="module")
def model(default_model_path):
    m = LocalModel(default_model_path, n_ctx=2048)
    yield m
    m.close()


@pytest.fixture(scope="module")
def embedder():
    e = default_embedder()
    e.load()
    return e


@pytest.fixture
def engine(tmp_path, model, embedder):
    engine = Engine(
        store=Store(tmp_path / "real.db"),
        settings=EngineSettings(n_ctx=2048),
        model_factory=lambda *a, **k: model,
    )
    engine.load_model()
    seen: list[list[dict]] = []
    chat = model.chat

    def recording_chat(messages, **kwargs):
        seen.append([dict(m) for m in messages])
        return chat(messages, **kwargs)

    engine.model = _Recording(model, recording_chat)
    engine.seen = seen
    yield engine
    engine.model = None  # the module's model is closed by its fixture
    engine.close()


class _Recording:
    """The real model with its chat method wrapped, so a test can read the exact prompt."""

    def __init__(self, inner, chat):
        self._inner = inner
        self.chat = chat

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _vault(tmp_path: Path, engine) -> Path:
    root = tmp_path / "notes"
    root.mkdir()
    (root / "deploy.md").write_text(
        "# Deploying\n\nThe staging server is deployed with `make ship` every Tuesday.\n"
        "Production deploys need two approvals.\n",
        encoding="utf-8",
    )
    (root / "garden.md").write_text(
        "# Garden\n\nTomatoes need watering every morning in July.\nBasil grows well beside them.\n",
        encoding="utf-8",
    )
    Vault.from_directory(root, store=engine.store).close()
    return root


def test_answer_cites_the_right_vault_file_and_lines(engine, tmp_path):
    root = _vault(tmp_path, engine)
    conv = engine.store.create_conversation()
    tokens: list[str] = []
    _, reply = engine.send_message(
        conv.id, "How is the staging server deployed?", settings=GREEDY, on_token=tokens.append
    )
    assert tokens and reply.content == "".join(tokens) and reply.status == "complete"
    vault = reply.meta["context"]["vault"]
    assert vault and vault[0]["rel_path"] == "deploy.md" and vault[0]["path"] == str(root / "deploy.md")
    assert vault[0]["start_line"] == 1 and vault[0]["end_line"] >= 3
    system = engine.seen[-1][0]["content"]
    assert (
        f"[1] deploy.md:{vault[0]['start_line']}-{vault[0]['end_line']}" in system and "make ship" in system
    )
    assert engine.store.messages(conv.id)[-1].meta["context"]["vault"] == vault


def test_a_taught_lesson_reaches_the_prompt_and_regenerate_and_edit_work(engine):
    lesson = MemoryBank(engine.store).teach("Always answer in one short sentence.").memory
    conv = engine.store.create_conversation()
    user, first = engine.send_message(conv.id, "What is a Python list?", settings=GREEDY)
    assert "- Always answer in one short sentence." in engine.seen[-1][0]["content"]
    assert [m["id"] for m in first.meta["context"]["memories"]] == [lesson.id]

    again_user, again = engine.regenerate(conv.id, settings=GREEDY)
    assert again_user.id == user.id and again.id != first.id and again.content.strip()
    assert [m.id for m in engine.store.messages(conv.id)] == [user.id, again.id]
    assert engine.seen[-1][-1] == {"role": "user", "content": "What is a Python list?"}

    edited_user, edited = engine.edit_and_resend(user.id, "What is a Python tuple?", settings=GREEDY)
    stored = engine.store.messages(conv.id)
    assert [m.id for m in stored] == [edited_user.id, edited.id] and stored[
        0
    ].content == "What is a Python tuple?"
    assert edited.status == "complete" and edited.meta["n_tokens"] >= 1
    assert engine.seen[-1][-1]["content"] == "What is a Python tuple?"

    report = engine.mark_wrong(edited.id)
    assert report["memories"][0]["id"] == lesson.id and report["memories"][0]["utility_after"] < 0.5
