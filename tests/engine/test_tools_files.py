"""ReadFileTool / WriteFileTool: confinement to the workspace, refusal of escapes, atomic writes."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from purpose_desktop.engine.tools import (
    ReadFileTool,
    ToolError,
    ToolRegistry,
    WriteFileTool,
    split_relative_path,
)
from purpose_desktop.engine.tools import files as files_module

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="confined file access is POSIX-only")


@pytest.fixture
def layout(tmp_path):
    root = tmp_path / "workspace"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP SECRET")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("print('hi')\n")
    return root, outside


def _tools(root):
    return ReadFileTool(root), WriteFileTool(root)


def test_read_and_write_inside(layout):
    root, _ = layout
    reader, writer = _tools(root)
    assert reader.run({"path": "src/app.py"}).output == "print('hi')\n"
    assert reader.run({"path": "./src//app.py"}).ok
    res = writer.run({"path": "src/new/mod.py", "content": "x = 1\n"})
    assert res.ok and res.data["created"] and "Created src/new/mod.py" in res.output
    assert (root / "src" / "new" / "mod.py").read_text() == "x = 1\n"
    res = writer.run({"path": "src/app.py", "content": "print('bye')\n"})
    assert res.ok and not res.data["created"]
    assert reader.run({"path": "src/app.py"}).output == "print('bye')\n"
    assert [p.name for p in (root / "src").iterdir() if p.name.startswith(".pd-write-")] == []


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("../outside/secret.txt", "'..'"),
        ("src/../../outside/secret.txt", "'..'"),
        ("/etc/passwd", "absolute"),
        ("~/.ssh/id_rsa", "absolute"),
        ("src\\app.py", "backslash"),
        ("..\\outside\\secret.txt", "backslash"),
        ("src/app.py\x00.txt", "NUL"),
        ("src/\napp.py", "control"),
        ("CON", "device name"),
        ("nul.txt", "device name"),
        ("src/com1.py", "device name"),
        ("LPT9", "device name"),
        ("AUX.tar.gz", "device name"),
        ("notes.txt.", "ends with a dot"),
        ("notes.txt ", "ends with a dot or space"),
        ("file.txt:stream", "reserved character"),
        ("a" * 256, "longer than 255 bytes"),
        ("é" * 128, "longer than 255 bytes"),
        ("/".join(["d"] * 40) + "/f", "nested more than"),
        ("x/" * 600, "longer than 1024"),
        ("", "empty"),
        (".", "workspace itself"),
    ],
)
def test_unsafe_paths_are_refused(layout, path, needle):
    root, outside = layout
    reader, writer = _tools(root)
    for res in (reader.run({"path": path}), writer.run({"path": path, "content": "pwned"})):
        assert not res.ok
        assert needle in res.error, res.error
    assert (outside / "secret.txt").read_text() == "TOP SECRET"


def test_symlink_to_outside_file_is_refused(layout):
    root, outside = layout
    os.symlink(outside / "secret.txt", root / "link.txt")
    reader, writer = _tools(root)
    res = reader.run({"path": "link.txt"})
    assert not res.ok and "symbolic link" in res.error
    res = writer.run({"path": "link.txt", "content": "pwned"})
    assert not res.ok and "symbolic link" in res.error
    assert (outside / "secret.txt").read_text() == "TOP SECRET"


def test_symlinked_parent_folder_is_refused(layout):
    root, outside = layout
    os.symlink(outside, root / "escape")
    reader, writer = _tools(root)
    res = reader.run({"path": "escape/secret.txt"})
    assert not res.ok and "symbolic link" in res.error
    res = writer.run({"path": "escape/new.txt", "content": "pwned"})
    assert not res.ok and "symbolic link" in res.error
    assert not (outside / "new.txt").exists()


def test_relative_symlink_inside_root_is_still_refused(layout):
    root, _ = layout
    os.symlink("src", root / "alias")
    res = ReadFileTool(root).run({"path": "alias/app.py"})
    assert not res.ok and "symbolic link" in res.error


def test_parent_swapped_for_symlink_after_tool_creation(layout):
    """The walk happens on every call, so a folder replaced by a link later is still caught."""
    root, outside = layout
    reader, writer = _tools(root)
    assert reader.run({"path": "src/app.py"}).ok
    os.rename(root / "src", root / "src-old")
    os.symlink(outside, root / "src")
    assert not reader.run({"path": "src/secret.txt"}).ok
    assert not writer.run({"path": "src/secret.txt", "content": "pwned"}).ok
    assert (outside / "secret.txt").read_text() == "TOP SECRET"


def test_hardlinked_file_is_refused(layout):
    root, outside = layout
    os.link(outside / "secret.txt", root / "hard.txt")
    reader, writer = _tools(root)
    res = writer.run({"path": "hard.txt", "content": "pwned"})
    assert not res.ok and "hard links" in res.error
    assert not reader.run({"path": "hard.txt"}).ok
    assert (outside / "secret.txt").read_text() == "TOP SECRET"
    assert ReadFileTool(root, allow_hardlinks=True).run({"path": "hard.txt"}).output == "TOP SECRET"


def test_fifo_and_folder_are_not_read(layout):
    root, _ = layout
    os.mkfifo(root / "pipe")
    reader = ReadFileTool(root)
    started = time.monotonic()
    res = reader.run({"path": "pipe"})
    assert not res.ok and "not a regular file" in res.error and time.monotonic() - started < 1
    assert "is a folder" in reader.run({"path": "src"}).error
    assert not WriteFileTool(root).run({"path": "src", "content": "x"}).ok


def test_missing_file_and_binary_file(layout):
    root, _ = layout
    (root / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    reader = ReadFileTool(root)
    assert "no such file" in reader.run({"path": "nope.txt"}).error
    assert "binary" in reader.run({"path": "blob.bin"}).error


def test_read_is_capped_with_marker(layout):
    root, _ = layout
    (root / "big.txt").write_text("é" * 1000)  # 2000 bytes
    res = ReadFileTool(root, max_bytes=501).run({"path": "big.txt"})
    assert res.ok and res.data["truncated"]
    assert res.output.startswith("é" * 250) and "\ufffd" not in res.output
    assert "truncated: file is 2,000 bytes" in res.output


def test_write_is_capped(layout):
    root, _ = layout
    res = WriteFileTool(root, max_bytes=10).run({"path": "a.txt", "content": "x" * 11})
    assert not res.ok and "limit is 10" in res.error
    assert not (root / "a.txt").exists()


def test_failed_write_keeps_old_content_and_leaves_no_temp_file(layout, monkeypatch):
    root, _ = layout
    target = root / "src" / "app.py"

    def crash(*args, **kwargs):
        raise OSError(5, "simulated crash during rename")

    monkeypatch.setattr(files_module.os, "replace", crash)
    res = WriteFileTool(root).run({"path": "src/app.py", "content": "half-written"})
    assert not res.ok and "simulated crash" in res.error
    assert target.read_text() == "print('hi')\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["app.py"]


def test_write_preserves_mode(layout):
    root, _ = layout
    script = root / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert WriteFileTool(root).run({"path": "run.sh", "content": "#!/bin/sh\necho hi\n"}).ok
    assert script.stat().st_mode & 0o777 == 0o755


def test_concurrent_symlink_swap_never_escapes(layout):
    """A racer keeps flipping a folder between a real one and a link outside; no write may land outside."""
    root, outside = layout
    (root / "d").mkdir()
    writer = WriteFileTool(root)
    stop = threading.Event()

    def flip():
        while not stop.is_set():
            try:
                os.rename(root / "d", root / "d-real")
                os.symlink(outside, root / "d")
                os.unlink(root / "d")
                os.rename(root / "d-real", root / "d")
            except OSError:
                pass

    racer = threading.Thread(target=flip)
    racer.start()
    try:
        for i in range(300):
            writer.run({"path": f"d/f{i}.txt", "content": "x"})
    finally:
        stop.set()
        racer.join()
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_writes_into_version_control_internals_are_refused(layout):
    root, _ = layout
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    writer = WriteFileTool(root)
    for path in (".git/config", ".GIT/hooks/pre-commit", "sub/.git/config", ".hg/hgrc"):
        res = writer.run({"path": path, "content": "[core]\nfsmonitor = touch /tmp/pwned\n"})
        assert not res.ok and "not allowed" in res.error
    assert (root / ".git" / "config").read_text() == "[core]\n"
    assert ReadFileTool(root).run({"path": ".git/config"}).ok
    assert writer.run({"path": ".gitignore", "content": "*.pyc\n"}).ok


def test_missing_workspace_and_registry_use(tmp_path, layout):
    with pytest.raises(ToolError):
        ReadFileTool(tmp_path / "does-not-exist")
    root, _ = layout
    registry = ToolRegistry(_tools(root))
    assert registry.call("read_file", {"path": "src/app.py"}).ok
    assert not registry.call("write_file", {"path": "x.txt"}).ok  # content missing
    assert split_relative_path("a/./b//c.txt") == ["a", "b", "c.txt"]
