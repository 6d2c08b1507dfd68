"""Team pane → "Propose prompt improvements…" (Ctrl+Shift+I): progress and Cancel, the dialog with the diff and the
suite's numbers before/after, Apply only on approval (confirmed when not better), one Undo."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.learning.prompt_opt import DEMO_HEADER
from purpose_desktop.engine.store import Store
from purpose_desktop.ui.team.prompt_opt import PromptProposalDialog
from tests.engine.test_prompt_opt import ADD, GOOD, DemoModel, _saved_team, _suite, _train
from tests.ui.conftest import settled


class GatedDemoModel(DemoModel):
    """DemoModel that, when ``gate`` is set up, waits for it before each reply (a run to cancel mid-way)."""

    gate: threading.Event | None = None
    started = threading.Event()

    def chat(self, messages, **kw):
        if self.gate is not None:
            self.started.set()
            self.gate.wait(10)
        return super().chat(messages, **kw)


def _open(qtbot, make_app, model):
    with Store() as store:
        spec = _saved_team(store, model)
        _train(store, model, spec, GOOD, ADD)
        _suite(store)
        original = store.load_team(spec["id"])["roles"][1]["instructions"]
    app = make_app(engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: model))
    app.window.resize(1280, 800)  # the size the app's screenshots use
    app.window.show_pane("team")
    team = app.window.team_pane
    qtbot.waitUntil(lambda: team.team_list.count() == 1, timeout=5000)
    with settled(qtbot, app.bridge, 5000):
        team.open_team(spec["id"])
    qtbot.waitUntil(lambda: team.spec is not None and team.role_list.count() == 3, timeout=5000)
    team.role_list.setCurrentRow(1)  # the coder
    return app, team, spec, original


def _themed_grab(widget, path: str) -> None:
    """A screenshot in the app's light theme (then the test application's look is restored)."""
    from PySide6.QtWidgets import QApplication

    from purpose_desktop.ui import theme

    app = QApplication.instance()
    sheet, palette, style = app.styleSheet(), app.palette(), app.style().name()
    try:
        theme.apply_theme(app, "light")
        widget.grab().save(path)
    finally:
        app.setStyleSheet(sheet)
        app.setPalette(palette)
        app.setStyle(style)


def _saved_instructions(team_id: str) -> str:
    with Store() as store:
        return store.load_team(team_id)["roles"][1]["instructions"]


def test_propose_by_shortcut_review_apply_and_undo(qtbot, make_app, demo_embedder):
    app, team, spec, original = _open(qtbot, make_app, DemoModel())
    team.role_list.setFocus()
    QTest.keyClick(
        app.window.windowHandle(),
        Qt.Key.Key_I,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot.waitUntil(
        lambda: team.prompt_opt.dialog is not None and team.prompt_opt.dialog.isVisible(), timeout=60_000
    )
    dialog: PromptProposalDialog = team.prompt_opt.dialog
    if "not run" in dialog.table.item(0, 1).text():
        dialog.reject()
        return  # the sandbox refused here: nothing to judge (the engine tests skip likewise)
    assert dialog.verdict_badge.text() == "Recommended" and not dialog.warning.isVisible()
    assert "0/2 passed (0%)  →  2/2 passed (100%)" in dialog.rates_label.text()
    cells = [[dialog.table.item(r, c).text() for c in range(3)] for r in range(dialog.table.rowCount())]
    assert cells == [
        ["mul", "failed (1 of 1 tests)", "passed (1 tests)"],
        ["sub", "failed (1 of 1 tests)", "passed (1 tests)"],
    ]
    assert "passing answer" in dialog.explanation.text() and "evaluation mode" in dialog.explanation.text()
    assert (
        DEMO_HEADER in dialog.diff_view.toPlainText() and "def add(a, b):" in dialog.diff_view.toPlainText()
    )
    dialog.resize(820, 720)
    dialog.grab().save("/tmp/promptopt-dialog.png")
    assert _saved_instructions(spec["id"]) == original  # nothing changes before Apply

    with settled(qtbot, app.bridge, 5000):
        qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: team.undo_banner.isVisible(), timeout=5000)
    applied = _saved_instructions(spec["id"])
    assert applied != original and DEMO_HEADER in applied
    assert team.role_list.currentRow() == 1 and team.role_editor.instructions.toPlainText() == applied
    assert "Applied the proposed instructions to the Coder" in team.undo_banner.message_label.text()
    _themed_grab(team, "/tmp/promptopt-applied.png")
    with settled(qtbot, app.bridge, 5000):
        team.undo_banner.action_buttons()[0].click()
    qtbot.waitUntil(lambda: _saved_instructions(spec["id"]) == original, timeout=5000)
    qtbot.waitUntil(lambda: team.role_editor.instructions.toPlainText() == original, timeout=5000)


def test_not_better_needs_an_explicit_confirmation(qtbot, make_app, demo_embedder, monkeypatch):
    app, team, spec, original = _open(qtbot, make_app, DemoModel(demos_help=False))
    team.prompt_opt.propose()
    qtbot.waitUntil(
        lambda: team.prompt_opt.dialog is not None and team.prompt_opt.dialog.isVisible(), timeout=60_000
    )
    dialog = team.prompt_opt.dialog
    assert dialog.verdict_badge.text() == "Not better" and dialog.warning.isVisible()
    assert not dialog.apply_button.isDefault() and dialog.close_button.isDefault()
    dialog.grab().save("/tmp/promptopt-not-better.png")
    answers = iter([False, True])
    monkeypatch.setattr(PromptProposalDialog, "confirm_not_better", lambda self: next(answers))
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)  # "No" to the confirmation
    assert dialog.isVisible() and _saved_instructions(spec["id"]) == original
    with settled(qtbot, app.bridge, 5000):
        qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)  # "Yes"
    qtbot.waitUntil(lambda: _saved_instructions(spec["id"]) != original, timeout=5000)


def test_an_unsaved_team_is_not_proposed_for_and_a_run_can_be_cancelled(qtbot, make_app, demo_embedder):
    model = GatedDemoModel()
    app, team, spec, original = _open(qtbot, make_app, model)
    team.name_edit.setText("Renamed")
    team.name_edit.textEdited.emit("Renamed")
    team.prompt_opt.propose()
    assert "Save the team first" in team.banner.message_label.text() and not team.prompt_opt.running
    with settled(qtbot, app.bridge, 5000):
        team.save()
    team.role_list.setCurrentRow(1)
    model.gate = threading.Event()
    model.started.clear()
    team.prompt_opt.propose()
    qtbot.waitUntil(lambda: team.prompt_opt.busy.isVisible(), timeout=5000)
    assert model.started.wait(10) and not team.propose_prompt_button.isEnabled()
    _themed_grab(team, "/tmp/promptopt-progress.png")
    qtbot.mouseClick(team.prompt_opt.busy.cancel_button, Qt.MouseButton.LeftButton)
    assert "Cancelling" in team.prompt_opt.busy.label.text()
    statuses: list[str] = []
    team.sig_status.connect(lambda text, _ms: statuses.append(text))
    model.gate.set()
    qtbot.waitUntil(lambda: not team.prompt_opt.running, timeout=30_000)
    assert any("nothing was proposed" in s for s in statuses) and team.prompt_opt.dialog is None
    assert team.propose_prompt_button.isEnabled() and _saved_instructions(spec["id"]) == original
