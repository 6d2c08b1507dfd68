"""ReadFileTool and WriteFileTool: file access confined to one root, walked directory by directory.

Every path component is opened relative to its parent's descriptor with ``O_NOFOLLOW``, so a symlink
anywhere in the path — even one swapped in after a check — cannot lead outside the root. Writes go to a
temporary file in the same directory and are renamed over the target, so a failed write leaves the old
content in place.
"""

from __future__ import annotations

import codecs
import errno
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.tools.base import Tool, ToolError, ToolResult

MAX_PATH_CHARS = 1024
MAX_NAME_BYTES = 255
MAX_DEPTH = 32
DEFAULT_READ_LIMIT = 1_000_000
DEFAULT_WRITE_LIMIT = 1_000_000

# Names Windows treats as devices whatever the extension ("nul.txt" is still NUL).
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"]
    + [f"{p}{n}" for p in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")]
)
_FORBIDDEN_CHARS = frozenset('\\:*?"<>|')
# Writing inside these would let an agent plant commands that run later (e.g. core.fsmonitor in
# .git/config runs on the next `git status`), so writes there are refused by default.
PROTECTED_FOLDERS = frozenset({".git", ".hg", ".svn"})
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_SUPPORTED = bool(_O_NOFOLLOW and _O_DIRECTORY) and os.open in os.supports_dir_fd


def split_relative_path(path: Any) -> list[str]:
    """The components of a safe relative path, or ToolError saying why the path is refused.

    Refused: non-strings, empty paths, absolute paths, ``..``, NUL and control characters, backslashes
    and other characters Windows reserves, Windows device names, names ending in a dot or space, and
    over-long paths or names. ``.`` and empty components (``a//b``) are dropped.
    """
    if not isinstance(path, str):
        raise ToolError(f"the path must be text, not {type(path).__name__}")
    if not path or not path.strip():
        raise ToolError("the path is empty", hint="give a path relative to the workspace, e.g. src/app.py")
    if len(path) > MAX_PATH_CHARS:
        raise ToolError(f"the path is longer than {MAX_PATH_CHARS} characters")
    if "\x00" in path:
        raise ToolError("the path contains a NUL byte")
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise ToolError("the path contains control characters")
    if "\\" in path:
        raise ToolError("the path contains a backslash", hint="use / to separate folders")
    if path.startswith("/") or path.startswith("~"):
        raise ToolError("absolute paths are not allowed", hint="give a path relative to the workspace")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts:
        raise ToolError("the path names the workspace itself, not a file")
    if len(parts) > MAX_DEPTH:
        raise ToolError(f"the path is nested more than {MAX_DEPTH} folders deep")
    for part in parts:
        if part == "..":
            raise ToolError("'..' is not allowed in paths", hint="paths must stay inside the workspace")
        bad = sorted(set(part) & _FORBIDDEN_CHARS)
        if bad:
            raise ToolError(f"the name {part!r} contains a reserved character {bad[0]!r}")
        if part.rstrip(". ") != part:
            raise ToolError(f"the name {part!r} ends with a dot or space")
        if part.split(".")[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
            raise ToolError(f"{part!r} is a reserved device name on Windows")
        try:
            encoded = part.encode("utf-8")
        except UnicodeEncodeError:
            raise ToolError(f"the name {part!r} is not valid Unicode") from None
        if len(encoded) > MAX_NAME_BYTES:
            raise ToolError(f"the name {part[:40]!r}… is longer than {MAX_NAME_BYTES} bytes")
    return parts


def _os_error(exc: OSError, path: str) -> ToolError:
    if exc.errno == errno.ELOOP:
        return ToolError(
            f"{path}: a symbolic link is in the way", hint="links are not followed in the workspace"
        )
    if exc.errno == errno.ENOENT:
        return ToolError(f"{path}: no such file or folder")
    if exc.errno == errno.ENOTDIR:
        return ToolError(f"{path}: a part of the path is not a folder")
    if exc.errno == errno.EISDIR:
        return ToolError(f"{path}: is a folder, not a file")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ToolError(f"{path}: permission denied")
    if exc.errno == errno.ENOSPC:
        return ToolError(f"{path}: the disk is full")
    return ToolError(f"{path}: {exc.strerror or exc}")


class _Root:
    """A declared workspace folder and the descriptor walk every access goes through."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        if not _SUPPORTED:
            raise ToolError("confined file access needs a POSIX system with O_NOFOLLOW and dir_fd support")
        self.path = Path(os.path.realpath(root))
        if not self.path.is_dir():
            raise ToolError(f"the workspace folder {self.path} does not exist")

    def open_parent(self, parts: list[str], *, create: bool) -> int:
        """A descriptor for the folder holding ``parts[-1]``; each step refuses symlinks."""
        # The root's own path is trusted (resolved once); only its last component is re-checked.
        fd = os.open(self.path, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC)
        try:
            for part in parts[:-1]:
                flags = os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC
                try:
                    child = os.open(part, flags, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    try:
                        os.mkdir(part, 0o755, dir_fd=fd)
                    except FileExistsError:
                        pass  # raced with another creator; the O_NOFOLLOW open below decides
                    child = os.open(part, flags, dir_fd=fd)
                except NotADirectoryError:
                    # O_DIRECTORY|O_NOFOLLOW on a link says ENOTDIR on Linux; name the real reason.
                    if stat.S_ISLNK(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode):
                        raise OSError(errno.ELOOP, "symbolic link") from None
                    raise
                os.close(fd)
                fd = child
            return fd
        except BaseException:
            os.close(fd)
            raise


class ReadFileTool(Tool):
    """Read a text file inside the workspace; large files are cut at ``max_bytes`` with a marker."""

    name = "read_file"
    description = "Read a text file from the workspace. The path is relative to the workspace folder."
    parameters = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "e.g. src/app.py", "maxLength": MAX_PATH_CHARS}
        },
        "required": ["path"],
        "additionalProperties": False,
    }

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_READ_LIMIT,
        allow_hardlinks: bool = False,
    ) -> None:
        self.root = _Root(root)
        self.max_bytes = max_bytes
        # A hard link can point at a file outside the workspace that a symlink check never sees.
        self.allow_hardlinks = allow_hardlinks

    def read(self, path: str) -> tuple[str, dict[str, Any]]:
        parts = split_relative_path(path)
        shown = "/".join(parts)
        try:
            dir_fd = self.root.open_parent(parts, create=False)
            try:
                flags = os.O_RDONLY | _O_NOFOLLOW | _O_NONBLOCK | _O_CLOEXEC
                fd = os.open(parts[-1], flags, dir_fd=dir_fd)
            finally:
                os.close(dir_fd)
            try:
                info = os.fstat(fd)
                if stat.S_ISDIR(info.st_mode):
                    raise ToolError(f"{shown}: is a folder, not a file")
                if not stat.S_ISREG(info.st_mode):
                    raise ToolError(f"{shown}: is not a regular file")
                if info.st_nlink > 1 and not self.allow_hardlinks:
                    raise ToolError(f"{shown}: has other hard links", hint="hard-linked files are not read")
                raw = _read_up_to(fd, self.max_bytes + 1)
            finally:
                os.close(fd)
        except OSError as exc:
            raise _os_error(exc, shown) from None
        truncated = len(raw) > self.max_bytes
        raw = raw[: self.max_bytes]
        if b"\x00" in raw[:8192]:
            raise ToolError(f"{shown}: looks like a binary file", hint="only text files can be read")
        text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(raw, final=not truncated)
        data = {"path": shown, "size": info.st_size, "truncated": truncated}
        if truncated:
            text += f"\n…[truncated: file is {info.st_size:,} bytes, showing the first {self.max_bytes:,}]"
        return text, data

    def execute(self, args: Mapping[str, Any], cancel: CancelToken | None) -> ToolResult:
        text, data = self.read(args["path"])
        return ToolResult(ok=True, output=text, data=data)


def _read_up_to(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class WriteFileTool(Tool):
    """Create or replace a text file inside the workspace, atomically (temp file + fsync + rename)."""

    name = "write_file"
    description = (
        "Write a text file in the workspace, replacing it if it exists. Missing folders are created. "
        "The path is relative to the workspace folder."
    )
    parameters = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "e.g. src/app.py", "maxLength": MAX_PATH_CHARS},
            "content": {"type": "string", "description": "the whole new text of the file"},
        },
        "required": ["path", "content"],
        "additionalProperties": False,
    }

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_WRITE_LIMIT,
        protected_folders: frozenset[str] = PROTECTED_FOLDERS,
    ) -> None:
        self.root = _Root(root)
        self.max_bytes = max_bytes
        self.protected_folders = frozenset(name.lower() for name in protected_folders)

    def check(self, path: str, content: str) -> tuple[list[str], str, bytes]:
        """The path's parts, its shown form and the encoded content — or ToolError saying why a write
        there (of this content) is refused. ``write`` runs it first; a proposal runs it before it is stored."""
        parts = split_relative_path(path)
        shown = "/".join(parts)
        protected = [p for p in parts if p.lower() in self.protected_folders]
        if protected:
            raise ToolError(
                f"{shown}: writing inside {protected[0]}/ is not allowed",
                hint="version-control internals can make later commands run code",
            )
        if not isinstance(content, str):
            raise ToolError("the content must be text")
        try:
            payload = content.encode("utf-8")
        except UnicodeEncodeError:
            raise ToolError("the content is not valid Unicode text") from None
        if len(payload) > self.max_bytes:
            raise ToolError(f"the content is {len(payload):,} bytes; the limit is {self.max_bytes:,}")
        return parts, shown, payload

    def write(self, path: str, content: str) -> dict[str, Any]:
        parts, shown, payload = self.check(path, content)
        try:
            dir_fd = self.root.open_parent(parts, create=True)
            try:
                created = self._replace(dir_fd, parts[-1], payload, shown)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise _os_error(exc, shown) from None
        return {"path": shown, "bytes": len(payload), "created": created}

    @staticmethod
    def _replace(dir_fd: int, name: str, payload: bytes, shown: str) -> bool:
        mode = 0o644
        try:
            current = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            current = None
        if current is not None:
            if stat.S_ISLNK(current.st_mode):
                raise ToolError(f"{shown}: is a symbolic link", hint="links are not written through")
            if not stat.S_ISREG(current.st_mode):
                raise ToolError(f"{shown}: exists and is not a regular file")
            if current.st_nlink > 1:
                raise ToolError(f"{shown}: has other hard links", hint="hard-linked files are not written")
            mode = stat.S_IMODE(current.st_mode) & 0o777
        temp = f".pd-write-{secrets.token_hex(8)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
        fd = os.open(temp, flags, 0o600, dir_fd=dir_fd)
        try:
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(fd, view) :]
                os.fchmod(fd, mode)
                os.fsync(fd)
            finally:
                os.close(fd)
            # rename() replaces the directory entry itself: it never follows a symlink or writes
            # through a hard link that appeared after the checks above.
            os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            try:
                os.unlink(temp, dir_fd=dir_fd)
            except OSError:
                pass
            raise
        try:
            os.fsync(dir_fd)
        except OSError:
            pass  # some filesystems cannot fsync a directory; the rename itself has happened
        return current is None

    def execute(self, args: Mapping[str, Any], cancel: CancelToken | None) -> ToolResult:
        data = self.write(args["path"], args["content"])
        verb = "Created" if data["created"] else "Replaced"
        return ToolResult(ok=True, output=f"{verb} {data['path']} ({data['bytes']:,} bytes).", data=data)
