"""The shipped model catalog: its shape, its pins, its licenses, fit verdicts and the recommendation."""

from __future__ import annotations

import copy
import json
import re

import pytest

from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.models.catalog import (
    MIN_TOKENS_PER_S,
    estimate_speed,
    load_catalog,
    parse_catalog,
    recommend,
    speed_note,
)
from purpose_desktop.engine.resources import resource

GB = 1024**3
RAW = json.loads(resource("models", "catalog.json").read_text(encoding="utf-8"))


def test_shipped_catalog_parses_and_lists_the_issue_models():
    cat = load_catalog()
    ids = {e.id for e in cat.entries}
    assert {
        "qwen2.5-coder-0.5b",
        "qwen2.5-coder-1.5b",
        "qwen2.5-coder-3b",
        "qwen2.5-coder-7b",
        "qwen3-1.7b",
        "qwen3-4b",
        "phi-4-mini",
        "llama-3.2-3b",
        "gemma-3-1b",
        "gemma-3-4b",
    } <= ids
    assert RAW["schema_version"] == 1 and cat.version


def test_every_entry_has_a_well_formed_pin_or_says_why_not():
    for e in load_catalog().entries:
        assert e.file.endswith(".gguf") and re.fullmatch(r"[\w.-]+/[\w.-]+", e.repo)
        if e.pinned:
            assert re.fullmatch(r"[0-9a-f]{40}", e.revision), e.id
        else:
            assert e.revision == "main" and e.revision_note, e.id
        if e.sha256 is not None:
            assert re.fullmatch(r"[0-9a-f]{64}", e.sha256) and e.pin_source, e.id
        if e.size_bytes is not None:
            assert 100 * 1024**2 < e.size_bytes < 8 * GB and e.pin_source, e.id
        assert 0.1 * GB < e.download_size < 8 * GB, e.id  # laptop-sized, confirmed or estimated
        assert e.context_length >= 8192 and e.chat_template


def test_non_permissive_licenses_need_an_explicit_accept():
    permissive = {"apache-2.0", "mit"}
    for e in load_catalog().entries:
        assert e.license_url.startswith("https://")
        assert e.license_accept_required == (e.license not in permissive), e.id
    by_id = {e.id: e for e in load_catalog().entries}
    assert by_id["llama-3.2-3b"].license_accept_required
    assert by_id["gemma-3-4b"].license_accept_required
    assert by_id["qwen2.5-coder-3b"].license_accept_required  # Qwen Research License
    assert not by_id["qwen2.5-coder-1.5b"].license_accept_required


def test_every_score_names_its_source():
    cat = load_catalog()
    scored = [e for e in cat.entries if e.scores]
    assert scored, "the coding models carry published scores"
    for e in scored:
        for s in e.scores:
            assert s.source in cat.sources.values() and 0 < s.value <= 100


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: m.update(sha256="ABC"), "sha256"),
        (lambda m: m.update(sha256="a" * 64, pin_source=None), "pin_source"),
        (lambda m: m.update(revision="v1"), "revision"),
        (lambda m: m.pop("revision_note", None) or m.update(revision="main"), "revision_note"),
        (lambda m: m.update(file="../x.gguf"), "file"),
        (lambda m: m.update(license_accept_required="yes"), "license"),
        (lambda m: m.update(size_bytes=-1), "size"),
        (lambda m: m.update(scores=[{"benchmark": "HumanEval", "value": 50, "source": "nowhere"}]), "score"),
    ],
)
def test_a_malformed_entry_is_refused(mutate, message):
    data = copy.deepcopy(RAW)
    entry = next(m for m in data["models"] if m["revision"] == "main")
    mutate(entry)
    with pytest.raises(InputError, match=message):
        parse_catalog(data)


def test_a_newer_schema_is_refused_with_a_hint():
    data = copy.deepcopy(RAW)
    data["schema_version"] = 2
    with pytest.raises(InputError) as err:
        parse_catalog(data)
    assert "Update" in err.value.hint


def test_fit_verdicts_follow_this_machines_ram():
    cat = load_catalog()
    small, big = cat.get("qwen2.5-coder-0.5b"), cat.get("qwen2.5-coder-7b")
    assert small.fit(16 * GB, 12 * GB).state == "fits"
    assert big.fit(4 * GB, 3 * GB).state == "too_big"
    assert big.fit(8 * GB, 5 * GB).state == "tight"
    assert big.ram_needed() > big.download_size


def test_recommendation_is_the_best_scoring_coder_that_fits_without_a_license_accept():
    cat = load_catalog()
    assert recommend(cat, 32 * GB, 24 * GB, cores=16, offload=False).id == "qwen2.5-coder-7b"
    # 3B scores higher than 1.5B but needs the Qwen Research License accepted: never recommended silently.
    assert recommend(cat, 6 * GB, 4 * GB, cores=16, offload=False).id == "qwen2.5-coder-1.5b"
    assert recommend(cat, 2 * GB, 1.2 * GB, cores=16, offload=False).id == "qwen2.5-coder-0.5b"
    assert recommend(cat, 512 * 1024**2, 256 * 1024**2, cores=16, offload=False) is None


def test_when_every_fitting_coder_is_slow_the_fastest_is_recommended(monkeypatch):
    import purpose_desktop.engine.models.catalog as catalog

    monkeypatch.setattr(catalog, "MIN_TOKENS_PER_S", 1000.0)
    assert recommend(load_catalog(), 32 * GB, 24 * GB, cores=2, offload=False).id == "qwen2.5-coder-0.5b"


def test_the_recommendation_weighs_this_computers_speed_not_only_its_ram():
    cat = load_catalog()
    seven = cat.get("qwen2.5-coder-7b")
    # on 2 CPU cores a 4.4 GB model would write ~2 tokens/s: it fits in RAM but is slow here
    assert estimate_speed(seven.download_size, 2) < MIN_TOKENS_PER_S <= estimate_speed(seven.download_size, 8)
    assert recommend(cat, 32 * GB, 24 * GB, cores=2, offload=False).id == "qwen2.5-coder-1.5b"
    assert recommend(cat, 32 * GB, 24 * GB, cores=8, offload=False).id == "qwen2.5-coder-7b"
    assert recommend(cat, 32 * GB, 24 * GB, cores=2, offload=True).id == "qwen2.5-coder-7b"  # a GPU: RAM decides
    assert recommend(cat, 32 * GB, 24 * GB, cores=1, offload=False).id == "qwen2.5-coder-0.5b"  # ~16 tokens/s
    assert speed_note(cat.get("qwen2.5-coder-1.5b"), 2) == "about 10 tokens/s on 2 CPU cores (an estimate)"
