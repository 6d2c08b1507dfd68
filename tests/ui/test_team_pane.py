"""Team pane, driven like a person: purpose → proposed roles → edit, reorder, save, duplicate, delete/undo → run live."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from purpose_desktop.engine.core import Engine
from tests.ui.conftest import press, settled
from tests.ui.pane_fakes import coding_team_model


def team_app(make_app, model=None):
    model = model or coding_team_model()
    app = make_app(engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: model))
    app.window.show_pane("team")
    return app, app.window.team_pane


def propose(qtbot, pane, text="Help me write Python code"):
    pane.purpose_edit.setFocus()
    qtbot.keyClicks(pane.purpose_edit, text)
    with settled(qtbot, pane._bridge, 5000):
        qtbot.keyClick(pane.purpose_edit, Qt.Key.Key_Return)


def roles(pane) -> list[str]:
    return [pane.role_list.item(i).text() for i in range(pane.role_list.count())]


def test_ctrl_2_opens_the_team_pane_with_an_empty_state(qtbot, make_app):
    app = make_app()
    press(app.window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert app.window.current_pane() == "team"
    pane = app.window.team_pane
    assert pane.editor_empty.isVisible() and "purpose" in pane.editor_empty.title_label.text().lower()
    assert pane.run_panel.empty.isVisible()


def test_purpose_proposes_roles_that_can_be_edited_reordered_and_saved(qtbot, make_app):
    app, pane = team_app(make_app)
    propose(qtbot, pane)
    assert [r.split("·")[0].strip() for r in roles(pane)] == ["1.  Architect", "2.  Coder", "3.  Tester"]
    assert pane.dirty_label.text() == "● unsaved"

    # Edit the architect's instructions: the spec follows what is typed.
    pane.role_list.setCurrentRow(0)
    pane.role_editor.instructions.selectAll()
    qtbot.keyClicks(pane.role_editor.instructions, "Plan in three bullet points.")
    assert pane.spec["roles"][0]["instructions"] == "Plan in three bullet points."

    # Alt+Down moves it after the coder; the toolbar's ✕ removes the tester.
    pane.role_list.setFocus()
    qtbot.keyClick(pane.role_list, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
    assert [r["name"] for r in pane.spec["roles"]] == ["coder", "architect", "tester"]
    pane.role_list.setCurrentRow(2)
    qtbot.mouseClick(pane.remove_role_button, Qt.MouseButton.LeftButton)
    assert [r["name"] for r in pane.spec["roles"]] == ["coder", "architect"]

    # Add a reviewer from the menu of templates, give it the calculator.
    next(a for a in pane.add_role_menu.actions() if a.text() == "Reviewer").trigger()
    assert pane.spec["roles"][-1]["name"] == "reviewer"
    pane.role_editor.tool_boxes["calculator"].click()
    assert pane.spec["roles"][-1]["tools"] == ["calculator"]

    pane.name_edit.selectAll()
    qtbot.keyClicks(pane.name_edit, "My coders")
    press(app.window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: pane.team_list.count() == 1, timeout=5000)
    assert pane.dirty_label.text() == ""
    assert [pane.team_list.item(i).text() for i in range(pane.team_list.count())] == ["My coders"]


def test_duplicate_then_delete_with_undo(qtbot, make_app):
    app, pane = team_app(make_app)
    propose(qtbot, pane)
    pane.save()
    qtbot.waitUntil(lambda: pane.team_list.count() == 1, timeout=5000)
    original = pane.spec["id"]
    qtbot.mouseClick(pane.duplicate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.team_list.count() == 2, timeout=5000)
    names = sorted(pane.team_list.item(i).text() for i in range(pane.team_list.count()))
    assert names == ["Help me write python code", "Help me write python code copy"]
    assert pane.spec["id"] != original

    qtbot.mouseClick(pane.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.team_list.count() == 1, timeout=5000)
    assert pane.undo_banner.isVisible() and "Deleted" in pane.undo_banner.message_label.text()
    pane.undo_banner.action_buttons()[0].click()
    qtbot.waitUntil(lambda: pane.team_list.count() == 2, timeout=5000)


def test_a_run_shows_each_step_live_with_scores_evidence_and_a_copyable_answer(qtbot, make_app):
    app, pane = team_app(make_app)
    propose(qtbot, pane)
    panel = pane.run_panel
    panel.task_edit.setFocus()
    qtbot.keyClicks(panel.task_edit, "Write a function that sorts names by surname")
    with qtbot.waitSignal(app.bridge.sig_team_run_finished, timeout=15_000):
        press(app.window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    cards = panel.cards()
    assert [c.role_label.text() for c in cards] == ["Architect", "Coder", "Tester"]
    assert all(c.badge.text().endswith("/ 10") for c in cards)
    assert not cards[1].tool_lines()  # the coder's plain first answer calls no tool: the critic runs its code
    assert "sort_names" in cards[1].text
    assert not cards[1].evidence_label.isVisible()
    qtbot.mouseClick(cards[1].evidence_button, Qt.MouseButton.LeftButton)
    assert cards[1].evidence_label.isVisible() and cards[1].evidence_label.text().startswith("•")
    assert panel.answer.isVisible() and "def sort_names" in panel.answer_text()
    assert "Finished" in panel.summary.text() and panel.run_button.text() == "Run"
    # The answer's code is one click from the clipboard.
    panel.answer_message.copy_code_block(0)
    assert QApplication.clipboard().text().startswith("def sort_names(names: list[str])")


def test_a_first_answer_that_passes_the_tasks_example_ends_the_run_and_says_so(qtbot, make_app):
    app, pane = team_app(make_app)
    propose(qtbot, pane)
    panel = pane.run_panel
    panel.task_edit.setPlainText(
        'Write a function sort_names(names) that sorts names by surname. For example '
        'sort_names(["Alan Turing", "Ada Lovelace"]) returns ["Ada Lovelace", "Alan Turing"].'
    )
    with qtbot.waitSignal(app.bridge.sig_team_run_finished, timeout=15_000):
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    cards = panel.cards()
    assert [c.role_label.text() for c in cards] == ["Coder"] and cards[0].badge.text().endswith("/ 10")
    summary = panel.summary.text()
    assert "1 step" in summary and "the first answer passed the task's examples: Architect, Tester not needed" in summary
    assert not panel.keep_button.isHidden()  # the examples that grounded the run can be kept as its tests
    panel.grab().save("/tmp/team-first-pass.png")


def test_stop_mid_run_keeps_the_steps_so_far(qtbot, make_app):
    hold = threading.Event()
    app, pane = team_app(make_app, coding_team_model(hold=hold))
    propose(qtbot, pane)
    panel = pane.run_panel
    panel.task_edit.setPlainText("Write a function that sorts names by surname")
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(panel.cards()) == 2, timeout=5000)  # the coder is being held
    assert panel.run_button.text() == "Stop"
    with qtbot.waitSignal(app.bridge.sig_team_run_cancelled, timeout=5000):
        panel.task_edit.setFocus()
        press(app.window, Qt.Key.Key_Escape)
    assert "Stopped" in panel.summary.text()
    assert panel.cards()[0].badge.text().endswith("/ 10")
    assert panel.run_button.text() == "Run" and not app.bridge.in_flight()


def test_a_run_without_a_team_or_task_says_what_to_do(qtbot, make_app):
    app, pane = team_app(make_app)
    messages = []
    pane.sig_status.connect(lambda text, _ms: messages.append(text))
    pane.run_panel.run_button.click()
    assert messages[-1] == "Type a task first."
    pane.run_panel.task_edit.setPlainText("Do something")
    pane.run_panel.run_button.click()
    assert pane.banner.isVisible() and "no team" in pane.banner.message_label.text()


def test_each_step_score_says_what_grounds_it(qtbot, make_app):
    app, pane = team_app(make_app)
    app.window.resize(1280, 800)
    propose(qtbot, pane)
    panel = pane.run_panel
    panel.task_edit.setPlainText("Write a function that sorts names by surname")
    with qtbot.waitSignal(app.bridge.sig_team_run_finished, timeout=15_000):
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    architect, coder, tester = panel.cards()
    # Next to every score, in plain words, what it rests on.
    for card in (architect, coder, tester):
        assert card.grounding.isVisible() and card.badge.text().endswith("/ 10")
        assert card.badge.geometry().right() < card.grounding.geometry().left()  # beside the score
        assert abs(card.badge.geometry().center().y() - card.grounding.geometry().center().y()) <= 2
    # The plan had nothing to run: its score is the judge's alone, and says so.
    assert architect.grounding.full_text == "not grounded: no tests ran"
    assert "does not teach" in architect.grounding.toolTip()
    # The code was run against the tester's checks: grounded, with the counts (once the run's result is in).
    qtbot.waitUntil(
        lambda: coder.grounding.full_text == "grounded: 2 tester checks (all 2 passed)", timeout=2000
    )
    assert "written without seeing the solution" in coder.grounding.toolTip()
    assert tester.grounding.full_text == "partly grounded: static checks only"
    # Grounded and ungrounded badges look different.
    assert coder.grounding.property("state") == "grounded"
    assert architect.grounding.property("state") != coder.grounding.property("state")
    # The run's own score says what grounds it too: in the summary and on the answer.
    assert "final score" in panel.summary.text()
    assert panel.summary_grounding.isVisible() and panel.summary_grounding.full_text == coder.grounding.full_text
    assert panel.answer_grounding.isVisible() and panel.answer_grounding.full_text == coder.grounding.full_text
