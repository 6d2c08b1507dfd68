"""Model download: resolve a source, fetch it resumably into the models folder, verify sha256 and GGUF, then place it.

Only ever called when a person asks (``models pull``, the Download button, the first-run guide). Network goes
through urllib, which honours HTTP(S)_PROXY / NO_PROXY from the environment; Hugging Face files come from
``$HF_ENDPOINT`` (default https://huggingface.co) in the hub's ``/resolve/`` layout, so mirrors and tests work.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purpose_desktop.engine import paths
from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import InputError, ModelError, PurposeError
from purpose_desktop.engine.models import netlog
from purpose_desktop.engine.models.catalog import Catalog, CatalogEntry, load_catalog
from purpose_desktop.engine.models.fit import human_bytes
from purpose_desktop.engine.models.hashpipe import HashPipe
from purpose_desktop.engine.models.hub_http import (
    DownloadError,
    Dropped,
    Identity,
    open_fresh,
    open_range,
    open_url,
    probe,
)

DEFAULT_ENDPOINT = "https://huggingface.co"
PROGRESS_EVERY_S = 0.1  # at most ten progress reports a second, however fast the link
# The GGUF header is checked once this much is on disk (every catalog model's header fits), while a
# real link leaves the CPU idle between chunks; when it cannot be decided yet it is checked at the end.
EARLY_GGUF_AT = 16 << 20
DISK_MARGIN = 64 * 1024 * 1024  # never fill the disk to the last byte
RETRIES = 3  # automatic resumes after a dropped connection, per pull
_HF_RE = re.compile(
    r"^hf:(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+)/(?P<file>[^@]+?\.gguf)(?:@(?P<rev>[\w.-]+))?$", re.I
)
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class LicenseNotAccepted(InputError):
    """The model's license needs an explicit accept that was not given."""


class DownloadCancelled(PurposeError):
    """The person paused or cancelled; ``kept`` says whether the .part file was kept to resume."""

    def __init__(self, message: str, hint: str = "", kept: bool = True, done: int = 0) -> None:
        super().__init__(message, hint)
        self.kept = kept
        self.done = done


@dataclass(frozen=True)
class DownloadSource:
    """Where a model comes from and what is known about it before asking the server."""

    url: str
    filename: str
    label: str
    catalog_id: str | None = None
    repo: str | None = None
    revision: str | None = None
    sha256: str | None = None  # the pinned hash (catalog), if any
    size: int | None = None  # the confirmed size (catalog), if any
    license: str | None = None
    license_url: str | None = None
    license_accept_required: bool = False
    hub: bool = False  # a Hugging Face /resolve/ URL (X-Linked-Etag is the LFS sha256)


@dataclass(frozen=True)
class DownloadProgress:
    """How far a download is: bytes, rate and time left (None until they can be estimated)."""

    phase: str  # "connecting" | "hashing" | "downloading" | "verifying"
    done: int
    total: int | None
    rate_bps: float | None = None
    eta_s: float | None = None
    resumed_from: int = 0

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None

    def line(self) -> str:
        """``412.0 MB of 1.0 GB (40%), 24.1 MB/s, 25 s left`` — what the CLI and the pane show."""
        if self.phase == "hashing":
            return f"checking the {human_bytes(self.done)} already downloaded…"
        if self.phase == "verifying":
            return "verifying sha256 and GGUF header…"
        text = human_bytes(self.done) + (f" of {human_bytes(self.total)}" if self.total else "")
        if self.total:
            text += f" ({100 * self.done / self.total:.0f}%)"
        if self.rate_bps:
            text += f", {human_bytes(self.rate_bps)}/s"
        if self.eta_s is not None:
            text += f", {format_seconds(self.eta_s)} left"
        return text


@dataclass(frozen=True)
class DownloadResult:
    """A finished download: where it is and how it was checked (``verified``: pinned|given|hub|unverified)."""

    path: str
    size: int
    sha256: str
    verified: str
    url: str
    resumed_from: int = 0
    bytes_fetched: int = 0
    seconds: float = 0.0
    already_present: bool = False
    catalog_id: str | None = None

    @property
    def verified_text(self) -> str:
        return {
            "pinned": "sha256 matches the catalog's pinned value",
            "given": "sha256 matches the value you gave",
            "hub": "sha256 matches the hub's published LFS hash (X-Linked-Etag)",
            "unverified": "unverified: no published sha256 to check against",
        }.get(self.verified, self.verified)

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "verified_text": self.verified_text}


def format_seconds(s: float) -> str:
    s = max(0, int(round(s)))
    if s < 90:
        return f"{s} s"
    if s < 5400:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def models_dir(create: bool = True) -> Path:
    """Where downloaded models go: ``<data folder>/models`` (listed by discovery as 'downloaded')."""
    path = paths.data_dir(create) / "models"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def hf_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def hf_url(repo: str, file: str, revision: str = "main") -> str:
    """``{endpoint}/{owner}/{repo}/resolve/{revision}/{file}``, as huggingface_hub builds it."""
    quoted = urllib.parse.quote(file, safe="/")
    return f"{hf_endpoint()}/{repo}/resolve/{urllib.parse.quote(revision, safe='')}/{quoted}"


def _from_entry(e: CatalogEntry) -> DownloadSource:
    return DownloadSource(
        url=hf_url(e.repo, e.file, e.revision),
        filename=e.file,
        label=e.name,
        catalog_id=e.id,
        repo=e.repo,
        revision=e.revision,
        sha256=e.sha256,
        size=e.size_bytes,
        license=e.license,
        license_url=e.license_url,
        license_accept_required=e.license_accept_required,
        hub=True,
    )


def resolve_source(source: str, catalog: Catalog | None = None) -> DownloadSource:
    """A catalog id, ``hf:OWNER/REPO/FILE.gguf[@REVISION]`` or an https:// URL → DownloadSource."""
    text = (source or "").strip()
    if not text:
        raise InputError(
            "No model to download was given.",
            "Give a catalog id (see `models catalog`), hf:OWNER/REPO/FILE.gguf or an https:// URL.",
        )
    cat = catalog or load_catalog()
    entry = cat.get(text)
    if entry is not None:
        return _from_entry(entry)
    m = _HF_RE.match(text)
    if m:
        repo, file, rev = f"{m['owner']}/{m['repo']}", m["file"], m["rev"] or "main"
        if ".." in file.split("/"):
            raise InputError(f"'{file}' is not a file name in a repository.", "Use hf:OWNER/REPO/FILE.gguf.")
        known = cat.find_file(repo, file)
        if known is not None and rev == known.revision:
            return _from_entry(known)
        return DownloadSource(
            url=hf_url(repo, file, rev),
            filename=Path(file).name,
            label=f"{repo}/{file}",
            repo=repo,
            revision=rev,
            license_accept_required=bool(known and known.license_accept_required),
            license=known.license if known else None,
            license_url=known.license_url if known else None,
            hub=True,
        )
    if text.lower().startswith("hf:"):
        raise InputError(
            f"'{text}' is not of the form hf:OWNER/REPO/FILE.gguf[@REVISION].",
            "For example hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        )
    parsed = urllib.parse.urlsplit(text)
    loopback = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    if parsed.scheme == "https" or (parsed.scheme == "http" and loopback):
        name = Path(urllib.parse.unquote(parsed.path)).name
        if not name.lower().endswith(".gguf"):
            raise InputError(
                f"{text} does not name a .gguf file.",
                "Give the URL of the .gguf file itself (Hugging Face: the /resolve/ link).",
            )
        return DownloadSource(url=text, filename=name, label=name, hub="/resolve/" in parsed.path)
    if parsed.scheme == "http":
        raise InputError(
            "Plain http:// downloads are refused: the file could be altered on the way.",
            "Use the https:// address.",
        )
    ids = ", ".join(e.id for e in cat.entries)
    raise InputError(
        f"'{text}' is not a catalog id, an hf: source or an https:// URL.", f"Catalog ids: {ids}."
    )


# -- the transfer ----------------------------------------------------------------------------------
def _free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def check_disk(folder: Path, need: int, free_fn: Callable[[Path], int] = _free_bytes) -> None:
    """Raise DownloadError (nothing written) when ``folder``'s disk cannot take ``need`` more bytes."""
    free = free_fn(folder)
    if free < need + DISK_MARGIN:
        raise DownloadError(
            f"Not enough disk space: the download needs {human_bytes(need)} more, "
            f"and {human_bytes(free)} is free in {folder}.",
            "Free some space (or delete models you no longer use) and try again; a partial download is kept and resumes.",
        )


def part_paths(dest: Path) -> tuple[Path, Path]:
    """The ``.part`` file and its ``.part.json`` note (what it is, for a safe resume)."""
    return dest.with_name(dest.name + ".part"), dest.with_name(dest.name + ".part.json")


def discard_partial(source: str | DownloadSource, dest_dir: Path | None = None) -> bool:
    """Delete a paused download's ``.part`` file; True when there was one."""
    src = source if isinstance(source, DownloadSource) else resolve_source(source)
    part, note = part_paths((dest_dir or models_dir()) / src.filename)
    found = part.exists()
    for p in (part, note):
        p.unlink(missing_ok=True)
    return found


def partial_size(source: str | DownloadSource, dest_dir: Path | None = None) -> int:
    """Bytes already downloaded by a paused or interrupted pull (0 when none)."""
    src = source if isinstance(source, DownloadSource) else resolve_source(source)
    part, _ = part_paths((dest_dir or models_dir()) / src.filename)
    return part.stat().st_size if part.exists() else 0


def pull(
    source: str | DownloadSource,
    *,
    sha256: str | None = None,
    accept_license: bool = False,
    dest_dir: Path | None = None,
    cancel: CancelToken | None = None,
    on_progress: Callable[[DownloadProgress], None] | None = None,
    free_space: Callable[[Path], int] = _free_bytes,
    reason: str = "model download",
) -> DownloadResult:
    """Download ``source`` into the models folder and return where it is and how it was verified.

    Resumes a ``.part`` left by a pause, a dropped connection or a restart (HTTP Range, If-Range on the
    ETag; the kept prefix is hashed first); refuses before writing when the disk is too small; verifies
    sha256 (pinned → given → hub's X-Linked-Etag, else "unverified") and the GGUF header before renaming
    into place. A wrong checksum or a non-GGUF body removes the .part. ``cancel`` pauses: the .part stays
    and the next pull resumes. Every byte is hashed on a second thread while the next one is read.
    """
    src = source if isinstance(source, DownloadSource) else resolve_source(source)
    given = sha256.strip().lower() if sha256 else None
    if given is not None and not _SHA_RE.match(given):
        raise InputError(
            f"'{sha256}' is not a sha256 (64 hexadecimal digits).",
            "Copy the SHA256 shown on the file's page.",
        )
    if src.sha256 and given and given != src.sha256:
        raise InputError(
            f"The sha256 you gave differs from the catalog's pinned value for {src.label}.",
            "Leave --sha256 out to use the catalog's value, or pull the file by hf: or URL instead.",
        )
    if src.license_accept_required and not accept_license:
        raise LicenseNotAccepted(
            f"{src.label} is under the {src.license} license, which needs your explicit accept.",
            f"Read it at {src.license_url} and pass --accept-license (the app asks in a dialog).",
        )
    folder = dest_dir or models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / src.filename
    part, note = part_paths(dest)
    if dest.exists():
        return _existing(dest, src, given)

    started = time.monotonic()
    old = _read_note(note) if part.exists() else None
    body: Any = None  # the open response of a fresh GET, or the URL its redirect points at
    if old is not None:
        ident = probe(src)
        if ident is None:  # no HEAD: keep what the note says; If-Range makes the server confirm it
            ident = Identity(old.get("size"), None, old.get("etag"))
    else:
        ident, body = open_fresh(src)
    try:
        expected, how = (
            (src.sha256, "pinned")
            if src.sha256
            else (given, "given")
            if given
            else (ident.hub_sha, "hub")
            if ident.hub_sha
            else (None, "unverified")
        )
        total = ident.size or src.size
        if src.size and ident.size and src.size != ident.size:
            raise DownloadError(
                f"The server's {src.filename} is {ident.size:,} bytes; the catalog pins {src.size:,}.",
                "The file changed on the hub since the catalog was made; pull it by hf: with --sha256 if you trust it.",
            )
        identity = {"url": src.url, "etag": ident.etag, "sha256": expected, "size": total}
        offset = 0
        if part.exists():
            if old == identity and (total is None or part.stat().st_size <= total):
                offset = part.stat().st_size
            else:
                part.unlink()  # a leftover of another file or version: never splice two files together
        check_disk(folder, (total - offset) if total else 0, free_space)
        note.write_text(json.dumps(identity), encoding="utf-8")
    except BaseException:
        if hasattr(body, "close"):
            body.close()
        raise

    hs = {"h": HashPipe()}  # replaced when a server ignores the Range and the file restarts
    resumed_from = offset
    fetched = 0
    attempts = 0
    netlog.record(reason, src.url, "started")
    try:
        if offset:
            hs["h"].feed_file(
                part,
                on_progress and (lambda n: on_progress(DownloadProgress("hashing", n, total))),
            )
        while True:
            try:
                got, offset, total = _transfer(
                    src, part, offset, total, ident.etag, hs, cancel, on_progress, resumed_from, body
                )
                fetched += got
                break
            except Dropped as exc:
                fetched += exc.got
                offset, total = exc.offset, exc.total
                body = None  # retries go through the resolve URL again (a CDN link may have expired)
                attempts += 1
                if attempts > RETRIES:
                    raise DownloadError(
                        f"The connection kept dropping ({attempts} tries); {human_bytes(offset)} is saved.",
                        "Run the same download again later: it resumes from there.",
                    ) from None
                time.sleep(min(2.0, 0.25 * attempts))
    except DownloadCancelled as exc:
        hs["h"].close()
        netlog.record(reason, src.url, f"paused at {offset + exc.done:,} bytes")
        raise
    except BaseException as exc:
        hs["h"].close()
        if hasattr(body, "close"):
            body.close()
        if isinstance(exc, PurposeError):
            netlog.record(reason, src.url, f"failed: {exc.message}")
        raise

    if on_progress:
        on_progress(DownloadProgress("verifying", offset, total))
    if total is not None and offset != total:
        hs["h"].close()
        raise DownloadError(
            f"The download ended at {offset:,} of {total:,} bytes.", "Run it again: it resumes."
        )
    # The GGUF header check (pure Python) runs while the hash thread finishes its last buffers; a wrong
    # checksum is still the error reported when both fail.
    gguf_problem = None if hs.get("gguf_ok") else _gguf_problem(part)
    digest = hs["h"].hexdigest()
    if expected and digest != expected:
        part.unlink(missing_ok=True)
        note.unlink(missing_ok=True)
        netlog.record(reason, src.url, "refused: sha256 mismatch")
        raise DownloadError(
            f"{src.filename} failed its checksum: sha256 {digest[:16]}… is not the expected {expected[:16]}…; "
            "the file was deleted.",
            "The download was corrupted or the file is not the one expected. Try again; if it repeats, "
            "check the sha256 you gave or the mirror (HF_ENDPOINT).",
        )
    if gguf_problem is not None:
        part.unlink(missing_ok=True)
        note.unlink(missing_ok=True)
        netlog.record(reason, src.url, "refused: not a usable GGUF")
        raise DownloadError(
            gguf_problem.message.replace(part.name, src.filename) + "; the download was deleted.",
            "The server did not send a usable GGUF model. Check the source, or pick a catalog model.",
        )
    os.replace(part, dest)
    note.unlink(missing_ok=True)
    netlog.record(reason, src.url, f"done: {fetched:,} bytes, {how}")
    return DownloadResult(
        path=str(dest),
        size=dest.stat().st_size,
        sha256=digest,
        verified=how,
        url=src.url,
        resumed_from=resumed_from,
        bytes_fetched=fetched,
        seconds=time.monotonic() - started,
        catalog_id=src.catalog_id,
    )


def _read_note(note: Path) -> dict[str, Any] | None:
    try:
        old = json.loads(note.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return old if isinstance(old, dict) else None


def _gguf_problem(part: Path, final_size: int | None = None) -> ModelError | None:
    """Why the downloaded file is not a usable GGUF model (header, metadata, tensor table), or None.

    With ``final_size`` the file is still arriving: its header is judged from the bytes already written
    and its tensors against the size it will have (pull checks that it does end up that size).
    """
    from purpose_desktop.engine.models.gguf import read_gguf_info

    try:
        read_gguf_info(part, final_size=final_size)
    except ModelError as exc:
        return exc
    return None


def _existing(dest: Path, src: DownloadSource, given: str | None) -> DownloadResult:
    """A file already in place: checked (never re-downloaded) and reported."""
    from purpose_desktop.engine.models.gguf import read_gguf_info

    expected = src.sha256 or given
    pipe = HashPipe()
    pipe.feed_file(dest)
    digest = pipe.hexdigest()
    if expected and digest != expected:
        raise DownloadError(
            f"{dest} already exists but its sha256 differs from the expected one.",
            "Delete or move that file, then pull again.",
        )
    read_gguf_info(dest)
    return DownloadResult(
        path=str(dest),
        size=dest.stat().st_size,
        sha256=digest,
        verified=("pinned" if src.sha256 else "given") if expected else "unverified",
        url=src.url,
        already_present=True,
        catalog_id=src.catalog_id,
    )


def _transfer(src, part, offset, total, etag, hs, cancel, on_progress, resumed_from, body=None):
    """One GET (from ``offset`` when resuming); returns (bytes got, new offset, total).

    ``body`` is the fresh download's open response or redirect target (see open_fresh). Each chunk is
    read straight into a HashPipe buffer, handed to the hash thread, then written: the hash of chunk n
    runs while chunk n + 1 arrives. Only whole reads are written and hashed, so the .part and the hash
    always cover the same bytes, whatever breaks.
    """
    if isinstance(body, str):
        resp = open_url(src, body)
    elif body is not None:
        resp = body
    else:
        resp = open_range(src, offset, total, etag)
        if resp is None:
            return 0, offset, total
    got = 0
    with resp:
        if offset and resp.status != 206:  # the server ignored the Range (or the file changed): start over
            offset = 0
            hs["h"].close()
            hs["h"] = HashPipe()
            hs["gguf_ok"] = hs["gguf_tried"] = False
            mode = "wb"
        else:
            mode = "ab" if offset else "wb"
        length = resp.headers.get("Content-Length")
        if total is None and length and length.isdigit():
            total = offset + int(length)
        t0 = time.monotonic()
        last = 0.0
        pipe = hs["h"]
        with open(part, mode) as f:
            while True:
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled(
                        f"Download of {src.filename} paused at {human_bytes(offset + got)}.",
                        "Pull it again to resume; nothing already downloaded is fetched twice.",
                        done=got,
                    )
                buf = pipe.buffer()
                try:
                    n = resp.readinto(buf)
                except (OSError, ValueError, EOFError, http.client.HTTPException):  # reset, timeout
                    pipe.submit(buf, 0)  # a failed read's partial bytes are neither written nor hashed
                    f.flush()
                    raise Dropped(got, offset + got, total) from None
                if not n:
                    pipe.submit(buf, 0)
                    break
                pipe.submit(buf, n)  # hashed on the other thread while this thread writes
                f.write(memoryview(buf)[:n] if n < len(buf) else buf)
                got += n
                if total and EARLY_GGUF_AT <= offset + got < total and not hs.get("gguf_tried"):
                    hs["gguf_tried"] = True  # once; anything undecided (or wrong) is judged at the end
                    f.flush()
                    hs["gguf_ok"] = _gguf_problem(part, final_size=total) is None
                now = time.monotonic()
                if on_progress and (now - last >= PROGRESS_EVERY_S):
                    last = now
                    elapsed = now - t0
                    rate = got / elapsed if elapsed > 0.2 else None
                    left = (total - offset - got) / rate if rate and total else None
                    on_progress(
                        DownloadProgress("downloading", offset + got, total, rate, left, resumed_from)
                    )
    if total is not None and offset + got < total:
        raise Dropped(got, offset + got, total)
    if on_progress:
        elapsed = time.monotonic() - t0
        on_progress(
            DownloadProgress(
                "downloading", offset + got, total, got / elapsed if elapsed else None, 0.0, resumed_from
            )
        )
    return got, offset + got, total
