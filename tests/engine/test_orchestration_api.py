"""The public API: ``import purpose_desktop`` stays light, and each name resolves to the engine's object."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import purpose_desktop as pd

HEAVY = ("PySide6", "torch", "llama_cpp", "sentence_transformers", "sqlite_utils")


def _modules_after(code: str) -> list[str]:
    script = f"import sys\n{code}\nimport json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_package_loads_nothing_heavy():
    assert _modules_after("import purpose_desktop") == []


def test_using_the_orchestration_api_never_loads_qt_torch_or_llama():
    loaded = _modules_after(
        "import purpose_desktop as pd\n"
        "[pd.purpose, pd.Spark, pd.Team, pd.Flow, pd.swarm, pd.Council, pd.LLMCompiler, pd.RunMode, pd.BEGIN, pd.DONE_SIGNAL,"
        " pd.resolve_backend, pd.CalculatorTool, pd.PythonExecTool, pd.ReadFileTool, pd.WriteFileTool]"
    )
    assert "PySide6" not in loaded and "torch" not in loaded and "llama_cpp" not in loaded


def test_names_resolve_to_the_engine_objects():
    from purpose_desktop.engine.agents.spark import Spark
    from purpose_desktop.engine.agents.team import Team, purpose
    from purpose_desktop.engine.orchestration import BEGIN, DONE_SIGNAL, Council, Flow, LLMCompiler, swarm
    from purpose_desktop.engine.runmode import RunMode

    assert (pd.Spark, pd.Team, pd.purpose, pd.RunMode) == (Spark, Team, purpose, RunMode)
    assert (pd.Flow, pd.swarm, pd.Council, pd.LLMCompiler) == (Flow, swarm, Council, LLMCompiler)
    assert (pd.BEGIN, pd.DONE_SIGNAL) == (BEGIN, DONE_SIGNAL)
    assert {"Flow", "swarm", "Council", "LLMCompiler", "Vault", "BEGIN", "DONE_SIGNAL"} <= set(dir(pd))
    assert set(pd.__all__) >= {
        "purpose",
        "Spark",
        "Team",
        "Flow",
        "swarm",
        "Council",
        "LLMCompiler",
        "RunMode",
        "Vault",
    }
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        pd.Nope  # noqa: B018


def test_resolve_backend_and_the_documented_tools_are_exported():
    from purpose_desktop.engine import tools
    from purpose_desktop.engine.models.backends import resolve_backend

    assert pd.resolve_backend is resolve_backend
    for name in ("CalculatorTool", "PythonExecTool", "ReadFileTool", "WriteFileTool", "ToolRegistry"):
        assert getattr(pd, name) is getattr(tools, name) and name in pd.__all__


def test_vault_is_exported_lazily():
    from purpose_desktop.engine.vault import Vault

    assert pd.Vault is Vault
