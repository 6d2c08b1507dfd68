"""ui.app.main(): start-up order, --model, logging to the user's log folder, crash dialog hook, clean shutdown."""

from __future__ import annotations

import logging
import sys
import threading

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from purpose_desktop.ui import app as app_module
from purpose_desktop.ui.bridge import EngineBridge
from purpose_desktop.ui.main_window import MainWindow
from tests.fakes import ScriptedModel
from tests.ui.conftest import scripted_factory


@pytest.fixture
def restore_app_state(qapp):
    """main() themes the shared QApplication and adds log handlers; put both back afterwards."""
    style, sheet, palette, font = qapp.style().name(), qapp.styleSheet(), qapp.palette(), qapp.font()
    handlers = list(logging.getLogger().handlers)
    level = logging.getLogger().level
    yield
    for handler in logging.getLogger().handlers:
        if handler not in handlers:
            logging.getLogger().removeHandler(handler)
            handler.close()
    logging.getLogger().setLevel(level)
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    qapp.setFont(font)
    qapp.setStyle(style)


def test_main_starts_loads_the_model_and_shuts_down_cleanly(
    qapp, monkeypatch, restore_app_state, _isolated_home
):
    made: list[EngineBridge] = []
    started_with: list[str | None] = []

    class RecordingBridge(EngineBridge):
        def __init__(self):
            super().__init__(scripted_factory(ScriptedModel()))
            made.append(self)

        def start(self, model_spec=None, **kw):
            started_with.append(model_spec)
            super().start(None, **kw)  # the scripted engine ignores the path; keep resolve_model happy

    monkeypatch.setattr(app_module, "EngineBridge", RecordingBridge)
    seen = {}

    def close_when_ready():
        bridge = made[0]
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
        seen["visible_before_load"] = window.isVisible() and window.chat_pane.model_state == "loading"
        seen["hooked"] = sys.excepthook.__self__.__class__.__name__ == "_CrashReporter"
        bridge.sig_model_loaded.connect(lambda *_: QTimer.singleShot(0, window.close))

    QTimer.singleShot(0, close_when_ready)
    hooks = (sys.excepthook, threading.excepthook)
    code = app_module.main(["--model", "/models/custom.gguf"])

    assert code == 0
    assert started_with == ["/models/custom.gguf"]
    assert seen == {"visible_before_load": True, "hooked": True}
    assert not made[0].running  # aboutToQuit → shutdown ran
    assert (sys.excepthook, threading.excepthook) == hooks
    log_file = _isolated_home / "logs" / app_module.LOG_FILENAME
    assert log_file.exists() and "starting Purpose Desktop" in log_file.read_text()
    assert (
        _isolated_home / "ui-settings.ini"
    ).exists()  # window state saved beside the data, not in ~/.config


def test_crash_reporter_logs_and_signals_from_any_thread(qapp, restore_app_state, tmp_path, caplog):
    reporter = app_module._CrashReporter(tmp_path / "x.log")
    shown: list[str] = []
    reporter.sig_exception.disconnect()
    reporter.sig_exception.connect(shown.append)
    try:
        raise ValueError("boom")
    except ValueError:
        reporter.excepthook(*sys.exc_info())
    assert shown == ["ValueError: boom"]
    assert "unexpected exception" in caplog.text


def test_parse_args_ignores_qt_arguments():
    args = app_module.parse_args(["-platform", "offscreen", "--model", "a.gguf"])
    assert args.model == "a.gguf"
