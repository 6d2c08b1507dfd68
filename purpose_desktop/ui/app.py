"""Builds the QApplication, EngineBridge and MainWindow; owns start-up and shutdown order."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
import threading
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QThread, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from purpose_desktop.engine import paths
from purpose_desktop.ui.bridge import EngineBridge
from purpose_desktop.ui.main_window import APP_TITLE, MainWindow, default_settings
from purpose_desktop.ui.settings_pane import saved_theme
from purpose_desktop.ui.theme import apply_theme, icon

log = logging.getLogger(__name__)

LOG_FILENAME = "purpose-desktop.log"
NATIVE_LOG_FILENAME = "stderr.log"
# bench/dist.py: the app writes time.time() of the window's first expose to this file, then quits.
SHOWN_FILE_ENV = "PURPOSE_DESKTOP_SHOWN_FILE"


def setup_logging() -> Path:
    """Log to a rotating file in the user's log folder (and warnings to stderr); returns the file."""
    path = paths.log_dir() / LOG_FILENAME
    root = logging.getLogger()
    if not any(getattr(h, "_purpose_desktop", False) for h in root.handlers):
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(threadName)s] %(name)s: %(message)s")
        )
        handler._purpose_desktop = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        console = logging.StreamHandler()
        console.setLevel(logging.WARNING)
        console._purpose_desktop = True  # type: ignore[attr-defined]
        root.addHandler(console)
    root.setLevel(logging.INFO)
    return path


def redirect_native_output(log_dir: Path) -> Path | None:
    """Without a terminal (the frozen app started from a desktop, a windowed build without a console),
    send file descriptors 1 and 2 — llama.cpp's and Qt's own messages, Python's stderr — to a log file.
    Returns the file, or None when a terminal (or a test's capture) keeps them."""
    try:
        terminal = sys.stderr is not None and os.isatty(2)
    except (OSError, ValueError):
        terminal = False
    if terminal or not (getattr(sys, "frozen", False) or sys.stderr is None):
        return None
    path = log_dir / NATIVE_LOG_FILENAME
    try:
        if path.exists() and path.stat().st_size > 2_000_000:
            path.replace(path.with_name(NATIVE_LOG_FILENAME + ".1"))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError:
        return None
    for target in (1, 2):
        os.dup2(fd, target)
    os.close(fd)
    if sys.stdout is None:  # a windowed build starts without them
        sys.stdout = open(1, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)
    if sys.stderr is None:
        sys.stderr = open(2, "w", encoding="utf-8", errors="replace", buffering=1, closefd=False)
    return path


class _FirstExpose(QObject):
    """Logs when the window is first on screen (and, for bench/dist.py, writes the time and quits)."""

    def __init__(self, app: QApplication, started: float) -> None:
        super().__init__()
        self.app = app
        self.started = started

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Expose and obj.isExposed():
            obj.removeEventFilter(self)
            log.info("window shown %.2f s after main() started", time.perf_counter() - self.started)
            target = os.environ.get(SHOWN_FILE_ENV)
            if target:
                Path(target).write_text(repr(time.time()), encoding="utf-8")
                QTimer.singleShot(0, self.app.quit)
        return False


class _CrashReporter(QObject):
    """Shows unexpected exceptions in a dialog on the GUI thread, whichever thread raised them."""

    sig_exception = Signal(str)

    def __init__(self, log_path: Path) -> None:
        super().__init__()
        self.log_path = log_path
        self._showing = False
        self.sig_exception.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def excepthook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.critical("unexpected exception", exc_info=(exc_type, exc, tb))
        summary = "".join(traceback.format_exception_only(exc_type, exc)).strip()
        self.sig_exception.emit(summary)

    def thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        self.excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    def _show(self, summary: str) -> None:
        if self._showing:  # one dialog at a time; the rest are in the log
            return
        self._showing = True
        try:
            box = QMessageBox(QMessageBox.Icon.Critical, APP_TITLE, "Something went wrong.")
            box.setInformativeText(
                f"{summary}\n\nPurpose Desktop keeps running, but you may want to restart it. "
                f"The details are in the log:\n{self.log_path}"
            )
            box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            box.exec()
        finally:
            self._showing = False


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="purpose-desktop", description="Purpose Desktop, the window.")
    parser.add_argument(
        "--model", metavar="PATH", help="a .gguf file (or model id) to load instead of the default"
    )
    # Qt's own arguments (-platform, -style …) pass through untouched.
    args, _unknown = parser.parse_known_args(argv)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the window until it is closed; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    started = time.perf_counter()
    native_log = redirect_native_output(paths.log_dir())
    log_path = setup_logging()
    if native_log:
        log.info("native output (llama.cpp, Qt) goes to %s", native_log)
    log.info("starting %s (log: %s)", APP_TITLE, log_path)

    QApplication.setApplicationName(APP_TITLE)
    QApplication.setOrganizationName("PurposeDesktop")
    QApplication.setApplicationDisplayName(APP_TITLE)
    QApplication.setDesktopFileName("purpose-desktop")
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "purpose-desktop", *argv])
    app.setWindowIcon(icon("app"))
    settings = default_settings()
    apply_theme(app, saved_theme(settings))
    QThread.currentThread().setObjectName("gui")

    reporter = _CrashReporter(log_path)
    previous_hooks = (sys.excepthook, threading.excepthook)
    sys.excepthook = reporter.excepthook
    threading.excepthook = reporter.thread_excepthook

    # The window appears at once; the engine opens the database and loads the model on its own thread.
    bridge = EngineBridge()
    window = MainWindow(bridge, settings)
    window.show()
    first_expose = _FirstExpose(app, started)
    if window.windowHandle() is not None:
        window.windowHandle().installEventFilter(first_expose)
    # The server (Settings → Server) stops first: its requests run on the engine thread.
    app.aboutToQuit.connect(window.settings_pane.server_section.controller.stop)
    app.aboutToQuit.connect(bridge.shutdown)
    from purpose_desktop.ui.first_run import maybe_show_first_run

    maybe_show_first_run(window, bridge)  # the guide, once, after the engine is up
    bridge.start(args.model)
    try:
        code = app.exec()
    finally:
        clean = bridge.shutdown()  # no-op if aboutToQuit already did it
        sys.excepthook, threading.excepthook = previous_hooks
        log.info("exit %s", "clean" if clean else "with the engine still busy")
    if not clean:
        # A model load or prompt evaluation cannot be interrupted; don't let Qt abort on a running
        # QThread at interpreter exit. Everything committed is safe in SQLite (WAL).
        logging.shutdown()
        os._exit(code or 0)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
