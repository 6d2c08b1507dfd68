"""Screenshots of the themed window (chat with code, loading, error banner).

They go to a temp dir; set PURPOSE_SCREENSHOTS=1 to refresh docs/screenshots/ instead.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from purpose_desktop.engine.core import Engine
from purpose_desktop.engine.errors import ModelError
from purpose_desktop.ui.screenshots import DEMO_STAMP_COLOR, stamp_demo
from purpose_desktop.ui.theme import apply_theme
from tests.fakes import ScriptedModel
from tests.ui.conftest import settled
from tests.ui.test_chat_window import type_and_send

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

REPLY = """Here is a small function that checks whether a number is prime:

```python
def is_prime(n: int) -> bool:
    \"\"\"Return True if n is a prime number.\"\"\"
    if n < 2:
        return False
    for d in range(2, int(n ** 0.5) + 1):
        if n % d == 0:
            return False
    return True
```

It tries every divisor up to **the square root** of `n`, so it runs in *O(√n)* time.

- For very large numbers use `sympy.isprime`.
- Test it with `pytest`: `assert is_prime(97)`."""


@pytest.fixture
def themed(qapp):
    style, sheet, palette, font = qapp.style().name(), qapp.styleSheet(), qapp.palette(), qapp.font()
    apply_theme(qapp)
    yield qapp
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    qapp.setFont(font)
    qapp.setStyle(style)


@pytest.fixture
def shots(tmp_path) -> Path:
    if os.environ.get("PURPOSE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path


def _save(window, path: Path) -> None:
    # Scripted replies: demo data, stamped as such like every `purpose-desktop screenshots` image.
    assert stamp_demo(window.grab()).save(str(path))
    image = QImage(str(path))
    assert image.width() >= 900 and image.height() >= 600
    assert_stamped(image)


def assert_stamped(image: QImage) -> None:
    """The DEMO DATA badge is in the top-right corner (its colour, a few pixels in from its edge)."""
    probe = image.pixelColor(image.width() - 14, 8)
    assert probe.name() == DEMO_STAMP_COLOR, f"no demo stamp: {probe.name()} at the top right"


def test_screenshot_chat_with_code(qtbot, make_app, themed, shots):
    app = make_app(ScriptedModel(replies=["Sure — what would you like it to do?", REPLY]))
    app.window.resize(1180, 760)
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, app.pane, "Help me write a prime checker")
    app.pane.new_chat()
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, app.pane, "Write a Python function that checks whether a number is prime.")
    qtbot.wait(50)
    _save(app.window, shots / "chat.png")


def test_screenshot_loading(qtbot, make_app, themed, shots):
    gate = threading.Event()

    def slow(_path, **_kw):
        gate.wait(10)
        return ScriptedModel()

    app = make_app(engine_factory=lambda: Engine(model_factory=slow), wait_ready=False)
    app.window.resize(1180, 760)
    qtbot.waitUntil(lambda: app.window.load_progress.isVisible(), timeout=3000)
    qtbot.wait(50)
    _save(app.window, shots / "loading.png")
    gate.set()
    qtbot.waitUntil(lambda: app.pane.model_state == "ready", timeout=5000)


def test_screenshot_error_banner(qtbot, make_app, themed, shots):
    def broken(_path, **_kw):
        raise ModelError(
            "This file is not a GGUF model: notes.txt",
            "Pick a .gguf file (LM Studio, Ollama and GPT4All models work), or use the bundled model.",
        )

    app = make_app(engine_factory=lambda: Engine(model_factory=broken), wait_ready=False)
    app.window.resize(1180, 760)
    qtbot.waitUntil(lambda: app.pane.error_banner.isVisible(), timeout=5000)
    qtbot.wait(50)
    _save(app.window, shots / "error.png")


def test_screenshot_streaming_then_stopped(qtbot, make_app, themed, shots):
    hold = threading.Event()
    app = make_app(ScriptedModel(replies=["Older answer.", REPLY], hold=hold, hold_after=52))
    app.window.resize(1180, 760)
    hold.set()
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=5000):
        type_and_send(qtbot, app.pane, "A chat to delete")
    hold.clear()
    app.pane.new_chat()
    type_and_send(qtbot, app.pane, "Write a Python function that checks whether a number is prime.")
    qtbot.waitUntil(lambda: "range(2," in app.pane.message_widgets()[-1].text, timeout=5000)
    qtbot.wait(60)
    _save(app.window, shots / "streaming.png")  # an unterminated fence renders as a growing code block
    with qtbot.waitSignal(app.bridge.sig_reply_cancelled, timeout=5000):
        app.pane.stop()
    deleted = next(c for c in app.pane.list_model.conversations() if c.title == "A chat to delete")
    with settled(qtbot, app.bridge, 5000):
        app.pane.delete_conversation(deleted.id)
    qtbot.wait(60)
    _save(app.window, shots / "stopped.png")
