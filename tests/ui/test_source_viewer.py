"""SourceViewer: a cited file opened at the cited lines, highlighted and in view; clear messages otherwise."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from purpose_desktop.ui.source_viewer import SourceViewer, read_source, show_source


def _file(tmp_path, lines: int = 400):
    path = tmp_path / "src" / "big_module.py"
    path.parent.mkdir()
    path.write_text("".join(f"line_{i} = {i}\n" for i in range(1, lines + 1)), encoding="utf-8")
    return path


def test_opens_at_the_cited_lines_highlighted_and_visible(qtbot, tmp_path):
    path = _file(tmp_path)
    viewer = SourceViewer(path, 250, 254, rel_path="src/big_module.py")
    qtbot.addWidget(viewer)
    viewer.show()
    qtbot.waitExposed(viewer)
    assert viewer.view.highlighted_lines() == [250, 251, 252, 253, 254]
    qtbot.waitUntil(lambda: 250 in viewer.view.visible_lines() and 254 in viewer.view.visible_lines())
    assert viewer.view.isReadOnly()
    assert viewer.view.document().findBlockByNumber(249).text() == "line_250 = 250"
    assert "lines 250–254" in viewer.windowTitle()
    assert not viewer.problem

    qtbot.mouseClick(viewer.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "src/big_module.py:250-254"
    assert viewer.copy_button.text() == "Copied ✓"

    with qtbot.waitSignal(viewer.rejected, timeout=2000):
        qtbot.keyClick(viewer.view, Qt.Key.Key_Escape)
    assert not viewer.isVisible()


def test_a_missing_file_says_so_and_what_to_do(qtbot, tmp_path):
    viewer = show_source(None, {"path": str(tmp_path / "gone.md"), "rel_path": "gone.md", "start_line": 3})
    qtbot.addWidget(viewer)
    assert "gone.md is no longer at" in viewer.problem
    assert "re-index" in viewer.hint_label.text() and "Vault pane" in viewer.hint_label.text()
    assert viewer.view.isHidden() and viewer.problem_label.isVisible()
    assert not viewer.open_button.isEnabled()
    viewer.close()


def test_too_big_binary_and_pdf_files_are_not_read(tmp_path):
    big = tmp_path / "huge.log"
    big.write_bytes(b"x" * 2048)
    assert read_source(big, max_bytes=1024).text is None
    assert "too big" in read_source(big, max_bytes=1024).problem
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02abc")
    assert "not a text file" in read_source(binary).problem
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    assert "is a PDF" in read_source(pdf).problem
    odd = tmp_path / "latin1.txt"
    odd.write_bytes("caf\xe9\n".encode("latin-1"))
    assert read_source(odd).text == "caf\ufffd\n"
