"""Settings ▸ Data: Back up… and Restore… (a confirmation that shows what will be replaced; a safety copy kept)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from purpose_desktop.engine.store import Store
from tests.fakes import ScriptedModel
from tests.ui.conftest import settled
from tests.ui.test_chat_window import press, type_and_send


def _titles(home) -> list[str]:
    with Store(home / "purpose.db") as store:
        return sorted(c.title for c in store.list_conversations())


def test_back_up_then_restore_after_confirming_what_is_replaced(
    qtbot, make_app, _isolated_home, tmp_path, monkeypatch
):
    app = make_app(ScriptedModel(replies=["First answer.", "Second answer."]))
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=20_000):
        type_and_send(qtbot, app.pane, "Keep this chat")
    pane = app.window.settings_pane
    press(app.window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    backup = tmp_path / "backups" / "mine.zip"
    backup.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(backup), ""))
    with settled(qtbot, app.bridge, 20_000):
        qtbot.mouseClick(pane.backup_button, Qt.MouseButton.LeftButton)
    assert backup.exists() and "Backed up to" in pane.backup_label.text()
    assert "1 chat (2 messages)" in pane.backup_label.text()

    press(app.window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    app.pane.new_chat()
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=20_000):
        type_and_send(qtbot, app.pane, "A chat made after the backup")
    assert _titles(_isolated_home) == ["A chat made after the backup", "Keep this chat"]

    press(app.window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(backup), ""))
    # First time: the person reads what would be replaced and cancels — nothing changes.
    with settled(qtbot, app.bridge, 20_000):
        qtbot.mouseClick(pane.restore_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(pane, "restore_box", None) is not None and pane.restore_box.isVisible())
    box = pane.restore_box
    info = box.informativeText()
    assert "1 chat (2 messages)" in info and "2 chats (4 messages)" in info and "safety copy" in info
    box.grab().save("/tmp/chatloop-restore-confirm.png")
    box.reject()
    qtbot.waitUntil(lambda: not box.isVisible())
    assert _titles(_isolated_home) == ["A chat made after the backup", "Keep this chat"]

    # Second time: confirmed — the backup's data is back, and what was there is kept as a safety copy.
    with settled(qtbot, app.bridge, 20_000):
        qtbot.mouseClick(pane.restore_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.restore_box is not box and pane.restore_box.isVisible())
    with settled(qtbot, app.bridge, 20_000):
        qtbot.mouseClick(pane.restore_confirm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(pane, "last_restore", None) is not None, timeout=20_000)
    assert _titles(_isolated_home) == ["Keep this chat"]
    _plan, safety = pane.last_restore
    assert safety.counts["conversations"] == 2 and (_isolated_home / "safety-copies").is_dir()
    assert "previous data is kept in" in pane.backup_label.text()
    # The engine works on the restored database at once.
    with settled(qtbot, app.bridge, 10_000):
        app.pane._refresh_list()
    qtbot.waitUntil(lambda: app.pane.list_model.rowCount() == 1, timeout=10_000)
    pane.restored_box.close()
    app.window.grab().save("/tmp/chatloop-settings-backup.png")
