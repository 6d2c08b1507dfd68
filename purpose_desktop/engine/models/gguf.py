"""GGUF header reader: validates a model file and summarises it (no llama_cpp, no dependencies)."""

from __future__ import annotations

import errno
import math
import mmap
import os
import stat
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from purpose_desktop.engine.errors import ModelError

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32

# Arrays longer than this are counted and skipped, never materialised (tokenizer vocabularies, merges).
MAX_MATERIALISED_ARRAY = 256
# Sanity limits against corrupt or hostile headers; real models are far below them.
MAX_TENSORS = 1 << 20
MAX_KV = 1 << 20
MAX_DIMS = 4  # GGML_MAX_DIMS
LLAMA_MAX_LAYERS = 512  # llama.cpp aborts (not errors) above these; see _aborting_hparams
LLAMA_MAX_EXPERTS = 256
MAX_ARRAY_NESTING = 16  # arrays of arrays: real files nest once or twice; a hostile one, thousands deep
# Longer metadata strings keep only their start: the largest real ones (an embedded tokenizer.json) are a
# few MB, while a hostile header can claim gigabytes that decoding would copy twice into memory.
MAX_STRING_CHARS = 16 << 20

# Architectures llama.cpp can run as chat/text-generation models (llama-arch.cpp names).
SUPPORTED_ARCHITECTURES: frozenset[str] = frozenset(
    {
        "llama", "llama4", "deci", "falcon", "falcon-h1", "grok", "gpt2", "gptj", "gptneox", "mpt",
        "baichuan", "starcoder", "starcoder2", "refact", "bloom", "stablelm", "qwen", "qwen2",
        "qwen2moe", "qwen2vl", "qwen3", "qwen3moe", "qwen3next", "qwen3vl", "qwen3vlmoe", "phi2",
        "phi3", "phimoe", "plamo", "plamo2", "codeshell", "orion", "internlm2", "minicpm", "minicpm3",
        "gemma", "gemma2", "gemma3", "gemma3n", "mamba", "mamba2", "jamba", "xverse", "command-r",
        "cohere2", "dbrx", "olmo", "olmo2", "olmoe", "openelm", "arctic", "deepseek", "deepseek2",
        "chatglm", "glm4", "glm4moe", "bitnet", "t5", "jais", "nemotron", "nemotron_h", "exaone",
        "exaone4", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7", "granite", "granitemoe",
        "granitehybrid", "chameleon", "plm", "bailingmoe", "bailingmoe2", "dots1", "arcee",
        "ernie4_5", "ernie4_5-moe", "hunyuan-moe", "hunyuan-dense", "smollm3", "gpt-oss", "lfm2",
        "lfm2moe", "seed_oss", "grovemoe", "apertus", "minimax-m2", "mistral3", "smallthinker",
        "pangu-embedded", "cogvlm", "afmoe", "megrez-moe", "llada", "llada-moe", "dream", "rnd1",
    }
)  # fmt: skip

# Files llama.cpp opens but that cannot chat: embedding encoders, vision projectors, audio codecs.
NOT_CHAT_ARCHITECTURES: dict[str, str] = {
    "bert": "an embedding model",
    "nomic-bert": "an embedding model",
    "nomic-bert-moe": "an embedding model",
    "neo-bert": "an embedding model",
    "jina-bert-v2": "an embedding model",
    "jina-bert-v3": "an embedding model",
    "modern-bert": "an embedding model",
    "gemma-embedding": "an embedding model",
    "t5encoder": "an encoder-only model",
    "clip": "a vision projector (mmproj) that belongs beside a vision model",
    "wavtokenizer-dec": "an audio decoder",
}

# general.file_type → name (llama.h LLAMA_FTYPE_*; 4 and 33-35 are retired upstream but name old files).
FILE_TYPE_NAMES: dict[int, str] = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 4: "Q4_1_SOME_F16", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
    10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS",
    24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS",
    31: "IQ1_M", 32: "BF16", 33: "Q4_0_4_4", 34: "Q4_0_4_8", 35: "Q4_0_8_8", 36: "TQ1_0",
    37: "TQ2_0", 38: "MXFP4_MOE",
}  # fmt: skip


class GGMLType(NamedTuple):
    name: str
    block_size: int  # elements per block
    type_size: int  # bytes per block


# ggml_type → (name, elements per block, bytes per block), as in gguf-py's GGML_QUANT_SIZES.
GGML_TYPES: dict[int, GGMLType] = {code: GGMLType(*spec) for code, spec in {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22), 7: ("Q5_1", 32, 24), 8: ("Q8_0", 32, 34), 9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84), 11: ("Q3_K", 256, 110), 12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210), 15: ("Q8_K", 256, 292), 16: ("IQ2_XXS", 256, 66), 17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98), 19: ("IQ1_S", 256, 50), 20: ("IQ4_NL", 32, 18), 21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82), 23: ("IQ4_XS", 256, 136), 24: ("I8", 1, 1), 25: ("I16", 1, 2),
    26: ("I32", 1, 4), 27: ("I64", 1, 8), 28: ("F64", 1, 8), 29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2), 31: ("Q4_0_4_4", 32, 18), 32: ("Q4_0_4_8", 32, 18), 33: ("Q4_0_8_8", 32, 18),
    34: ("TQ1_0", 256, 54), 35: ("TQ2_0", 256, 66), 36: ("IQ4_NL_4_4", 32, 18),
    37: ("IQ4_NL_4_8", 32, 18), 38: ("IQ4_NL_8_8", 32, 18), 39: ("MXFP4", 32, 17),
}.items()}  # fmt: skip
GGML_TYPES_BY_NAME: dict[str, int] = {t.name: code for code, t in GGML_TYPES.items()}

# GGUF metadata value types.
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL = range(8)
T_STRING, T_ARRAY, T_UINT64, T_INT64, T_FLOAT64 = range(8, 13)
_SCALAR_FORMATS: dict[int, struct.Struct] = {
    T_UINT8: struct.Struct("<B"),
    T_INT8: struct.Struct("<b"),
    T_UINT16: struct.Struct("<H"),
    T_INT16: struct.Struct("<h"),
    T_UINT32: struct.Struct("<I"),
    T_INT32: struct.Struct("<i"),
    T_FLOAT32: struct.Struct("<f"),
    T_BOOL: struct.Struct("<?"),
    T_UINT64: struct.Struct("<Q"),
    T_INT64: struct.Struct("<q"),
    T_FLOAT64: struct.Struct("<d"),
}
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

_HINT_REDOWNLOAD = "Download the model again, or pick another .gguf file."
_HINT_GET_GGUF = (
    "Purpose Desktop runs GGUF models (llama.cpp format). Download a .gguf version of the model "
    "(Hugging Face repositories ending in '-GGUF' have them) or convert it with llama.cpp."
)


@dataclass(frozen=True)
class ArraySummary:
    """A metadata array too long to keep: its element type and length only."""

    item_type: int
    count: int


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # relative to the start of the tensor data section

    @property
    def n_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def n_bytes(self) -> int | None:
        """Bytes of data, or None for a ggml type this reader does not know."""
        t = GGML_TYPES.get(self.ggml_type)
        if t is None:
            return None
        return self.n_elements // t.block_size * t.type_size

    @property
    def type_name(self) -> str:
        t = GGML_TYPES.get(self.ggml_type)
        return t.name if t else f"type{self.ggml_type}"


@dataclass(frozen=True)
class GGUFInfo:
    """What the GGUF header says about a model file; read without loading any weights."""

    path: Path
    file_size: int
    version: int
    architecture: str
    name: str | None
    size_label: str | None
    quantization: str | None
    context_length: int | None
    chat_template: str | None
    n_params: int | None
    tensor_count: int
    # Extras beyond the contract: all scalar metadata (long arrays summarised) and the tensor table.
    metadata: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    tensors: tuple[TensorInfo, ...] = field(default=(), repr=False, compare=False)
    data_offset: int = field(default=0, repr=False, compare=False)

    @property
    def has_chat_template(self) -> bool:
        return bool(self.chat_template and self.chat_template.strip())

    @property
    def vocab_size(self) -> int | None:
        tokens = self.metadata.get("tokenizer.ggml.tokens")
        if isinstance(tokens, ArraySummary):
            return tokens.count
        return len(tokens) if isinstance(tokens, list) else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "file_size": self.file_size,
            "version": self.version,
            "architecture": self.architecture,
            "name": self.name,
            "size_label": self.size_label,
            "quantization": self.quantization,
            "context_length": self.context_length,
            "chat_template": self.chat_template,
            "has_chat_template": self.has_chat_template,
            "n_params": self.n_params,
            "tensor_count": self.tensor_count,
            "vocab_size": self.vocab_size,
        }


class _Truncated(Exception):
    """Internal: the header ran past the end of the file."""


class _Corrupt(Exception):
    """Internal: a header field holds an impossible value."""


class _Parser:
    """Walks the header of a memory-mapped file; every read is bounds-checked by struct."""

    def __init__(self, buf: mmap.mmap | bytes, size: int, version: int) -> None:
        self.buf = buf
        self.size = size
        self.pos = 0
        # GGUF v1 used 32-bit counts and lengths; we refuse v1 earlier but keep the reader honest.
        self.len_fmt = _U64 if version >= 2 else _U32

    def _unpack(self, fmt: struct.Struct) -> Any:
        try:
            (v,) = fmt.unpack_from(self.buf, self.pos)
        except struct.error as exc:
            raise _Truncated from exc
        self.pos += fmt.size
        return v

    def u32(self) -> int:
        return self._unpack(_U32)

    def length(self) -> int:
        return self._unpack(self.len_fmt)

    def string(self) -> str:
        n = self.length()
        end = self.pos + n
        if end > self.size:
            raise _Truncated
        s = self.buf[self.pos : min(end, self.pos + MAX_STRING_CHARS)].decode("utf-8", errors="replace")
        self.pos = end
        return s

    def value(self, vtype: int) -> Any:
        fmt = _SCALAR_FORMATS.get(vtype)
        if fmt is not None:
            return self._unpack(fmt)
        if vtype == T_STRING:
            return self.string()
        if vtype == T_ARRAY:
            return self.array()
        raise _Corrupt(f"unknown metadata value type {vtype}")

    def array(self, depth: int = 0) -> list[Any] | ArraySummary:
        if depth >= MAX_ARRAY_NESTING:
            raise _Corrupt(f"metadata arrays nested more than {MAX_ARRAY_NESTING} deep")
        item_type = self.u32()
        count = self.length()
        remaining = self.size - self.pos
        fmt = _SCALAR_FORMATS.get(item_type)
        if fmt is not None:
            if count * fmt.size > remaining:
                raise _Truncated
            if count > MAX_MATERIALISED_ARRAY:
                self.pos += count * fmt.size
                return ArraySummary(item_type, count)
            start = self.pos
            self.pos += count * fmt.size
            return [fmt.unpack_from(self.buf, start + i * fmt.size)[0] for i in range(count)]
        if item_type == T_STRING:
            # Each string costs at least its 8-byte length, so a hostile count cannot make us loop forever.
            if count * self.len_fmt.size > remaining:
                raise _Truncated
            if count > MAX_MATERIALISED_ARRAY:
                self._skip_strings(count)
                return ArraySummary(item_type, count)
            return [self.string() for _ in range(count)]
        if item_type == T_ARRAY:
            if count * 12 > remaining:
                raise _Truncated
            if count > MAX_MATERIALISED_ARRAY:
                for _ in range(count):
                    self.array(depth + 1)
                return ArraySummary(item_type, count)
            return [self.array(depth + 1) for _ in range(count)]
        raise _Corrupt(f"unknown array item type {item_type}")

    def _skip_strings(self, count: int) -> None:
        # Hot loop for tokenizer vocabularies (~50k-250k entries): keep it to one unpack per item.
        unpack = self.len_fmt.unpack_from
        step = self.len_fmt.size
        buf = self.buf
        pos = self.pos
        try:
            for _ in range(count):
                pos += step + unpack(buf, pos)[0]
        except struct.error as exc:
            raise _Truncated from exc
        if pos > self.size:
            raise _Truncated
        self.pos = pos


def _describe_foreign(head: bytes) -> str | None:
    """Name the format of a file that is not GGUF, when its first bytes make that clear."""
    if head[:4] in (b"lmgg", b"fmgg", b"tjgg", b"algg"):
        return "an old GGML/GGJT model file (the format before GGUF, retired in August 2023)"
    if head[:4] == b"PK\x03\x04":
        return "a zip archive (a PyTorch .bin/.pt checkpoint or a compressed download)"
    if len(head) >= 10 and head[8:10] in (b'{"', b"{ ") and struct.unpack_from("<Q", head)[0] < 100_000_000:
        return "a safetensors file (Hugging Face weights, not GGUF)"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle (an old PyTorch checkpoint)"
    if head[:2] == b"\x1f\x8b":
        return "a gzip archive"
    if head[:4] == b"\x89HDF":
        return "an HDF5 file (Keras weights)"
    if head.startswith(b"version https://git-lfs"):
        return "a Git LFS pointer — only a placeholder for the real model file"
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "a web page (the download saved an HTML page instead of the model)"
    if stripped.startswith((b"{", b"[")):
        return "a JSON text file"
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "a text file"
    return None


def _format_params(n: int) -> str:
    if n >= 1_000_000_000:
        return f"{n / 1e9:.1f}".removesuffix(".0") + "B"
    if n >= 1_000_000:
        return f"{round(n / 1e6)}M"
    return f"{max(1, round(n / 1e3))}K"


def _dominant_type(tensors: Iterable[TensorInfo]) -> str | None:
    """The ggml type holding most weights among matrices (1-D norms and biases stay F32 anyway)."""
    weights: dict[int, int] = {}
    for t in tensors:
        if len(t.shape) >= 2:
            weights[t.ggml_type] = weights.get(t.ggml_type, 0) + t.n_elements
    if not weights:
        return None
    best = max(weights, key=lambda k: weights[k])
    return GGML_TYPES[best].name if best in GGML_TYPES else f"type{best}"


def _check_path(path: Path) -> int:
    """Fail early, with a human reason, on anything that is not a readable regular file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ModelError(
            f"Model file not found: {path}", "Check the path, or pick a model from the list of found models."
        ) from None
    except PermissionError:
        raise ModelError(
            f"No permission to read {path}", "Change the file's permissions or copy it somewhere you own."
        ) from None
    except OSError as exc:
        raise ModelError(f"Cannot read {path}: {exc.strerror or exc}", _HINT_REDOWNLOAD) from None
    if stat.S_ISDIR(st.st_mode):
        raise ModelError(
            f"{path} is a folder, not a model file",
            "Pick the .gguf file inside it, or add the folder as a model folder so its models are listed.",
        )
    if not stat.S_ISREG(st.st_mode):
        raise ModelError(f"{path} is not a regular file", "Pick a .gguf model file.")
    return st.st_size


def read_gguf_info(
    path: str | os.PathLike[str], *, require_supported: bool = True, final_size: int | None = None
) -> GGUFInfo:
    """Read and validate the header, metadata and tensor table of a GGUF file.

    Never loads weights: cost is one pass over the metadata (tokenizer strings are skipped, not decoded).
    Raises ModelError with a message and a hint for every way a file can be unusable; with
    ``require_supported=False`` an architecture llama.cpp cannot chat with is reported in the info instead.
    ``final_size`` is for a file still being downloaded: the header is read from the bytes already
    there (a header cut short is "truncated"), and whether the tensors fit is judged against the size
    the file will have; the caller must check that it does end up that size.
    """
    path = Path(path).expanduser()
    size = _check_path(path)
    if size == 0:
        raise ModelError(f"{path.name} is empty (0 bytes)", _HINT_REDOWNLOAD)
    try:
        f = open(path, "rb")  # closed by the `with f` below
    except PermissionError:
        raise ModelError(
            f"No permission to read {path}", "Change the file's permissions or copy it somewhere you own."
        ) from None
    except OSError as exc:
        raise ModelError(f"Cannot open {path}: {exc.strerror or exc}", _HINT_REDOWNLOAD) from None
    with f:
        head = f.read(64)
        if head[:4] != GGUF_MAGIC:
            what = _describe_foreign(head)
            raise ModelError(
                f"{path.name} is not a GGUF model" + (f": it looks like {what}" if what else ""),
                _HINT_GET_GGUF,
            )
        if len(head) < 24:
            raise ModelError(f"{path.name} is truncated: the GGUF header is incomplete", _HINT_REDOWNLOAD)
        (version,) = _U32.unpack_from(head, 4)
        if version not in SUPPORTED_VERSIONS:
            swapped = int.from_bytes(head[4:8], "big")
            if swapped in SUPPORTED_VERSIONS:
                raise ModelError(
                    f"{path.name} is a big-endian GGUF file",
                    "Only little-endian GGUF files run on this computer; download the standard (little-endian) file.",
                )
            if version == 1:
                raise ModelError(
                    f"{path.name} uses GGUF version 1, which llama.cpp no longer reads",
                    "Download a newer conversion of the model (GGUF v3).",
                )
            raise ModelError(
                f"{path.name} uses GGUF version {version}, which this app does not understand",
                "Update Purpose Desktop, or download a GGUF v3 file of the model.",
            )
        try:
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
                raise ModelError(f"No permission to read {path}", "Check the file's permissions.") from None
            raise ModelError(f"Cannot read {path}: {exc}", _HINT_REDOWNLOAD) from None
        try:
            return _parse(path, buf, size, version, require_supported, final_size or size)
        finally:
            buf.close()


def _parse(
    path: Path, buf: mmap.mmap, size: int, version: int, require_supported: bool, final_size: int
) -> GGUFInfo:
    p = _Parser(buf, size, version)
    p.pos = 8
    try:
        tensor_count = p.length()
        kv_count = p.length()
        if tensor_count > MAX_TENSORS or kv_count > MAX_KV:
            raise _Corrupt(f"impossible counts ({tensor_count:,} tensors, {kv_count:,} metadata entries)")
        # Every KV takes >= 13 bytes and every tensor info >= 25: more than the file holds means it was cut.
        if kv_count * 13 + tensor_count * 25 > size - p.pos:
            raise _Truncated
        metadata: dict[str, Any] = {}
        for _ in range(kv_count):
            key = p.string()
            vtype = p.u32()
            metadata[key] = p.value(vtype)
        tensors: list[TensorInfo] = []
        for _ in range(tensor_count):
            name = p.string()
            n_dims = p.u32()
            if n_dims > MAX_DIMS:
                raise _Corrupt(f"tensor {name!r} has {n_dims} dimensions")
            shape = tuple(p.length() for _ in range(n_dims))
            ggml_type = p.u32()
            offset = p.length()
            tensors.append(TensorInfo(name, shape, ggml_type, offset))
        header_end = p.pos
    except _Truncated:
        raise ModelError(
            f"{path.name} is truncated: the file ends inside its header",
            "The download was probably interrupted. " + _HINT_REDOWNLOAD,
        ) from None
    except _Corrupt as exc:
        raise ModelError(f"{path.name} is corrupt: {exc}", _HINT_REDOWNLOAD) from None

    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise ModelError(f"{path.name} is corrupt: bad alignment {alignment!r}", _HINT_REDOWNLOAD)
    data_offset = -(-header_end // alignment) * alignment

    # The data section must hold every tensor in full: a short file is an interrupted download.
    needed = data_offset
    for t in tensors:
        n_bytes = t.n_bytes
        end = data_offset + t.offset + (n_bytes if n_bytes is not None else 0)
        needed = max(needed, end)
    if tensors and needed > final_size:
        pct = 100 * final_size / needed
        raise ModelError(
            f"{path.name} is incomplete: {final_size:,} of {needed:,} bytes ({pct:.0f}%)",
            "The download was probably interrupted. " + _HINT_REDOWNLOAD,
        )

    arch_value = metadata.get("general.architecture")
    architecture = arch_value if isinstance(arch_value, str) else ""
    if require_supported:
        check_architecture(architecture, path.name)
    aborts = _aborting_hparams(metadata, architecture)
    if aborts:
        raise ModelError(f"{path.name} is corrupt: {aborts}", _HINT_REDOWNLOAD)

    def _str(key: str) -> str | None:
        v = metadata.get(key)
        return v if isinstance(v, str) and v else None

    def _int(key: str) -> int | None:
        v = metadata.get(key)
        return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None

    n_params = sum(t.n_elements for t in tensors) if tensors else None
    file_type = metadata.get("general.file_type")
    if isinstance(file_type, int) and not isinstance(file_type, bool):
        quantization = FILE_TYPE_NAMES.get(file_type & ~1024, f"ftype{file_type}")
    else:
        quantization = _dominant_type(tensors)
    size_label = _str("general.size_label") or (_format_params(n_params) if n_params else None)

    return GGUFInfo(
        path=path,
        file_size=final_size,
        version=version,
        architecture=architecture,
        name=_str("general.name"),
        size_label=size_label,
        quantization=quantization,
        context_length=_int(f"{architecture}.context_length") if architecture else None,
        chat_template=_str("tokenizer.chat_template"),
        n_params=n_params,
        tensor_count=len(tensors),
        metadata=metadata,
        tensors=tuple(tensors),
        data_offset=data_offset,
    )


def _aborting_hparams(metadata: Mapping[str, Any], architecture: str) -> str | None:
    """Values llama.cpp meets with an assertion that aborts the whole app instead of an error.

    (llama-hparams.h / llama-model.cpp: LLAMA_MAX_LAYERS, LLAMA_MAX_EXPERTS and the expert-count
    GGML_ASSERTs; each found by the hostile-GGUF reliability battery.)
    """

    def num(key: str) -> int | None:
        v = metadata.get(f"{architecture}.{key}")
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    layers, experts, used = num("block_count"), num("expert_count") or 0, num("expert_used_count") or 0
    if layers is not None and not 0 < layers <= LLAMA_MAX_LAYERS:
        return f"it claims {layers:,} layers (llama.cpp supports 1 to {LLAMA_MAX_LAYERS})"
    if not 0 <= experts <= LLAMA_MAX_EXPERTS:
        return f"it claims {experts:,} experts (llama.cpp supports at most {LLAMA_MAX_EXPERTS})"
    if used < 0 or used > experts or (experts > 0) != (used > 0):
        return f"it uses {used:,} of {experts:,} experts per token"
    return None


def check_architecture(architecture: str, label: str = "This model") -> None:
    """Raise ModelError unless llama.cpp can chat with ``architecture``."""
    if not architecture:
        raise ModelError(
            f"{label} does not say which architecture it is (no general.architecture)",
            "The file is probably corrupt or made by a broken converter. " + _HINT_REDOWNLOAD,
        )
    if architecture in SUPPORTED_ARCHITECTURES:
        return
    what = NOT_CHAT_ARCHITECTURES.get(architecture)
    if what:
        raise ModelError(
            f"{label} is {what} ({architecture}), not a chat model",
            "Pick an instruction-tuned chat model, e.g. a Qwen, Llama, Gemma or Phi '-Instruct' GGUF.",
        )
    # The name comes from the file: never echo control characters or a megabyte of it into the UI.
    shown = "".join(ch for ch in architecture[:200] if ch.isprintable())[:40]
    shown += "…" if len(architecture) > 40 else ""
    raise ModelError(
        f"{label} uses the '{shown}' architecture, which this version of llama.cpp cannot run",
        "Pick a model with a supported architecture (Llama, Qwen, Gemma, Phi, Mistral, ...) or update the app.",
    )


# --- writing: a minimal GGUF writer for tests and tools that need a small valid (or broken) file ----------


class Typed(NamedTuple):
    """A metadata value with an explicit GGUF type (``item_type`` for arrays)."""

    vtype: int
    value: Any
    item_type: int | None = None


def _infer_type(value: Any) -> int:
    if isinstance(value, Typed):
        return value.vtype
    if isinstance(value, bool):
        return T_BOOL
    if isinstance(value, int):
        return T_UINT32 if 0 <= value < 1 << 32 else T_INT64
    if isinstance(value, float):
        return T_FLOAT32
    if isinstance(value, str):
        return T_STRING
    if isinstance(value, (list, tuple)):
        return T_ARRAY
    raise TypeError(f"cannot store {type(value).__name__} in GGUF metadata")


def _encode_value(vtype: int, value: Any, item_type: int | None = None) -> bytes:
    if isinstance(value, Typed):
        return _encode_value(value.vtype, value.value, value.item_type)
    fmt = _SCALAR_FORMATS.get(vtype)
    if fmt is not None:
        return fmt.pack(value)
    if vtype == T_STRING:
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return _U64.pack(len(raw)) + raw
    if vtype == T_ARRAY:
        items = list(value)
        if item_type is None:
            item_type = _infer_type(items[0]) if items else T_UINT32
        body = b"".join(_encode_value(item_type, v) for v in items)
        return _U32.pack(item_type) + _U64.pack(len(items)) + body
    raise ValueError(f"unknown GGUF value type {vtype}")


def encode_gguf_header(
    metadata: Mapping[str, Any],
    tensors: Iterable[tuple[str, tuple[int, ...], int]] = (),
    *,
    version: int = 3,
    alignment: int = DEFAULT_ALIGNMENT,
) -> tuple[bytes, int]:
    """Bytes of a GGUF header (padded to the data section) and the data section's size."""
    tensor_list = list(tensors)
    parts = [GGUF_MAGIC, _U32.pack(version), _U64.pack(len(tensor_list)), _U64.pack(len(metadata))]
    for key, value in metadata.items():
        vtype = _infer_type(value)
        parts.append(_encode_value(T_STRING, key) + _U32.pack(vtype) + _encode_value(vtype, value))
    offset = 0
    for name, shape, ggml_type in tensor_list:
        t = GGML_TYPES[ggml_type]
        parts.append(_encode_value(T_STRING, name) + _U32.pack(len(shape)))
        parts.extend(_U64.pack(d) for d in shape)
        parts.append(_U32.pack(ggml_type) + _U64.pack(offset))
        n_bytes = math.prod(shape) // t.block_size * t.type_size
        offset += -(-n_bytes // alignment) * alignment
    header = b"".join(parts)
    header += b"\0" * (-len(header) % alignment)
    return header, offset


def write_gguf(
    path: str | os.PathLike[str],
    metadata: Mapping[str, Any],
    tensors: Iterable[tuple[str, tuple[int, ...], int]] = (),
    *,
    version: int = 3,
    alignment: int = DEFAULT_ALIGNMENT,
) -> Path:
    """Write a GGUF file with ``metadata`` and zero-filled ``tensors`` (name, shape, ggml type)."""
    path = Path(path)
    header, data_size = encode_gguf_header(metadata, tensors, version=version, alignment=alignment)
    with open(path, "wb") as f:
        f.write(header)
        if data_size:
            f.truncate(len(header) + data_size)  # sparse zeros: cheap even for "large" fake tensors
    return path
