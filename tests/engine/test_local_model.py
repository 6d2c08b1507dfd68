"""LocalModel against the real bundled GGUF (temperature 0, fixed seed): streaming, stop, trimming, JSON."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.models import discovery
from purpose_desktop.engine.models.gguf import read_gguf_info, write_gguf
from purpose_desktop.engine.models.local import (
    ChatModel,
    GenerationSettings,
    LocalModel,
    Reply,
    default_n_ctx,
)

GREEDY = GenerationSettings(temperature=0.0, seed=42, max_tokens=48)
POEM = [{"role": "user", "content": "Write a long poem about the sea."}]


@pytest.fixture(scope="module")
def model():
    """The bundled model, loaded once for this module with a small context so trimming is exercised."""
    progress: list[str] = []
    m = LocalModel(discovery.default_model_path(), n_ctx=512, on_progress=progress.append)
    m.progress_seen = progress
    yield m
    m.close()


@pytest.mark.model
def test_loads_with_sensible_defaults(model):
    assert model.n_ctx == 512
    assert model.info.architecture == "llama"
    assert model.display_name == "SmolLM2-135M-Instruct.Q4_1"
    assert model.n_threads == (os.cpu_count() or 4)
    assert model.template_fallback is False and model.template_note is None
    assert isinstance(model.gpu_offload, bool)
    assert len(model.progress_seen) >= 2 and "ready" in model.progress_seen[-1]
    assert isinstance(model, ChatModel)


@pytest.mark.model
def test_tokens_stream(model):
    tokens: list[str] = []
    reply = model.chat(POEM, settings=GREEDY, on_token=tokens.append)
    assert isinstance(reply, Reply)
    assert len(tokens) >= 5
    assert reply.text == "".join(tokens) and reply.text.strip()
    assert reply.n_tokens == len(tokens)
    assert reply.finish_reason in ("stop", "length")
    assert reply.ttft_ms is not None and reply.ttft_ms > 0
    assert reply.tokens_per_s is not None and reply.tokens_per_s > 0
    assert reply.elapsed_ms >= reply.ttft_ms
    assert reply.model == model.display_name
    json.dumps(reply.to_dict())


@pytest.mark.model
def test_same_seed_same_reply(model):
    a = model.chat(POEM, settings=GenerationSettings(temperature=0.8, seed=7, max_tokens=12))
    b = model.chat(POEM, settings=GenerationSettings(temperature=0.8, seed=7, max_tokens=12))
    assert a.text == b.text


@pytest.mark.model
def test_cancel_after_third_token_stops_within_one(model):
    cancel = CancelToken()
    tokens: list[str] = []

    def on_token(piece: str) -> None:
        tokens.append(piece)
        if len(tokens) == 3:
            cancel.set()

    reply = model.chat(POEM, settings=GREEDY, cancel=cancel, on_token=on_token)
    assert reply.finish_reason == "cancelled"
    assert reply.n_tokens <= 4 and len(tokens) <= 4
    assert reply.text == "".join(tokens)
    # The model stays usable after a stop.
    again = model.chat(POEM, settings=GenerationSettings(temperature=0.0, seed=42, max_tokens=4))
    assert again.n_tokens > 0


@pytest.mark.model
def test_max_tokens_gives_length(model):
    reply = model.chat(POEM, settings=GenerationSettings(temperature=0.0, seed=42, max_tokens=8))
    assert reply.finish_reason == "length"
    assert 0 < reply.n_tokens <= 8


@pytest.mark.model
def test_cancel_set_before_the_call_generates_nothing(model):
    cancel = CancelToken()
    cancel.set()
    tokens: list[str] = []
    reply = model.chat(POEM, settings=GREEDY, cancel=cancel, on_token=tokens.append)
    assert reply.finish_reason == "cancelled"
    assert reply.text == "" and reply.n_tokens == 0 and tokens == []
    assert reply.ttft_ms is None


@pytest.mark.model
def test_complete_json_matches_schema(model):
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    messages = [{"role": "user", "content": "Describe a person as JSON with a name and an age."}]
    value = model.complete_json(
        messages, schema, settings=GenerationSettings(temperature=0.0, seed=1, max_tokens=64)
    )
    assert isinstance(value, dict)
    assert isinstance(value["name"], str)
    assert isinstance(value["age"], int)


@pytest.mark.model
def test_complete_json_cancelled_returns_empty(model):
    cancel = CancelToken()
    cancel.set()
    assert model.complete_json(POEM, {"type": "object"}, cancel=cancel) == {}


@pytest.mark.model
def test_long_conversation_is_trimmed_and_answered(model):
    messages = [{"role": "system", "content": "You are a helpful assistant. Answer briefly."}]
    for i in range(60):
        messages.append(
            {"role": "user", "content": f"Tell me one fact about the number {i}, please, in a sentence."}
        )
        messages.append({"role": "assistant", "content": f"The number {i} is a whole number. " * 4})
    messages.append({"role": "user", "content": "What is 2 + 2?"})
    total = sum(model.count_tokens(m["content"]) for m in messages)
    assert total > 3 * model.n_ctx  # far beyond the context

    reply = model.chat(messages, settings=GenerationSettings(temperature=0.0, seed=3, max_tokens=32))
    assert reply.n_tokens > 0 and reply.text.strip()
    assert reply.finish_reason in ("stop", "length")
    assert reply.n_prompt_messages_dropped > 0

    fitted, dropped, budget = model.fit_messages(messages, 32)
    assert fitted[0]["role"] == "system" and fitted[-1]["content"] == "What is 2 + 2?"
    assert fitted[1]["role"] == "user"  # history never starts with an orphaned assistant turn
    assert dropped == reply.n_prompt_messages_dropped and budget == 32


@pytest.mark.model
def test_single_message_longer_than_the_context(model):
    huge = "word " * 3000 + "\nQuestion: what is the capital of France?"
    messages = [{"role": "system", "content": "Be brief. " * 400}, {"role": "user", "content": huge}]
    reply = model.chat(messages, settings=GenerationSettings(temperature=0.0, seed=3, max_tokens=400))
    assert reply.n_tokens > 0
    assert reply.finish_reason in ("stop", "length")
    fitted, _, budget = model.fit_messages(messages, 400)
    assert "cut to fit" in fitted[-1]["content"]
    assert fitted[-1]["content"].endswith("capital of France?")  # the end, where the question is, survives
    assert budget < 400  # the reply budget shrank to fit
    prompt = sum(model.count_tokens(m["content"]) + 8 for m in fitted)
    assert prompt + budget <= model.n_ctx


@pytest.mark.model
def test_count_tokens(model):
    assert model.count_tokens("") == 0
    assert 0 < model.count_tokens("hello") < model.count_tokens("hello world, how are you today?")


def test_default_context_is_capped():
    info = read_gguf_info(discovery.default_model_path())
    assert info.context_length == 8192
    assert default_n_ctx(info) == 4096


@pytest.mark.model
def test_missing_chat_template_falls_back_to_chatml_and_close_is_idempotent(tmp_path):
    # Same weights, but the chat template key renamed in place (same length, so nothing shifts).
    src = discovery.default_model_path()
    dst = tmp_path / "no-template.gguf"
    shutil.copyfile(src, dst)
    info = read_gguf_info(src)
    with open(dst, "r+b") as f:
        head = f.read(info.data_offset)
        key = b"tokenizer.chat_template"
        at = head.index(key)
        f.seek(at)
        f.write(b"tokenizer.chat_templatX")
    assert not read_gguf_info(dst).has_chat_template

    m = LocalModel(dst, n_ctx=256)
    try:
        assert m.template_fallback is True
        assert m.chat_format == "chatml"
        assert "ChatML" in m.template_note
        reply = m.chat(POEM, settings=GenerationSettings(temperature=0.0, seed=1, max_tokens=6))
        assert reply.n_tokens > 0
    finally:
        m.close()
    m.close()  # twice is fine
    assert m.closed
    with pytest.raises(ModelError):
        m.chat(POEM)


# --- files that must fail with ModelError, never a crash ------------------------------------------------


def test_directory_raises_model_error(tmp_path):
    with pytest.raises(ModelError) as info:
        LocalModel(tmp_path)
    assert "folder" in info.value.message


def test_corrupt_file_raises_model_error(tmp_path):
    path = tmp_path / "corrupt.gguf"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(ModelError) as info:
        LocalModel(path)
    assert "not a GGUF" in info.value.message


def test_truncated_file_raises_model_error(tmp_path):
    path = write_gguf(
        tmp_path / "cut.gguf",
        {"general.architecture": "llama", "llama.context_length": 128},
        [("token_embd.weight", (256, 1024), 0)],
    )
    os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(ModelError) as info:
        LocalModel(path)
    assert "incomplete" in info.value.message


def test_file_llama_cpp_rejects_is_wrapped(tmp_path):
    # Valid GGUF header, but not a loadable llama: llama.cpp's failure comes back as ModelError with a hint.
    path = write_gguf(
        tmp_path / "hollow.gguf",
        {"general.architecture": "llama", "llama.context_length": 128},
        [("token_embd.weight", (64, 32), 0)],
    )
    with pytest.raises(ModelError) as info:
        LocalModel(path)
    assert "Could not load" in info.value.message and info.value.hint
