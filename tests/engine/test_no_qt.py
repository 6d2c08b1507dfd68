"""The engine is Qt-free: importing every engine module (and the CLI and the demo data set) loads neither
PySide6 nor purpose_desktop.ui."""

import subprocess
import sys

SCRIPT = r"""
import importlib, pkgutil, sys
import purpose_desktop.engine as engine
for mod in pkgutil.walk_packages(engine.__path__, "purpose_desktop.engine."):
    importlib.import_module(mod.name)
import purpose_desktop.cli
import purpose_desktop.demo
bad = sorted(m for m in sys.modules if m.startswith(("PySide6", "shiboken6", "purpose_desktop.ui")))
print(",".join(bad))
"""


def test_engine_and_cli_import_no_qt():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"Qt loaded by the engine: {out.stdout}"
