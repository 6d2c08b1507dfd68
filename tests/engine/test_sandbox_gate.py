"""Where the sandbox cannot isolate code, nothing runs until the person approves — never a silent pass."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.critic import PurposeFunction
from purpose_desktop.engine.settings import EngineSettings, save_settings
from purpose_desktop.engine.tools import sandbox
from purpose_desktop.engine.tools.base import ToolError
from purpose_desktop.engine.tools.python_exec import PythonExecTool
from purpose_desktop.engine.tools.sandbox import launch


@pytest.fixture
def weak_machine(monkeypatch):
    """This machine as one without bubblewrap or user namespaces would look."""
    real = sandbox.protections

    def weak(backend=None, limits=None):
        prot = {k: dict(v) for k, v in real(backend, limits).items()}
        for name in ("network_isolated", "home_hidden"):
            prot[name] = {"active": False, "how": "not available on this machine"}
        return prot

    monkeypatch.setattr(sandbox, "protections", weak)
    monkeypatch.delenv(sandbox.APPROVAL_ENV, raising=False)
    monkeypatch.delenv(sandbox.BACKEND_ENV, raising=False)


def test_unprotected_code_is_refused_with_what_to_do(weak_machine):
    with pytest.raises(ToolError) as err:
        sandbox.run_python(code="print(1)")
    assert "network_isolated" in err.value.message and "home_hidden" in err.value.message
    assert "bubblewrap" in err.value.hint and "Settings" in err.value.hint
    res = PythonExecTool().run({"code": "print(1)"})
    assert not res.ok and "not run" in (res.error or "")


def test_approval_in_settings_lets_code_run(weak_machine):
    save_settings(EngineSettings(allow_unprotected_code=True))
    assert sandbox.run_python(code="print(6*7)").stdout.strip() == "42"


def test_critic_says_code_was_not_run_instead_of_scoring_it(weak_machine):
    critic = PurposeFunction(None)
    score = critic.score_step(task="add", role="coder", kind="code", output="```python\ndef add(a, b):\n    return a + b\n```")
    assert any(e.startswith("code not run") for e in score.evidence) and not score.anchored
    outcome = critic.run_tests("def add(a, b):\n    return a + b\n", "from solution import add\n\ndef test_a():\n    assert add(1, 1) == 2\n")
    assert outcome.total == 0 and outcome.output.startswith("tests not run")


def test_protected_machine_runs_without_asking():
    if sandbox.missing_essentials():
        pytest.skip("this machine lacks a protection; the weak-machine tests cover it")
    assert sandbox.run_python(code="print(2)").stdout.strip() == "2"


def test_interpreter_under_tmp_is_mounted_after_the_private_tmp(monkeypatch):
    """A checkout or venv under /tmp must stay visible inside bwrap (it once hid the interpreter)."""
    monkeypatch.setattr(launch, "_python_mounts", lambda: ["/tmp/somewhere/.venv"])
    argv = sandbox._bwrap_argv("/tmp/run-work", "/tmp/run-tmp")
    tmp_at = argv.index("/tmp", argv.index("/tmp/run-tmp"))
    venv_at = argv.index("/tmp/somewhere/.venv")
    assert tmp_at < venv_at
