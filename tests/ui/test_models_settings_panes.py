"""Models pane (what's on this computer, what fits, add / use / load settings) and Settings (data, learning,
theme, privacy)."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from purpose_desktop.engine import paths
from purpose_desktop.engine.services import ModelRow
from purpose_desktop.ui import theme
from purpose_desktop.ui.models_pane import fit
from tests.ui.conftest import press, settled

GB = 1024**3


def models_app(qtbot, make_app):
    app = make_app()
    press(app.window, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    pane = app.window.models_pane
    qtbot.waitUntil(lambda: pane.model.rowCount() > 0, timeout=10_000)
    return app, pane


def saved_settings() -> dict:
    return json.loads(paths.settings_path().read_text())


def test_fit_says_whether_a_model_fits_in_plain_words():
    row = ModelRow("x", "/m/x.gguf", "added", "x", ram_bytes=3 * GB, ram_context=4096)
    assert fit(row, 16 * GB, 12 * GB)[0] == "fits"
    assert fit(row, 16 * GB, 3 * GB)[0] == "tight"
    state, why = fit(row, 2 * GB, 1 * GB)
    assert state == "too_big" and "smaller" in why


def test_models_lists_the_bundled_model_with_its_facts(qtbot, make_app):
    app, pane = models_app(qtbot, make_app)
    assert app.window.current_pane() == "models"
    row = next(r for r in pane.model.rows() if r.source == "bundled")
    assert (row.architecture, row.size_label, row.quantization) == ("llama", "135M", "Q4_1")
    assert row.ram_bytes and row.ram_bytes > row.file_size
    cells = [pane.model.data(pane.model.index(pane.model.row_of(row.id), c)) for c in range(7)]
    assert cells[0].startswith("SmolLM2-135M-Instruct") and cells[4] == "8,192" and cells[6].startswith("✓ ")
    assert "parameters" in pane.detail_text.text() and "Needs about" in pane.detail_text.text()


def test_adding_a_file_that_is_not_gguf_explains_what_to_do(qtbot, make_app, tmp_path):
    app, pane = models_app(qtbot, make_app)
    notes = tmp_path / "notes.gguf"
    notes.write_text("this is not a model")
    with qtbot.waitSignal(app.bridge.sig_call_failed, timeout=5000):
        pane.add_file(str(notes))
    assert pane.banner.isVisible() and pane.banner.message_label.text()
    assert pane.banner.hint_label.text()
    assert "added_models" not in (saved_settings() if paths.settings_path().exists() else {})


def test_add_use_and_forget_a_model(qtbot, make_app, tmp_path, default_model_path):
    app, pane = models_app(qtbot, make_app)
    copy = tmp_path / "MyModel.Q4_1.gguf"
    copy.write_bytes(default_model_path.read_bytes())
    with settled(qtbot, app.bridge, 10_000):
        pane.add_file(str(copy))
    assert pane.selected().name == "MyModel.Q4_1" and pane.forget_button.isVisible()
    assert saved_settings()["added_models"] == [str(copy.resolve())]

    with qtbot.waitSignal(app.bridge.sig_model_loaded, timeout=10_000):
        qtbot.mouseClick(pane.use_button, Qt.MouseButton.LeftButton)
    assert saved_settings()["model"] == str(copy)  # remembered for next start

    with settled(qtbot, app.bridge, 10_000):
        qtbot.mouseClick(pane.forget_button, Qt.MouseButton.LeftButton)
    assert saved_settings()["added_models"] == [] and saved_settings()["model"] is None
    assert copy.exists()


def test_load_settings_apply_and_reload(qtbot, make_app):
    app, pane = models_app(qtbot, make_app)
    pane.ctx_spin.setValue(4096)
    pane.threads_spin.setValue(2)
    with qtbot.waitSignal(app.bridge.sig_model_loaded, timeout=10_000):
        pane.apply_button.click()
    saved = saved_settings()
    assert (saved["n_ctx"], saved["n_threads"]) == (4096, 2)
    # The GPU-layers control works only with an offloading build, and says why when it is off.
    from purpose_desktop.engine.models.gpu import offload_report

    report = offload_report()
    assert pane.gpu_spin.isEnabled() == report["gpu_offload"]
    assert pane.gpu_note.text() == report["why"]
    if not report["gpu_offload"]:
        assert "CPU only" in pane.gpu_note.text() and "GPU=cuda" in pane.gpu_note.text()


def test_settings_show_the_data_folder_and_keep_choices(qtbot, make_app, qapp, _isolated_home):
    app = make_app()
    pane = app.window.settings_pane
    press(app.window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    assert app.window.current_pane() == "settings"
    qtbot.waitUntil(lambda: pane.data_dir_label.text() == str(_isolated_home), timeout=5000)
    assert pane.database_label.text().endswith("purpose.db")

    with settled(qtbot, app.bridge, 5000):
        pane.auto_promote.click()
    assert saved_settings()["auto_promote"] is True  # settings.json is the one place it is kept

    style, sheet, palette = qapp.style().name(), qapp.styleSheet(), qapp.palette()
    try:
        pane.theme_combo.setCurrentIndex(pane.theme_combo.findData("dark"))
        assert theme.current() == "dark" and pane._qsettings.value("ui/theme") == "dark"
        assert "#1e1f22" in qapp.styleSheet()
    finally:
        theme.apply_theme(qapp, "light")
        qapp.setStyleSheet(sheet)
        qapp.setPalette(palette)
        qapp.setStyle(style)


def test_privacy_panel_lists_the_sandbox_protections(qtbot, make_app):
    app = make_app()
    pane = app.window.settings_pane
    with settled(qtbot, app.bridge, 60_000):
        app.window.show_pane("settings")
    texts = [w.text() for w in pane.findChildren(QLabel)]
    assert any("makes no network connections" in t for t in texts)
    assert any("cannot reach the network" in t for t in texts)
    assert "protections are active" in pane.privacy_summary.text()


def test_every_stylesheet_colour_has_a_dark_counterpart():
    import re

    from purpose_desktop.engine.resources import resource

    text = resource("styles", "app.qss").read_text()
    missing = {c.lower() for c in re.findall(r"#[0-9a-fA-F]{6}\b", text)} - set(theme.DARK)
    assert not missing
    assert QApplication.instance() is not None


def test_running_unprotected_code_needs_a_confirmed_approval(qtbot, make_app, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from purpose_desktop.engine.settings import load_settings

    app = make_app()
    pane = app.window.settings_pane
    app.window.show_pane("settings")
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    pane.allow_unprotected.click()
    assert not pane.allow_unprotected.isChecked()  # cancelled: nothing changes
    assert load_settings().allow_unprotected_code is False
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with settled(qtbot, app.bridge, 5000):
        pane.allow_unprotected.click()
    assert load_settings().allow_unprotected_code is True


def test_chat_grounding_can_be_turned_off_and_tuned(qtbot, make_app):
    from purpose_desktop.engine.settings import load_settings

    app = make_app()
    pane = app.window.settings_pane
    app.window.show_pane("settings")
    qtbot.waitUntil(lambda: pane._snapshot is not None, timeout=5000)
    assert pane.chat_memory.isChecked() and pane.chat_vault.isChecked() and pane.chat_k.value() == 3
    with settled(qtbot, app.bridge, 5000):
        pane.chat_vault.click()
    assert load_settings().chat_uses_vault is False and not pane.chat_k.isEnabled()
    with settled(qtbot, app.bridge, 5000):
        pane.chat_memory.click()
    assert load_settings().chat_uses_memory is False
    with settled(qtbot, app.bridge, 5000):
        pane.chat_vault.click()
    assert pane.chat_k.isEnabled()
    with settled(qtbot, app.bridge, 5000):
        pane.chat_k.setValue(5)
    saved = load_settings()
    assert (saved.chat_uses_vault, saved.chat_uses_memory, saved.chat_vault_k) == (True, False, 5)
    assert "5 Vault passages" in app.window.statusBar().currentMessage()
