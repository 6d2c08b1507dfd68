"""Streaming overhead of the app vs raw llama-cpp-python, same prompt and seed, alternating in one run.

App path: EngineBridge → engine QThread → Engine → LocalModel → tokens → a real offscreen ChatPane,
timed where the GUI receives them. Prints one JSON object:
{"raw_tok_s", "app_tok_s", "ratio", "raw_ttft_ms", "app_ttft_ms", ...}. Target: ratio ≥ 0.97,
TTFT overhead ≤ 20 ms.
"""

from __future__ import annotations

import json
import os
import time

from _common import PROMPT, median, rate

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
MAX_TOKENS = int(os.environ.get("BENCH_MAX_TOKENS", "300"))


def raw_run(llm, messages) -> tuple[float, float | None, int]:
    start = time.perf_counter()
    stamps: list[float] = []
    stream = llm.create_chat_completion(
        messages=messages, stream=True, max_tokens=MAX_TOKENS, temperature=0.0, seed=0, top_k=40, top_p=0.95,
        repeat_penalty=1.1,
    )
    for chunk in stream:
        if chunk["choices"][0]["delta"].get("content"):
            stamps.append(time.perf_counter())
    return (stamps[0] - start) * 1000, rate(stamps), len(stamps)


def main() -> None:
    import llama_cpp
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.models import default_model_path
    from purpose_desktop.engine.models.gguf import read_gguf_info
    from purpose_desktop.engine.models.local import default_n_ctx
    from purpose_desktop.engine.settings import EngineSettings
    from purpose_desktop.ui.bridge import EngineBridge
    from purpose_desktop.ui.main_window import MainWindow

    path = default_model_path()
    settings = EngineSettings(temperature=0.0, max_tokens=MAX_TOKENS)
    n_ctx = default_n_ctx(read_gguf_info(path))
    llm = llama_cpp.Llama(str(path), n_ctx=n_ctx, n_threads=os.cpu_count(), n_batch=256, verbose=False)
    messages = [{"role": "system", "content": settings.system_prompt}, {"role": "user", "content": PROMPT}]

    _app = QApplication.instance() or QApplication([])  # kept alive for the whole run
    bridge = EngineBridge(lambda: Engine(settings=settings))
    window = MainWindow(bridge)
    window.resize(1000, 700)
    window.show()
    loop = QEventLoop()
    bridge.sig_model_loaded.connect(lambda *_: loop.quit())
    bridge.start()
    loop.exec()

    def app_run() -> tuple[float, float | None, int]:
        stamps: list[float] = []
        done = QEventLoop()

        def on_token(_rid, _text):
            stamps.append(time.perf_counter())

        def on_end(*_):
            QTimer.singleShot(0, done.quit)

        bridge.sig_token_received.connect(on_token)
        bridge.sig_reply_finished.connect(on_end)
        bridge.sig_reply_failed.connect(on_end)
        pane = window.chat_pane
        pane.new_chat()
        pane.input.setPlainText(PROMPT)
        start = time.perf_counter()
        pane.send()  # the person's path: pane → bridge → engine thread; tokens render in the pane
        done.exec()
        bridge.sig_token_received.disconnect(on_token)
        bridge.sig_reply_finished.disconnect(on_end)
        bridge.sig_reply_failed.disconnect(on_end)
        return (stamps[0] - start) * 1000 if stamps else None, rate(stamps), len(stamps)

    raw_run(llm, messages)  # warm both paths once (page cache, first-call costs)
    app_run()
    raw, appr = [], []
    for _ in range(ROUNDS):
        raw.append(raw_run(llm, messages))
        appr.append(app_run())
    window.close()
    bridge.shutdown()
    llm.close()
    raw_tok_s, app_tok_s = median([r[1] for r in raw]), median([a[1] for a in appr])
    raw_ttft, app_ttft = median([r[0] for r in raw]), median([a[0] for a in appr])
    print(
        json.dumps(
            {
                "raw_tok_s": round(raw_tok_s, 1),
                "app_tok_s": round(app_tok_s, 1),
                "ratio": round(app_tok_s / raw_tok_s, 3),
                "raw_ttft_ms": round(raw_ttft, 1),
                "app_ttft_ms": round(app_ttft, 1),
                "ttft_overhead_ms": round(app_ttft - raw_ttft, 1),
                "tokens": {"raw": [r[2] for r in raw], "app": [a[2] for a in appr]},
                "rounds": ROUNDS,
                "cpu_count": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
