"""A loopback stand-in for the Hugging Face hub (127.0.0.1 only): /resolve/ URLs, LFS redirects, Range, X-Linked-Etag.

Used by the download tests and bench/download.py. Like the hub, a HEAD or GET of
``/{owner}/{repo}/resolve/{rev}/{file}`` answers 302 with ``X-Linked-Etag`` (the file's sha256) and
``X-Linked-Size``, pointing at ``/cdn/...`` which serves the bytes with Range support. Knobs:
``drop_after`` cuts the next full-body GET after that many bytes (a dropped connection);
``etag_sha`` overrides the published hash; ``no_lfs`` answers like a plain (non-LFS) file;
``throttle_s`` / ``rate_bps`` slow the bodies down (a pause point for tests; a link speed for the bench).
"""

from __future__ import annotations

import hashlib
import mmap
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Served:
    data: bytes | mmap.mmap
    sha256: str
    etag_sha: str | None = None  # what X-Linked-Etag says (default: the real hash)


@dataclass
class Hub:
    """The server's state: files by resolve path, and what each request asked for."""

    files: dict[str, Served] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, path, Range)
    served_ranges: list[str] = field(default_factory=list)  # Range headers of GETs that sent bytes
    bytes_sent: int = 0
    drop_after: int | None = None
    throttle_s: float = 0.0  # sleep after each 1 MiB sent (a slow link, so a test can pause mid-download)
    rate_bps: float = 0.0  # pace each body to this many bytes a second (a real link's speed; 0 = unpaced)
    no_lfs: bool = False
    no_head: bool = False  # answer HEAD with 405, as some plain web servers do
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self, repo: str, file: str, data: bytes | mmap.mmap, rev: str = "main", etag_sha: str | None = None
    ) -> str:
        sha = hashlib.sha256(data).hexdigest()
        path = f"/{repo}/resolve/{rev}/{file}"
        self.files[path] = Served(data, sha, etag_sha)
        return sha

    def add_file(self, repo: str, file: str, path: Path, rev: str = "main") -> str:
        with open(path, "rb") as f:
            data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        return self.add(repo, file, data, rev)

    def ranges(self) -> list[str]:
        return list(self.served_ranges)


class _Handler(BaseHTTPRequestHandler):
    hub: Hub  # set on the subclass made per server

    def log_message(self, *args) -> None:  # quiet tests
        pass

    def _find(self) -> tuple[str, Served | None, bool]:
        path = self.path.split("?", 1)[0]
        if path.startswith("/cdn/"):
            return path, self.hub.files.get(path[4:]), True
        return path, self.hub.files.get(path), False

    def do_HEAD(self) -> None:
        if self.hub.no_head:
            self.send_response(405)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        rng = self.headers.get("Range")
        with self.hub.lock:
            self.hub.requests.append((self.command, self.path, rng))
        path, served, cdn = self._find()
        if served is None:
            self.send_response(404)
            self.send_header("Content-Length", "15")
            self.send_header("X-Error-Code", "EntryNotFound")
            self.end_headers()
            if body:
                self.wfile.write(b"Entry not found")
            return
        size = len(served.data)
        if not cdn and not self.hub.no_lfs:
            self.send_response(302)
            self.send_header("Location", "/cdn" + path)
            self.send_header("X-Linked-Etag", f'"{served.etag_sha or served.sha256}"')
            self.send_header("X-Linked-Size", str(size))
            self.send_header("ETag", '"not-the-sha-0123"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start = 0
        if rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-", 1)[0])
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(size - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{served.sha256}"')
        self.end_headers()
        if not body:
            return
        if rng:
            with self.hub.lock:
                self.hub.served_ranges.append(rng)
        limit = size
        with self.hub.lock:
            if self.hub.drop_after is not None and start == 0:
                limit, self.hub.drop_after = self.hub.drop_after, None
        pos, chunk = start, 1 << 20
        rate, t0 = self.hub.rate_bps, time.monotonic()
        try:
            while pos < limit:
                end = min(pos + chunk, limit)
                self.wfile.write(served.data[pos:end])
                with self.hub.lock:
                    self.hub.bytes_sent += end - pos
                pos = end
                if self.hub.throttle_s:
                    time.sleep(self.hub.throttle_s)
                if rate:  # on a schedule, not a fixed sleep: time spent sending counts towards the pace
                    ahead = (pos - start) / rate - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
        except (BrokenPipeError, ConnectionResetError):
            return
        if limit < size:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)  # the client sees the body end early: a dropped connection


class HubServer:
    """``with HubServer() as srv:`` → ``srv.endpoint`` (set HF_ENDPOINT to it), ``srv.hub`` to add files."""

    def __init__(self) -> None:
        self.hub = Hub()
        handler = type("Handler", (_Handler,), {"hub": self.hub})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="hub-server", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> HubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
