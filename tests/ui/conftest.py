"""GUI test fixtures: a window on a scripted model, temp QSettings, and a guard against leftover QThreads."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from PySide6.QtCore import QSettings, QThread
from PySide6.QtWidgets import QApplication

from purpose_desktop.engine.core import Engine
from purpose_desktop.ui.bridge import EngineBridge
from purpose_desktop.ui.main_window import MainWindow
from tests.fakes import ScriptedModel


def _running_qthreads() -> list[QThread]:
    main = QApplication.instance().thread() if QApplication.instance() else None
    return [o for o in gc.get_objects() if isinstance(o, QThread) and o is not main and o.isRunning()]


@pytest.fixture(autouse=True)
def no_dangling_qthreads(qapp):
    """Fail any test that leaves a QThread running (then stop it, so the next test starts clean)."""
    yield
    leftovers = _running_qthreads()
    for thread in leftovers:
        thread.quit()
        thread.wait(5000)
    if leftovers:
        pytest.fail(f"test left {len(leftovers)} QThread(s) running: {[t.objectName() for t in leftovers]}")


@pytest.fixture
def ui_settings(tmp_path) -> QSettings:
    """Window geometry and splitter sizes go to a temp ini file, never the user's settings."""
    return QSettings(str(tmp_path / "ui-settings.ini"), QSettings.Format.IniFormat)


@dataclass
class App:
    """One running window: its bridge, and the scripted model the engine thread uses."""

    window: MainWindow
    bridge: EngineBridge
    model: ScriptedModel | None
    engine_threads: list[threading.Thread] = field(default_factory=list)

    @property
    def pane(self):
        return self.window.chat_pane

    def close(self) -> bool:
        self.window.close()
        return self.bridge.shutdown(5000)


def scripted_factory(model: ScriptedModel, threads: list | None = None) -> Callable[[], Engine]:
    """An engine factory whose Engine gets ``model`` from ``load_model`` (recording the building thread)."""

    def factory() -> Engine:
        if threads is not None:
            threads.append(threading.current_thread())
        return Engine(model_factory=lambda _path, **_kw: model)

    return factory


@pytest.fixture
def make_app(qtbot, ui_settings):
    """Build (and later tear down) a MainWindow + EngineBridge; ``wait_ready`` waits for the model."""
    apps: list[App] = []

    def make(
        model: ScriptedModel | None = None,
        *,
        engine_factory: Callable[[], Engine] | None = None,
        wait_ready: bool = True,
        settings: QSettings | None = None,
        vault_factory: Callable[[], object] | None = None,
    ) -> App:
        threads: list[threading.Thread] = []
        if engine_factory is None:
            model = model or ScriptedModel()
            engine_factory = scripted_factory(model, threads)
        bridge = EngineBridge(engine_factory, vault_factory=vault_factory)
        window = MainWindow(bridge, settings if settings is not None else ui_settings)
        qtbot.addWidget(window)
        window.resize(1000, 700)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        app = App(window, bridge, model, threads)
        apps.append(app)
        if wait_ready:
            with qtbot.waitSignal(bridge.sig_model_loaded, timeout=10_000):
                bridge.start()
        else:
            bridge.start()
        return app

    yield make
    for app in apps:
        app.window.close()
        assert app.bridge.shutdown(5000), "the engine thread did not shut down"


@pytest.fixture
def demo_embedder():
    """Memories embed with a deterministic stand-in: no torch in GUI tests."""
    from purpose_desktop.engine.memory import similarity
    from tests.fakes import DEMO_EMBEDDER_NAME, demo_embed

    with similarity.use_embedder(demo_embed, DEMO_EMBEDDER_NAME):
        yield


def press(window, key, modifier=None) -> None:
    """A key press the way a person makes it: sent to the window, so QShortcut/QAction shortcuts fire."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    QTest.keyClick(window.windowHandle(), key, modifier or Qt.KeyboardModifier.NoModifier)


@contextlib.contextmanager
def settled(qtbot, bridge, timeout: int = 5000):
    """Do something a person does, then wait until every request it made of the engine has its answer."""
    from purpose_desktop.ui.ops import in_flight

    yield
    qtbot.waitUntil(lambda: in_flight(bridge) == 0, timeout=timeout)
