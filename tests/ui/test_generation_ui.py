"""Generation controls, driven like a person: Settings → Generation, a chat's own settings (Ctrl+Shift+P), a team's
token budgets."""

from __future__ import annotations

from PySide6.QtCore import Qt

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.settings import load_settings
from tests.fakes import ScriptedModel
from tests.ui.conftest import press, settled
from tests.ui.pane_fakes import coding_team_model
from tests.ui.test_team_pane import propose


def _send(qtbot, pane, text: str) -> None:
    pane.input.setPlainText(text)
    pane.send()
    qtbot.waitUntil(lambda: not pane.streaming, timeout=5000)


def test_settings_generation_saves_and_the_next_answer_uses_it(qtbot, make_app):
    model = ScriptedModel(replies=["Sure."])
    app = make_app(model)
    app.window.show_pane("settings")
    pane = app.window.settings_pane
    form = pane.generation
    qtbot.waitUntil(lambda: form.max_tokens.value() == 512, timeout=5000)  # the saved settings arrived
    form.temperature.setValue(0.3)
    form.top_p.setValue(0.5)
    form.seed.setValue(11)
    form.system_prompt.setPlainText("Answer like a pirate.")
    assert form.seed.text() == "11"
    with settled(qtbot, app.bridge):
        pane.flush_generation()
    saved = load_settings()
    assert (saved.temperature, saved.top_p, saved.seed, saved.system_prompt) == (0.3, 0.5, 11, "Answer like a pirate.")
    pane.resize(900, 1400)
    pane.grab().save("/tmp/gen-settings-generation.png")
    app.window.show_pane("chat")
    _send(qtbot, app.pane, "hello")
    used = model.settings_seen[-1]
    assert (used.temperature, used.top_p, used.seed) == (0.3, 0.5, 11)
    assert model.calls[-1][0]["content"].startswith("Answer like a pirate.")


def test_random_seed_and_automatic_context_are_saved_as_empty(qtbot, make_app):
    app = make_app()
    pane = app.window.settings_pane
    app.window.show_pane("settings")
    form = pane.generation
    form.seed.setValue(5)
    form.n_ctx.setValue(2048)
    with settled(qtbot, app.bridge):
        pane.flush_generation()
    assert load_settings().seed == 5 and load_settings().n_ctx == 2048
    form.seed.setValue(-1)
    form.n_ctx.setValue(0)
    assert form.seed.text() == "Random"
    with settled(qtbot, app.bridge):
        pane.flush_generation()
    assert load_settings().seed is None and load_settings().n_ctx is None


def test_a_chat_has_its_own_settings_stored_with_it(qtbot, make_app):
    model = ScriptedModel(replies=["One.", "Two.", "Three."])
    app = make_app(model)
    pane = app.pane
    button = pane.chat_settings_button
    assert button.text() == "⚙ Chat settings"
    _send(qtbot, pane, "first")
    chat_id = pane.current_conversation_id
    press(app.window, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: button.dialog is not None and button.dialog.isVisible(), timeout=5000)
    dialog = button.dialog
    assert not dialog.form._form.isRowVisible(dialog.form.n_ctx)  # context length is the model's, not a chat's
    dialog.form.temperature.setValue(1.5)
    dialog.form.seed.setValue(7)
    dialog.form.system_prompt.setPlainText("Only haiku.")
    dialog.grab().save("/tmp/gen-chat-settings-dialog.png")
    with settled(qtbot, app.bridge):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert button.text() == "⚙ Chat settings · custom"
    _send(qtbot, pane, "second")
    used = model.settings_seen[-1]
    assert (used.temperature, used.seed) == (1.5, 7)
    assert model.calls[-1][0]["content"].startswith("Only haiku.")
    app.window.grab().save("/tmp/gen-chat-custom.png")

    # Another chat answers with the app's settings; coming back shows this chat's are still set.
    pane.new_chat()
    assert button.text() == "⚙ Chat settings"
    _send(qtbot, pane, "elsewhere")
    assert model.settings_seen[-1].temperature == 0.7 and model.settings_seen[-1].seed is None
    pane._open(chat_id)
    assert button.text() == "⚙ Chat settings · custom"

    # "Use app settings" forgets them.
    button.open_dialog()
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    assert dialog.form.temperature.value() == 1.5
    with settled(qtbot, app.bridge):
        qtbot.mouseClick(dialog.reset_button, Qt.MouseButton.LeftButton)
    assert button.text() == "⚙ Chat settings"


def test_a_new_chat_can_be_set_up_before_its_first_message(qtbot, make_app):
    model = ScriptedModel(replies=["Hi."])
    app = make_app(model)
    pane = app.pane
    button = pane.chat_settings_button
    button.open_dialog()
    qtbot.waitUntil(lambda: button.dialog is not None and button.dialog.isVisible(), timeout=5000)
    button.dialog.form.max_tokens.setValue(40)
    qtbot.mouseClick(button.dialog.save_button, Qt.MouseButton.LeftButton)
    assert button.text() == "⚙ Chat settings · custom"
    _send(qtbot, pane, "hello")
    assert model.settings_seen[-1].max_tokens == 40
    conv = pane.list_model.get(pane.current_conversation_id)
    assert conv.settings == {"max_tokens": 40}  # stored with the chat when it was created
    assert button.text() == "⚙ Chat settings · custom"


def test_team_token_budgets_are_edited_and_saved_with_the_team(qtbot, make_app):
    model = coding_team_model()
    app = make_app(engine_factory=lambda: Engine(model_factory=lambda *_a, **_k: model))
    app.window.show_pane("team")
    pane = app.window.team_pane
    propose(qtbot, pane)
    assert pane.step_tokens_spin.value() == 384  # the old hard-coded cap is the default
    pane.dirty_label.clear()
    pane._dirty = False
    assert pane.budgets.first_pass_check.isChecked()  # a first answer that passes its tests ends the run
    pane.step_tokens_spin.setValue(128)
    pane.role_tokens_spin.setValue(900)
    pane.budgets.first_pass_check.setChecked(False)
    assert not pane.budgets.assert_lines_check.isChecked()  # the free-form tester is the default
    pane.budgets.assert_lines_check.setChecked(True)
    assert pane.dirty_label.text() == "● unsaved"
    assert (pane.spec["max_tokens_per_step"], pane.spec["token_budget"]) == (128, 900)
    assert pane.spec["stop_at_first_pass"] is False and pane.spec["tester_assert_lines"] is True
    pane.grab().save("/tmp/gen-team-budgets.png")
    with settled(qtbot, app.bridge):
        pane.save()
    qtbot.waitUntil(lambda: pane.team_list.count() == 1, timeout=5000)
    saved = []
    with settled(qtbot, app.bridge):
        from purpose_desktop.ui.ops import EngineOp

        EngineOp(pane, lambda e: e.teams.load(pane.spec["id"])).success(saved.append).run(app.bridge)
    assert (saved[0]["max_tokens_per_step"], saved[0]["token_budget"]) == (128, 900)
    assert saved[0]["stop_at_first_pass"] is False and saved[0]["tester_assert_lines"] is True
