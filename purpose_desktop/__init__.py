"""Purpose Desktop: an offline desktop coding helper that learns only from tested, approved memories.

The public API is imported on first use (``purpose_desktop.Flow`` …), so ``import purpose_desktop``
stays light: no model runtime, no database, no Qt, no torch until something asks for them.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "purpose": "purpose_desktop.engine.agents.team",
    "Spark": "purpose_desktop.engine.agents.spark",
    "Team": "purpose_desktop.engine.agents.team",
    "Flow": "purpose_desktop.engine.orchestration.flow",
    "BEGIN": "purpose_desktop.engine.orchestration.flow",
    "DONE_SIGNAL": "purpose_desktop.engine.orchestration.flow",
    "swarm": "purpose_desktop.engine.orchestration.swarm",
    "Council": "purpose_desktop.engine.orchestration.council",
    "LLMCompiler": "purpose_desktop.engine.orchestration.compiler",
    "RunMode": "purpose_desktop.engine.runmode",
    "Vault": "purpose_desktop.engine.vault",
    "resolve_backend": "purpose_desktop.engine.models.backends",
    "Tool": "purpose_desktop.engine.tools",
    "ToolRegistry": "purpose_desktop.engine.tools",
    "default_registry": "purpose_desktop.engine.tools",
    "CalculatorTool": "purpose_desktop.engine.tools",
    "PythonExecTool": "purpose_desktop.engine.tools",
    "ReadFileTool": "purpose_desktop.engine.tools",
    "WriteFileTool": "purpose_desktop.engine.tools",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'purpose_desktop' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
