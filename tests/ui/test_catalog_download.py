"""Models pane ▸ Get a model (catalog, fit, download with progress, pause/resume, license) and the first-run guide."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from purpose_desktop.engine import paths
from purpose_desktop.engine.models import download as dl
from purpose_desktop.engine.models.catalog import load_catalog
from purpose_desktop.ui.first_run import FirstRunDialog, maybe_show_first_run, recommended_entry
from tests.hf_server import HubServer
from tests.ui.conftest import press


@pytest.fixture
def hub(monkeypatch, default_model_path):
    """The loopback hub serving the bundled GGUF under every unpinned catalog entry's resolve path."""
    with HubServer() as srv:
        data = Path(default_model_path).read_bytes()
        for e in load_catalog().entries:
            if e.sha256 is None:
                srv.hub.add(e.repo, e.file, data, rev=e.revision)
        monkeypatch.setenv("HF_ENDPOINT", srv.endpoint)
        for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
            monkeypatch.delenv(var, raising=False)
        yield srv


def models_app(qtbot, make_app):
    app = make_app()
    press(app.window, Qt.Key.Key_6, Qt.KeyboardModifier.ControlModifier)
    pane = app.window.models_pane
    qtbot.waitUntil(lambda: pane.model.rowCount() > 0, timeout=10_000)
    return app, pane


def test_catalog_lists_every_model_with_a_fit_verdict_and_a_recommendation(qtbot, make_app):
    app, pane = models_app(qtbot, make_app)
    panel = pane.catalog
    cat = load_catalog()
    assert panel.model.rowCount() == len(cat.entries)
    verdicts = {panel.model.data(panel.model.index(r, 2)) for r in range(panel.model.rowCount())}
    assert verdicts <= {"✓ fits", "! tight", "✕ too big", "?"}
    rec = panel.model.recommended
    if rec is not None:  # this computer's RAM decides; the recommendation is selected and marked
        assert panel.selected().id == rec
        assert panel.model.data(panel.model.index(panel.model.row_of(rec), 0)).startswith("★ ")
        assert "Recommended:" in panel.summary.text() and "tokens/s on" in panel.summary.text()
    gemma = panel.model.row_of("gemma-3-4b")
    assert "accept needed" in panel.model.data(panel.model.index(gemma, 3))
    assert "Downloads only when you press Download" in panel.summary.text()


def test_download_shows_progress_then_lists_and_selects_the_model(qtbot, make_app, hub):
    hub.hub.throttle_s = 0.005
    app, pane = models_app(qtbot, make_app)
    panel = pane.catalog
    seen: list[float] = []
    panel.select("qwen2.5-coder-0.5b")
    assert panel.download_button.isEnabled() and panel.download_button.text() == "Download"
    with qtbot.waitSignal(panel.sig_model_downloaded, timeout=120_000) as done:
        panel.download_button.click()
        assert panel.downloading and panel.pause_button.isVisible()
        panel.worker.sig_progress.connect(lambda p: seen.append(panel.progress.value()))
    assert seen and max(seen) > 0
    assert "sha256 matches the hub" in panel.progress_text.text()
    path = done.args[0]
    assert Path(path) == dl.models_dir() / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    qtbot.waitUntil(
        lambda: pane.selected() is not None and pane.selected().source == "downloaded", timeout=10_000
    )
    assert pane.use_button.isEnabled()
    assert panel.model.status["qwen2.5-coder-0.5b"] == "downloaded" and not panel.download_button.isEnabled()


def test_pause_keeps_the_part_and_resume_finishes_with_a_range_request(qtbot, make_app, hub):
    hub.hub.throttle_s = 0.03
    app, pane = models_app(qtbot, make_app)
    panel = pane.catalog
    panel.select("qwen2.5-coder-1.5b")
    panel.download_button.click()
    qtbot.waitUntil(lambda: panel.progress.value() > 50, timeout=60_000)
    with qtbot.waitSignal(panel.worker.sig_paused, timeout=30_000):
        panel.pause_button.click()
    qtbot.waitUntil(lambda: not panel.downloading, timeout=10_000)
    assert panel.model.status["qwen2.5-coder-1.5b"].startswith("paused at")
    assert panel.download_button.text() == "Resume" and panel.discard_button.isVisible()
    kept = (dl.models_dir() / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf.part").stat().st_size
    hub.hub.throttle_s = 0.0
    with qtbot.waitSignal(panel.sig_model_downloaded, timeout=120_000):
        panel.download_button.click()
    assert hub.hub.ranges() == [f"bytes={kept}-"]


def test_a_license_that_is_not_accepted_downloads_nothing(qtbot, make_app, hub, monkeypatch):
    app, pane = models_app(qtbot, make_app)
    panel = pane.catalog
    asked: list[str] = []
    monkeypatch.setattr(panel, "ask_license", lambda e: asked.append(e.id) or False)
    panel.select("llama-3.2-3b")
    with qtbot.waitSignal(panel.sig_status, timeout=2000) as status:
        panel.download_button.click()
    assert asked == ["llama-3.2-3b"] and not panel.downloading
    assert "license was not accepted" in status.args[0]
    assert hub.hub.requests == []


def test_a_failed_download_says_why_in_the_panel(qtbot, make_app, hub):
    hub.hub.files.clear()  # every catalog path now answers 404
    app, pane = models_app(qtbot, make_app)
    panel = pane.catalog
    panel.select("qwen2.5-coder-0.5b")
    panel.download_button.click()
    qtbot.waitUntil(lambda: not panel.downloading, timeout=30_000)
    assert "HTTP 404" in panel.progress_text.text() and "Check the repository" in panel.progress_text.text()
    assert panel.download_button.isEnabled()


def _settings() -> dict:
    p = paths.settings_path()
    return json.loads(p.read_text()) if p.exists() else {}


def test_first_run_guide_shows_once_and_skip_is_remembered(qtbot, make_app):
    app = make_app(wait_ready=False)
    maybe_show_first_run(app.window, app.bridge)
    # make_app already started the bridge: hook the guide to a fresh start signal as app.main does
    app.bridge.sig_engine_started.emit("again")
    qtbot.waitUntil(lambda: getattr(app.window, "first_run_dialog", None) is not None, timeout=10_000)
    dialog: FirstRunDialog = app.window.first_run_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    text = " ".join(w.text() for w in dialog.findChildren(type(dialog.recommendation)))
    assert "offline, private coding helper" in text and "too small to write reliable code" in text
    if recommended_entry()[0] is not None:  # the guide says what the recommendation weighed: RAM and speed
        assert "tokens/s on" in text
    dialog.skip_button.click()
    qtbot.waitUntil(lambda: _settings().get("first_run_done") is True, timeout=10_000)
    assert not dialog.isVisible()

    # A second start: settings say it was answered, so no guide.
    app2 = make_app(wait_ready=False)
    app2.window.first_run_dialog = None
    maybe_show_first_run(app2.window, app2.bridge)
    app2.bridge.sig_engine_started.emit("again")
    from purpose_desktop.ui.ops import in_flight

    qtbot.waitUntil(lambda: in_flight(app2.bridge) == 0, timeout=10_000)
    assert app2.window.first_run_dialog is None


def test_get_a_coding_model_opens_models_and_downloads_the_recommendation(qtbot, make_app, hub):
    app = make_app()
    maybe_show_first_run(app.window, app.bridge)
    app.bridge.sig_engine_started.emit("again")
    qtbot.waitUntil(lambda: getattr(app.window, "first_run_dialog", None) is not None, timeout=10_000)
    dialog = app.window.first_run_dialog
    if dialog.entry is None:
        pytest.skip("no catalog model fits this computer's RAM, so there is nothing to recommend")
    assert dialog.entry.sha256 is None, "the loopback hub serves the unpinned entries"
    panel = app.window.models_pane.catalog
    with qtbot.waitSignal(panel.sig_model_downloaded, timeout=120_000):
        dialog.get_button.click()
        assert app.window.current_pane() == "models"
    qtbot.waitUntil(lambda: _settings().get("first_run_done") is True, timeout=10_000)
    assert (dl.models_dir() / dialog.entry.file).is_file()


def test_settings_privacy_panel_says_when_the_app_last_went_online(qtbot, make_app):
    from purpose_desktop.engine.models import netlog
    from tests.ui.conftest import settled

    netlog.record("model download", "https://user:secret@hub.example/a/b/resolve/main/m.gguf?token=x", "done")
    app = make_app()
    pane = app.window.settings_pane
    with settled(qtbot, app.bridge, 60_000):
        app.window.show_pane("settings")
    qtbot.waitUntil(lambda: "Last online" in pane.network_label.text(), timeout=60_000)
    assert "model download from hub.example" in pane.network_label.text()
    assert "secret" not in pane.network_label.toolTip() and "token" not in pane.network_label.toolTip()


def test_closing_the_pane_mid_download_pauses_it_and_keeps_the_part(qtbot, make_app, hub):
    from PySide6.QtCore import QCoreApplication, QEvent

    hub.hub.throttle_s = 0.03
    app, pane = models_app(qtbot, make_app)
    panel = pane.catalog
    panel.select("qwen2.5-coder-0.5b")
    panel.download_button.click()
    qtbot.waitUntil(lambda: panel.progress.value() > 20, timeout=60_000)
    thread = panel.worker.thread
    panel.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    thread.join(20)
    assert not thread.is_alive()
    part = dl.models_dir() / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf.part"
    assert part.is_file() and part.stat().st_size > 0
    assert not (dl.models_dir() / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf").exists()


def test_the_guide_is_sized_to_its_text_without_gaps_between_paragraphs(qtbot):
    # Word-wrapped labels' hints assume a narrower dialog; sized from them the guide opened with tall
    # gaps between its paragraphs (seen on a screenshot). It must open at the height its text needs.
    dialog = FirstRunDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    box = dialog.layout()
    assert dialog.height() <= box.totalHeightForWidth(dialog.width()) + 2
    gaps = []
    labels = sorted((w for w in dialog.findChildren(type(dialog.recommendation)) if w.isVisible()), key=lambda w: w.y())
    for upper, lower in zip(labels, labels[1:], strict=False):
        gaps.append(lower.y() - (upper.y() + upper.height()))
    assert gaps and max(gaps) <= box.spacing() + 2, gaps


def test_catalog_names_are_never_elided_in_a_small_window(qtbot, make_app, hub):
    app, pane = models_app(qtbot, make_app)
    app.window.resize(900, 640)
    pane.show_catalog()
    panel = pane.catalog
    for e in panel.model.entries:  # long statuses must not squeeze the names
        panel.model.status[e.id] = "download failed: HTTP 503"
    panel.model.layoutChanged.emit()
    qtbot.wait(50)
    table = panel.table
    assert table.columnWidth(0) >= table.sizeHintForColumn(0)
    assert panel.detail_title.text() == panel.selected().name
