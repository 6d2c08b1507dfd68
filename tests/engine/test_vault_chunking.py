"""Vault reading and chunking without a database: skips with reasons, structure-aware chunks, exact line ranges."""

from __future__ import annotations

from pathlib import Path

import pytest

from purpose_desktop.engine.vault.chunking import (
    MAX_CHUNK_CHARS,
    chunk_document,
    identifier_terms,
    split_lines,
)
from purpose_desktop.engine.vault.ingest import (
    TEXT_LIMIT_BYTES,
    Document,
    Skip,
    content_hash,
    load_file,
    walk,
)


def doc(kind: str, text: str, language: str | None = None) -> Document:
    return Document(kind, language or kind, text, content_hash(text))


def assert_exact(text: str, chunks) -> None:
    """Every chunk's text is exactly the lines it cites (or a slice of one very long line)."""
    lines = split_lines(text)
    for c in chunks:
        cited = "\n".join(lines[c.start_line - 1 : c.end_line])
        assert c.text == cited or (c.start_line == c.end_line and c.text in cited), c


def make_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page (offsets computed, so pypdf reads it)."""
    objects: list[bytes] = []
    n_pages = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    font_id = 3 + 2 * n_pages
    for i, text in enumerate(pages):
        content_id = 4 + 2 * i
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode()
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# -- reading ------------------------------------------------------------------------------------


def test_binary_huge_and_undecodable_files_are_skipped_with_a_reason(tmp_path: Path):
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (tmp_path / "data.unknown").write_bytes(b"abc\x00\x01\x02" * 100)
    (tmp_path / "huge.txt").write_bytes(b"a" * (TEXT_LIMIT_BYTES + 1))
    (tmp_path / "ctrl.txt").write_bytes(
        bytes([0xFF, 0xFE, 0x01, 0x02, 0x03]) * 0 + b"\x81\x02\x03\x04\x05" * 50
    )
    reasons = {p.name: load_file(p) for p in tmp_path.iterdir()}
    assert all(isinstance(r, Skip) for r in reasons.values()), reasons
    assert "binary file type (.png)" == reasons["logo.png"].reason
    assert "NUL" in reasons["data.unknown"].reason
    assert reasons["huge.txt"].reason.startswith("too large")
    assert "not UTF-8" in reasons["ctrl.txt"].reason


def test_legacy_encodings_and_newlines_are_read_as_text(tmp_path: Path):
    (tmp_path / "latin.txt").write_bytes("café crème\r\nsecond line\r\n".encode("latin-1"))
    (tmp_path / "wide.txt").write_bytes("hello wide\n".encode("utf-16"))
    latin = load_file(tmp_path / "latin.txt")
    assert isinstance(latin, Document) and latin.text == "café crème\nsecond line\n"
    wide = load_file(tmp_path / "wide.txt")
    assert isinstance(wide, Document) and wide.text == "hello wide\n"
    (tmp_path / "mostly.md").write_bytes("naïve résumé ".encode() * 200 + b"\xff" + b"ok")
    mostly = load_file(tmp_path / "mostly.md")
    assert isinstance(mostly, Document) and mostly.text.startswith("naïve résumé") and "\ufffd" in mostly.text


def test_pdf_text_is_extracted_page_by_page(tmp_path: Path):
    (tmp_path / "manual.pdf").write_bytes(
        make_pdf(["Retry failed uploads with backoff.", "Second page: limits."])
    )
    document = load_file(tmp_path / "manual.pdf")
    assert isinstance(document, Document) and document.kind == "pdf"
    assert "Retry failed uploads" in document.text and len(document.pages) == 2
    chunks = chunk_document(document)
    assert [c.page for c in chunks] == [1, 2] and "limits" in chunks[1].text


def test_a_broken_pdf_is_skipped_not_raised(tmp_path: Path):
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    result = load_file(tmp_path / "broken.pdf")
    assert isinstance(result, Skip) and "PDF" in result.reason


def test_walk_skips_hidden_dependency_and_virtualenv_folders(tmp_path: Path):
    for rel in ["a.md", "src/b.py", ".git/config", "node_modules/x/index.js", "env/pyvenv.cfg", "env/lib/c.py",
                "__pycache__/d.pyc", ".hidden.md"]:  # fmt: skip
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert [p.relative_to(tmp_path).as_posix() for p in walk(tmp_path)] == ["a.md", "src/b.py"]


# -- chunking ------------------------------------------------------------------------------------


def test_python_is_chunked_into_whole_functions_and_classes_with_line_ranges():
    body = "\n".join(f"    x{i} = compute_something_long_enough({i}) + another_value_here" for i in range(6))
    method_body = body.replace("    ", "        ")
    text = (
        '"""Module docstring."""\n\nimport os\n\n\n'
        f"@decorator\ndef first(a, b):\n{body}\n    return a\n\n\n"
        f"# about second\ndef second():\n{body}\n    return 2\n\n\n"
        f"class Thing:\n    '''A thing.'''\n\n    def method(self):\n{method_body}\n        return 3\n"
    )
    chunks = chunk_document(doc("python", text))
    assert_exact(text, chunks)
    by_title = {c.title: c for c in chunks}
    lines = split_lines(text)
    first = next(c for t, c in by_title.items() if "first" in t)
    assert lines[first.start_line - 1] in ("@decorator", '"""Module docstring."""')
    assert "return a" in first.text
    second = by_title["second"]
    assert lines[second.start_line - 1] == "# about second" and lines[second.end_line - 1] == "    return 2"
    thing = by_title["Thing"]
    assert thing.kind == "class" and lines[thing.end_line - 1] == "        return 3"


def test_a_big_python_class_is_split_into_its_methods():
    methods = "\n\n".join(
        f"    def method_{i}(self):\n"
        + "\n".join(f"        v{j} = self.value_{j} * {i} + {j}" for j in range(12))
        for i in range(6)
    )
    text = f"class Big:\n    '''Big.'''\n\n{methods}\n"
    chunks = chunk_document(doc("python", text))
    assert_exact(text, chunks)
    titles = [c.title for c in chunks]
    assert "Big.method_0" in ",".join(titles) and "Big.method_5" in ",".join(titles)
    assert all(len(c.text) <= MAX_CHUNK_CHARS for c in chunks)


def test_python_that_does_not_parse_falls_back_to_the_code_heuristic():
    text = "def broken(:\n    pass\n\n\ndef fine():\n    return 1\n"
    chunks = chunk_document(doc("python", text))
    assert chunks and "".join(c.text for c in chunks).count("def ") == 2
    assert_exact(text, chunks)


def test_markdown_splits_at_headings_but_not_inside_code_fences():
    section = "Some words about this part of the guide that make the section long enough. " * 5
    text = (
        f"# Guide\n\nIntro. {section}\n\n## Install\n\n{section}\n\n```bash\n# not a heading\nmake\n```\n\n"
        f"## Use\n\n{section}\n\nSetext title\n------------\n\n{section}\n"
    )
    chunks = chunk_document(doc("markdown", text))
    assert_exact(text, chunks)
    titles = [c.title for c in chunks]
    assert titles[0] == "Guide" and "Guide > Install" in titles and "Guide > Use" in titles
    assert any(t.endswith("Setext title") for t in titles)
    assert not any("not a heading" in t for t in titles)
    install = next(c for c in chunks if c.title == "Guide > Install")
    assert "# not a heading" in install.text and install.text.startswith("## Install")


def test_rst_sections_follow_underlines():
    para = "A paragraph of text that is long enough to stand alone as its own chunk in the vault. " * 4
    text = f"=====\nTitle\n=====\n\n{para}\n\nFirst\n=====\n\n{para}\n\nSub\n---\n\n{para}\n"
    chunks = chunk_document(doc("rst", text))
    assert_exact(text, chunks)
    assert [c.title for c in chunks] == ["Title", "Title > First", "Title > First > Sub"]
    assert chunks[0].start_line == 1


def test_brace_languages_split_at_top_level_blocks():
    body = "\n".join(f"    total += values[{i}] * weights[{i}]; // step {i}" for i in range(12))
    text = (
        "#include <stdio.h>\n\n/* a { brace in a comment */\nint sum(int *values) {\n    int total = 0;\n"
        + body
        + '\n    return total;\n}\n\nint other(void) {\n    const char *s = "}";\n'
        + body
        + "\n    return 0;\n}\n"
    )
    chunks = chunk_document(doc("code", text, "c"))
    assert_exact(text, chunks)
    other = next(c for c in chunks if "int other" in c.title)
    assert split_lines(text)[other.end_line - 1] == "}"
    assert any("int sum" in c.title for c in chunks)


def test_indent_languages_split_at_unindented_blocks():
    body = "\n".join(f"  puts 'line {i} of a fairly long method body in ruby'" for i in range(12))
    text = f"def one\n{body}\nend\n\ndef two\n{body}\nend\n"
    chunks = chunk_document(doc("code", text, "ruby"))
    assert_exact(text, chunks)
    assert [c.title for c in chunks] == ["def one", "def two"]


def test_prose_is_packed_with_overlap_and_a_giant_line_is_hard_split():
    paragraphs = "\n\n".join(
        f"Paragraph {i}. " + "Words flow on and on in this paragraph. " * 8 for i in range(12)
    )
    chunks = chunk_document(doc("text", paragraphs))
    assert_exact(paragraphs, chunks)
    assert len(chunks) > 3 and all(len(c.text) <= MAX_CHUNK_CHARS for c in chunks)
    assert any(a.end_line >= b.start_line for a, b in zip(chunks, chunks[1:], strict=False))  # overlap
    minified = "x" * (MAX_CHUNK_CHARS * 3 + 5)
    pieces = chunk_document(doc("code", minified, "javascript"))
    assert len(pieces) == 4 and all(c.start_line == c.end_line == 1 for c in pieces)
    assert "".join(c.text for c in pieces) == minified


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_blank_documents_have_no_chunks(text):
    assert chunk_document(doc("text", text)) == []


def test_identifier_terms_split_camel_case_for_the_search_index():
    terms = identifier_terms("parseHTTPResponse(x); retryFailedUploads; snake_case_name; CONSTANT; plain")
    assert terms == "parse http response retry failed uploads snakecasename"


@pytest.mark.parametrize("name", ["purpose.db-wal", "purpose.db-shm", "notes.sqlite-journal"])
def test_database_sidecars_are_skipped_without_being_read(tmp_path, name):
    # Reading a live -shm file and closing it drops its owner's locks; the name alone decides.
    path = tmp_path / name
    path.write_bytes(b"looks like text")
    path.chmod(0)  # would be "unreadable" (for non-root) if anything tried to read it
    result = load_file(path)
    assert isinstance(result, Skip) and result.reason == "database journal file"
