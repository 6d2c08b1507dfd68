"""GGUF header reader: the real bundled model, synthetic v2/v3 files, and every way a file can be broken."""

from __future__ import annotations

import json
import os
import struct
import time
import zipfile

import pytest

from purpose_desktop.engine.errors import ModelError
from purpose_desktop.engine.models import discovery
from purpose_desktop.engine.models import gguf as g
from purpose_desktop.engine.models.gguf import (
    ArraySummary,
    Typed,
    encode_gguf_header,
    read_gguf_info,
    write_gguf,
)

TEMPLATE = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"


def small_model(path, *, version=3, arch="llama", extra=None, tensors=None, file_type=3):
    """A tiny, valid GGUF: two Q4_1 matrices and one F32 norm."""
    meta = {"general.architecture": arch, "general.name": "Tiny Test"}
    if file_type is not None:
        meta["general.file_type"] = file_type
    meta[f"{arch}.context_length"] = 2048
    meta["tokenizer.chat_template"] = TEMPLATE
    meta.update(extra or {})
    if tensors is None:
        tensors = [
            ("token_embd.weight", (64, 100), g.GGML_TYPES_BY_NAME["Q4_1"]),
            ("blk.0.attn_norm.weight", (64,), 0),
            ("blk.0.ffn_up.weight", (64, 128), g.GGML_TYPES_BY_NAME["Q4_1"]),
        ]
    return write_gguf(path, meta, tensors, version=version)


def expect_error(path, *fragments):
    started = time.perf_counter()
    with pytest.raises(ModelError) as info:
        read_gguf_info(path)
    elapsed = time.perf_counter() - started
    err = info.value
    assert err.hint, "every model error carries a hint"
    for fragment in fragments:
        assert fragment.lower() in err.message.lower(), err.message
    assert elapsed < 0.5, f"rejecting {path} took {elapsed:.2f}s"
    return err


# --- the real bundled model ----------------------------------------------------------------------------


def test_reads_the_bundled_model():
    path = discovery.default_model_path()
    info = read_gguf_info(path)
    assert info.architecture == "llama"
    assert info.quantization == "Q4_1"
    assert info.context_length == 8192
    assert info.has_chat_template and "<|im_start|>" in info.chat_template
    assert 130_000_000 < info.n_params < 140_000_000
    assert info.size_label == "135M"
    assert info.version == 3
    assert info.tensor_count == len(info.tensors) > 100
    assert info.file_size == path.stat().st_size
    assert info.vocab_size == 49152
    assert isinstance(info.metadata["tokenizer.ggml.tokens"], ArraySummary)
    json.dumps(info.to_dict())  # JSON-safe


def test_bundled_model_header_is_read_quickly():
    path = discovery.default_model_path()
    times = []
    for _ in range(3):
        started = time.perf_counter()
        read_gguf_info(path)
        times.append(time.perf_counter() - started)
    # Budget is 50 ms; the bound here is loose so a busy CI machine does not flake.
    assert min(times) < 0.25, times


# --- synthetic files -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [2, 3])
def test_synthetic_versions(tmp_path, version):
    info = read_gguf_info(small_model(tmp_path / f"v{version}.gguf", version=version))
    assert info.version == version
    assert info.architecture == "llama"
    assert info.name == "Tiny Test"
    assert info.quantization == "Q4_1"
    assert info.context_length == 2048
    assert info.chat_template == TEMPLATE
    assert info.n_params == 64 * 100 + 64 + 64 * 128
    assert info.tensor_count == 3
    assert info.size_label == "15K"


def test_all_value_types_and_arrays(tmp_path):
    extra = {
        "t.u8": Typed(g.T_UINT8, 255),
        "t.i8": Typed(g.T_INT8, -5),
        "t.u16": Typed(g.T_UINT16, 65535),
        "t.i16": Typed(g.T_INT16, -300),
        "t.u32": Typed(g.T_UINT32, 4_000_000_000),
        "t.i32": Typed(g.T_INT32, -70_000),
        "t.f32": Typed(g.T_FLOAT32, 1.5),
        "t.bool": True,
        "t.u64": Typed(g.T_UINT64, 2**63),
        "t.i64": Typed(g.T_INT64, -(2**40)),
        "t.f64": Typed(g.T_FLOAT64, 0.1),
        "t.str": "héllo ✓",
        "t.ints": Typed(g.T_ARRAY, [1, 2, 3], g.T_INT32),
        "t.strs": ["a", "bb", ""],
        "t.nested": Typed(g.T_ARRAY, [[1, 2], [3]], g.T_ARRAY),
        "t.empty": Typed(g.T_ARRAY, [], g.T_FLOAT32),
        "tokenizer.ggml.tokens": [f"tok{i}" for i in range(5000)],
        "tokenizer.ggml.scores": Typed(g.T_ARRAY, [0.0] * 5000, g.T_FLOAT32),
    }
    info = read_gguf_info(small_model(tmp_path / "types.gguf", extra=extra))
    m = info.metadata
    assert m["t.u8"] == 255 and m["t.i8"] == -5 and m["t.u16"] == 65535 and m["t.i16"] == -300
    assert m["t.u32"] == 4_000_000_000 and m["t.i32"] == -70_000 and m["t.f32"] == 1.5
    assert m["t.bool"] is True and m["t.u64"] == 2**63 and m["t.i64"] == -(2**40)
    assert m["t.f64"] == pytest.approx(0.1)
    assert m["t.str"] == "héllo ✓"
    assert m["t.ints"] == [1, 2, 3] and m["t.strs"] == ["a", "bb", ""]
    assert m["t.nested"] == [[1, 2], [3]] and m["t.empty"] == []
    # Long arrays are counted, not materialised.
    assert m["tokenizer.ggml.tokens"] == ArraySummary(g.T_STRING, 5000)
    assert m["tokenizer.ggml.scores"] == ArraySummary(g.T_FLOAT32, 5000)
    assert info.vocab_size == 5000


def test_invalid_utf8_is_replaced(tmp_path):
    path = small_model(
        tmp_path / "utf8.gguf", extra={"general.description": Typed(g.T_STRING, b"ok \xff\xfe")}
    )
    assert read_gguf_info(path).metadata["general.description"] == "ok \ufffd\ufffd"


def test_missing_file_type_uses_dominant_tensor_type(tmp_path):
    q4k = g.GGML_TYPES_BY_NAME["Q4_K"]
    tensors = [
        ("token_embd.weight", (256, 64), q4k),
        ("blk.0.ffn_up.weight", (256, 32), g.GGML_TYPES_BY_NAME["Q6_K"]),
        ("blk.0.attn_norm.weight", (100_000,), 0),  # 1-D tensors never decide
    ]
    info = read_gguf_info(small_model(tmp_path / "noft.gguf", file_type=None, tensors=tensors))
    assert info.quantization == "Q4_K"


@pytest.mark.parametrize(
    ("ftype", "name"),
    [
        (0, "F32"),
        (1, "F16"),
        (2, "Q4_0"),
        (7, "Q8_0"),
        (15, "Q4_K_M"),
        (18, "Q6_K"),
        (30, "IQ4_XS"),
        (32, "BF16"),
        (1024 + 15, "Q4_K_M"),
    ],
)
def test_file_type_names(tmp_path, ftype, name):
    assert read_gguf_info(small_model(tmp_path / "ft.gguf", file_type=ftype)).quantization == name


def test_size_label_prefers_metadata(tmp_path):
    path = small_model(tmp_path / "label.gguf", extra={"general.size_label": "7B"})
    assert read_gguf_info(path).size_label == "7B"


def test_no_chat_template(tmp_path):
    path = write_gguf(tmp_path / "base.gguf", {"general.architecture": "qwen2"}, [("w", (32, 2), 0)])
    info = read_gguf_info(path)
    assert info.chat_template is None and not info.has_chat_template
    assert info.context_length is None


def test_custom_alignment(tmp_path):
    path = tmp_path / "align.gguf"
    header, size = encode_gguf_header(
        {"general.architecture": "llama", "general.alignment": 64}, [("w", (8, 8), 0)], alignment=64
    )
    path.write_bytes(header + bytes(size))
    info = read_gguf_info(path)
    assert info.data_offset % 64 == 0 and info.data_offset == len(header)


# --- files that are not (usable) GGUF ------------------------------------------------------------------


def test_missing_path(tmp_path):
    expect_error(tmp_path / "nope.gguf", "not found")


def test_directory(tmp_path):
    expect_error(tmp_path, "folder")


def test_empty_file(tmp_path):
    (tmp_path / "empty.gguf").write_bytes(b"")
    expect_error(tmp_path / "empty.gguf", "empty")


def test_random_100_bytes(tmp_path):
    path = tmp_path / "random.gguf"
    path.write_bytes(bytes((i * 37 + 11) % 256 for i in range(100)))
    expect_error(path, "not a GGUF")


def test_text_file_renamed(tmp_path):
    path = tmp_path / "notes.gguf"
    path.write_text("These are my notes, not a model.\n" * 20)
    expect_error(path, "not a GGUF", "text file")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (struct.pack("<Q", 40) + b'{"__metadata__": {"format": "pt"}}    ' + bytes(64), "safetensors"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n", "git lfs"),
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "web page"),
        (struct.pack("<I", 0x67676A74) + bytes(60), "ggml"),
        (b"\x80\x02}q\x00(X\x05\x00\x00\x00" + bytes(40), "pickle"),
    ],
)
def test_foreign_formats_are_named(tmp_path, content, fragment):
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    expect_error(path, "not a GGUF", fragment)


def test_pytorch_zip(tmp_path):
    path = tmp_path / "pytorch_model.bin"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02")
    expect_error(path, "zip")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file(tmp_path):
    path = small_model(tmp_path / "locked.gguf")
    path.chmod(0)
    try:
        expect_error(path, "permission")
    finally:
        path.chmod(0o644)


def test_unreadable_file_reported_as_permission(tmp_path, monkeypatch):
    path = small_model(tmp_path / "locked.gguf")

    def deny(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(g, "open", deny, raising=False)  # shadows the builtin inside gguf.py only
    expect_error(path, "permission")


@pytest.mark.parametrize(("version", "fragment"), [(1, "version 1"), (4, "version 4"), (99, "version 99")])
def test_unsupported_versions(tmp_path, version, fragment):
    path = small_model(tmp_path / "v.gguf")
    data = bytearray(path.read_bytes())
    data[4:8] = struct.pack("<I", version)
    path.write_bytes(bytes(data))
    expect_error(path, fragment)


def test_big_endian(tmp_path):
    path = small_model(tmp_path / "be.gguf")
    data = bytearray(path.read_bytes())
    data[4:8] = struct.pack(">I", 3)
    path.write_bytes(bytes(data))
    expect_error(path, "big-endian")


@pytest.mark.parametrize("cut", [5, 12, 30, 60, 150])
def test_truncated_header(tmp_path, cut):
    path = small_model(tmp_path / "cut.gguf", extra={"tokenizer.ggml.tokens": [f"t{i}" for i in range(400)]})
    data = path.read_bytes()[:cut]
    path.write_bytes(data)
    expect_error(path, "truncated")


def test_truncated_inside_skipped_array(tmp_path):
    path = small_model(
        tmp_path / "cut.gguf", extra={"tokenizer.ggml.tokens": [f"tok{i}" for i in range(5000)]}
    )
    header, _ = encode_gguf_header({"tokenizer.ggml.tokens": [f"tok{i}" for i in range(5000)]})
    path.write_bytes(path.read_bytes()[: len(header) // 2])
    expect_error(path, "truncated")


def test_cut_at_half_is_incomplete(tmp_path):
    path = small_model(
        tmp_path / "half.gguf", tensors=[("token_embd.weight", (1024, 1024), 0), ("out", (1024, 256), 0)]
    )
    size = path.stat().st_size
    os.truncate(path, size // 2)
    err = expect_error(path, "incomplete")
    assert "interrupted" in err.hint


def test_real_model_cut_at_half(tmp_path):
    src = discovery.default_model_path()
    dst = tmp_path / "half-real.gguf"
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        fout.write(fin.read(src.stat().st_size // 2))
    err = expect_error(dst, "incomplete", "50%")
    assert "download" in err.hint.lower()


def _raw_header(tensor_count, kv_count, body=b""):
    return g.GGUF_MAGIC + struct.pack("<IQQ", 3, tensor_count, kv_count) + body


@pytest.mark.parametrize(
    "content",
    [
        _raw_header(2**62, 0),
        _raw_header(0, 2**62),
        _raw_header(0, 1, struct.pack("<Q", 2**63) + b"key"),  # absurd key length
        _raw_header(0, 1, struct.pack("<Q", 1) + b"k" + struct.pack("<IIQ", g.T_ARRAY, g.T_STRING, 2**60)),
        _raw_header(0, 1, struct.pack("<Q", 1) + b"k" + struct.pack("<IIQ", g.T_ARRAY, g.T_UINT64, 2**60)),
        _raw_header(0, 1, struct.pack("<Q", 1) + b"k" + struct.pack("<IQ", g.T_STRING, 2**60)),
        _raw_header(
            1, 0, struct.pack("<Q", 1) + b"w" + struct.pack("<I", 2**31) + bytes(40)
        ),  # absurd n_dims
    ],
)
def test_absurd_counts_fail_fast(tmp_path, content):
    path = tmp_path / "evil.gguf"
    path.write_bytes(content + bytes(64))
    err = expect_error(path)
    assert "truncated" in err.message or "corrupt" in err.message


def test_unknown_value_type_is_corrupt(tmp_path):
    path = tmp_path / "badtype.gguf"
    path.write_bytes(_raw_header(0, 1, struct.pack("<Q", 1) + b"k" + struct.pack("<I", 77)) + bytes(32))
    expect_error(path, "corrupt")


def test_bad_alignment_is_corrupt(tmp_path):
    path = small_model(tmp_path / "align.gguf", extra={"general.alignment": 3})
    expect_error(path, "alignment")


@pytest.mark.parametrize(
    ("arch", "fragment"),
    [
        ("bert", "embedding model"),
        ("nomic-bert", "embedding model"),
        ("clip", "vision projector"),
        ("definitely-not-an-arch", "cannot run"),
    ],
)
def test_unsupported_architectures(tmp_path, arch, fragment):
    path = small_model(tmp_path / f"{arch}.gguf", arch=arch)
    expect_error(path, fragment)
    # Discovery can still describe the file when asked not to judge it.
    assert read_gguf_info(path, require_supported=False).architecture == arch


def test_missing_architecture(tmp_path):
    path = write_gguf(tmp_path / "noarch.gguf", {"general.name": "x"}, [("w", (32, 2), 0)])
    expect_error(path, "architecture")


def test_supported_list_is_generous():
    for arch in ("llama", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi2", "phi3", "starcoder2",
                 "falcon", "gpt2", "stablelm", "mpt", "bloom", "olmo", "granite", "deepseek2",
                 "command-r", "internlm2", "minicpm", "exaone", "t5"):  # fmt: skip
        assert arch in g.SUPPORTED_ARCHITECTURES
    assert "bert" not in g.SUPPORTED_ARCHITECTURES
