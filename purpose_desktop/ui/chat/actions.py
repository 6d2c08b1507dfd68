"""ChatActions: what a person does to messages in the chat pane — regenerate, edit and resend, copy,
"this was wrong", export, search and opening what an answer cited.

A mixin of ChatPane (it uses the pane's bridge, message list, composer and caches); kept apart so the
pane itself stays about showing chats and streaming replies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import QFileDialog

from purpose_desktop.ui.bridge import ChatRequest
from purpose_desktop.ui.chat.message_parts import WrongDialog, kind_label, short
from purpose_desktop.ui.chat.messages import MessageWidget
from purpose_desktop.ui.ops import EngineOp
from purpose_desktop.ui.source_viewer import SourceViewer, show_source

#: How long "Deleted … / … replaced. Undo" stays up (ms).
UNDO_MS = 10_000


@dataclass
class ReplyStream:
    """The reply being written: its request, where it belongs and what has arrived so far."""

    request: ChatRequest
    conversation_id: str | None  # None until a new chat is created for it
    widget: MessageWidget | None  # None while another chat is on screen
    text: str = ""
    stopping: bool = False
    mode: str = "send"  # "send" | "regenerate" | "edit"
    user_widget: MessageWidget | None = None
    #: The reply's MCP tool calls so far: record id → (record, open question or None).
    tool_calls: dict = field(default_factory=dict)


def display_key(messages) -> tuple:
    """What a chat's rendering depends on: equal keys mean nothing to redraw."""
    return tuple(
        (m.id, m.status, len(m.content), bool(m.meta.get("feedback")), len(m.meta.get("code_runs") or {}))
        for m in messages
    )


def export_file_name(title: str) -> str:
    """A safe file name for a chat's Markdown export ("Retrying failed uploads.md")."""
    name = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", title or "").strip(" .")
    return (" ".join(name.split())[:80] or "Chat") + ".md"


def marked_wrong_text(report: dict, context: dict) -> str:
    """The status-bar line after "This was wrong": which memories lost credit (named by kind and words)."""
    if report.get("already_marked"):
        return "This reply was already marked as wrong."
    texts = {m.get("id"): m for m in (context or {}).get("memories") or []}
    hit = [m for m in report.get("memories") or [] if m.get("verdict") != "neutral"] or list(
        report.get("memories") or []
    )
    if not hit:
        return "Marked as wrong. No memories were used for this reply, so none lost credit."
    names = []
    for m in hit[:3]:
        known = texts.get(m.get("id")) or {}
        label = (
            f"{kind_label(known.get('kind', 'memory'))} “{short(known.get('text', m.get('id', '')), 5, 32)}”"
        )
        if m.get("demoted"):
            label += " (demoted)"
        elif m.get("flagged"):
            label += " (flagged for review)"
        names.append(label)
    more = f" and {len(hit) - 3} more" if len(hit) > 3 else ""
    n = len(hit)
    return f"Marked as wrong — {n} memor{'y' if n == 1 else 'ies'} lost credit: {', '.join(names)}{more}."


class ChatActions:
    """Message actions for ChatPane (see the module docstring)."""

    def regenerate(self) -> None:
        """Write the latest reply again (the old one is replaced in the chat and in the store)."""
        widgets = self.message_widgets()
        last = widgets[-1] if widgets else None
        if self._current_id is None or last is None or last.role != "assistant" or last.message is None:
            self.sig_status.emit("There is no reply to write again here.", 3000)
            return
        if not self._can_start_reply():
            return
        request = self._bridge.regenerate(self._current_id)
        self.error_banner.dismiss()
        self.messages.remove_from(last)
        cached = self._cache.get(self._current_id)
        if cached is not None:
            while cached and cached[-1].role == "assistant":
                cached.pop()
        widget = self.messages.add_message("assistant", self._model_name, "", "streaming")
        self.messages.scroll_to_bottom()
        self._stream = ReplyStream(request, self._current_id, widget, mode="regenerate")
        self._set_streaming(True)

    def edit_message(self, widget: MessageWidget) -> None:
        """Put one of the person's messages in the composer to edit and resend it."""
        if widget.role != "user" or widget.message is None:
            return
        if self._stream is not None:
            self.sig_status.emit("A reply is still being written — press Esc to stop it first.", 4000)
            return
        widgets = self.message_widgets()
        later = len(widgets) - widgets.index(widget) - 1 if widget in widgets else 0
        self.composer.start_editing(widget.message.id, widget.text, later)

    def edit_last(self) -> None:
        """Edit the person's latest message (Ctrl+Shift+Up)."""
        mine = [w for w in self.message_widgets() if w.role == "user" and w.message is not None]
        if mine:
            self.edit_message(mine[-1])
        else:
            self.sig_status.emit("There is no message of yours to edit here.", 3000)

    def _resend_edited(self, message_id: str, text: str) -> None:
        if not self._can_start_reply():
            return
        conversation_id = self._current_id
        request = self._bridge.edit_and_resend(conversation_id, message_id, text)
        self.composer.cancel_editing()  # the draft the person had before editing comes back
        self.error_banner.dismiss()
        edited = next((w for w in self.message_widgets() if w.message_id == message_id), None)
        if edited is not None:
            self.messages.remove_from(edited)
        cached = self._cache.get(conversation_id)
        if cached is not None:
            ids = [m.id for m in cached]
            if message_id in ids:
                del cached[ids.index(message_id) :]
        user = self.messages.add_message("user", "You", text)
        widget = self.messages.add_message("assistant", self._model_name, "", "streaming")
        self.messages.scroll_to_bottom()
        self._stream = ReplyStream(request, conversation_id, widget, mode="edit", user_widget=user)
        self._set_streaming(True)

    def copy_last_reply(self) -> None:
        replies = [w for w in self.message_widgets() if w.role == "assistant" and w.text.strip()]
        if replies:
            replies[-1].copy_text()

    def mark_wrong(self, widget: MessageWidget | None = None) -> None:
        """Ask for an optional note, then mark a reply (default: the latest) as wrong."""
        if widget is None:
            replies = [w for w in self.message_widgets() if w.role == "assistant" and w.message is not None]
            widget = replies[-1] if replies else None
        if widget is None or widget.message is None:
            self.sig_status.emit("There is no stored reply to mark here.", 3000)
            return
        if widget.actions_row.marked:
            verdict = (widget.meta.get("feedback") or {}).get("verdict", "wrong")
            self.sig_status.emit(f"This reply is already marked as {verdict}.", 3000)
            return
        dialog = WrongDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        message_id = widget.message.id
        dialog.sig_confirmed.connect(lambda note: self._send_mark(message_id, note))
        self.wrong_dialog = dialog
        dialog.open()

    def _send_mark(self, message_id: str, note: str) -> None:
        EngineOp(self, lambda e: e.mark_wrong(message_id, note), what="marking an answer wrong").success(
            lambda report: self._on_marked_wrong(message_id, note, report)
        ).failure(self.show_error).run(self._bridge)

    def export_current(self) -> None:
        """Ask where to save the chat on screen as Markdown, then write it there (via the engine)."""
        conv = self.list_model.get(self._current_id)
        if conv is None:
            self.sig_status.emit("Open a chat to export it.", 3000)
            return
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        folder = folder if folder and Path(folder).is_dir() else str(Path.home())
        path, _filter = QFileDialog.getSaveFileName(
            self, "Export chat", str(Path(folder) / export_file_name(conv.title)), "Markdown (*.md)"
        )
        if not path:
            return
        if not path.lower().endswith((".md", ".markdown")):
            path += ".md"
        conversation_id = conv.id
        EngineOp(
            self, lambda e: str(e.export_conversation(conversation_id, path)), what="exporting a chat"
        ).success(self._on_exported).failure(self.show_error).run(self._bridge)

    def focus_search(self) -> None:
        self.search.focus()

    def open_message(self, conversation_id: str, message_id: str) -> None:
        """Show a chat and scroll to one of its messages, briefly highlighted (a search result)."""
        self._reveal_id = message_id
        if conversation_id != self._current_id:
            self.select_conversation(conversation_id)
        self._reveal_pending()

    def open_source(self, item: dict) -> SourceViewer:
        """Open a cited passage (a source chip) in the SourceViewer at its lines."""
        self.source_viewer = show_source(self, item)
        return self.source_viewer

    def _on_marked_wrong(self, message_id: str, note: str, report: dict) -> None:
        widget = next((w for w in self.message_widgets() if w.message_id == message_id), None)
        feedback = {"verdict": "wrong", "note": note}
        context: dict = {}
        if widget is not None:
            context = widget.meta.get("context") or {}
            widget.set_feedback(feedback)
        for messages in self._cache.values():
            for i, m in enumerate(messages):
                if m.id == message_id:
                    messages[i] = replace(m, meta={**m.meta, "feedback": feedback})
                    context = context or m.meta.get("context") or {}
        if self._current_id in self._cache:
            self._shown_key = display_key(self._cache[self._current_id])
        self.sig_status.emit(marked_wrong_text(report, context), 10_000)

    def _on_exported(self, path) -> None:
        self.sig_status.emit(f"Exported to {path}", 8000)

    def _on_message_action(self, action: str, widget: MessageWidget) -> None:
        if action == "edit":
            self.edit_message(widget)
        elif action == "regenerate":
            self.regenerate()
        elif action == "wrong":
            self.mark_wrong(widget)
        elif action == "good":
            self.mark_good(widget)
        elif action == "teach":
            self.teach_from_answer(widget)
        elif action.startswith(("run:", "runtests:")):
            kind, _, index = action.partition(":")
            self.run_block(widget, int(index), tests=kind == "runtests")

    def _offer_undo_replace(self, conversation_id: str, replaced: tuple, mode: str) -> None:
        """After a regenerate or an edit: say what was replaced and offer to put it back."""
        self._replaced = (conversation_id, tuple(replaced))
        later = len(replaced) - 1  # an edit replaces the original message and what followed it
        if mode == "regenerate":
            what = "The earlier reply was replaced."
        elif later < 1:
            what = "Your edited message was sent; the earlier version was replaced."
        else:
            what = (
                "Your edited message was sent; the earlier version and the "
                f"{later} message{'s' if later != 1 else ''} after it were replaced."
            )
        self.undo_banner.show_message(what, "", actions=[("Undo", self.undo_replace)], timeout_ms=UNDO_MS)

    def undo_replace(self) -> None:
        """Put back what the last regenerate or edit replaced (the new reply goes)."""
        replaced, self._replaced = self._replaced, None
        self.undo_banner.dismiss()
        if replaced is None:
            return
        if self._stream is not None:
            self._replaced = replaced
            self.sig_status.emit("A reply is still being written — stop it first, then Undo.", 4000)
            return
        conversation_id, messages = replaced
        # One service method (Engine.restore_messages), one op: the whole of "Undo" across the bridge.
        EngineOp(
            self, lambda e: e.restore_messages(conversation_id, list(messages)), what="putting back messages"
        ).success(self._on_messages_restored).failure(self.show_error).run(self._bridge)

    def _on_messages_restored(self, messages) -> None:
        if not messages:
            return
        conversation_id = messages[0].conversation_id
        self._cache[conversation_id] = list(messages)
        if conversation_id == self._current_id:
            self._render(conversation_id, list(messages))
        self.sig_status.emit("Put back what was there before.", 4000)
