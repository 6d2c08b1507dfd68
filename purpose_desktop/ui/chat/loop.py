"""ChatLoopActions: chat inside the learning loop — Run a code block (or the attached tests), Good answer,
Teach from this answer — and the TestsBar that attaches test files to a chat.

A mixin of ChatPane beside ChatActions; every engine call goes through ``engine.chat_loop`` in one EngineOp.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from purpose_desktop.ui.chat.messages import MessageWidget
from purpose_desktop.ui.memory.lesson_dialog import LessonDialog
from purpose_desktop.ui.ops import EngineOp


class TestsBar(QWidget):
    """One slim row above the composer: the chat's attached test files and "Attach tests…"."""

    __test__ = False  # not a pytest class, whatever its name says

    #: the person asked to attach a test file.
    sig_attach_requested = Signal()
    #: (attachment id) the person removed one.
    sig_detach_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("testsBar")
        row = self._row = QHBoxLayout(self)
        row.setContentsMargins(4, 0, 4, 0)
        row.setSpacing(6)
        self.label = QLabel("Tests:", objectName="mutedText")
        row.addWidget(self.label)
        self._chips: list[QWidget] = []
        self.empty_label = QLabel(
            "none attached — “Run the tests” appears on code blocks once you attach some",
            objectName="mutedText",
        )
        row.addWidget(self.empty_label)
        row.addStretch(1)
        self.attach_button = QPushButton("Attach tests…", objectName="secondaryButton")
        self.attach_button.setToolTip(
            "Attach a pytest file (test_*.py) to this chat; it imports the answer's code as `solution`"
        )
        self.attach_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.attach_button.clicked.connect(self.sig_attach_requested)
        row.addWidget(self.attach_button)
        self.attachments: list[dict] = []

    def set_attachments(self, attachments: list[dict]) -> None:
        for chip in self._chips:
            self._row.removeWidget(chip)
            chip.deleteLater()
        self._chips = []
        self.attachments = list(attachments)
        for i, att in enumerate(self.attachments):
            chip = QToolButton(self, objectName="attachmentChip")
            chip.setText(f"{att['name']}  ✕")
            chip.setToolTip(
                f"{att['name']} · {att.get('lines', 0)} lines — click to detach it from this chat"
            )
            chip.setAutoRaise(True)
            chip.clicked.connect(lambda _=False, aid=att["id"]: self.sig_detach_requested.emit(aid))
            self._row.insertWidget(1 + i, chip)
            self._chips.append(chip)
        self.empty_label.setVisible(not self.attachments)

    def names(self) -> list[str]:
        return [a["name"] for a in self.attachments]


class ChatLoopActions:
    """Run, Good answer, Teach from this answer and attached tests, for ChatPane (see the module docstring)."""

    lesson_dialog: LessonDialog | None = None

    # -- attached tests ---------------------------------------------------------------------------------
    def _build_tests_bar(self) -> TestsBar:
        self.tests_bar = TestsBar()
        self.tests_bar.sig_attach_requested.connect(self.attach_tests)
        self.tests_bar.sig_detach_requested.connect(self._detach_tests)
        self.tests_bar.hide()  # shown once a stored chat is open
        return self.tests_bar

    def _load_attachments(self, conversation_id: str | None) -> None:
        if conversation_id is None:
            self._on_attachments(None, [])
            return
        EngineOp(
            self, lambda e: e.chat_loop.attachments(conversation_id), what="listing a chat's tests"
        ).success(lambda atts: self._on_attachments(conversation_id, atts)).failure(self.show_error).run(
            self._bridge
        )

    def _on_attachments(self, conversation_id: str | None, attachments: list[dict]) -> None:
        if conversation_id != self._current_id:
            return
        self.tests_bar.set_attachments(attachments)
        self.tests_bar.setVisible(conversation_id is not None)
        self._apply_tests_flag()

    def _apply_tests_flag(self) -> None:
        attached = bool(self.tests_bar.attachments) and self.tests_bar.isVisibleTo(self)
        for w in self.message_widgets():
            if w.role == "assistant":
                w.set_tests_attached(attached)

    def attach_tests(self, path: str | None = None) -> None:
        """Ask for a pytest file (unless ``path`` is given) and attach it to the chat on screen."""
        conversation_id = self._current_id
        if conversation_id is None:
            self.sig_status.emit("Send a first message, then attach tests to the chat.", 4000)
            return
        if not path:
            path, _filter = QFileDialog.getOpenFileName(
                self,
                "Attach tests to this chat",
                str(Path.home()),
                "Python tests (test_*.py *_test.py);;Python (*.py)",
            )
        if not path:
            return
        EngineOp(
            self, lambda e: e.chat_loop.attach_tests(conversation_id, path), what="attaching tests"
        ).success(lambda att: self._on_attached(conversation_id, att)).failure(self.show_error).run(
            self._bridge
        )

    def _on_attached(self, conversation_id: str, att: dict) -> None:
        self.sig_status.emit(
            f"Attached {att['name']}: “Run the tests” is on this chat's Python blocks.", 5000
        )
        self._load_attachments(conversation_id)

    def _detach_tests(self, attachment_id: str) -> None:
        conversation_id = self._current_id
        EngineOp(self, lambda e: e.chat_loop.detach(attachment_id), what="detaching tests").success(
            lambda _r: self._load_attachments(conversation_id)
        ).failure(self.show_error).run(self._bridge)

    # -- running code ------------------------------------------------------------------------------------
    def run_block(self, widget: MessageWidget, index: int, tests: bool = False) -> None:
        """Run code block ``index`` of an answer in the sandbox; the output appears under the block."""
        if widget.message is None:
            return
        message_id = widget.message.id
        widget.set_running(index, tests)
        EngineOp(
            self,
            lambda e: e.chat_loop.run_block(message_id, index, tests=tests),
            what="running the tests" if tests else "running code",
        ).success(lambda record: self._on_ran(message_id, index, record)).failure(
            lambda err: self._on_run_failed(message_id, index, err)
        ).run(self._bridge)

    def _widget_for(self, message_id: str) -> MessageWidget | None:
        return next((w for w in self.message_widgets() if w.message_id == message_id), None)

    def _on_ran(self, message_id: str, index: int, record: dict) -> None:
        self._cache_meta(message_id, "code_runs", {str(index): record})
        widget = self._widget_for(message_id)
        if widget is not None:
            widget.set_run(index, record)
        from purpose_desktop.ui.chat.markdown import run_summary

        self.sig_status.emit(f"Code block {index + 1}: {run_summary(record)[1]}", 6000)

    def _on_run_failed(self, message_id: str, index: int, err) -> None:
        widget = self._widget_for(message_id)
        if widget is not None:
            widget.set_run(index, None)
        self.show_error(err)

    def _cache_meta(self, message_id: str, key: str, value: dict) -> None:
        """Keep the chat's cached copy of a message in step with what the engine stored."""
        from dataclasses import replace

        for messages in self._cache.values():
            for i, m in enumerate(messages):
                if m.id == message_id:
                    merged = {**(m.meta.get(key) or {}), **value} if key == "code_runs" else value
                    messages[i] = replace(m, meta={**m.meta, key: merged})

    # -- good answer ----------------------------------------------------------------------------------
    def _latest_reply(self) -> MessageWidget | None:
        replies = [w for w in self.message_widgets() if w.role == "assistant" and w.message is not None]
        return replies[-1] if replies else None

    def mark_good(self, widget: MessageWidget | None = None) -> None:
        """Mark a reply (default: the latest) as good: the memories it used gain credit."""
        widget = widget or self._latest_reply()
        if widget is None or widget.message is None:
            self.sig_status.emit("There is no stored reply to mark here.", 3000)
            return
        if widget.actions_row.marked:
            verdict = (widget.meta.get("feedback") or {}).get("verdict", "good")
            self.sig_status.emit(f"This reply is already marked as {verdict}.", 3000)
            return
        message_id = widget.message.id
        EngineOp(self, lambda e: e.chat_loop.mark_good(message_id), what="marking an answer good").success(
            lambda report: self._on_marked_good(message_id, report)
        ).failure(self.show_error).run(self._bridge)

    def _on_marked_good(self, message_id: str, report: dict) -> None:
        if report.get("already_marked"):
            self.sig_status.emit(f"This reply is already marked as {report.get('verdict', 'good')}.", 4000)
            return
        feedback = {"verdict": "good", "note": "", "evidence": report.get("evidence", "")}
        self._cache_meta(message_id, "feedback", feedback)
        widget = self._widget_for(message_id)
        if widget is not None:
            widget.set_feedback(feedback)
        n = len(report.get("memories") or [])
        if n:
            text = f"Marked as good — {n} memor{'y' if n == 1 else 'ies'} gained credit (evidence: {report['evidence']})."
        else:
            text = "Marked as good. No memories were used for this reply, so none gained credit."
        self.sig_status.emit(text, 10_000)

    # -- teach from this answer -----------------------------------------------------------------------
    def teach_from_answer(self, widget: MessageWidget | None = None) -> None:
        """Draft a lesson from an answer (default: the latest); the person edits it; it goes to review."""
        widget = widget or self._latest_reply()
        if widget is None or widget.message is None:
            self.sig_status.emit("There is no stored reply to teach from here.", 3000)
            return
        message_id = widget.message.id
        EngineOp(self, lambda e: e.chat_loop.draft_lesson(message_id), what="drafting a lesson").success(
            lambda draft: self._open_lesson_dialog(message_id, draft)
        ).failure(self.show_error).run(self._bridge)

    def _open_lesson_dialog(self, message_id: str, draft: dict) -> LessonDialog:
        dialog = LessonDialog(
            "Teach from this answer",
            "A lesson drafted from this answer. Edit it so it says what is worth remembering; it is then "
            "scanned and held for review (re-test it and approve it in Memory) before any prompt uses it.",
            confirm="Send to review",
            text=draft.get("text", ""),
            kind=draft.get("kind", "skill_card"),
            scope=draft.get("scope"),
            evidence=draft.get("evidence", ""),
            parent=self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.sig_confirmed.connect(
            lambda text, kind, scope: self._submit_lesson(message_id, text, kind, scope)
        )
        self.lesson_dialog = dialog
        dialog.open()
        return dialog

    def _submit_lesson(self, message_id: str, text: str, kind: str, scope: dict) -> None:
        def submit(e):
            return e.chat_loop.teach_from_answer(message_id, text, kind=kind, scope=scope).to_dict()

        EngineOp(self, submit, what="sending a lesson to review").success(self._on_lesson_submitted).failure(
            self.show_error
        ).run(self._bridge)

    def _on_lesson_submitted(self, result: dict) -> None:
        memory = result.get("memory") or {}
        outcome = result.get("outcome")
        if outcome == "rejected":
            self.sig_status.emit(
                f"The immune scan rejected the lesson: {memory.get('status_reason', '')}", 12_000
            )
        elif outcome in ("strengthened", "seen_again"):
            self.sig_status.emit(
                "You already have this lesson; it was strengthened instead of added again.", 8000
            )
        else:
            self.sig_status.emit(
                "Lesson sent to review: it waits in Memory for a re-test and your approval.", 8000
            )
        self.last_lesson_result = result
