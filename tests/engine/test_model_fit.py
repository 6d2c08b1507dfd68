"""RAM estimates from GGUF headers and the fits / tight / too big verdict the Models pane shows."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.models import discovery
from purpose_desktop.engine.models.fit import estimate_ram, human_bytes, judge_fit, memory_info
from purpose_desktop.engine.models.gguf import read_gguf_info

GB = 1024**3
MB = 1024**2


def test_bundled_model_estimate_is_weights_plus_kv_cache_plus_overhead():
    info = read_gguf_info(discovery.default_model_path())
    need, ctx = estimate_ram(info, 2048)
    assert ctx == 2048
    md = info.metadata
    layers, width = md["llama.block_count"], md["llama.embedding_length"]
    heads, kv_heads = md["llama.attention.head_count"], md["llama.attention.head_count_kv"]
    kv = 2 * layers * 2048 * (width // heads) * kv_heads * 2
    assert need == info.file_size + kv + int(info.file_size * 0.08) + 96 * MB
    # Twice the context costs exactly one more KV cache.
    assert estimate_ram(info, 4096)[0] - need == kv


def test_estimate_defaults_to_the_trained_context_capped():
    info = read_gguf_info(discovery.default_model_path())
    assert estimate_ram(info, None)[1] == min(info.context_length, 4096)


def test_estimate_is_none_without_a_file_size():
    assert estimate_ram(None, 2048) == (None, None)


@pytest.mark.parametrize(
    ("need", "total", "free", "state"),
    [(3 * GB, 16 * GB, 12 * GB, "fits"), (3 * GB, 16 * GB, 3 * GB, "tight"), (3 * GB, 2 * GB, 1 * GB, "too_big")],
)
def test_judge_fit(need, total, free, state):
    verdict = judge_fit(need, 4096, total, free)
    assert verdict.state == state
    assert human_bytes(need) in verdict.why
    if state == "too_big":
        assert "smaller" in verdict.why


def test_unknown_when_nothing_is_known():
    assert judge_fit(None, None, 16 * GB, 8 * GB).state == "unknown"
    assert judge_fit(GB, 2048, None, None).state == "unknown"


def test_this_computer_reports_its_ram():
    total, available = memory_info()
    assert total and total > 256 * MB
    assert available is None or 0 < available <= total


def test_human_bytes():
    assert (human_bytes(None), human_bytes(512), human_bytes(1536), human_bytes(98_362_432)) == (
        "–",
        "512 B",
        "1.5 KB",
        "93.8 MB",
    )
