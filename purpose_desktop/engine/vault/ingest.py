"""Reading files for the vault: what to skip (binary, huge) and the text (or PDF text) of everything else.

Chunking lives in chunking.py; this module decides *whether* and *how* a file is read, and never raises
for a bad file: ``load_file`` returns a Document or a Skip carrying a reason a person can read.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

TEXT_LIMIT_BYTES = 2_000_000
PDF_LIMIT_BYTES = 50_000_000
SNIFF_BYTES = 8192

MARKDOWN_EXT = frozenset({".md", ".markdown", ".mdown", ".mkd", ".mdx"})
RST_EXT = frozenset({".rst", ".rest"})
PYTHON_EXT = frozenset({".py", ".pyi", ".pyw"})
# language by extension; "brace" languages are chunked at top-level {…} blocks, the rest by indentation.
BRACE_LANGUAGES = {
    ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp",
    ".java": "java", ".js": "javascript", ".jsx": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".ts": "typescript", ".tsx": "typescript", ".go": "go", ".rs": "rust", ".cs": "csharp", ".kt": "kotlin",
    ".kts": "kotlin", ".swift": "swift", ".scala": "scala", ".php": "php", ".dart": "dart", ".css": "css",
    ".scss": "css", ".less": "css", ".json": "json", ".proto": "protobuf", ".groovy": "groovy",
    ".gradle": "groovy", ".m": "objc", ".zig": "zig", ".sol": "solidity", ".v": "v",
}  # fmt: skip
INDENT_LANGUAGES = {
    ".rb": "ruby", ".sh": "shell", ".bash": "shell", ".zsh": "shell", ".fish": "shell", ".ps1": "powershell",
    ".lua": "lua", ".sql": "sql", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".ini": "ini",
    ".cfg": "ini", ".r": "r", ".jl": "julia", ".pl": "perl", ".pm": "perl", ".ex": "elixir", ".exs": "elixir",
    ".hs": "haskell", ".ml": "ocaml", ".nim": "nim", ".clj": "clojure", ".el": "lisp", ".lisp": "lisp",
    ".html": "html", ".htm": "html", ".xml": "xml", ".svg": "xml", ".vue": "vue", ".svelte": "svelte",
    ".tf": "hcl", ".cmake": "cmake", ".mk": "make", ".bat": "batch", ".vim": "vim",
}  # fmt: skip
CODE_FILENAMES = {
    "makefile": "make", "dockerfile": "dockerfile", "cmakelists.txt": "cmake", "justfile": "make",
    "rakefile": "ruby", "gemfile": "ruby", "vagrantfile": "ruby", "jenkinsfile": "groovy",
}  # fmt: skip
BINARY_EXT = frozenset(
    """
    .png .jpg .jpeg .gif .bmp .ico .icns .tif .tiff .webp .heic .psd .xcf .raw .cr2 .nef
    .mp3 .wav .flac .ogg .m4a .aac .opus .mid .midi .mp4 .mkv .mov .avi .webm .wmv .flv .m4v
    .zip .gz .tgz .bz2 .xz .zst .7z .rar .tar .jar .war .whl .egg .deb .rpm .dmg .iso .img .apk .msi
    .exe .dll .so .dylib .o .a .lib .obj .bin .class .pyc .pyo .pyd .wasm .elc .beam
    .ttf .otf .woff .woff2 .eot
    .db .sqlite .sqlite3 .mdb .parquet .feather .arrow .npy .npz .pkl .pickle .h5 .hdf5 .pt .pth .onnx
    .safetensors .gguf .ggml .ckpt .tflite .mlmodel
    .doc .docx .xls .xlsx .ppt .pptx .odt .ods .odp .key .pages .numbers .epub .mobi
    """.split()
)
# Folders never worth indexing (tool caches, dependencies, VCS data); hidden folders are skipped too.
SKIP_DIRS = frozenset(
    {
        "node_modules", "__pycache__", "venv", "site-packages", "dist", "build", "target",
        "bower_components", "_build", "htmlcov",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Skip:
    """A file the vault did not read, and why (shown to the person)."""

    reason: str


@dataclass(frozen=True)
class Document:
    """A file's text: ``kind`` is markdown, rst, python, code, text or pdf; ``pages`` = first line of each PDF page."""

    kind: str
    language: str
    text: str
    content_hash: str
    pages: tuple[int, ...] = field(default=())


def content_hash(data: bytes | str) -> str:
    """sha256 hex of the bytes (text is hashed as UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()


DATABASE_SIDECARS = ("-wal", "-shm", "-journal")


def classify(path: Path) -> tuple[str, str] | Skip:
    """(kind, language) from the file name alone, or a Skip for known binary types."""
    name = path.name.lower()
    ext = path.suffix.lower()
    if name.endswith(DATABASE_SIDECARS):
        # Never read these: closing a descriptor of a live -shm file drops the POSIX locks the
        # owning process holds on it, which can corrupt that database.
        return Skip("database journal file")
    if ext in BINARY_EXT:
        return Skip(f"binary file type ({ext})")
    if ext == ".pdf":
        return ("pdf", "pdf")
    if ext in MARKDOWN_EXT:
        return ("markdown", "markdown")
    if ext in RST_EXT:
        return ("rst", "rst")
    if ext in PYTHON_EXT:
        return ("python", "python")
    if ext in BRACE_LANGUAGES:
        return ("code", BRACE_LANGUAGES[ext])
    if ext in INDENT_LANGUAGES:
        return ("code", INDENT_LANGUAGES[ext])
    if name in CODE_FILENAMES:
        return ("code", CODE_FILENAMES[name])
    return ("text", "text")


def _size_limit(kind: str) -> int:
    return PDF_LIMIT_BYTES if kind == "pdf" else TEXT_LIMIT_BYTES


def too_large(size: int, kind: str) -> Skip | None:
    limit = _size_limit(kind)
    if size > limit:
        return Skip(f"too large: {size / 1e6:.1f} MB (limit {limit / 1e6:.0f} MB)")
    return None


def decode_text(data: bytes) -> str | Skip:
    """The text of ``data`` (UTF-8, UTF-16 with BOM, else Latin-1 when it looks like text), or a Skip."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return Skip("not text (bad UTF-16)")
    sample = data[:SNIFF_BYTES]
    if b"\x00" in sample:
        return Skip("binary content (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Mostly UTF-8 with a stray bad byte or two (a truncated paste): keep it, marking the bad bytes.
    text = data.decode("utf-8-sig", errors="replace")
    if text.count("\ufffd") <= max(1, len(text) // 1000) and "\ufffd\ufffd\ufffd" not in text:
        return text
    # Legacy 8-bit text (cp1252/Latin-1) is fine; many control characters mean it is not text at all.
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if controls > len(sample) * 0.01:
        return Skip("binary content (not UTF-8 text)")
    return data.decode("latin-1")


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_pdf(data: bytes) -> tuple[str, tuple[int, ...]] | Skip:
    """The extracted text of every page (pages joined by newlines) and the first line of each page."""
    try:
        import io

        import pypdf
    except ImportError:
        return Skip("PDF support needs the pypdf package")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    return Skip("encrypted PDF (needs a password)")
            except Exception:  # noqa: BLE001 — pypdf raises various errors for unsupported crypto
                return Skip("encrypted PDF (needs a password)")
        parts: list[str] = []
        starts: list[int] = []
        line = 1
        for page in reader.pages:
            text = normalize_newlines(page.extract_text() or "").strip("\n")
            starts.append(line)
            parts.append(text)
            line += text.count("\n") + 1
    except Exception as exc:  # noqa: BLE001 — a damaged PDF must never stop a folder's indexing
        return Skip(f"unreadable PDF ({type(exc).__name__}: {str(exc)[:120]})")
    text = "\n".join(parts)
    if not text.strip():
        return Skip("PDF has no extractable text (scanned images?)")
    return text, tuple(starts)


def load_bytes(data: bytes, kind: str, language: str) -> Document | Skip:
    """A Document from a file's bytes (already known to be within the size limit)."""
    digest = content_hash(data)
    if kind == "pdf":
        pdf = read_pdf(data)
        if isinstance(pdf, Skip):
            return pdf
        return Document("pdf", "pdf", pdf[0], digest, pdf[1])
    text = decode_text(data)
    if isinstance(text, Skip):
        return text
    return Document(kind, language, normalize_newlines(text), digest)


def load_file(path: Path) -> Document | Skip:
    """Read ``path`` for the vault; every failure (binary, huge, unreadable) becomes a Skip."""
    kind = classify(path)
    if isinstance(kind, Skip):
        return kind
    try:
        size = path.stat().st_size
        skip = too_large(size, kind[0])
        if skip:
            return skip
        data = path.read_bytes()
    except OSError as exc:
        return Skip(f"unreadable ({exc.strerror or exc})")
    return load_bytes(data, *kind)


def walk(root: Path) -> list[Path]:
    """Files under ``root`` in a stable order, skipping hidden and dependency/cache folders.

    Virtual environments (a ``pyvenv.cfg`` inside) are skipped wherever they are. Symlinked folders
    are not followed (no loops); symlinked files are read like files when they point inside ``root``,
    and left out when they point outside it (indexing a project never reads beyond its folder).
    """
    found: list[Path] = []
    inside = os.path.realpath(root)
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in SKIP_DIRS
            and not os.path.exists(os.path.join(folder, d, "pyvenv.cfg"))
        )
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(folder, name)
            if path.is_symlink() and os.path.commonpath([inside, os.path.realpath(path)]) != inside:
                continue
            if path.is_file():
                found.append(path)
    return found
