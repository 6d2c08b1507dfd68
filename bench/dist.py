"""The double-click app's size and start-up: dist/PurposeDesktop after `make dist`.

Prints {"onedir_mb", "archive_mb", "window_shown_s", ...} as JSON (MB = 10^6 bytes):
- onedir_mb: the unpacked folder (target ≤ 1300), with what dominates it (``largest``, ``top_files``);
- archive_mb: the .tar.gz a person downloads (written to dist/, kept as the release artifact);
- window_shown_s: launch → the main window's first expose, median of ``--runs`` (target ≤ 2 s; the
  model loads after the window appears). The first run is also reported alone: its files may not be in
  the page cache yet. Uses $DISPLAY, else a private Xvfb when installed, else Qt's offscreen platform.

    .venv/bin/python bench/dist.py [--app dist/PurposeDesktop] [--runs 3] [--no-archive]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000
SHOWN_FILE_ENV = "PURPOSE_DESKTOP_SHOWN_FILE"  # purpose_desktop/ui/app.py writes the time there, then quits


def sizes(onedir: Path) -> dict:
    """Total bytes of real files (links counted once), grouped by what they belong to."""
    groups: Counter[str] = Counter()
    files: list[tuple[int, str]] = []
    total = 0
    for path in onedir.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        size = path.stat().st_size
        total += size
        rel = path.relative_to(onedir)
        parts = rel.parts[1:] if rel.parts[0] == "_internal" and len(rel.parts) > 1 else rel.parts
        if len(parts) > 1:
            top = parts[0]
        elif rel.parts[0] == "_internal":
            top = "_internal/*.so* (shared libraries)" if ".so" in path.name else "_internal/* (other files)"
        else:
            top = f"{path.name} (top level)"  # the executable holds the compressed Python code
        # torch's one big library deserves its own line, as does the Qt part of PySide6
        if parts[:2] == ("torch", "lib"):
            top = "torch/lib"
        elif parts[:2] == ("PySide6", "Qt"):
            top = "PySide6/Qt"
        groups[top] += size
        files.append((size, str(rel)))
    files.sort(reverse=True)
    name, size = groups.most_common(1)[0]
    return {
        "bytes": total,
        "dominant": f"{name}: {size / MB:.0f} MB ({100 * size / total:.0f}%)",
        "largest": {name: round(size / MB, 1) for name, size in groups.most_common(12)},
        "top_files": {name: round(size / MB, 1) for size, name in files[:8]},
    }


def make_archive(onedir: Path) -> tuple[Path, float]:
    from purpose_desktop import __version__

    target = onedir.parent / f"PurposeDesktop-{__version__}-linux-{platform.machine()}.tar.gz"
    started = time.perf_counter()
    if shutil.which("tar") and shutil.which("gzip"):
        subprocess.run(["tar", "-C", str(onedir.parent), "-czf", str(target), onedir.name], check=True)
    else:
        with tarfile.open(target, "w:gz") as tar:
            tar.add(onedir, arcname=onedir.name)
    return target, time.perf_counter() - started


class Display:
    """$DISPLAY if set, else a private Xvfb, else Qt's offscreen platform (named in the report)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.env: dict[str, str] = {}
        if os.environ.get("DISPLAY"):
            self.kind = "x11 " + os.environ["DISPLAY"]
        elif shutil.which("Xvfb"):
            number = 90 + os.getpid() % 50
            self.proc = subprocess.Popen(
                ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            socket = Path(f"/tmp/.X11-unix/X{number}")
            deadline = time.monotonic() + 10
            while not socket.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.env = {"DISPLAY": f":{number}"}
            self.kind = "xvfb"
        else:
            self.env = {"QT_QPA_PLATFORM": "offscreen"}
            self.kind = "offscreen (no X server: install xvfb for a real window)"

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def time_to_window(exe: Path, display: Display) -> float:
    """Seconds from launching the app to its window's first expose (a fresh data folder each time)."""
    with tempfile.TemporaryDirectory(prefix="pd-bench-dist-") as home:
        shown = Path(home) / "shown"
        env = dict(os.environ, PURPOSE_DESKTOP_HOME=home, **display.env)
        env[SHOWN_FILE_ENV] = str(shown)
        if "QT_QPA_PLATFORM" not in display.env:
            env.pop("QT_QPA_PLATFORM", None)
        launched = time.time()
        proc = subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=180)
        if not shown.exists():
            raise SystemExit(f"the window never showed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        return float(shown.read_text()) - launched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", type=Path, default=ROOT / "dist" / "PurposeDesktop")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-archive", action="store_true", help="skip the .tar.gz (takes a minute)")
    args = parser.parse_args()
    onedir = args.app.resolve()
    exe = onedir / "PurposeDesktop"
    if not exe.is_file():
        raise SystemExit(f"{exe} not found: build it with `make dist`")

    measured = sizes(onedir)
    report: dict = {"onedir_mb": round(measured["bytes"] / MB, 1), "onedir_target_mb": 1300}
    if not args.no_archive:
        archive, seconds = make_archive(onedir)
        report.update(
            archive_mb=round(archive.stat().st_size / MB, 1),
            archive=str(archive),
            archive_s=round(seconds, 1),
        )

    display = Display()
    try:
        runs = [time_to_window(exe, display) for _ in range(max(1, args.runs))]
    finally:
        display.close()
    report.update(
        window_shown_s=round(statistics.median(runs), 2),
        window_shown_first_s=round(runs[0], 2),
        window_shown_runs_s=[round(r, 2) for r in runs],
        window_target_s=2.0,
        display=display.kind,
        dominant=measured["dominant"],
        largest_mb=measured["largest"],
        top_files_mb=measured["top_files"],
        cpus=os.cpu_count(),
        python=sys.version.split()[0],
    )
    build_time = ROOT / "build" / ".dist-build-seconds"
    if build_time.exists():
        report["last_build_s"] = int(build_time.read_text().strip() or 0)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
