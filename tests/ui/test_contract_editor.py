"""Team pane → Contract: shown from the purpose and roles, edited, saved (scanned, promoted), in every prompt."""

from __future__ import annotations

from PySide6.QtCore import Qt

from purpose_desktop.engine.agents.contract import current_contract
from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.store import Store
from tests.engine.test_memory import POISON
from tests.ui.conftest import settled
from tests.ui.pane_fakes import coding_team_model

EDITED = "Purpose: sort people's names for a phone book.\nDone means: the tests pass and the code has type hints."


def _proposed(qtbot, make_app, model):
    app = make_app(engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: model))
    app.window.show_pane("team")
    team = app.window.team_pane
    team.purpose_edit.setText("Help me write Python code")
    with settled(qtbot, app.bridge, 5000):
        team.propose()
    qtbot.waitUntil(lambda: "Done means:" in team.contract_editor.text(), timeout=5000)
    return app, team


def test_the_contract_is_shown_edited_saved_and_read_by_every_role(qtbot, make_app, demo_embedder):
    model = coding_team_model()
    app, team = _proposed(qtbot, make_app, model)
    editor = team.contract_editor
    assert "Help me write Python code" in editor.text() and "not saved yet" in editor.state_label.text()
    editor.edit.setPlainText(EDITED)
    assert team.dirty_label.text() == "● unsaved"
    with settled(qtbot, app.bridge, 5000):
        qtbot.mouseClick(team.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "in every role's prompt" in editor.state_label.text(), timeout=5000)
    assert editor.text() == EDITED and team.dirty_label.text() == ""
    with Store() as store:
        saved = current_contract(store, team.spec["id"])
    assert saved is not None and saved.text == EDITED and saved.status == "promoted"
    model.calls.clear()
    with qtbot.waitSignal(app.bridge.sig_team_run_finished, timeout=15_000):
        team.run_task("Write sort_names(names) sorting by surname", "", "eval")
    systems = [m[0]["content"] for who, m in model.calls if who in ("Architect", "Coder", "Tester")]
    assert len(systems) >= 3 and all("phone book" in p for p in systems)


def test_a_blocked_contract_says_why_and_stays_out_of_prompts(qtbot, make_app, demo_embedder):
    model = coding_team_model()
    app, team = _proposed(qtbot, make_app, model)
    team.contract_editor.edit.setPlainText(POISON)
    with settled(qtbot, app.bridge, 5000):
        team.save()
    qtbot.waitUntil(lambda: team.banner.isVisible(), timeout=5000)
    assert "blocked" in team.banner.message_label.text()
    assert "blocked by the immune scan" in team.contract_editor.state_label.text()
    assert team.contract_editor.text() == POISON.strip()  # kept in the box, to be fixed
    with Store() as store:
        assert current_contract(store, team.spec["id"]) is None
    model.calls.clear()
    with qtbot.waitSignal(app.bridge.sig_team_run_finished, timeout=15_000):
        team.run_task("Write sort_names(names) sorting by surname", "", "eval")
    assert not any(POISON[:25] in m[0]["content"] for _who, m in model.calls)
