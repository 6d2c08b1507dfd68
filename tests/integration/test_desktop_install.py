"""scripts/install-desktop.sh and uninstall-desktop.sh, run as a person would, into temporary XDG folders."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "scripts" / "install-desktop.sh"
UNINSTALL = ROOT / "scripts" / "uninstall-desktop.sh"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    """XDG folders of a pretend user; PURPOSE_DESKTOP_HOME unset so the default data folder applies."""
    data, config = tmp_path / "data", tmp_path / "config"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.delenv("PURPOSE_DESKTOP_HOME", raising=False)
    return data, config


def run(script: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(script), *args], capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )


def fake_frozen_app(folder: Path) -> Path:
    """A folder shaped like dist/PurposeDesktop (executable + _internal/resources), a space in its path."""
    shutil.copytree(ROOT / "resources", folder / "_internal" / "resources")
    exe = folder / "PurposeDesktop"
    exe.write_text("#!/bin/sh\necho frozen app\n")
    exe.chmod(0o755)
    for script in (INSTALL, UNINSTALL):
        shutil.copy2(script, folder / script.name)
    return exe


def desktop_entry(data: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(data / "applications" / "purpose-desktop.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def test_resources_hold_the_desktop_file_and_every_icon_size():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "resources" / "purpose-desktop.desktop", encoding="utf-8")
    assert entry["Desktop Entry"]["Type"] == "Application"
    assert entry["Desktop Entry"]["Icon"] == "purpose-desktop"
    for size in SIZES:
        png = ROOT / "resources" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "purpose-desktop.png"
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == (size, size)


def test_install_from_the_app_folder_then_uninstall_keeps_the_data(xdg, tmp_path):
    data, _config = xdg
    exe = fake_frozen_app(tmp_path / "My Apps" / "PurposeDesktop")
    out = run(exe.parent / "install-desktop.sh")
    assert out.returncode == 0, out.stderr
    entry = desktop_entry(data)
    assert entry["Exec"] == f'"{exe}"' and entry["TryExec"] == f'"{exe}"'
    assert entry["Name"] == "Purpose Desktop" and entry["Terminal"] == "false"
    for size in SIZES:
        assert (data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "purpose-desktop.png").is_file()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "purpose-desktop.svg").is_file()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(
            ["desktop-file-validate", str(data / "applications" / "purpose-desktop.desktop")],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout + check.stderr

    # The person's chats live in the data folder; uninstall must leave them.
    user_data = data / "PurposeDesktop"
    user_data.mkdir()
    (user_data / "purpose.db").write_bytes(b"chats")
    out = run(exe.parent / "uninstall-desktop.sh")
    assert out.returncode == 0, out.stderr
    assert not (data / "applications" / "purpose-desktop.desktop").exists()
    assert not list((data / "icons").rglob("purpose-desktop.*"))
    assert not (data / "purpose-desktop-app").exists()
    assert (user_data / "purpose.db").read_bytes() == b"chats"
    assert "kept your data" in out.stdout
    assert exe.is_file()  # the unpacked app itself is the person's to delete


def test_copy_installs_the_app_and_purge_removes_everything(xdg, tmp_path):
    data, config = xdg
    exe = fake_frozen_app(tmp_path / "Downloads" / "PurposeDesktop")
    out = run(exe.parent / "install-desktop.sh", "--copy")
    assert out.returncode == 0, out.stderr
    copied = data / "purpose-desktop-app" / "app" / "PurposeDesktop"
    assert copied.is_file() and os.access(copied, os.X_OK)
    assert desktop_entry(data)["Exec"] == f'"{copied}"'
    assert subprocess.run([str(copied)], capture_output=True, text=True).stdout == "frozen app\n"

    (data / "PurposeDesktop").mkdir()
    (data / "PurposeDesktop" / "purpose.db").write_bytes(b"chats")
    (config / "PurposeDesktop").mkdir(parents=True)
    out = run(copied.parent / "uninstall-desktop.sh", "--purge")
    assert out.returncode == 0, out.stderr
    assert not (data / "purpose-desktop-app").exists()
    assert not (data / "applications" / "purpose-desktop.desktop").exists()
    assert not (data / "PurposeDesktop").exists() and not (config / "PurposeDesktop").exists()
    assert exe.is_file()  # the download is untouched


def test_install_refuses_a_missing_app(xdg, tmp_path):
    out = run(INSTALL, "--app", str(tmp_path / "nope"))
    assert out.returncode != 0 and "not an executable" in out.stderr
    assert not (xdg[0] / "applications").exists()
