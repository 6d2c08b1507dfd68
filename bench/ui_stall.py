"""GUI responsiveness while a reply streams: a 5 ms QTimer heartbeat on the GUI thread during a
300-token stream from the real model into a real offscreen ChatPane.

Prints {"p99_gap_ms", "max_gap_ms", ...}. Target: max gap < 50 ms (the GUI never waits on the model).
"""

from __future__ import annotations

import json
import os
import time

from _common import PROMPT

MAX_TOKENS = int(os.environ.get("BENCH_MAX_TOKENS", "300"))


def main() -> None:
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.settings import EngineSettings
    from purpose_desktop.ui.bridge import EngineBridge
    from purpose_desktop.ui.main_window import MainWindow

    _app = QApplication.instance() or QApplication([])  # kept alive for the whole run
    settings = EngineSettings(temperature=0.0, max_tokens=MAX_TOKENS)
    bridge = EngineBridge(lambda: Engine(settings=settings))
    window = MainWindow(bridge)
    window.resize(1000, 700)
    window.show()
    loop = QEventLoop()
    bridge.sig_model_loaded.connect(lambda *_: loop.quit())
    bridge.start()
    loop.exec()

    beats: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(5)
    timer.timeout.connect(lambda: beats.append(time.perf_counter()))
    tokens = [0]
    bridge.sig_token_received.connect(lambda *_: tokens.__setitem__(0, tokens[0] + 1))
    done = QEventLoop()
    bridge.sig_reply_finished.connect(lambda *_: QTimer.singleShot(0, done.quit))
    bridge.sig_reply_failed.connect(lambda *_: QTimer.singleShot(0, done.quit))

    pane = window.chat_pane
    pane.input.setPlainText(PROMPT)
    timer.start()
    started = time.perf_counter()
    pane.send()
    done.exec()
    timer.stop()
    elapsed = time.perf_counter() - started
    gaps = sorted((b - a) * 1000 for a, b in zip(beats, beats[1:], strict=False))
    p99 = gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))] if gaps else None
    window.close()
    bridge.shutdown()
    print(
        json.dumps(
            {
                "p99_gap_ms": round(p99, 2) if p99 is not None else None,
                "max_gap_ms": round(gaps[-1], 2) if gaps else None,
                "median_gap_ms": round(gaps[len(gaps) // 2], 2) if gaps else None,
                "beats": len(beats),
                "tokens": tokens[0],
                "stream_s": round(elapsed, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
