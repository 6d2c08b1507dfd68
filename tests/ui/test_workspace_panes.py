"""Project workspace in the window, driven like a person: Ctrl+O opens a folder (and it joins the recent
projects); a team run's and a chat reply's proposed changes show as coloured diffs; Apply writes exactly
that change and shows the project's test result; Reject leaves the folder byte-identical; rules become lessons."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from purpose_desktop.engine.core import Engine
from tests.fakes import ScriptedModel, call, final
from tests.ui.conftest import press, settled
from tests.ui.pane_fakes import TeamModel

BROKEN = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
TESTS = "from src.app import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
SHOTS = Path("/tmp")


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "calc"
    (root / "src").mkdir(parents=True)
    (root / "src" / "__init__.py").write_text("")
    (root / "src" / "app.py").write_text(BROKEN)
    (root / "test_app.py").write_text(TESTS)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def open_with_ctrl_o(qtbot, app, root: Path, monkeypatch) -> None:
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a, **_k: str(root))
    with settled(qtbot, app.bridge, 5000):
        press(app.window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: app.window.project.label.text() == f"Project: {root.name}", timeout=5000)


def fixing_team_model() -> TeamModel:
    return TeamModel(
        {
            "Architect": [final("Change add(a, b) in src/app.py to return the sum.")],
            "Coder": [
                call("read_file", "src/app.py"),
                call("write_file", f"src/app.py\n```python\n{FIXED}```"),
                final(f"```python\n{FIXED}```"),
            ],
            "Tester": [final("```python\nassert add(2, 3) == 5\n```")],
        },
        judge_score=8,
    )


def run_team_in(qtbot, app) -> object:
    pane = app.window.team_pane
    app.window.show_pane("team")
    pane.purpose_edit.setFocus()
    qtbot.keyClicks(pane.purpose_edit, "Help me write Python code")
    with settled(qtbot, app.bridge, 5000):
        qtbot.keyClick(pane.purpose_edit, Qt.Key.Key_Return)
    pane.role_list.setCurrentRow(1)  # the coder gets "Read/write files"
    pane.role_editor.tool_boxes["files"].click()
    assert "files" in pane.spec["roles"][1]["tools"]
    panel = pane.run_panel
    panel.task_edit.setFocus()
    qtbot.keyClicks(panel.task_edit, "Fix add() in src/app.py")
    with qtbot.waitSignal(app.bridge.sig_team_run_finished, timeout=20_000):
        press(app.window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    return pane


def test_team_pane_shows_the_diff_and_apply_writes_exactly_it_then_the_tests_run(
    qtbot, make_app, project, monkeypatch, demo_embedder
):
    model = fixing_team_model()
    app = make_app(engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: model))
    open_with_ctrl_o(qtbot, app, project, monkeypatch)
    before = snapshot(project)
    pane = run_team_in(qtbot, app)
    proposals = pane.proposals_panel
    qtbot.waitUntil(lambda: proposals.isVisible() and len(proposals.cards) == 1, timeout=5000)
    card = proposals.cards[0]
    assert card.path_label.text() == "src/app.py" and card.change_label.text() == "+1 −1"
    assert card.status_badge.text() == "proposed" and "waiting for you" in proposals.title.text()
    html = card.diff_view.toHtml()
    from purpose_desktop.ui.workspace.diff_view import _COLOURS

    added, removed = _COLOURS["dark" if "github-dark" in str(html) or "#12261e" in html.lower() else "light"][:2]
    assert removed in html.lower() and added in html.lower()  # removed and added rows, coloured (either theme)
    assert "-    return a - b" in card.diff_view.diff and "+    return a + b" in card.diff_view.diff
    assert snapshot(project) == before  # nothing written yet
    app.window.resize(1400, 950)
    qtbot.wait(50)  # let the resized layout settle before the screenshot
    pane.run_panel.scroll.ensureWidgetVisible(card.diff_view)
    app.window.grab().save(str(SHOTS / "workspace-team-diff.png"))

    with settled(qtbot, app.bridge, 30_000):
        qtbot.mouseClick(card.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: proposals.checks_badge.isVisible(), timeout=30_000)
    assert snapshot(project) == {**before, "src/app.py": FIXED.encode()}
    assert card.status_badge.text() == "applied" and not card.apply_button.isVisible()
    assert proposals.checks_badge.text().startswith("Project tests passed: 1 passed, 0 failed")
    assert "all 1 decided" in proposals.title.text()
    pane.run_panel.scroll.ensureWidgetVisible(proposals.checks_badge)
    app.window.grab().save(str(SHOTS / "workspace-team-applied.png"))
    # The result is evidence on the run: the Runs pane shows it under the run's header.
    run_id = proposals.cards[0].proposal["run_id"]
    app.window.open_run(run_id)
    runs = app.window.runs_pane
    qtbot.waitUntil(
        lambda: any("Project tests passed" in w.text() for w in getattr(runs.detail, "workspace_labels", [])),
        timeout=10_000,
    )
    app.window.grab().save(str(SHOTS / "workspace-runs.png"))


def test_reject_all_in_the_team_pane_leaves_the_folder_byte_identical(
    qtbot, make_app, project, monkeypatch, demo_embedder
):
    model = fixing_team_model()
    app = make_app(engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: model))
    open_with_ctrl_o(qtbot, app, project, monkeypatch)
    before = snapshot(project)
    pane = run_team_in(qtbot, app)
    proposals = pane.proposals_panel
    qtbot.waitUntil(lambda: len(proposals.cards) == 1, timeout=5000)
    with settled(qtbot, app.bridge, 5000):
        qtbot.mouseClick(proposals.reject_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: proposals.cards[0].status_badge.text() == "rejected", timeout=5000)
    assert snapshot(project) == before
    assert not proposals.apply_all_button.isEnabled() and not proposals.checks_badge.isVisible()


CHAT_REPLY = (
    "The subtraction is the bug. Here is the fixed file:\n\n"
    f"File: src/app.py\n```python\n{FIXED}```\n\n"
    "And a change outside the project, which must be refused:\n\n"
    "File: ../outside.py\n```python\nprint('pwned')\n```\n"
)


def test_chat_reply_changes_are_proposed_shown_and_applied_only_on_click(
    qtbot, make_app, project, monkeypatch
):
    model = ScriptedModel(replies=[CHAT_REPLY])
    app = make_app(model)
    open_with_ctrl_o(qtbot, app, project, monkeypatch)
    before = snapshot(project)
    pane = app.pane
    pane.input.setFocus()
    qtbot.keyClicks(pane.input, "Fix add in src/app.py")
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=10_000):
        qtbot.keyClick(pane.input, Qt.Key.Key_Return)
    # The model was told about the project and shown the file the message names.
    system = model.calls[-1][0]["content"]
    assert "File: relative/path.py" in system and f"Current src/app.py:\n```\n{BROKEN}" in system
    proposals = pane.proposals_panel
    qtbot.waitUntil(lambda: proposals.isVisible() and len(proposals.cards) == 1, timeout=5000)
    assert "Refused: ../outside.py" in proposals.note.text() and "'..'" in proposals.note.text()
    assert snapshot(project) == before
    assert not (project.parent / "outside.py").exists()
    app.window.grab().save(str(SHOTS / "workspace-chat-diff.png"))
    with settled(qtbot, app.bridge, 30_000):
        qtbot.mouseClick(proposals.apply_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: proposals.checks_badge.isVisible(), timeout=30_000)
    assert snapshot(project) == {**before, "src/app.py": FIXED.encode()}
    assert "passed" in proposals.checks_badge.text()
    # A new chat has no proposals; going back to this one shows the reply's changes again, as decided
    # (they are stored with the reply, not held by the window).
    conversation = pane.current_conversation_id
    pane.new_chat()
    assert not proposals.isVisible()
    pane._cache.clear()
    with settled(qtbot, app.bridge, 5000):
        pane.select_conversation(conversation)
    qtbot.waitUntil(
        lambda: len(proposals.cards) == 1 and proposals.cards[0].status_badge.text() == "applied",
        timeout=5000,
    )
    assert "passed" in proposals.checks_badge.text()


def test_recent_projects_and_the_rules_dialog(qtbot, make_app, project, monkeypatch, demo_embedder):
    (project / "AGENTS.md").write_text(
        "# Rules\n\n- Always add type hints to public functions.\n- Keep functions short.\n"
    )
    app = make_app()
    open_with_ctrl_o(qtbot, app, project, monkeypatch)
    ctl = app.window.project
    qtbot.waitUntil(
        lambda: [a.text() for a in ctl.recent_menu.actions()] == [str(project.resolve())], timeout=5000
    )
    with settled(qtbot, app.bridge, 10_000):
        ctl.rules_action.trigger()
    qtbot.waitUntil(lambda: ctl.rules_dialog is not None and ctl.rules_dialog.isVisible(), timeout=10_000)
    dialog = ctl.rules_dialog
    assert dialog.list.count() == 2 and "2 new, waiting for you" in dialog.intro.text()
    dialog.grab().save(str(SHOTS / "workspace-rules.png"))
    dialog.list.item(1).setCheckState(Qt.CheckState.Unchecked)
    with settled(qtbot, app.bridge, 5000):
        qtbot.mouseClick(dialog.approve_button, Qt.MouseButton.LeftButton)
    # Offered again: both are now decided (one approved, one still waiting) and nothing new appears.
    with settled(qtbot, app.bridge, 10_000):
        ctl.rules_action.trigger()
    qtbot.waitUntil(lambda: ctl.rules_dialog is not dialog and ctl.rules_dialog.isVisible(), timeout=10_000)
    texts = [ctl.rules_dialog.list.item(i).text() for i in range(ctl.rules_dialog.list.count())]
    assert texts[0].startswith("[promoted]") and texts[1].startswith("[quarantined]")
    ctl.rules_dialog.close()
    # Close Folder detaches: the label says so and the project actions are off.
    with settled(qtbot, app.bridge, 5000):
        ctl.close_action.trigger()
    qtbot.waitUntil(lambda: ctl.label.text() == "No project folder", timeout=5000)
    assert not ctl.rules_action.isEnabled()


def test_settings_lists_recent_projects_to_reopen_or_forget(qtbot, make_app, project, monkeypatch):
    app = make_app()
    open_with_ctrl_o(qtbot, app, project, monkeypatch)
    with settled(qtbot, app.bridge, 5000):
        app.window.project.close_action.trigger()
    qtbot.waitUntil(lambda: app.window.project.label.text() == "No project folder", timeout=5000)
    press(app.window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    section = app.window.settings_pane.projects
    qtbot.waitUntil(lambda: section.folders() == [str(project.resolve())], timeout=5000)
    app.window.settings_pane.grab().save(str(SHOTS / "workspace-settings.png"))
    with settled(qtbot, app.bridge, 5000):
        qtbot.mouseClick(section.open_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.window.project.label.text() == f"Project: {project.name}", timeout=5000)
    with settled(qtbot, app.bridge, 5000):
        qtbot.mouseClick(section.forget_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: section.folders() == [], timeout=5000)
    assert section.empty.isVisible()
    assert app.window.project.label.text() == f"Project: {project.name}"  # forgetting does not close it


def test_add_project_to_vault_is_one_click(qtbot, make_app, project, monkeypatch):
    from purpose_desktop.engine.vault import Vault
    from tests.fakes import DemoEmbedder

    app = make_app(vault_factory=lambda: Vault(embedder=DemoEmbedder()))
    ctl = app.window.project
    assert not ctl.vault_action.isEnabled()  # nothing to add before a folder is open
    open_with_ctrl_o(qtbot, app, project, monkeypatch)
    with qtbot.waitSignal(app.bridge.sig_vault_index_finished, timeout=20_000):
        ctl.vault_action.trigger()
    pane = app.window.vault_pane
    assert app.window.current_pane() == "vault"
    qtbot.waitUntil(lambda: pane.source_list.count() == 1, timeout=5000)
    text = pane.source_list.item(0).text()
    assert text.startswith("calc") and "3 files" in text


def test_a_team_without_the_files_tool_is_told_it_will_not_see_the_project(
    qtbot, make_app, project, monkeypatch, demo_embedder
):
    model = fixing_team_model()
    app = make_app(engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: model))
    open_with_ctrl_o(qtbot, app, project, monkeypatch)
    pane = app.window.team_pane
    app.window.show_pane("team")
    pane.purpose_edit.setFocus()
    qtbot.keyClicks(pane.purpose_edit, "Help me write Python code")
    with settled(qtbot, app.bridge, 5000):
        qtbot.keyClick(pane.purpose_edit, Qt.Key.Key_Return)
    messages = []
    pane.sig_status.connect(lambda text, _ms: messages.append(text))
    qtbot.keyClicks(pane.run_panel.task_edit, "Fix add")
    with qtbot.waitSignal(app.bridge.sig_team_run_finished, timeout=20_000):
        pane.run_panel.run_button.click()
    assert any("will not see calc" in m for m in messages)
    assert not pane.proposals_panel.isVisible()  # its write_file calls had no tool to go to
