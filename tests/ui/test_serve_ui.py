"""Settings → Server (the app serves its own model through the engine thread) and Models → Add server…"""

from __future__ import annotations

import json
import socket
import threading

import openai
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from purpose_desktop.engine import paths
from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.serve import ModelCatalog, ModelOwner, ServeOptions, create_app, start_server
from purpose_desktop.engine.store import Store
from purpose_desktop.ui.add_server_dialog import AddServerDialog
from tests.fakes import ScriptedModel
from tests.ui.conftest import press, settled


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _in_thread(fn):
    """Run ``fn`` off the GUI thread (the GUI must keep its event loop going); returns a result box."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    box["thread"] = t
    return box


def test_server_section_serves_the_apps_own_model_and_logs_requests(qtbot, make_app):
    model = ScriptedModel(replies=["Served by the app's engine."])
    app = make_app(model)
    with settled(qtbot, app.bridge):
        press(app.window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    section = app.window.settings_pane.server_section
    assert section.status.text() == "Off" and not section.controller.running  # off by default
    port = _free_port()
    with settled(qtbot, app.bridge):
        section.port_spin.setValue(port)
    with settled(qtbot, app.bridge):
        qtbot.mouseClick(section.generate_button, Qt.MouseButton.LeftButton)
    key = section.key_edit.text()
    assert len(key) >= 24
    saved = json.loads(paths.settings_path().read_text())
    assert saved["serve_port"] == port and saved["serve_api_key"] == key

    qtbot.mouseClick(section.start_button, Qt.MouseButton.LeftButton)
    assert section.status.text().startswith(f"Serving at http://127.0.0.1:{port}/v1")
    assert section.start_button.text() == "Stop server" and not section.port_spin.isEnabled()
    section.grab().save("/tmp/serve-settings-section.png")

    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0, timeout=30)
    ids = _in_thread(lambda: [m.id for m in client.models.list().data])
    qtbot.waitUntil(lambda: not ids["thread"].is_alive(), timeout=10_000)
    assert ids.get("value") == ["Scripted"], ids.get("error")

    calls_before = len(model.calls)
    reply = _in_thread(
        lambda: client.chat.completions.create(model="Scripted", messages=[{"role": "user", "content": "Hi"}])
    )
    qtbot.waitUntil(lambda: not reply["thread"].is_alive(), timeout=20_000)
    answer = reply.get("value")
    assert answer is not None, reply.get("error")
    assert answer.choices[0].message.content == "Served by the app's engine."
    assert len(model.calls) == calls_before + 1  # the very model the chat pane uses answered it
    qtbot.waitUntil(lambda: "POST /v1/chat/completions  200" in section.log.toPlainText(), timeout=5000)
    assert key not in section.log.toPlainText() and "Hi" not in section.log.toPlainText().split()
    assert answer.model_extra["purpose_desktop"]["grounded"] is True  # the saved default: grounding on

    wrong = _in_thread(
        lambda: openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="nope", max_retries=0
        ).models.list()
    )
    qtbot.waitUntil(lambda: not wrong["thread"].is_alive(), timeout=10_000)
    assert isinstance(wrong.get("error"), openai.AuthenticationError)

    with settled(qtbot, app.bridge):
        section.grounding.setChecked(False)
    assert section.controller.options.grounding is False
    assert json.loads(paths.settings_path().read_text())["serve_grounding"] is False
    section.grab().save("/tmp/serve-settings-section-log.png")

    qtbot.mouseClick(section.start_button, Qt.MouseButton.LeftButton)
    assert section.status.text() == "Off" and not section.controller.running
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        sock.bind(("127.0.0.1", port))  # nothing listens there any more


def test_server_section_says_why_it_could_not_start(qtbot, make_app):
    app = make_app()
    section = app.window.settings_pane.server_section
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        section.port_spin.setValue(busy.getsockname()[1])
        section.start()
        assert section.status.text().startswith("Not started:") and "port" in section.status.text()
    assert not section.controller.running and section.start_button.text() == "Start server"


def test_add_server_dialog_warns_about_remote_hosts(qtbot):
    dialog = AddServerDialog()
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()
    qtbot.keyClicks(dialog.url_edit, "http://127.0.0.1:8080/v1")
    assert ok.isEnabled() and not dialog.remote() and "nothing leaves" in dialog.note.text()
    dialog.url_edit.setText("http://gpu-box.lan:8000/v1")
    assert (
        dialog.remote()
        and "gpu-box.lan" in dialog.note.text()
        and "leave this computer" in dialog.note.text()
    )
    dialog.key_edit.setText("secret")
    assert dialog.values() == ("http://gpu-box.lan:8000/v1", None, "secret")
    dialog.show()
    dialog.grab().save("/tmp/serve-add-server-dialog.png")


def test_models_pane_adds_a_server_and_chats_with_its_model(qtbot, make_app, tmp_path, monkeypatch):
    # "The other machine": a serve on loopback answering with a scripted model.
    remote_model = ScriptedModel(replies=["Answer from the other server."])

    def build():
        engine = Engine(store=Store(tmp_path / "other.db"), model_factory=lambda *a, **k: remote_model)
        engine.load_model()
        return engine

    engines = []
    owner = ModelOwner(engine_factory=lambda: engines.append(build()) or engines[-1])
    owner.start()
    catalog = ModelCatalog(lambda: engines[0].model, switch=False)
    handle = start_server(
        create_app(owner, catalog, ServeOptions(api_key="k1", grounding=False)), "127.0.0.1", 0
    )
    try:
        app = make_app(ScriptedModel(replies=["local"]))
        press(app.window, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
        pane = app.window.models_pane

        # A remote address the person does not confirm is not added.
        monkeypatch.setattr(AddServerDialog, "exec", lambda self: AddServerDialog.DialogCode.Accepted)
        monkeypatch.setattr(AddServerDialog, "values", lambda self: ("http://192.0.2.7:8080/v1", None, None))
        monkeypatch.setattr(AddServerDialog, "remote", lambda self: True)
        monkeypatch.setattr(AddServerDialog, "host", lambda self: "192.0.2.7")
        asked = []
        monkeypatch.setattr(
            QMessageBox, "warning", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Cancel
        )
        qtbot.mouseClick(pane.add_server_button, Qt.MouseButton.LeftButton)
        assert asked and "192.0.2.7" in asked[0] and "leave this computer" in asked[0]
        assert (
            not json.loads(paths.settings_path().read_text()).get("servers")
            if paths.settings_path().exists()
            else True
        )

        with settled(qtbot, app.bridge, 10_000):
            pane.add_server(handle.url, "lab", "k1")
        row = pane.selected()
        assert (
            row.source == "server"
            and row.name == "Scripted @ lab"
            and pane.forget_button.text() == "Remove server"
        )
        saved = json.loads(paths.settings_path().read_text())["servers"]
        assert saved[0]["name"] == "lab" and saved[0]["api_key"] == "k1"
        app.window.grab().save("/tmp/serve-models-pane-server.png")

        with qtbot.waitSignal(app.bridge.sig_model_loaded, timeout=10_000):
            qtbot.mouseClick(pane.use_button, Qt.MouseButton.LeftButton)
        assert "Scripted @ 127.0.0.1" in app.window.model_status.text()
        assert "text goes to" not in app.window.model_status.text()  # loopback: nothing leaves

        with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=20_000) as done:
            app.bridge.send_message(None, "Hello over there")
        assert done.args[1].assistant.content == "Answer from the other server."
        assert remote_model.calls and remote_model.calls[-1][-1]["content"] == "Hello over there"
    finally:
        handle.stop()
        owner.stop()
