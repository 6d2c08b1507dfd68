"""The model download's HTTP layer: requests to the hub (or any URL) through urllib, what the server says
about a file before its bytes (size, the hub's sha256 in X-Linked-Etag, the ETag for If-Range), and errors
that say what to do. urllib honours HTTP(S)_PROXY / NO_PROXY from the environment.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine.errors import PurposeError

if TYPE_CHECKING:
    from purpose_desktop.engine.models.download import DownloadSource

TIMEOUT_S = 30.0
USER_AGENT = "purpose-desktop (model download)"
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class DownloadError(PurposeError):
    """A download failed: not found, refused, cut off for good, wrong checksum, not a GGUF, no disk space."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001 - urllib's signature
        return None  # the 30x reaches us as HTTPError with its headers (X-Linked-Etag lives on the hub's 302)


def _opener(follow: bool) -> urllib.request.OpenerDirector:
    handlers: list[Any] = [
        urllib.request.ProxyHandler()
    ]  # reads http(s)_proxy / no_proxy from the environment
    if not follow:
        handlers.append(_NoRedirect())
    return urllib.request.build_opener(*handlers)


def _etag_sha(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip().removeprefix("W/").strip('"').lower()
    return v if _SHA_RE.match(v) else None


def _http_error(exc: urllib.error.HTTPError, src: DownloadSource) -> DownloadError:
    if exc.code == 404:
        return DownloadError(
            f"{src.label} was not found on the server (HTTP 404): {src.url}",
            "Check the repository, file name and revision; the file may have been renamed or removed.",
        )
    if exc.code in (401, 403):
        return DownloadError(
            f"The server refused {src.label} (HTTP {exc.code}).",
            "The repository may be gated or private: accept its terms on the hub, or pick another model.",
        )
    return DownloadError(
        f"The server answered HTTP {exc.code} for {src.url}.",
        "Try again later, or use a mirror (HF_ENDPOINT).",
    )


def _url_error(exc: Exception, src: DownloadSource) -> DownloadError:
    reason = getattr(exc, "reason", exc)
    return DownloadError(
        f"Could not reach {urllib.parse.urlsplit(src.url).netloc}: {reason}",
        "Check the internet connection or proxy settings (HTTPS_PROXY), or set HF_ENDPOINT to a mirror.",
    )


_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Identity:
    """What the server says about the file before its bytes: size, the hub's sha256, the ETag for If-Range."""

    size: int | None
    hub_sha: str | None
    etag: str | None


def _identity(src: DownloadSource, headers: Any, status: int) -> Identity:
    sha = _etag_sha(headers.get("X-Linked-Etag")) if src.hub else None
    size_text = headers.get("X-Linked-Size") or (headers.get("Content-Length") if status < 300 else None)
    size = int(size_text) if size_text and size_text.isdigit() else None
    return Identity(size, sha, headers.get("X-Linked-Etag") or headers.get("ETag"))


def probe(src: DownloadSource) -> Identity | None:
    """HEAD without following redirects (used before a resume); None when the server has no HEAD."""
    req = urllib.request.Request(
        src.url, method="HEAD", headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    )
    try:
        resp = _opener(follow=False).open(req, timeout=TIMEOUT_S)
        headers, status = resp.headers, resp.status
        resp.close()
    except urllib.error.HTTPError as exc:
        if exc.code in (405, 501):  # a server without HEAD: the resume trusts the note and If-Range
            return None
        if exc.code not in _REDIRECTS:
            raise _http_error(exc, src) from None
        headers, status = exc.headers, exc.code
        exc.close()
    except (urllib.error.URLError, OSError) as exc:
        raise _url_error(exc, src) from None
    return _identity(src, headers, status)


def open_fresh(src: DownloadSource) -> tuple[Identity, Any]:
    """A fresh download's first request: GET without following redirects, so no separate HEAD is needed.

    The hub answers the resolve URL with a 302 whose headers carry X-Linked-Etag and X-Linked-Size (no
    body): returns them with the redirect target (a URL string). A server that answers 200 at once
    returns its open response, whose body is then read (nothing is requested twice).
    """
    req = urllib.request.Request(src.url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    try:
        resp = _opener(follow=False).open(req, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code not in _REDIRECTS:
            raise _http_error(exc, src) from None
        location = exc.headers.get("Location")
        ident = _identity(src, exc.headers, exc.code)
        exc.close()
        if not location:
            raise DownloadError(
                f"The server redirected {src.url} without saying where (HTTP {exc.code}, no Location).",
                "Try again later, or use a mirror (HF_ENDPOINT).",
            ) from None
        return ident, urllib.parse.urljoin(src.url, location)
    except (urllib.error.URLError, OSError) as exc:
        raise _url_error(exc, src) from None
    return _identity(src, resp.headers, resp.status), resp


class Dropped(Exception):
    """Internal: the connection broke after ``got`` more bytes were written; the .part now ends at ``offset``."""

    def __init__(self, got: int, offset: int, total: int | None) -> None:
        super().__init__(got)
        self.got, self.offset, self.total = got, offset, total


def open_range(src: DownloadSource, offset: int, total: int | None, etag: str | None) -> Any:
    """GET the resolve URL (following redirects), from ``offset`` when resuming; None when already complete."""
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if etag:
            headers["If-Range"] = etag
    req = urllib.request.Request(src.url, headers=headers)
    try:
        return _opener(follow=True).open(req, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and total is not None and offset >= total:
            return None  # already complete (e.g. killed between the last write and the rename)
        raise _http_error(exc, src) from None
    except (urllib.error.URLError, OSError) as exc:
        if offset:
            raise Dropped(0, offset, total) from None
        raise _url_error(exc, src) from None


def open_url(src: DownloadSource, url: str) -> Any:
    """GET the redirect target of a fresh download (following any further redirects)."""
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    try:
        return _opener(follow=True).open(req, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        raise _http_error(exc, src) from None
    except (urllib.error.URLError, OSError) as exc:
        raise _url_error(exc, src) from None
