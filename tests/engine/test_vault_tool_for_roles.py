"""Roles that name the "vault" tool search the person's Vault (real SQLite file, real bundled embedder)."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.agents.roles import role_template
from purpose_desktop.engine.agents.toolbox import TOOL_NAMES, tools_by_name
from purpose_desktop.engine.store import Store
from purpose_desktop.engine.vault import Vault


def test_vault_tool_cites_the_persons_documents(tmp_path):
    with Store(tmp_path / "purpose.db") as store:
        with Vault(store) as vault:
            vault.add_texts(
                [
                    "# Uploads\n\nFailed uploads are retried three times with exponential backoff.\n",
                    "# Lunch\n\nThe canteen opens at noon.\n",
                ],
                names=["uploads.md", "lunch.md"],
                source="notes",
            )
        (tool,) = tools_by_name(["vault"], store=store)
        assert tool.name == "vault_search"
        result = tool.execute({"query": "how are failed uploads retried?"}, None)
        assert result.ok
        first = result.data["citations"][0]
        assert first["citation"].startswith("uploads.md:") and "backoff" in first["snippet"]


def test_researcher_template_names_the_vault_and_every_name_is_known():
    assert "vault" in role_template("researcher").tools
    assert set(TOOL_NAMES) >= {"python", "calculator", "files", "vault"}
    with pytest.raises(ValueError, match="vault"):
        tools_by_name(["web"])
