"""Download benchmark: ``models pull`` throughput from a loopback hub ÷ a raw urllib copy of the same bytes (JSON).

Serves the bundled GGUF from tests/hf_server.py (127.0.0.1, the hub's /resolve/ layout with its LFS
redirect). Each round times (a) a raw copy: one urllib GET of the file's CDN URL written to disk in
1 MiB reads, nothing else; and (b) ``download.pull``: HEAD for X-Linked-Etag, the redirected GET,
sha256 of every byte, the GGUF header check and the rename. Rounds alternate the order; the JSON's
``ratio`` is the median of raw_time ÷ pull_time (pull throughput ÷ raw throughput; target ≥ 0.9).
Details go to stderr.
"""

from __future__ import annotations

import argparse
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
# The hub runs in its own process, as a real server is another machine: in this process its thread
# would share the GIL with the client being measured.
SERVER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.hf_server import HubServer
with HubServer() as srv:
    srv.hub.add_file(sys.argv[2], sys.argv[3], sys.argv[4])
    srv.hub.throttle_s = float(sys.argv[5])
    print(srv.endpoint, flush=True)
    sys.stdin.read()
"""


def log(*parts) -> None:
    print(*parts, file=sys.stderr, flush=True)


def raw_copy(url: str, dest: Path) -> float:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as resp, open(dest, "wb") as f:
        while chunk := resp.read(dl.CHUNK):
            f.write(chunk)
    return time.perf_counter() - t0


def pulled(dest_dir: Path) -> float:
    t0 = time.perf_counter()
    result = dl.pull(f"hf:{REPO}/{FILE}", dest_dir=dest_dir)
    elapsed = time.perf_counter() - t0
    assert result.verified == "hub", result
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--link-mb-s",
        type=float,
        default=0.0,
        help="pace the server to about this many MB/s (a real internet link); 0 = as fast as loopback goes",
    )
    args = parser.parse_args()
    model = default_model_path()
    size = model.stat().st_size
    ratios, raws, pulls = [], [], []
    throttle = (1 << 20) / (args.link_mb_s * 1e6) if args.link_mb_s else 0.0
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(ROOT), REPO, FILE, str(model), str(throttle)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    endpoint = server.stdout.readline().strip()
    with tempfile.TemporaryDirectory(prefix="pd-bench-dl-") as tmp:
        os.environ["HF_ENDPOINT"] = endpoint
        cdn = f"{endpoint}/cdn/{REPO}/resolve/main/{FILE}"
        work = Path(tmp)
        raw_copy(cdn, work / "warm.bin")  # page cache and server warm-up
        (work / "warm.bin").unlink()
        for i in range(args.rounds):
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
                f"round {i + 1}: raw {size / times['raw'] / 1e6:.0f} MB/s, pull {size / times['pull'] / 1e6:.0f} MB/s, "
                f"ratio {ratios[-1]:.3f}"
            )
    server.stdin.close()
    server.wait(10)
    result = {
        "bench": "download",
        "bytes": size,
        "rounds": args.rounds,
        "link_mb_s": args.link_mb_s or "loopback (unpaced)",
        "load_avg_1m": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
        "raw_mb_s": round(size / statistics.median(raws) / 1e6, 1),
        "pull_mb_s": round(size / statistics.median(pulls) / 1e6, 1),
        "ratio": round(statistics.median(ratios), 3),
        "ratios": [round(r, 3) for r in ratios],
        "target": 0.9,
        "ok": statistics.median(ratios) >= 0.9,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
