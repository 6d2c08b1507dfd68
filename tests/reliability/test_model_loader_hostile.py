"""Model-loader battery: corrupt and hostile GGUF files give a clear ModelError; nothing crashes the app.

Every variant goes through ``read_gguf_info`` (must raise ModelError with a message and a hint, or
accept the file) within a time and memory budget, through model discovery (which must list it as
broken, not fall over) and — when the header reader lets it through — through LocalModel, i.e. real
llama.cpp, in a child process so that a native crash is seen as a crash instead of killing the run.
"""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.models import gguf
from purpose_desktop.engine.models.discovery import discover_models
from purpose_desktop.engine.models.gguf import (
    T_ARRAY,
    T_STRING,
    T_UINT32,
    Typed,
    encode_gguf_header,
    read_gguf_info,
)
from tests.reliability.board import record

REPO = Path(__file__).resolve().parents[2]
U32, U64 = struct.Struct("<I"), struct.Struct("<Q")
MAX_READ_S = 2.0
MAX_READ_MB = 64

LLAMA = {
    "general.architecture": "llama",
    "general.name": "tiny",
    "llama.context_length": 64,
    "llama.embedding_length": 8,
    "llama.block_count": 1,
    "llama.feed_forward_length": 16,
    "llama.attention.head_count": 2,
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.tokens": ["a", "b", "c", "d"],
}
TENSORS = [("token_embd.weight", (8, 4), 0), ("output_norm.weight", (8,), 0)]


def _valid(metadata=None, tensors=None) -> bytes:
    header, data_size = encode_gguf_header(
        LLAMA if metadata is None else metadata, TENSORS if tensors is None else tensors
    )
    return header + b"\0" * data_size


def _raw(kv: bytes, n_kv: int, tensors: bytes = b"", n_tensors: int = 0, version: int = 3) -> bytes:
    return b"GGUF" + U32.pack(version) + U64.pack(n_tensors) + U64.pack(n_kv) + kv + tensors


def _s(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return U64.pack(len(raw)) + raw


def _kv_string(key: str, value: bytes) -> bytes:
    return _s(key) + U32.pack(T_STRING) + _s(value)


def _arch(name: str = "llama") -> bytes:
    return _kv_string("general.architecture", name.encode())


def _nested(depth: int) -> bytes:
    body = _s("deep") + U32.pack(T_ARRAY)
    body += (U32.pack(T_ARRAY) + U64.pack(1)) * depth
    return body + U32.pack(T_STRING) + U64.pack(0)


def _tensor(
    name: str, dims: tuple[int, ...], ggml_type: int = 0, offset: int = 0, n_dims: int | None = None
) -> bytes:
    n = len(dims) if n_dims is None else n_dims
    return (
        _s(name) + U32.pack(n) + b"".join(U64.pack(d) for d in dims) + U32.pack(ggml_type) + U64.pack(offset)
    )


def _sparse_string(path: Path, length: int) -> None:
    """A header whose chat template claims ``length`` bytes — written sparse, so it costs no disk."""
    prefix = _raw(_arch() + _s("tokenizer.chat_template") + U32.pack(T_STRING) + U64.pack(length), 2)
    with open(path, "wb") as fh:
        fh.write(prefix)
        fh.truncate(len(prefix) + length)


def _special(kind: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        if kind == "folder":
            path.mkdir()
            (path / "inner.gguf").write_bytes(_valid())
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "devzero":
            os.symlink("/dev/zero", path)
        elif kind == "dangling":
            os.symlink(path.parent / "nowhere.gguf", path)

    return make


VALID = _valid()
# id → bytes, or a function that makes the file. "accepted" ids may pass the header reader and then
# must fail (cleanly) in llama.cpp.
VARIANTS: dict[str, bytes | Callable[[Path], None]] = {
    "zero_bytes": b"",
    "wrong_magic": b"GGUX" + VALID[4:],
    "old_ggml_magic": b"lmgg" + b"\0" * 200,
    "safetensors_renamed": U64.pack(60)
    + b'{"__metadata__": {}, "w": {"dtype": "F32", "shape": [1]}}'
    + b"\0" * 64,
    "pytorch_zip_renamed": b"PK\x03\x04" + b"\0" * 300,
    "html_renamed": b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n",
    "git_lfs_pointer": b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 98362432\n",
    "text_renamed": b"just some notes about models\n" * 20,
    "random_bytes": bytes((i * 2654435761 >> 7) & 0xFF for i in range(4096)),
    "truncated_in_magic": VALID[:3],
    "truncated_in_header": VALID[:20],
    "truncated_in_metadata": VALID[: len(VALID) // 3],
    "truncated_in_tensor_table": encode_gguf_header(LLAMA, TENSORS)[0].rstrip(b"\0")[:-6],
    "truncated_data": VALID[: len(VALID) - 40],
    "version_1": b"GGUF" + U32.pack(1) + VALID[8:],
    "version_99": b"GGUF" + U32.pack(99) + VALID[8:],
    "big_endian": b"GGUF" + (3).to_bytes(4, "big") + VALID[8:],
    "absurd_tensor_count": _raw(b"", 0, n_tensors=1 << 40),
    "absurd_kv_count": _raw(b"", 1 << 40),
    "tensor_count_beyond_file": _raw(_arch(), 1, n_tensors=500_000),
    "absurd_tensor_offset": _raw(_arch(), 1, _tensor("w", (8,), offset=1 << 60), 1),
    "absurd_tensor_dims": _raw(_arch(), 1, _tensor("w", (1 << 62, 1 << 62)), 1),
    "too_many_dims": _raw(_arch(), 1, _tensor("w", (1,) * 4, n_dims=100), 1),
    "huge_string_length": _raw(_s("general.architecture") + U32.pack(T_STRING) + U64.pack(1 << 62), 1),
    "huge_key_length": _raw(U64.pack(1 << 62) + b"k", 1),
    "huge_string_array_count": _raw(
        _arch() + _s("tokens") + U32.pack(T_ARRAY) + U32.pack(T_STRING) + U64.pack(1 << 40), 2
    ),
    "huge_u32_array_count": _raw(
        _arch() + _s("ids") + U32.pack(T_ARRAY) + U32.pack(T_UINT32) + U64.pack(1 << 61), 2
    ),
    "nested_arrays_5000_deep": _raw(_arch() + _nested(5000), 2),
    "unknown_value_type": _raw(_arch() + _s("x") + U32.pack(99) + b"\0" * 16, 2),
    "unknown_array_item_type": _raw(
        _arch() + _s("x") + U32.pack(T_ARRAY) + U32.pack(77) + U64.pack(1) + b"\0" * 8, 2
    ),
    "alignment_zero": _valid({**LLAMA, "general.alignment": Typed(T_UINT32, 0)}),
    "alignment_not_power_of_two": _valid({**LLAMA, "general.alignment": Typed(T_UINT32, 48)}),
    "missing_architecture": _valid({k: v for k, v in LLAMA.items() if k != "general.architecture"}),
    "architecture_is_a_number": _valid({**LLAMA, "general.architecture": 7}),
    "unsupported_architecture": _valid({**LLAMA, "general.architecture": "evil-arch"}),
    "embedding_model": _valid({**LLAMA, "general.architecture": "bert"}),
    "architecture_with_controls": _valid(
        {**LLAMA, "general.architecture": "llama\x1b[2J\u202e" + "x" * 100_000}
    ),
    "sparse_2gb_chat_template": lambda p: _sparse_string(p, 2 << 30),
    # llama.cpp aborts the process (GGML_ASSERT) on these rather than returning an error.
    "layer_count_2_pow_31": _valid({**LLAMA, "llama.block_count": Typed(T_UINT32, 1 << 31)}),
    "layer_count_zero": _valid({**LLAMA, "llama.block_count": Typed(T_UINT32, 0)}),
    "expert_count_1000": _valid({**LLAMA, "llama.expert_count": Typed(T_UINT32, 1000)}),
    "experts_used_beyond_count": _valid(
        {**LLAMA, "llama.expert_count": Typed(T_UINT32, 4), "llama.expert_used_count": Typed(T_UINT32, 9)}
    ),
    "experts_never_used": _valid({**LLAMA, "llama.expert_count": Typed(T_UINT32, 4)}),
    "folder_named_gguf": _special("folder"),
    "fifo_named_gguf": _special("fifo"),
    "symlink_to_dev_zero": _special("devzero"),
    "dangling_symlink": _special("dangling"),
    # These pass the header reader: llama.cpp itself must refuse them without crashing.
    "accepted_no_tensors_no_vocab": _valid({"general.architecture": "llama"}, []),
    "accepted_nonsense_hyperparameters": _valid(
        {**LLAMA, "llama.embedding_length": 0, "llama.attention.head_count": Typed(T_UINT32, 1 << 30)}
    ),
    "accepted_unknown_tensor_type": _raw(_arch(), 1, _tensor("token_embd.weight", (8, 4), ggml_type=999), 1)
    + b"\0" * 64,
    "accepted_duplicate_keys": _raw(_arch() + _arch("llama"), 2) + b"\0" * 32,
    "accepted_wrong_shapes": _valid(
        LLAMA, [("token_embd.weight", (3, 5), 0), ("output_norm.weight", (7,), 0)]
    ),
}


def _make(folder: Path, name: str) -> Path:
    path = folder / f"{name}.gguf"
    spec = VARIANTS[name]
    if callable(spec):
        spec(path)
    else:
        path.write_bytes(spec)
    return path


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-models")
    for name in VARIANTS:
        _make(folder, name)
    return folder


def test_there_are_at_least_twenty_hostile_variants():
    assert len(VARIANTS) >= 20


@pytest.mark.parametrize("name", list(VARIANTS))
def test_header_reader_gives_a_clear_error_fast_and_small(hostile_folder, name):
    path = hostile_folder / f"{name}.gguf"
    tracemalloc.start()
    started = time.monotonic()
    try:
        read_gguf_info(path)
        accepted = True
    except ModelError as exc:
        accepted = False
        assert exc.message and exc.hint, name
        assert path.name in exc.message or str(path) in exc.message, exc.message
        assert len(exc.message) < 500, "the message repeats hostile content"
    finally:
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < MAX_READ_S, f"{name}: took {elapsed:.1f} s"
    assert peak < MAX_READ_MB << 20, f"{name}: allocated {peak / 1e6:.0f} MB"
    assert accepted == name.startswith(("accepted_", "sparse_")), f"{name}: accepted={accepted}"


def test_discovery_lists_hostile_files_without_falling_over(hostile_folder):
    entries = discover_models(search_roots={"folder": hostile_folder})
    mine = [e for e in entries if e.source != "bundled"]
    by_stem = {e.path.stem: e for e in mine}
    refused = [n for n in VARIANTS if not n.startswith(("accepted_", "sparse_", "folder_"))]
    listed = [n for n in refused if n in by_stem]
    assert listed, "the scan found none of the hostile files"
    assert all(not by_stem[n].usable and by_stem[n].error for n in listed), [
        n for n in listed if by_stem[n].usable
    ]
    record(
        "model_loader", discovery_listed=len(mine), discovery_marked_broken=sum(not e.usable for e in mine)
    )


LOADER = textwrap.dedent(
    """
    import json, sys
    from purpose_desktop.engine.errors import ModelError
    from purpose_desktop.engine.models.local import LocalModel
    for path in sys.argv[1:]:
        print("start " + path, flush=True)
        try:
            LocalModel(path, n_ctx=64, n_threads=1, n_gpu_layers=0).close()
            print("loaded", flush=True)
        except ModelError as exc:
            print("error " + json.dumps([exc.message, exc.hint]), flush=True)
        except BaseException as exc:
            print("other " + type(exc).__name__ + ": " + str(exc)[:200], flush=True)
    """
)


def _load_all(paths: list[Path]) -> dict[str, str]:
    """LocalModel on each path in a child; a child that dies natively is recorded and restarted."""
    outcomes: dict[str, str] = {}
    pending = [str(p) for p in paths]
    while pending:
        proc = subprocess.run(
            [sys.executable, "-c", LOADER, *pending],
            cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
            capture_output=True,
            text=True,
            timeout=300,
        )
        current = None
        for line in proc.stdout.splitlines():
            if line.startswith("start "):
                current = line[6:]
            elif current is not None:
                outcomes[current] = line
                current = None
        if current is not None:  # the child died while loading ``current``
            outcomes[current] = f"crash: exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
        done = set(outcomes)
        pending = [p for p in pending if p not in done]
        if proc.returncode == 0 and pending:
            raise AssertionError(f"the loader stopped early: {proc.stderr[-500:]}")
    return outcomes


@pytest.mark.slow
def test_llama_cpp_never_crashes_on_files_the_header_reader_accepts(hostile_folder):
    accepted = [hostile_folder / f"{n}.gguf" for n in VARIANTS if n.startswith("accepted_")]
    outcomes = _load_all(accepted)
    crashes = {Path(p).name: o for p, o in outcomes.items() if o.startswith(("crash", "other", "loaded"))}
    record(
        "model_loader",
        variants=len(VARIANTS),
        reached_llama_cpp=len(accepted),
        clean_errors=sum(o.startswith("error ") for o in outcomes.values()),
        crashes=len(crashes),
    )
    assert not crashes, crashes
    for outcome in outcomes.values():
        message, hint = json.loads(outcome[6:])
        assert message and hint


def test_sparse_2gb_template_keeps_only_its_start(hostile_folder):
    info = read_gguf_info(hostile_folder / "sparse_2gb_chat_template.gguf")
    assert len(info.chat_template or "") <= gguf.MAX_STRING_CHARS
    assert math.isfinite(info.file_size) and info.file_size > 2 << 30
