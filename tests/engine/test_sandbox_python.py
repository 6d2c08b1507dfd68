"""The frozen app's minimal python (`--sandbox-python`) and the sandbox's frozen mode, without a build.

A shell script stands in for the frozen executable: it accepts only the hidden first argument and then
runs purpose_desktop/sandbox_python.py, exactly as the PyInstaller runtime hook does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from purpose_desktop import sandbox_python
from purpose_desktop.engine.tools import sandbox


def shim(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "purpose_desktop.sandbox_python", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-E", "-s", "-B", "-X", "utf8", "main.py", "a"], ("script", "main.py", ["a"], {"E", "s", "B"})),
        (["-I", "-S", "-c", "print(1)", "x", "-y"], ("c", "print(1)", ["x", "-y"], {"I", "S"})),
        (["-Es", "-m", "pytest", "-q"], ("m", "pytest", ["-q"], {"E", "s"})),
        (["-Xutf8", "-cpass"], ("c", "pass", [], set())),
        (["--", "-weird.py"], ("script", "-weird.py", [], set())),
    ],
)
def test_parse_reads_the_command_line_like_python(argv, expected):
    assert sandbox_python.parse(argv) == expected


@pytest.mark.parametrize("argv", [[], ["-Q", "x.py"], ["-c"], ["-E"]])
def test_parse_rejects_what_python_would(argv):
    with pytest.raises(sandbox_python.UsageError):
        sandbox_python.parse(argv)


def test_script_argv_path_exit_status_and_traceback(tmp_path):
    (tmp_path / "helper.py").write_text("VALUE = 41\n")
    (tmp_path / "main.py").write_text(
        "import sys, helper\nprint(sys.argv[1:], helper.VALUE + 1, __file__)\nraise ValueError('boom')\n"
    )
    out = shim("-E", "-s", "-B", "main.py", "a", "b", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout.splitlines() == [f"['a', 'b'] 42 {tmp_path / 'main.py'}"]
    assert out.stderr.startswith("Traceback (most recent call last):\n")
    assert "sandbox_python" not in out.stderr and "runpy" not in out.stderr
    assert out.stderr.rstrip().endswith("ValueError: boom")
    assert not (tmp_path / "__pycache__").exists()  # -B


def test_code_and_module_modes_and_sys_exit(tmp_path):
    out = shim("-c", "import sys; print(sys.argv); sys.exit(3)", "x", cwd=tmp_path)
    assert (out.returncode, out.stdout.strip()) == (3, "['-c', 'x']")
    (tmp_path / "solution.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "test_solution.py").write_text(
        "from solution import add\n\ndef test_add():\n    assert add(1, 2) == 4\n"
    )
    out = shim("-E", "-s", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_solution.py", cwd=tmp_path)
    assert out.returncode == 1 and "1 failed" in out.stdout


def test_usage_errors_exit_two(tmp_path):
    out = shim("-Q", cwd=tmp_path)
    assert out.returncode == 2 and "Unknown option: -Q" in out.stderr and "usage:" in out.stderr


def test_the_loaders_variables_do_not_reach_the_code(tmp_path):
    env = {"PATH": os.environ["PATH"], "KEEP": "1"}
    code = "import os, sys; sys.path[:0] = []; print(sorted(k for k in os.environ if k in ('KEEP', 'ADDED') or k.startswith('_PYI')))"
    # What the process started with stays; what was added after start (as the frozen app's loader does) goes.
    runner = (
        "import os, sys; os.environ['ADDED'] = '1'; os.environ['_PYI_ARCHIVE_FILE'] = 'x';"
        "from purpose_desktop.sandbox_python import main; sys.exit(main(sys.argv[1:]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", runner, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "['KEEP']"


@pytest.fixture
def frozen(tmp_path, monkeypatch):
    """Make this process look like the frozen app in tmp_path/PurposeDesktop/ for the sandbox module."""
    app_dir = tmp_path / "PurposeDesktop"
    (app_dir / "_internal").mkdir(parents=True)
    exe = app_dir / "PurposeDesktop"
    exe.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = "{sandbox_python.FLAG}" ] || {{ echo "not the sandbox flag: $1" >&2; exit 99; }}\n'
        "shift\n"
        f'exec "{sys.executable}" -m purpose_desktop.sandbox_python "$@"\n'
    )
    exe.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(app_dir / "_internal"), raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    sandbox.reset_probes()
    yield app_dir
    sandbox.reset_probes()


def test_frozen_mounts_only_the_app_folder(frozen):
    assert sandbox._python_mounts() == [str(frozen.resolve())]
    assert sandbox._python_argv() == [str(frozen / "PurposeDesktop"), sandbox_python.FLAG]


def test_frozen_sandbox_runs_code_through_the_app_executable(frozen):
    # The plain backend runs both its supervisor and the code through the (stand-in) app; bwrap needs a
    # real build (the self-test of `make dist-selftest` covers it).
    result = sandbox.run_python(
        "import sys\nprint(sum(range(10)), sys.argv)\n", backend="plain", timeout_s=60
    )
    assert result.ok, result.stderr
    assert result.stdout.strip() == "45 ['main.py']"
    assert result.protections["env_scrubbed"]["active"]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"LD_LIBRARY_PATH": "/app/_internal"}, {}),
        (
            {"LD_LIBRARY_PATH": "/app/_internal:/opt/lib", "LD_LIBRARY_PATH_ORIG": "/opt/lib"},
            {"LD_LIBRARY_PATH": "/opt/lib"},
        ),
        ({"LD_LIBRARY_PATH": "/app/_internal:/opt/lib"}, {"LD_LIBRARY_PATH": "/opt/lib"}),
        ({"_PYI_APPLICATION_HOME_DIR": "/app/_internal", "KEEP": "1"}, {"KEEP": "1"}),
    ],
)
def test_undo_loader_environment(monkeypatch, before, after):
    for key in ("LD_LIBRARY_PATH", "LD_LIBRARY_PATH_ORIG", "KEEP"):
        monkeypatch.delenv(key, raising=False)
    for key, value in before.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "_MEIPASS", "/app/_internal", raising=False)
    sandbox_python.undo_loader_environment()
    seen = {k: os.environ[k] for k in ("LD_LIBRARY_PATH", "LD_LIBRARY_PATH_ORIG", "KEEP") if k in os.environ}
    assert seen == after
    assert not [k for k in os.environ if k.startswith("_PYI")]
