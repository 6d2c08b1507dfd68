"""`purpose-desktop screenshots DIR` for real: a subprocess on the bundled model and embedder writes every
pane as a PNG, and the person's data folder is never created or touched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from purpose_desktop.cli import main
from purpose_desktop.engine.paths import HOME_ENV
from purpose_desktop.ui.screenshots import SHOTS, file_name
from tests.ui.test_screenshots import assert_stamped

ROOT = Path(__file__).resolve().parents[2]


def distinct_colours(image: QImage, step: int = 8) -> int:
    """Colours on a coarse grid of pixels: a blank or single-colour shot has one or two."""
    return len(
        {image.pixel(x, y) for x in range(0, image.width(), step) for y in range(0, image.height(), step)}
    )


def test_screenshots_command_writes_every_pane_without_touching_the_person_data(tmp_path):
    out = tmp_path / "shots"
    person = tmp_path / "person-data"  # the data folder the person's own runs use: must never appear
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        HOME_ENV: str(person),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "purpose_desktop", "screenshots", str(out), "--theme", "light", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = [Path(p) for p in json.loads(proc.stdout)]
    expected = [out / file_name(shot, "light") for shot in SHOTS]
    assert written == expected
    for path in expected:
        image = QImage(str(path))
        assert not image.isNull(), path
        if path.name.startswith("source-viewer"):
            assert image.width() >= 700 and image.height() >= 500, path
        else:
            assert image.width() >= 1200 and image.height() >= 760, path
        assert distinct_colours(image) > 8, f"{path.name} looks blank"
        assert_stamped(image)  # every image says it shows demo data
    assert not person.exists(), "the command wrote into the person's data folder"
    assert not (home / ".local" / "share" / "PurposeDesktop").exists()
    assert not list((home / ".config").glob("PurposeDesktop*"))


def test_screenshots_into_an_unwritable_place_fails_clearly(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    code = main(["screenshots", str(blocker / "shots")])
    err = capsys.readouterr().err
    assert code != 0
    assert "Cannot write screenshots to" in err and "hint:" in err


def test_screenshots_size_must_be_width_x_height(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["screenshots", "out", "--size", "big"])
    assert exit_info.value.code != 0
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
