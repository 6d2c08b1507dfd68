"""Model download against a loopback hub (tests/hf_server.py): resume, checksums, GGUF check, disk, cancel, load."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.models import download as dl
from purpose_desktop.engine.models import netlog
from purpose_desktop.engine.models.catalog import load_catalog, parse_catalog
from purpose_desktop.engine.models.gguf import write_gguf
from tests.hf_server import HubServer

REPO = "acme/Tiny-GGUF"


@pytest.fixture(scope="module")
def bundled(default_model_path) -> tuple[Path, bytes, str]:
    data = Path(default_model_path).read_bytes()
    return Path(default_model_path), data, hashlib.sha256(data).hexdigest()


@pytest.fixture
def hub(monkeypatch, bundled):
    with HubServer() as srv:
        srv.hub.add(REPO, "smol.gguf", bundled[1])
        monkeypatch.setenv("HF_ENDPOINT", srv.endpoint)
        for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
            monkeypatch.delenv(var, raising=False)
        yield srv


def _leftovers() -> list[str]:
    return sorted(p.name for p in dl.models_dir().iterdir())


def test_full_pull_verifies_against_the_hub_hash_and_is_discovered(hub, bundled):
    seen: list[dl.DownloadProgress] = []
    result = dl.pull(f"hf:{REPO}/smol.gguf", on_progress=seen.append)
    assert result.verified == "hub" and result.sha256 == bundled[2]
    assert Path(result.path) == dl.models_dir() / "smol.gguf"
    assert Path(result.path).read_bytes() == bundled[1]
    assert result.bytes_fetched == len(bundled[1]) and result.resumed_from == 0
    assert _leftovers() == ["smol.gguf"]  # no .part, no note
    # One GET read the hub's 302 (X-Linked-Etag, no separate HEAD); the next fetched the CDN path once.
    assert [(m, p.startswith("/cdn/")) for m, p, _ in hub.hub.requests] == [("GET", False), ("GET", True)]
    assert any(p.phase == "downloading" and p.total == len(bundled[1]) for p in seen)
    assert seen[-1].phase == "verifying"
    from purpose_desktop.engine.models import discover_models

    found = [e for e in discover_models() if e.source == "downloaded"]
    assert [e.id for e in found] == ["downloaded:smol"] and found[0].usable
    last = netlog.last_online()
    assert (
        last is not None
        and last.host == "127.0.0.1"
        and "done" in last.outcome
        and last.reason == "model download"
    )


def test_dropped_connection_resumes_with_range_and_fetches_nothing_twice(hub, bundled):
    size = len(bundled[1])
    hub.hub.drop_after = size // 2
    result = dl.pull(f"hf:{REPO}/smol.gguf")
    assert result.sha256 == bundled[2] and result.verified == "hub"
    assert hub.hub.ranges() == [f"bytes={size // 2}-"]
    assert hub.hub.bytes_sent == size  # half, then the other half: not a byte more
    assert result.bytes_fetched == size


def test_wrong_sha256_is_refused_and_nothing_is_left(hub):
    with pytest.raises(dl.DownloadError) as err:
        dl.pull(f"hf:{REPO}/smol.gguf", sha256="0" * 64)
    assert "failed its checksum" in err.value.message and "deleted" in err.value.message
    assert _leftovers() == []
    assert "sha256 mismatch" in netlog.last_online().outcome


def test_a_hub_hash_that_does_not_match_the_bytes_is_refused(hub, bundled):
    hub.hub.add(REPO, "liar.gguf", bundled[1], etag_sha="f" * 64)
    with pytest.raises(dl.DownloadError, match="failed its checksum"):
        dl.pull(f"hf:{REPO}/liar.gguf")
    assert _leftovers() == []


def test_a_non_lfs_file_without_a_published_hash_is_unverified(hub, bundled):
    hub.hub.no_lfs = True
    result = dl.pull(f"hf:{REPO}/smol.gguf")
    assert result.verified == "unverified" and "unverified" in result.verified_text
    assert result.sha256 == bundled[2]


def test_given_sha256_is_used_and_reported(hub, bundled):
    result = dl.pull(f"hf:{REPO}/smol.gguf", sha256=bundled[2].upper())
    assert result.verified == "given"


def test_non_gguf_body_is_refused_and_deleted(hub):
    page = b"<!doctype html><html><body>Sign in to continue</body></html>" * 100
    hub.hub.add(REPO, "page.gguf", page)
    with pytest.raises(dl.DownloadError) as err:
        dl.pull(f"hf:{REPO}/page.gguf")
    assert "not a GGUF model" in err.value.message and "web page" in err.value.message
    assert _leftovers() == []


def test_404_says_what_was_missing(hub):
    with pytest.raises(dl.DownloadError) as err:
        dl.pull(f"hf:{REPO}/nope.gguf")
    assert "HTTP 404" in err.value.message and "nope.gguf" in err.value.message
    assert err.value.hint
    assert _leftovers() == []


def test_disk_full_is_refused_before_anything_is_fetched(hub, bundled):
    # The free-space function is patched (a real full disk cannot be made here without root).
    with pytest.raises(dl.DownloadError) as err:
        dl.pull(f"hf:{REPO}/smol.gguf", free_space=lambda _p: len(bundled[1]) // 2)
    assert "Not enough disk space" in err.value.message
    # Only the resolve URL's 302 was read (its headers give the size): no byte of the file was fetched.
    assert [(m, p.startswith("/cdn/")) for m, p, _ in hub.hub.requests] == [("GET", False)]
    assert hub.hub.bytes_sent == 0
    assert not (dl.models_dir() / "smol.gguf.part").exists()


def test_cancel_keeps_the_part_and_a_new_pull_resumes_after_restart(hub, bundled):
    size = len(bundled[1])
    cancel = CancelToken()
    hub.hub.throttle_s = 0.02  # a slow link (~50 MB/s): a quiet machine would finish before a progress report

    def stop_at_a_third(p: dl.DownloadProgress) -> None:
        if p.done > size // 3:
            cancel.set()

    with pytest.raises(dl.DownloadCancelled) as err:
        dl.pull(f"hf:{REPO}/smol.gguf", cancel=cancel, on_progress=stop_at_a_third)
    assert err.value.kept
    part = dl.models_dir() / "smol.gguf.part"
    kept = part.stat().st_size
    assert size // 3 < kept < size
    assert dl.partial_size(f"hf:{REPO}/smol.gguf") == kept
    note = json.loads((dl.models_dir() / "smol.gguf.part.json").read_text())
    assert note["sha256"] == bundled[2]
    # A "restart": nothing in memory survives; only the .part and its note on disk.
    hub.hub.requests.clear()
    hub.hub.throttle_s = 0.0
    result = dl.pull(f"hf:{REPO}/smol.gguf")
    assert hub.hub.ranges() == [f"bytes={kept}-"]
    assert result.resumed_from == kept and result.bytes_fetched == size - kept
    assert result.sha256 == bundled[2] and _leftovers() == ["smol.gguf"]


def test_a_part_of_another_file_is_never_spliced(hub, bundled):
    part = dl.models_dir() / "smol.gguf.part"
    part.write_bytes(b"GGUF" + b"x" * 1000)
    (dl.models_dir() / "smol.gguf.part.json").write_text(json.dumps({"url": "elsewhere"}))
    result = dl.pull(f"hf:{REPO}/smol.gguf")
    assert result.resumed_from == 0 and result.sha256 == bundled[2]
    assert hub.hub.ranges() == []


def test_discard_partial_removes_a_paused_download(hub):
    part = dl.models_dir() / "smol.gguf.part"
    part.write_bytes(b"GGUF")
    assert dl.discard_partial(f"hf:{REPO}/smol.gguf") is True
    assert not part.exists()


def test_an_existing_file_is_checked_not_downloaded_again(hub, bundled):
    dl.pull(f"hf:{REPO}/smol.gguf")
    hub.hub.requests.clear()
    again = dl.pull(f"hf:{REPO}/smol.gguf")
    assert again.already_present and hub.hub.requests == []


def _test_catalog(sha: str | None, accept: bool):
    data = json.loads(json.dumps(_RAW))
    m = data["models"][0]
    m["sha256"], m["license_accept_required"] = sha, accept
    if sha:
        m["pin_source"] = "s"
    return parse_catalog(data)


_RAW = {
    "schema": "purpose-desktop/model-catalog",
    "schema_version": 1,
    "catalog_version": "test",
    "sources": {"s": "a test"},
    "models": [
        {
            "id": "tiny",
            "name": "Tiny",
            "repo": REPO,
            "file": "smol.gguf",
            "revision": "main",
            "revision_note": "test",
            "quantization": "Q4_1",
            "params_b": 0.135,
            "size_bytes": None,
            "sha256": None,
            "license": "gemma",
            "license_url": "https://example.invalid/terms",
            "license_accept_required": False,
            "context_length": 8192,
            "chat_template": "ChatML",
            "tags": ["code"],
            "scores": [],
        }
    ],
}


def test_catalog_pin_wins_over_the_hub_hash(hub):
    catalog = _test_catalog("e" * 64, accept=False)
    with pytest.raises(dl.DownloadError, match="failed its checksum"):
        dl.pull(dl.resolve_source("tiny", catalog))
    assert _leftovers() == []


def test_catalog_pin_that_matches_is_reported_as_pinned(hub, bundled):
    catalog = _test_catalog(bundled[2], accept=False)
    assert dl.pull(dl.resolve_source("tiny", catalog)).verified == "pinned"


def test_a_license_that_needs_accepting_is_asked_for(hub):
    src = dl.resolve_source("tiny", _test_catalog(None, accept=True))
    with pytest.raises(dl.LicenseNotAccepted) as err:
        dl.pull(src)
    assert "--accept-license" in err.value.hint and hub.hub.requests == []
    assert dl.pull(src, accept_license=True).verified == "hub"


def test_sources_resolve_to_hub_urls(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "https://mirror.example/")
    src = dl.resolve_source(
        "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf@abc123"
    )
    assert (
        src.url
        == "https://mirror.example/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/resolve/abc123/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    )
    entry = load_catalog().get("qwen3-4b")
    src = dl.resolve_source("qwen3-4b")
    assert src.url.endswith(f"/Qwen/Qwen3-4B-GGUF/resolve/{entry.revision}/Qwen3-4B-Q4_K_M.gguf")
    assert src.sha256 == entry.sha256 and src.catalog_id == "qwen3-4b"
    assert dl.resolve_source("https://x.example/a/b/model.gguf?download=true").filename == "model.gguf"
    for bad in ("http://x.example/m.gguf", "hf:onlyrepo", "https://x.example/readme.md", "no-such-model", ""):
        with pytest.raises(InputError):
            dl.resolve_source(bad)


def test_bad_sha256_argument_is_rejected_before_going_online(hub):
    with pytest.raises(InputError, match="64 hexadecimal"):
        dl.pull(f"hf:{REPO}/smol.gguf", sha256="abc")
    assert hub.hub.requests == []


def test_truncated_gguf_is_refused(hub, tmp_path):
    path = write_gguf(tmp_path / "t.gguf", {"general.architecture": "llama"}, [("w", (64, 64), 0)])
    hub.hub.add(REPO, "cut.gguf", path.read_bytes()[:200])
    with pytest.raises(dl.DownloadError, match="truncated|incomplete"):
        dl.pull(f"hf:{REPO}/cut.gguf")
    assert _leftovers() == []


@pytest.mark.model
def test_a_pulled_model_loads_and_answers(hub):
    from purpose_desktop.engine.models import GenerationSettings, LocalModel, resolve_model

    result = dl.pull(f"hf:{REPO}/smol.gguf")
    path = resolve_model("downloaded:smol")
    assert path == Path(result.path)
    with LocalModel(path, n_ctx=256) as model:
        reply = model.chat(
            [{"role": "user", "content": "Say hi."}],
            settings=GenerationSettings(max_tokens=8, temperature=0.0, seed=1),
        )
    assert reply.n_tokens > 0 and reply.text.strip()


def test_privacy_report_says_when_the_app_last_went_online_and_why(hub):
    from purpose_desktop.engine.services.diagnostics import PrivacyReport

    assert PrivacyReport(()).last_online == "This app has not gone online."
    dl.pull(f"hf:{REPO}/smol.gguf")
    report = PrivacyReport((), network=tuple(netlog.events()))
    assert (
        report.last_online.startswith("Last online ")
        and "model download from 127.0.0.1" in report.last_online
    )
    assert [e.outcome.split(":")[0] for e in report.network] == ["done", "started"]


def test_a_plain_url_on_a_server_without_head_still_downloads(hub, bundled):
    hub.hub.no_head = True
    hub.hub.no_lfs = True
    url = f"{hub.endpoint}/{REPO}/resolve/main/smol.gguf"
    result = dl.pull(url)
    assert result.sha256 == bundled[2] and result.verified == "unverified"
    assert Path(result.path).name == "smol.gguf"


def _pause_at_a_third(hub, size: int) -> int:
    """Pull until a third is in, then pause; returns the size of the kept .part."""
    cancel = CancelToken()
    hub.hub.throttle_s = 0.02

    def stop(p: dl.DownloadProgress) -> None:
        if p.done > size // 3:
            cancel.set()

    with pytest.raises(dl.DownloadCancelled):
        dl.pull(f"hf:{REPO}/smol.gguf", cancel=cancel, on_progress=stop)
    hub.hub.throttle_s = 0.0
    hub.hub.requests.clear()
    return (dl.models_dir() / "smol.gguf.part").stat().st_size


def test_a_corrupted_prefix_is_caught_after_a_resume(hub, bundled):
    # The resumed hash must cover the bytes on disk: the kept prefix re-read from the .part, then the new
    # bytes. One flipped byte in the prefix (same length, same note) must be refused, not renamed into place.
    kept = _pause_at_a_third(hub, len(bundled[1]))
    part = dl.models_dir() / "smol.gguf.part"
    with open(part, "r+b") as f:
        f.seek(kept // 2)
        byte = f.read(1)
        f.seek(kept // 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(dl.DownloadError, match="failed its checksum"):
        dl.pull(f"hf:{REPO}/smol.gguf")
    assert hub.hub.ranges() == [f"bytes={kept}-"]  # it did resume: only the rest was fetched
    assert _leftovers() == []


def test_a_server_without_head_still_resumes_after_a_restart(hub, bundled):
    hub.hub.no_lfs = True
    size = len(bundled[1])
    kept = _pause_at_a_third(hub, size)
    hub.hub.no_head = True  # the resume's HEAD gets 405: the note and If-Range stand in for it
    result = dl.pull(f"hf:{REPO}/smol.gguf")
    assert hub.hub.ranges() == [f"bytes={kept}-"]
    assert result.resumed_from == kept and result.sha256 == bundled[2]


def test_the_hash_pipe_never_reuses_a_buffer_before_it_is_hashed():
    # A hash slower than the reader fills the pool; a buffer handed back too early would be overwritten
    # with the next chunk before it was hashed, and the digest would differ.
    from purpose_desktop.engine.models.hashpipe import HashPipe

    class SlowSha:
        def __init__(self) -> None:
            self.h = hashlib.sha256()

        def update(self, data) -> None:
            import time

            time.sleep(0.002)
            self.h.update(data)

        def hexdigest(self) -> str:
            return self.h.hexdigest()

    pipe = HashPipe(chunk=4096, depth=3, new_hash=SlowSha)
    expected = hashlib.sha256()
    for i in range(60):
        buf = pipe.buffer()
        n = 4096 - (i % 7) * 100  # some reads come back short
        buf[:n] = bytes([i % 251]) * n
        expected.update(bytes(buf[:n]))
        pipe.submit(buf, n)
    assert pipe.hexdigest() == expected.hexdigest() and pipe.fed == sum(
        4096 - (i % 7) * 100 for i in range(60)
    )


def test_the_gguf_header_is_checked_once_while_the_rest_arrives(hub, bundled, monkeypatch):
    calls: list[int | None] = []
    real = dl._gguf_problem
    monkeypatch.setattr(
        dl, "_gguf_problem", lambda part, final_size=None: calls.append(final_size) or real(part, final_size)
    )
    dl.pull(f"hf:{REPO}/smol.gguf")
    assert calls == [len(bundled[1])]  # judged early against the final size, not again at the end


def test_a_cut_model_whose_header_arrives_early_is_still_refused(hub, bundled):
    # The header is whole after 16 MiB, but the server's whole file is only 20 MiB: its tensors do not fit.
    hub.hub.add(REPO, "cut-big.gguf", bundled[1][: 20 << 20])
    with pytest.raises(dl.DownloadError, match="incomplete"):
        dl.pull(f"hf:{REPO}/cut-big.gguf")
    assert _leftovers() == []


def test_a_big_non_gguf_body_is_refused_after_the_early_check(hub):
    hub.hub.add(REPO, "big-page.gguf", b"<!doctype html>" + b"x" * (17 << 20))
    with pytest.raises(dl.DownloadError, match="not a GGUF model"):
        dl.pull(f"hf:{REPO}/big-page.gguf")
    assert _leftovers() == []
