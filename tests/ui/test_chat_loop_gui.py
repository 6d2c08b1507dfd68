"""Chat inside the learning loop, driven like a person: Run a code block, attach tests and Run the tests,
Good answer, Teach from this answer — against the real engine thread, a real SQLite file and the real sandbox."""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QFileDialog

from purpose_desktop.engine.memory.api import MemoryBank
from purpose_desktop.engine.memory.records import Scope
from purpose_desktop.engine.store import Store
from tests.fakes import ScriptedModel
from tests.ui.conftest import settled
from tests.ui.test_chat_window import assistant, press, type_and_send

ANSWER = (
    "Here is a function that adds two numbers:\n\n"
    "```python\ndef add(a, b):\n    return a + b\n\nprint(add(2, 3))\n```\n\n"
    "And a shell line:\n\n```bash\necho hi\n```\n"
)
TESTS = "from solution import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_neg():\n    assert add(-1, 1) == 0\n"
RUN_MS = 60_000


def _seed_memory(home) -> str:
    with Store(home / "purpose.db") as store:
        bank = MemoryBank(store)
        m = bank.submit(
            "To add two numbers in Python use the plus operator in a function.",
            kind="skill_card",
            scope=Scope(roles=("coder",)),
            provenance={"source": "run"},
        ).memory
        return bank.approve(m.id).id


def test_run_a_block_run_the_tests_good_answer_and_teach_from_it(
    qtbot, make_app, demo_embedder, _isolated_home, monkeypatch, tmp_path
):
    memory_id = _seed_memory(_isolated_home)
    app = make_app(ScriptedModel(replies=[ANSWER]))
    pane = app.pane
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=20_000):
        type_and_send(qtbot, pane, "add two numbers Python")
    reply = assistant(pane)
    qtbot.waitUntil(lambda: reply.message is not None and reply.actions_row.isVisible())
    # The coder's lesson shaped the answer, and its chip says whose it is.
    assert any("(coder)" in t for t in reply.chips.chip_texts())

    # "Run" is on the Python block only (the bash block gets Copy alone), and no tests are attached yet.
    html = reply.body.toHtml()
    assert 'href="run:0"' in html and 'href="run:1"' not in html and "runtests:" not in html
    reply.body.anchorClicked.emit(QUrl("run:0"))  # what clicking the link does
    qtbot.waitUntil(lambda: "Output · ✓ Ran in the sandbox" in reply.body.toPlainText(), timeout=RUN_MS)
    text = reply.body.toPlainText()
    assert "\n5\n" in text + "\n"
    assert text.index("print(add(2, 3))") < text.index("Output ·") < text.index("And a shell line")

    # Attach a test file from the tests bar; "Run the tests" appears; it runs against the block.
    tests = tmp_path / "test_add.py"
    tests.write_text(TESTS, encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(tests), ""))
    assert pane.tests_bar.isVisible() and pane.tests_bar.empty_label.isVisible()
    with settled(qtbot, app.bridge):
        qtbot.mouseClick(pane.tests_bar.attach_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.tests_bar.names() == ["test_add.py"])
    qtbot.waitUntil(lambda: 'href="runtests:0"' in reply.body.toHtml())
    reply.body.anchorClicked.emit(QUrl("runtests:0"))
    qtbot.waitUntil(lambda: "Tests passed (2 passed, 0 failed)" in reply.body.toPlainText(), timeout=RUN_MS)

    # Good answer: the lesson gains credit, the reply says so, and neither verdict can be given again.
    row = reply.actions_row
    assert row.good_button.isVisible() and row.good_button.isEnabled()
    with settled(qtbot, app.bridge):
        qtbot.mouseClick(row.good_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: row.feedback_label.text() == "✓ Marked as good")
    assert "passed 2 attached test(s)" in row.feedback_label.toolTip()
    assert not row.good_button.isEnabled() and not row.wrong_button.isEnabled()
    with Store(_isolated_home / "purpose.db") as store:
        m = MemoryBank(store).get(memory_id)
        assert m.helped == 1 and m.utility > 0.5

    # Teach from this answer: a draft with the code that passed, edited, then held for review.
    with settled(qtbot, app.bridge):
        qtbot.mouseClick(row.teach_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.lesson_dialog is not None and pane.lesson_dialog.isVisible())
    dialog = pane.lesson_dialog
    assert "return a + b" in dialog.text_edit.toPlainText() and dialog.kind() == "episodic_case"
    assert "passed 2 attached test(s)" in dialog.evidence_label.text()
    dialog.grab().save("/tmp/chatloop-teach-dialog.png")
    dialog.text_edit.moveCursor(dialog.text_edit.textCursor().MoveOperation.End)
    qtbot.keyClick(dialog.text_edit, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.text_edit, "Check negative numbers as well.")
    dialog.project_edit.setText("Calc")
    with settled(qtbot, app.bridge):
        qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: getattr(pane, "last_lesson_result", None) is not None)
    result = pane.last_lesson_result
    assert result["outcome"] == "quarantined"
    lesson = result["memory"]
    assert lesson["text"].endswith("Check negative numbers as well.") and lesson["kind"] == "episodic_case"
    assert lesson["scope"]["roles"] == ["assistant", "coder"] and lesson["scope"]["tags"] == ["project:calc"]
    assert lesson["provenance"][0]["message_id"] == reply.message_id
    app.window.grab().save("/tmp/chatloop-chat.png")

    # The runs and the verdict were stored on the answer: they come back when the chat is opened again.
    with Store(_isolated_home / "purpose.db") as store:
        meta = store.get_message(reply.message_id).meta
    assert meta["code_runs"]["0"]["kind"] == "tests" and meta["feedback"]["verdict"] == "good"


def test_a_refused_run_shows_not_run_with_the_reason(qtbot, make_app, monkeypatch):
    from purpose_desktop.engine.tools import sandbox

    monkeypatch.delenv(sandbox.APPROVAL_ENV, raising=False)
    monkeypatch.delenv(sandbox.BACKEND_ENV, raising=False)
    monkeypatch.setattr(sandbox, "missing_essentials", lambda backend=None: ["network_isolated"])
    monkeypatch.setattr(sandbox, "unprotected_approved", lambda: False)
    app = make_app(ScriptedModel(replies=[ANSWER]))
    with qtbot.waitSignal(app.bridge.sig_reply_finished, timeout=20_000):
        type_and_send(qtbot, app.pane, "add two numbers")
    reply = assistant(app.pane)
    qtbot.waitUntil(lambda: reply.message is not None)
    reply.body.anchorClicked.emit(QUrl("run:0"))
    qtbot.waitUntil(lambda: "Output · Not run — " in reply.body.toPlainText(), timeout=RUN_MS)
    text = reply.body.toPlainText()
    assert "network_isolated" in text and "Failed" not in text and "✗" not in text
    # Ctrl+Shift+G marks the latest reply good (no memories shaped it: none gained credit, and it says so).
    with settled(qtbot, app.bridge):
        press(
            app.window, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        )
    qtbot.waitUntil(lambda: reply.actions_row.feedback_label.text() == "✓ Marked as good")
    assert "your word" in reply.actions_row.feedback_label.toolTip()
    app.window.grab().save("/tmp/chatloop-not-run.png")
