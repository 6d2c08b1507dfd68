"""Download benchmark: ``models pull`` throughput from a loopback hub ÷ a raw urllib copy of the same bytes (JSON).

Serves the bundled GGUF from tests/hf_server.py (127.0.0.1, the hub's /resolve/ layout with its LFS
redirect), in its own process. Each round times (a) a raw copy: one urllib GET of the file's CDN URL
written to disk in 1 MiB reads, nothing else; and (b) ``download.pull``: the resolve URL's 302 (its
X-Linked-Etag), the GET of the bytes, sha256 of every byte (on a second thread, overlapped with the
transfer), the GGUF header check and the rename. Rounds alternate the order; a ratio is the median of
raw_time ÷ pull_time (pull throughput ÷ raw throughput; target ≥ 0.9).

The headline ``ratio`` is unpaced loopback, where the raw copy runs at memory speed and the pull is
bound by sha256 (one core) sharing the CPUs with the server process. ``links`` (and the flat
``ratio_at_<N>_mb_s`` keys) repeat the same comparison with the hub paced to real link speeds — the
raw copy and the pull paced identically — to show where hashing every byte stops costing anything.
``sha256_mb_s`` is this machine's single-thread hashlib speed, the bound on loopback. Details go to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PURPOSE_DESKTOP_HOME", tempfile.mkdtemp(prefix="pd-bench-"))
for _var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_var, None)

from purpose_desktop.engine.models import default_model_path  # noqa: E402
from purpose_desktop.engine.models import download as dl  # noqa: E402

REPO, FILE = "bench/Smol-GGUF", "smol.gguf"
RAW_CHUNK = 1 << 20  # the baseline's read size, fixed whatever the pull uses
TARGET = 0.9
# The hub runs in its own process, as a real server is another machine: in this process its thread
# would share the GIL with the client being measured.
SERVER = """
import sys
sys.path.insert(0, sys.argv[1])
from tests.hf_server import HubServer
with HubServer() as srv:
    srv.hub.add_file(sys.argv[2], sys.argv[3], sys.argv[4])
    srv.hub.rate_bps = float(sys.argv[5])
    print(srv.endpoint, flush=True)
    sys.stdin.read()
"""


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


def raw_copy(url: str, dest: Path) -> float:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as resp, open(dest, "wb") as f:
        while chunk := resp.read(RAW_CHUNK):
            f.write(chunk)
    return time.perf_counter() - t0


def pulled(dest_dir: Path) -> float:
    t0 = time.perf_counter()
    result = dl.pull(f"hf:{REPO}/{FILE}", dest_dir=dest_dir)
    elapsed = time.perf_counter() - t0
    assert result.verified == "hub", result
    return elapsed


def sha256_speed(model: Path) -> float:
    data = model.read_bytes()
    best = min(_timed(lambda: hashlib.sha256(data).digest()) for _ in range(3))
    return len(data) / best / 1e6


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def measure(model: Path, rounds: int, link_mb_s: float) -> dict:
    """Alternate raw copies and pulls against a hub paced to ``link_mb_s`` (0 = unpaced loopback)."""
    size = model.stat().st_size
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(ROOT), REPO, FILE, str(model), str(link_mb_s * 1e6)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    ratios, raws, pulls = [], [], []
    try:
        endpoint = server.stdout.readline().strip()
        with tempfile.TemporaryDirectory(prefix="pd-bench-dl-") as tmp:
            os.environ["HF_ENDPOINT"] = endpoint
            cdn = f"{endpoint}/cdn/{REPO}/resolve/main/{FILE}"
            work = Path(tmp)
            raw_copy(cdn, work / "warm.bin")  # page cache and server warm-up
            (work / "warm.bin").unlink()
            for i in range(rounds):
                order = ("raw", "pull") if i % 2 == 0 else ("pull", "raw")
                times = {}
                for which in order:
                    if which == "raw":
                        times["raw"] = raw_copy(cdn, work / "raw.bin")
                        (work / "raw.bin").unlink()
                    else:
                        times["pull"] = pulled(work)
                        (work / FILE).unlink()
                raws.append(times["raw"])
                pulls.append(times["pull"])
                ratios.append(times["raw"] / times["pull"])
                log(
                    f"{link_mb_s or 'loopback'} round {i + 1}: raw {size / times['raw'] / 1e6:.0f} MB/s, "
                    f"pull {size / times['pull'] / 1e6:.0f} MB/s, ratio {ratios[-1]:.3f}"
                )
    finally:
        server.stdin.close()
        server.wait(10)
    return {
        "raw_mb_s": round(size / statistics.median(raws) / 1e6, 1),
        "pull_mb_s": round(size / statistics.median(pulls) / 1e6, 1),
        "ratio": round(statistics.median(ratios), 3),
        "ratios": [round(r, 3) for r in ratios],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--links",
        default="500,100",
        help="comma-separated link speeds in MB/s to repeat the comparison at ('' = loopback only)",
    )
    args = parser.parse_args()
    links = [float(x) for x in args.links.split(",") if x.strip()]
    model = default_model_path()
    load_start = os.getloadavg()[0]
    sha = sha256_speed(model)
    loop = measure(model, args.rounds, 0.0)
    paced = {f"{mb:g}_mb_s": measure(model, args.rounds, mb) for mb in links}
    result = {
        "bench": "download",
        "bytes": model.stat().st_size,
        "rounds": args.rounds,
        "link_mb_s": "loopback (unpaced)",
        "load_avg_1m_start": round(load_start, 2),
        "load_avg_1m_end": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "sha256_mb_s": round(sha, 1),
        **loop,
        "target": TARGET,
        "ok": loop["ratio"] >= TARGET,
        **{f"ratio_at_{key}": v["ratio"] for key, v in paced.items()},
        "links": paced,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
