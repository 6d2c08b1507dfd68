"""PythonExecTool and the sandbox, against real subprocesses on every backend that works here."""

from __future__ import annotations

import glob
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.tools import PythonExecTool, ToolError, protections, run_python, sandbox
from purpose_desktop.engine.tools.sandbox import BACKENDS, PROTECTIONS, backend_facts
from purpose_desktop.engine.tools.sandbox import process as sandbox_process

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox is Linux-only")

WORKING = [b for b in BACKENDS if sys.platform.startswith("linux") and backend_facts(b).get("ok")]


def _with_marker(marker: str) -> list[int]:
    """Live processes whose argv contains ``marker`` — found by scanning /proc, not by trusting the child."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
            except OSError:
                continue
            if marker.encode() in cmdline:
                found.append(int(name))
    return found


@pytest.fixture
def marker():
    value = f"pd-test-marker-{uuid.uuid4().hex}"
    yield value
    for pid in _with_marker(value):  # never leave a survivor behind, even when the test fails
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def test_plain_backend_always_works_and_default_is_strongest_available(monkeypatch):
    monkeypatch.delenv(sandbox.BACKEND_ENV, raising=False)
    assert "plain" in WORKING
    assert sandbox.select_backend() == WORKING[0]
    prot = protections()
    assert set(prot) == set(PROTECTIONS)
    assert all(isinstance(p["active"], bool) and p["how"] for p in prot.values())


@pytest.mark.parametrize("backend", WORKING)
def test_hello_and_protections_reported(backend):
    result = run_python("print(6 * 7)", backend=backend)
    assert result.ok and result.stdout == "42\n" and result.stderr == ""
    assert result.backend == backend
    assert result.unprotected == [n for n, p in result.protections.items() if not p["active"]]


def test_infinite_loop_is_killed_within_timeout():
    started = time.monotonic()
    result = run_python("while True:\n    pass\n", timeout_s=1.5)
    elapsed = time.monotonic() - started
    assert result.timed_out and result.killed_reason == "timeout" and not result.ok
    assert elapsed < 1.5 + 1.0


def test_sleep_is_killed_and_tool_reports_it():
    tool = PythonExecTool(timeout_s=1.0)
    started = time.monotonic()
    res = tool.run({"code": "import time\ntime.sleep(100)\n"})
    assert time.monotonic() - started < 2.0
    assert not res.ok and "timed out after 1 s" in res.error
    assert res.data["timed_out"] is True


def test_cancel_stops_a_run():
    cancel = CancelToken()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    result = run_python("import time\ntime.sleep(100)\n", cancel=cancel, timeout_s=20)
    assert result.killed_reason == "cancelled" and not result.timed_out
    assert time.monotonic() - started < 3.0


def test_memory_bomb_fails_cleanly():
    started = time.monotonic()
    result = run_python("blocks = []\nwhile True:\n    blocks.append(bytearray(50_000_000))\n", memory_mb=256)
    assert result.returncode != 0 and not result.timed_out
    assert "MemoryError" in result.stderr or result.killed_reason == "killed"
    assert time.monotonic() - started < 5.0
    assert result.protections["memory_limit"]["active"]


def test_output_flood_is_capped_and_killed():
    result = run_python("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n", output_limit=2000)
    assert result.killed_reason == "output_limit"
    assert len(result.stdout) < 2000 + 200 and "output truncated" in result.stdout


def test_moderate_overflow_keeps_head_and_tail():
    code = "for i in range(5000):\n    print('line', i)\nprint('THE END')\n"
    result = run_python(code, output_limit=1000)
    assert result.ok and result.killed_reason is None
    assert result.stdout.startswith("line 0\n") and result.stdout.endswith("THE END\n")
    assert "bytes dropped" in result.stdout


@pytest.mark.parametrize("backend", WORKING)
def test_parent_secrets_are_not_in_the_child_environment(backend, monkeypatch):
    monkeypatch.setenv("PD_CANARY_SECRET", "xyz")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary")
    code = "import os\nfor k, v in sorted(os.environ.items()):\n    print(k, v)\n"
    result = run_python(code, backend=backend)
    assert result.ok
    assert "xyz" not in result.stdout and "sk-canary" not in result.stdout
    names = [line.split(" ", 1)[0] for line in result.stdout.splitlines()]
    assert not [n for n in names if any(w in n for w in ("KEY", "TOKEN", "SECRET"))]
    assert result.protections["env_scrubbed"]["active"]


def test_secret_like_extra_env_is_refused():
    with pytest.raises(ToolError):
        run_python("pass", env={"GITHUB_TOKEN": "x"})
    assert run_python("import os; print(os.environ['MODE'])", env={"MODE": "fast"}).stdout == "fast\n"


@pytest.mark.parametrize("backend", WORKING)
def test_network_to_a_host_listener(backend):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    code = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).close()\n"
        "    print('connected')\n"
        "except OSError as exc:\n"
        "    print('blocked', exc)\n"
    )
    try:
        result = run_python(code, backend=backend)
        listener.setblocking(False)
        accepted = 0
        while True:
            try:
                listener.accept()[0].close()
                accepted += 1
            except OSError:
                break
    finally:
        listener.close()
    assert result.ok
    if result.protections["network_isolated"]["active"]:
        assert accepted == 0 and result.stdout.startswith("blocked")
    else:
        assert "network_isolated" in result.unprotected
        assert accepted == 1 and result.stdout.startswith("connected")


@pytest.mark.parametrize("backend", WORKING)
def test_home_canary(backend, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    canary = home / ".ssh" / "id_canary"
    canary.write_text("CANARY-PRIVATE-KEY")
    monkeypatch.setenv("HOME", str(home))
    sandbox.reset_probes()  # protections are about *this* HOME now
    try:
        code = f"try:\n    print(open({str(canary)!r}).read())\nexcept OSError as e:\n    print('blocked', e)"
        result = run_python(code, backend=backend)
    finally:
        sandbox.reset_probes()
    assert result.ok
    if result.protections["home_hidden"]["active"]:
        assert "CANARY" not in result.stdout and result.stdout.startswith("blocked")
    else:
        assert "home_hidden" in result.unprotected
        assert "CANARY-PRIVATE-KEY" in result.stdout


DAEMON = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", "{marker}"])
    os._exit(0)
time.sleep(0.5)
print("daemon started")
{tail}
"""


def _assert_no_survivors(marker: str) -> None:
    deadline = time.monotonic() + 1.0
    while _with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _with_marker(marker) == []


@pytest.mark.parametrize("backend", WORKING)
def test_double_fork_daemon_dies_when_main_exits(backend, marker):
    result = run_python(DAEMON.format(marker=marker, tail=""), backend=backend)
    assert result.ok and "daemon started" in result.stdout
    _assert_no_survivors(marker)


@pytest.mark.parametrize("backend", WORKING)
def test_double_fork_daemon_dies_on_timeout(backend, marker):
    code = DAEMON.format(marker=marker, tail="time.sleep(100)")
    result = run_python(code, backend=backend, timeout_s=1.5)
    assert result.timed_out
    _assert_no_survivors(marker)


@pytest.mark.parametrize("backend", WORKING)
def test_sandbox_dies_with_the_app(backend, marker, tmp_path):
    """kill -9 of the app process mid-run must not leave the code (or its daemons) running."""
    app = tmp_path / "app.py"  # a file, so the marker is in no argv but the daemon's
    code = DAEMON.format(marker=marker, tail="time.sleep(100)")
    app.write_text(
        "from purpose_desktop.engine.tools.sandbox import run_python\n"
        f"run_python({code!r}, backend={backend!r}, timeout_s=60)\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    )
    proc = subprocess.Popen([sys.executable, str(app)], env=env)
    try:
        deadline = time.monotonic() + 15
        while not _with_marker(marker) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert _with_marker(marker), "the daemon never started"
    finally:
        proc.kill()
        proc.wait()
    _assert_no_survivors(marker)
    # The dead app could not delete its run folder; the next app start does.
    left = glob.glob(os.path.join(tempfile.gettempdir(), f"{sandbox.RUN_DIR_PREFIX}{proc.pid}-*"))
    assert len(left) == 1
    assert sandbox.remove_stale_leftovers() >= 1
    assert not os.path.exists(left[0])
    for parent in sandbox._cgroup_support_cached().parents.values():
        assert not glob.glob(os.path.join(parent, f"purpose-desktop-{proc.pid}-*"))


def test_subreaper_alone_reaps_daemons_without_cgroup(marker, monkeypatch):
    """The weakest setup (no namespaces, no cgroup) still kills a well-behaved daemon, and says it is
    only best effort."""
    # sandbox.process._execute is what asks for the cgroup support
    monkeypatch.setattr(
        sandbox_process, "_cgroup_support_cached", lambda: sandbox._CgroupSupport(0, {}, "test")
    )
    result = run_python(DAEMON.format(marker=marker, tail="time.sleep(100)"), backend="plain", timeout_s=1.5)
    assert result.timed_out
    _assert_no_survivors(marker)
    assert "process_tree_kill" in result.unprotected


def test_fork_bomb_is_contained():
    code = (
        "import os, time\n"
        "n = 0\n"
        "try:\n"
        "    while n < 5000:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(30)\n"
        "            os._exit(0)\n"
        "        n += 1\n"
        "except OSError:\n"
        "    pass\n"
        "print('forked', n)\n"
    )
    result = run_python(code, timeout_s=5)
    forked = int(result.stdout.split()[-1]) if result.stdout.startswith("forked") else None
    if result.protections["process_limits"]["active"]:
        assert forked is not None and forked < 200
    else:
        assert "process_limits" in result.unprotected


def test_pytest_files_run_and_report_pass_and_fail():
    files = {
        "solution.py": "def add(a, b):\n    return a + b\n",
        "test_solution.py": (
            "from solution import add\n\n"
            "def test_adds():\n    assert add(2, 3) == 5\n\n"
            "def test_wrong():\n    assert add(2, 2) == 5\n"
        ),
    }
    result = run_python(files=files, args=["-m", "pytest", "-q", "-p", "no:cacheprovider"], timeout_s=30)
    assert result.returncode == 1 and result.killed_reason is None
    assert "1 failed, 1 passed" in result.stdout and "test_wrong" in result.stdout
    files["test_solution.py"] = "from solution import add\n\ndef test_adds():\n    assert add(2, 3) == 5\n"
    passing = run_python(files=files, args=["-m", "pytest", "-q", "-p", "no:cacheprovider"], timeout_s=30)
    assert passing.ok and "1 passed" in passing.stdout


def test_script_can_import_files_beside_it():
    result = run_python("from helper import VALUE\nprint(VALUE)\n", files={"helper.py": "VALUE = 7\n"})
    assert result.ok and result.stdout == "7\n"


def test_run_folder_is_deleted_afterwards():
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), f"{sandbox.RUN_DIR_PREFIX}*")))
    result = run_python("open('left-behind.txt', 'w').write('x')\nimport os; os.chmod('.', 0o500)\n")
    assert result.ok
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), f"{sandbox.RUN_DIR_PREFIX}*"))) <= before


def test_bad_input_is_refused():
    with pytest.raises(ToolError):
        run_python()
    with pytest.raises(ToolError):
        run_python("pass", files={"../escape.py": "x"})
    with pytest.raises(ToolError):
        run_python("pass", files={"main.py": "x"})
    with pytest.raises(ToolError):
        run_python("pass", args="main.py")


def test_tool_result_shape_for_a_crash():
    res = PythonExecTool().run({"code": "print('before')\n1 / 0\n"})
    assert not res.ok and "ZeroDivisionError" in res.error and "exited with code 1" in res.error
    assert res.output.startswith("before\n[stderr]\n")
    assert set(res.data) >= {"returncode", "stdout", "stderr", "protections", "unprotected", "backend"}
