"""`purpose-desktop screenshots DIR`: every pane, offscreen, on the demo data set, light and dark, as PNGs.

The demo data goes into a temporary data folder (PURPOSE_DESKTOP_HOME points there for the duration), so
the person's own chats, memories and settings are never read or written. The window runs the real engine
on the bundled SmolLM2 model and the vault on the bundled MiniLM embedder; nothing is scripted.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from purpose_desktop.engine import paths
from purpose_desktop.engine.errors import PurposeError

#: The shots, in the order they are taken; each is written as NAME.png (light) and NAME-dark.png (dark).
SHOTS = (
    "chat",
    "chat-cited",
    "source-viewer",
    "chat-search",
    "team",
    "runs",
    "memory",
    "vault",
    "models",
    "settings",
)
THEMES = ("light", "dark")
#: How long a pane may take to fill (the first vault search loads torch and MiniLM: seconds).
PANE_TIMEOUT_S = 60.0
#: Loading the model also opens the database; a cold disk can make the first load slow.
MODEL_TIMEOUT_S = 120.0
SETTLE_MS = 120
VAULT_QUERY = "retry failed uploads"
CHAT_QUERY = "retry"
TEAM_TASK = "Write a function that sorts a list of full names by surname"


class ScreenshotError(PurposeError):
    """A pane did not fill in time, or a PNG could not be written."""


def file_name(shot: str, theme: str) -> str:
    return f"{shot}.png" if theme == "light" else f"{shot}-{theme}.png"


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Process Qt events until ``predicate()`` holds; raise ScreenshotError naming ``what`` after ``timeout`` s."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while True:
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        if predicate():
            return
        if time.monotonic() > deadline:
            raise ScreenshotError(
                f"The {what} did not fill within {timeout:.0f} s, so no screenshot was taken.",
                "Run `purpose-desktop doctor` to check the model and embedder, then try again.",
            )
        time.sleep(0.01)


def settle(ms: int = SETTLE_MS) -> None:
    """Let layouts, scroll positions and repaints finish (a short, fixed pause after a pane has filled)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _ensure_app(offscreen: bool):
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        if offscreen:
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        QApplication.setApplicationName("Purpose Desktop")
        QApplication.setOrganizationName("PurposeDesktop")
        app = QApplication([sys.argv[0] if sys.argv else "purpose-desktop"])
    return app


#: Painted on every screenshot: the data in them is the demo set, not anyone's real runs or lessons.
DEMO_STAMP = "DEMO DATA — not real runs or lessons"
DEMO_STAMP_COLOR = "#b45309"


def stamp_demo(pixmap):
    """Paint DEMO_STAMP in the top-right corner of ``pixmap`` (in place) and return it."""
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QFont, QPainter

    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont()
        font.setBold(True)
        font.setPointSize(9)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        size = pixmap.deviceIndependentSize()
        w, h = metrics.horizontalAdvance(DEMO_STAMP) + 20, metrics.height() + 6
        rect = QRectF(size.width() - w - 8, 2, w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(DEMO_STAMP_COLOR))
        painter.drawRoundedRect(rect, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, DEMO_STAMP)
    finally:
        painter.end()
    return pixmap


def _save(widget, path: Path, demo: bool = True) -> Path:
    """Grab ``widget`` into ``path``; demo data is stamped DEMO, a person's real data never is."""
    pixmap = widget.grab()
    if not (stamp_demo(pixmap) if demo else pixmap).save(str(path)):
        raise ScreenshotError(f"Could not write {path}.", "Check that the folder exists and is writable.")
    return path


class _Session:
    """One window on one theme: visits each pane, waits for it to fill, saves it."""

    def __init__(
        self,
        out_dir: Path,
        theme: str,
        size: tuple[int, int],
        on_saved,
        *,
        demo: bool = True,
        ui_ini: Path | None = None,
    ) -> None:
        from PySide6.QtCore import QSettings

        from purpose_desktop.ui.bridge import EngineBridge
        from purpose_desktop.ui.main_window import MainWindow

        self.out_dir, self.theme, self.on_saved, self.demo = out_dir, theme, on_saved, demo
        self.written: list[Path] = []
        # Window state goes beside the demo data (the temp home), never into the person's settings.
        ini = ui_ini or paths.data_dir() / "ui-settings.ini"
        self.settings = QSettings(str(ini), QSettings.Format.IniFormat)
        self.bridge = EngineBridge()
        self.window = MainWindow(self.bridge, self.settings)
        self.window.resize(*size)
        self.window.show()
        self.bridge.start()
        pane = self.window.chat_pane
        wait_until(lambda: pane.model_state in ("ready", "error"), MODEL_TIMEOUT_S, "chat model")
        if pane.model_state != "ready":
            raise ScreenshotError(
                "The bundled chat model did not load, so the screenshots would show an error.",
                "Run `purpose-desktop doctor` to see why.",
            )

    def close(self) -> None:
        import shiboken6

        try:
            viewer = self.window.chat_pane.source_viewer
            if viewer is not None and shiboken6.isValid(viewer):  # it deletes itself on close
                viewer.close()
            self.window.close()
        finally:
            self.bridge.shutdown()
            self.settings.sync()

    def save(self, shot: str, widget=None) -> None:
        settle()
        path = _save(widget or self.window, self.out_dir / file_name(shot, self.theme), self.demo)
        self.written.append(path)
        if self.on_saved:
            self.on_saved(path)

    # -- chat -------------------------------------------------------------------------------------
    def chats(self) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        from purpose_desktop.demo import CHAT

        w = self.window
        pane = w.chat_pane
        w.show_pane("chat")
        wait_until(lambda: pane.list_model.rowCount() >= 2, PANE_TIMEOUT_S, "chat list")
        by_title = {c.title: c.id for c in pane.list_model.conversations()}

        def open_chat(title: str, n_messages: int):
            pane.select_conversation(by_title[title])
            wait_until(
                lambda: (
                    len(pane.message_widgets()) == n_messages
                    and pane.message_widgets()[-1].message is not None
                ),
                PANE_TIMEOUT_S,
                f"chat “{title}”",
            )
            return pane.message_widgets()[-1]

        open_chat("Retrying failed uploads", 2 * len(CHAT))
        self.save("chat")

        answer = open_chat("Which upload errors to retry", 2)
        wait_until(
            lambda: answer.chips.isVisible() and len(answer.chips.chips) >= 3,
            PANE_TIMEOUT_S,
            "answer's chips",
        )
        self.save("chat-cited")

        # A source chip opens the viewer at the passage's lines, as a click would.
        source_chip = next(
            c for c in answer.chips.chips if c.objectName() == "sourceChip" and "[2]" in c.text()
        )
        QTest.mouseClick(source_chip, Qt.MouseButton.LeftButton)
        wait_until(
            lambda: pane.source_viewer is not None and pane.source_viewer.isVisible(),
            PANE_TIMEOUT_S,
            "source viewer",
        )
        viewer = pane.source_viewer
        lines = viewer.view.highlighted_lines()
        wait_until(
            lambda: bool(lines) and lines[0] in viewer.view.visible_lines(),
            PANE_TIMEOUT_S,
            "source viewer's passage",
        )
        self.save("source-viewer", viewer)
        viewer.close()

        pane.focus_search()
        pane.search.field.setText(CHAT_QUERY)
        wait_until(lambda: pane.search.results.count() >= 2, PANE_TIMEOUT_S, "chat search")
        self.save("chat-search")
        pane.search.clear()

    # -- the other panes --------------------------------------------------------------------------
    def team(self) -> None:
        w = self.window
        team = w.team_pane
        w.show_pane("team")
        wait_until(lambda: team.team_list.count() >= 2, PANE_TIMEOUT_S, "Team pane's saved teams")
        row = next(
            i for i in range(team.team_list.count()) if team.team_list.item(i).text() == "Python helper"
        )
        team.team_list.setCurrentRow(row)
        wait_until(lambda: team.spec is not None, PANE_TIMEOUT_S, "Team pane's selected team")
        team.run_panel.task_edit.setPlainText(TEAM_TASK)
        self.save("team")

    def runs(self) -> None:
        w = self.window
        w.show_pane("runs")
        wait_until(
            lambda: w.runs_pane.detail.run is not None and w.runs_pane.evaluation.details.isVisible(),
            PANE_TIMEOUT_S,
            "Runs pane",
        )
        self.save("runs")

    def memory(self) -> None:
        w = self.window
        w.show_pane("memory")
        wait_until(lambda: w.memory_pane.detail.memory is not None, PANE_TIMEOUT_S, "Memory pane")
        self.save("memory")

    def vault(self) -> None:
        w = self.window
        vault = w.vault_pane
        w.show_pane("vault")
        wait_until(lambda: vault.source_list.count() >= 1, PANE_TIMEOUT_S, "Vault pane's sources")
        vault.search_edit.setText(VAULT_QUERY)
        wait_until(lambda: bool(vault.hit_cards()), PANE_TIMEOUT_S, "Vault pane's search results")
        self.save("vault")

    def models(self) -> None:
        w = self.window
        w.show_pane("models")
        wait_until(lambda: w.models_pane.model.rowCount() > 0, PANE_TIMEOUT_S, "Models pane")
        self.save("models")

    def settings_pane(self) -> None:
        w = self.window
        pane = w.settings_pane
        w.show_pane("settings")
        wait_until(
            lambda: pane._privacy_checked and not pane._privacy_running,
            PANE_TIMEOUT_S,
            "Settings pane's privacy check",
        )
        self.save("settings")

    def run_all(self) -> list[Path]:
        self.chats()
        self.team()
        self.runs()
        self.memory()
        self.vault()
        self.models()
        self.settings_pane()
        return self.written


def render_screenshots(
    out_dir: Path,
    *,
    themes: Iterable[str] = THEMES,
    size: tuple[int, int] = (1280, 800),
    on_progress: Callable[[Path], None] | None = None,
    offscreen: bool = True,
) -> list[Path]:
    """Write every pane of the demo data set to ``out_dir`` as PNGs, once per theme; returns their paths.

    ``on_progress`` is called with each path as it is written. Raises ScreenshotError (naming the pane)
    when a pane does not fill in time.
    """
    themes = tuple(themes)
    unknown = [t for t in themes if t not in THEMES]
    if unknown:
        raise ScreenshotError(f"Unknown theme {unknown[0]!r}.", f"Use one of: {', '.join(THEMES)}.")
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out_dir, suffix=".png")
        probe.close()
    except OSError as exc:
        raise ScreenshotError(
            f"Cannot write screenshots to {out_dir}: {exc.strerror or exc}.",
            "Pick a folder you can write to.",
        ) from exc

    app = _ensure_app(offscreen)
    from purpose_desktop.demo import build_demo
    from purpose_desktop.engine.vault.embed import default_embedder
    from purpose_desktop.ui.theme import apply_theme

    previous_home = os.environ.get(paths.HOME_ENV)
    home = Path(tempfile.mkdtemp(prefix="purpose-desktop-screenshots-"))
    os.environ[paths.HOME_ENV] = str(home)
    written: list[Path] = []
    try:
        # The real bundled embedder, so the vault search in the app finds the passages it indexed.
        build_demo(home, embedder=default_embedder())
        for theme in themes:
            apply_theme(app, theme)
            session = _Session(out_dir, theme, size, on_progress)
            try:
                written += session.run_all()
            finally:
                session.close()
    finally:
        if previous_home is None:
            os.environ.pop(paths.HOME_ENV, None)
        else:
            os.environ[paths.HOME_ENV] = previous_home
        shutil.rmtree(home, ignore_errors=True)
    return written


def render_runs_pane(
    out_path: Path, *, theme: str = "light", size: tuple[int, int] = (1280, 800), offscreen: bool = True
) -> Path:
    """The Runs pane on the person's own data (the current data folder) as a PNG, without the DEMO stamp.

    Nothing is written to the data folder (window state goes to a temporary file). Raises
    ScreenshotError when no evaluation has been recorded yet: the learning curve would be empty.
    """
    if theme not in THEMES:
        raise ScreenshotError(f"Unknown theme {theme!r}.", f"Use one of: {', '.join(THEMES)}.")
    out_path = Path(out_path)
    app = _ensure_app(offscreen)
    from purpose_desktop.ui.theme import apply_theme

    apply_theme(app, theme)
    with tempfile.TemporaryDirectory(prefix="purpose-desktop-shot-") as tmp:
        session = _Session(out_path.parent, theme, size, None, demo=False, ui_ini=Path(tmp) / "ui.ini")
        try:
            w = session.window
            w.show_pane("runs")
            card = w.runs_pane.evaluation
            wait_until(
                lambda: card.loaded and (not card.points or card.details.isVisible()),
                PANE_TIMEOUT_S,
                "Runs pane",
            )
            if not card.points:
                raise ScreenshotError(
                    "There is no evaluation to show yet.", "Run one first: `purpose-desktop eval run`."
                )
            settle()
            return _save(w, out_path, demo=False)
        finally:
            session.close()
