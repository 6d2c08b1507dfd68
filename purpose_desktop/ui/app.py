"""Builds the QApplication, EngineBridge and MainWindow; owns start-up and shutdown order."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from purpose_desktop.engine import paths
from purpose_desktop.ui.bridge import EngineBridge
from purpose_desktop.ui.main_window import APP_TITLE, MainWindow
from purpose_desktop.ui.theme import apply_theme, icon

log = logging.getLogger(__name__)

LOG_FILENAME = "purpose-desktop.log"


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
    log_path = setup_logging()
    log.info("starting %s (log: %s)", APP_TITLE, log_path)

    QApplication.setApplicationName(APP_TITLE)
    QApplication.setOrganizationName("PurposeDesktop")
    QApplication.setApplicationDisplayName(APP_TITLE)
    QApplication.setDesktopFileName("purpose-desktop")
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "purpose-desktop", *argv])
    app.setWindowIcon(icon("app"))
    apply_theme(app)
    QThread.currentThread().setObjectName("gui")

    reporter = _CrashReporter(log_path)
    previous_hooks = (sys.excepthook, threading.excepthook)
    sys.excepthook = reporter.excepthook
    threading.excepthook = reporter.thread_excepthook

    # The window appears at once; the engine opens the database and loads the model on its own thread.
    bridge = EngineBridge()
    window = MainWindow(bridge)
    window.show()
    app.aboutToQuit.connect(bridge.shutdown)
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
