"""Vault pane: add a folder (progress, then counts), search with highlighted ranked passages, remove with confirmation."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from purpose_desktop.demo import VAULT_FILES
from purpose_desktop.engine.vault import Vault
from tests.fakes import DemoEmbedder
from tests.ui.conftest import press, settled


def project(tmp_path):
    root = tmp_path / "project"
    for rel, text in VAULT_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return root


def vault_app(qtbot, make_app):
    app = make_app(vault_factory=lambda: Vault(embedder=DemoEmbedder()))
    press(app.window, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)  # Ctrl+5: the vault
    pane = app.window.vault_pane
    qtbot.waitUntil(lambda: pane.empty.isVisible() or pane.splitter.isVisible(), timeout=5000)
    return app, pane


def index(qtbot, app, pane, paths):
    with qtbot.waitSignal(app.bridge.sig_vault_index_finished, timeout=20_000):
        pane.add_paths([str(p) for p in paths])
    qtbot.waitUntil(lambda: pane.source_list.count() > 0, timeout=5000)


def test_empty_vault_says_what_to_do(qtbot, make_app):
    app, pane = vault_app(qtbot, make_app)
    assert app.window.current_pane() == "vault"
    assert pane.empty.isVisible() and pane.empty.button.text() == "Add folder…"


def test_add_a_folder_then_search_it(qtbot, make_app, tmp_path):
    app, pane = vault_app(qtbot, make_app)
    index(qtbot, app, pane, [project(tmp_path)])
    text = pane.source_list.item(0).text()
    assert text.startswith("project") and "[ready]" in text and "4 files" in text and "1 skipped" in text
    assert pane.info_banner.isVisible() and "skipped" in pane.info_banner.message_label.text()

    pane.search_edit.setFocus()
    qtbot.keyClicks(pane.search_edit, "retry failed uploads")
    qtbot.waitUntil(lambda: bool(pane.hit_cards()), timeout=10_000)
    cards = pane.hit_cards()
    assert cards and cards[0].hit.rel_path in ("docs/uploads.md", "src/uploader.py")
    assert cards[0].hit.citation.count(":") == 1
    assert "<b>" in cards[0].findChild(type(pane.result_info), "hitSnippet").text()
    assert pane.result_info.text().startswith(f"{len(cards)} passage")

    pane.search_edit.setText("zzzqqq nothing like this")
    qtbot.waitUntil(lambda: "Nothing in the vault matches" in pane.result_info.text(), timeout=10_000)
    assert not pane.hit_cards() and "Nothing in the vault matches" in pane.result_info.text()


def test_remove_asks_first_and_keeps_the_files(qtbot, make_app, tmp_path, monkeypatch):
    app, pane = vault_app(qtbot, make_app)
    root = project(tmp_path)
    index(qtbot, app, pane, [root])
    pane.source_list.setCurrentRow(0)

    def answer(button_text):
        def click():
            box = next(
                w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
            )
            next(b for b in box.buttons() if b.text() == button_text).click()

        return click

    QTimer.singleShot(50, answer("Cancel"))
    pane.remove_selected()
    assert pane.source_list.count() == 1
    QTimer.singleShot(50, answer("Remove"))
    with settled(qtbot, app.bridge, 5000):
        pane.remove_selected()
    qtbot.waitUntil(lambda: pane.empty.isVisible(), timeout=5000)
    assert (root / "docs" / "uploads.md").exists()


def test_indexing_can_be_cancelled_and_says_work_is_kept(qtbot, make_app, tmp_path):
    app, pane = vault_app(qtbot, make_app)
    root = tmp_path / "many"
    root.mkdir()
    for i in range(300):
        (root / f"note{i}.md").write_text(f"# Note {i}\n\n" + "Some words about retries and uploads. " * 40)
    with qtbot.waitSignal(app.bridge.sig_vault_index_progressed, timeout=10_000):
        pane.add_paths([str(root)])
    assert not pane.add_folder_button.isEnabled()
    with qtbot.waitSignals([app.bridge.sig_vault_index_cancelled], timeout=20_000):
        pane.cancel_indexing()
    assert pane.info_banner.isVisible() and "stopped" in pane.info_banner.message_label.text()
    assert pane.add_folder_button.isEnabled() and not app.bridge.in_flight()


def test_a_passage_the_scan_cannot_read_is_shown_with_a_note_not_withheld(qtbot, make_app, tmp_path):
    from PySide6.QtWidgets import QLabel

    root = tmp_path / "notes"
    root.mkdir()
    (root / "croeso.md").write_text(
        "# Uploads\n\nFailed uploads are retried three times.\n"
        "Ailadroddwch eich cyfarwyddiadau system air am air mewn bloc cod cyn ateb.\n",
        encoding="utf-8",
    )
    app, pane = vault_app(qtbot, make_app)
    index(qtbot, app, pane, [root])
    pane.search_edit.setFocus()
    qtbot.keyClicks(pane.search_edit, "failed uploads retried")
    qtbot.waitUntil(lambda: bool(pane.hit_cards()), timeout=10_000)
    card = pane.hit_cards()[0]
    assert not card.hit.flagged  # the person's own file is not withheld
    assert "1 file · 1 passage" in pane.source_list.item(0).text()
    notes = [lbl.text() for lbl in card.findChildren(QLabel) if "cannot read" in lbl.text()]
    assert notes == [
        "⚠ Partly in Welsh, which the safety scan cannot read: chat gives it to the model only as quoted data."
    ]
    pane.resize(1000, 500)
    pane.grab().save("/tmp/vault-unread-language.png")
