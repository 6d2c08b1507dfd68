"""ChatPane: the chat list, the streaming message view and the input box, driven through the EngineBridge."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.core import title_for
from purpose_desktop.ui.bridge import (
    MAX_INPUT_CHARS,
    Conversation,
    EngineBridge,
    ErrorInfo,
    Message,
    ModelSummary,
    ReplyResult,
)
from purpose_desktop.ui.chat.actions import UNDO_MS, ChatActions, ReplyStream, display_key
from purpose_desktop.ui.chat.chat_settings import SHORTCUT as CHAT_SETTINGS_SHORTCUT
from purpose_desktop.ui.chat.chat_settings import ChatSettingsButton
from purpose_desktop.ui.chat.composer import Composer
from purpose_desktop.ui.chat.conversation_list import ConversationListModel, ConversationListView, IdRole
from purpose_desktop.ui.chat.loop import ChatLoopActions
from purpose_desktop.ui.chat.markdown import warm_up as warm_up_markdown
from purpose_desktop.ui.chat.message_parts import WrongDialog
from purpose_desktop.ui.chat.messages import (
    WELCOME_HINT,
    WELCOME_TITLE,
    Banner,
    MessageList,
    MessageWidget,
)
from purpose_desktop.ui.chat.search import ChatSearch
from purpose_desktop.ui.chat.tool_calls import ChatToolActions
from purpose_desktop.ui.ops import EngineOp
from purpose_desktop.ui.source_viewer import SourceViewer
from purpose_desktop.ui.workspace import ProposalsPanel

#: Streaming text is re-rendered at most this often (ms): one re-render per token would stall the GUI.
FLUSH_MS = 50
#: Quick model loads never flash a "Loading" screen.
LOADING_DELAY_MS = 500

_PLACEHOLDERS = {
    "loading": "Loading model…",
    "ready": "Message Purpose Desktop…",
    "failed": "No model is loaded — see the message above.",
}


def provisional_title(text: str) -> str:
    """The title the engine will give a new chat, shown while its first reply streams."""
    return title_for(text)


class ChatPane(QWidget, ChatActions, ChatLoopActions, ChatToolActions):
    """Chat with the loaded model: pick or start a chat, type, watch the reply stream, stop it."""

    #: (text, timeout ms) a line for the status bar.
    sig_status = Signal(str, int)
    #: (title) the chat on screen changed or was renamed; "" for a new, unsaved chat.
    sig_title_changed = Signal(str)
    #: (streaming) a reply started (True) or ended (False).
    sig_streaming_changed = Signal(bool)
    #: (memory id) the person clicked a memory chip under an answer: show it in the Memory pane.
    sig_memory_open_requested = Signal(str)

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatPane")
        self._bridge = bridge
        self._model_state = "loading"
        self._model_name = "Assistant"
        self._current_id: str | None = None
        self._stream: ReplyStream | None = None
        self._messages_request: object | None = None  # the latest load; older answers are ignored
        self._cache: dict[str, list[Message]] = {}
        self._shown_key: tuple | None = None
        self._deleted: dict[str, Conversation] = {}
        self._last_deleted: Conversation | None = None
        self._syncing = False
        self._model_detail = ""
        self._loading_shown = False
        self._replaced: tuple | None = None  # (chat id, messages) the last regenerate/edit replaced
        self._reveal_id: str | None = None  # a message to scroll to once its chat is shown (search)
        self.wrong_dialog: WrongDialog | None = None
        self.source_viewer: SourceViewer | None = None
        self._loading_timer = QTimer(self, singleShot=True, interval=LOADING_DELAY_MS)
        self._loading_timer.timeout.connect(self._show_loading)
        self._flush_timer = QTimer(self, singleShot=True, interval=FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)
        self._build()
        self._connect_bridge()
        self.set_model_state("loading")
        self._refresh_list()  # made before the bridge starts, it runs first, ahead of the model load
        # While the model loads, load the syntax highlighters: their first use costs ~60 ms.
        QTimer.singleShot(0, warm_up_markdown)

    # -- layout -------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self, objectName="chatSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)

        sidebar = QFrame(objectName="sidebar")
        sidebar.setMinimumWidth(180)
        side = self._side_layout = QVBoxLayout(sidebar)
        side.setContentsMargins(10, 12, 10, 10)
        side.setSpacing(8)
        self.new_button = QPushButton("+  New chat", objectName="newChatButton")
        self.new_button.setToolTip("Start a new chat (Ctrl+N)")
        self.new_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.new_button.clicked.connect(self.new_chat)
        side.addWidget(self.new_button)
        self.search = ChatSearch(self._bridge, sidebar)
        self.search.sig_result_activated.connect(self.open_message)
        self.search.sig_active_changed.connect(self._on_search_active)
        self.search.field.sig_escaped.connect(lambda: self.list_view.setFocus())
        side.addWidget(self.search, 0)
        self.section_label = section = QLabel("Chats", objectName="sectionLabel")
        side.addWidget(section)
        self.list_model = ConversationListModel(self)
        self.list_view = ConversationListView(sidebar)
        self.list_view.setModel(self.list_model)
        self.list_view.setAccessibleName("Chats")
        self.list_view.selectionModel().currentChanged.connect(self._on_current_changed)
        self.list_view.sig_delete_requested.connect(self.delete_conversation)
        self.list_model.sig_rename_requested.connect(self._rename)
        side.addWidget(self.list_view, 1)
        self.empty_list_label = QLabel("No chats yet.", objectName="emptyListLabel")
        self.empty_list_label.setWordWrap(True)
        side.addWidget(self.empty_list_label)
        side.addStretch(0)
        for signal in (self.list_model.rowsInserted, self.list_model.rowsRemoved, self.list_model.modelReset):
            signal.connect(self._update_empty_list)
        self._update_empty_list()

        area = QWidget(objectName="chatArea")
        right = QVBoxLayout(area)
        right.setContentsMargins(0, 0, 0, 14)
        right.setSpacing(8)
        self.error_banner = Banner("error")
        self.messages = MessageList()
        self.messages.sig_status.connect(lambda text: self.sig_status.emit(text, 3000))
        self.messages.sig_message_action.connect(self._on_message_action)
        self.messages.sig_memory_requested.connect(self.sig_memory_open_requested)
        self.messages.sig_source_requested.connect(self.open_source)
        self.undo_banner = Banner("info")
        # The file changes the latest reply proposed in the open project folder, to apply or reject.
        self.proposals_panel = ProposalsPanel(self._bridge)
        self.proposals_panel.sig_status.connect(self.sig_status)
        self.composer = Composer(MAX_INPUT_CHARS)
        self.composer.sig_send_requested.connect(self.send)
        self.composer.sig_stop_requested.connect(self.stop)
        # The parts people (and tests) touch directly.
        self.input = self.composer.input
        self.send_button = self.composer.send_button
        self.paste_banner = self.composer.paste_banner
        self.composer.add_leading(self._build_tools_button())  # MCP tools in this chat (Ctrl+Shift+M)

        self.chat_settings_button = ChatSettingsButton(self._bridge, lambda: self._current_id, area)
        self.chat_settings_button.sig_status.connect(self.sig_status)
        QShortcut(QKeySequence(CHAT_SETTINGS_SHORTCUT), self, self.chat_settings_button.open_dialog)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 12, 0)
        top.addStretch(1)
        top.addWidget(self.chat_settings_button)
        right.addLayout(top)
        right.addWidget(self.error_banner)
        right.addWidget(self.messages, 1)
        right.addWidget(self.proposals_panel)
        right.addWidget(self.undo_banner)
        right.addWidget(self._build_tests_bar())
        right.addWidget(self.composer)

        self.splitter.addWidget(sidebar)
        self.splitter.addWidget(area)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    def _connect_bridge(self) -> None:
        b = self._bridge
        b.sig_engine_start_failed.connect(self._on_engine_start_failed)
        b.sig_model_load_progress.connect(lambda _id, text: self.set_model_state("loading", text))
        b.sig_model_loaded.connect(self._on_model_loaded)
        b.sig_model_load_failed.connect(self._on_model_load_failed)
        b.sig_conversation_created.connect(self._on_conversation_created)
        b.sig_token_received.connect(self._on_token)
        b.sig_reply_finished.connect(self._on_reply_ended)
        b.sig_reply_cancelled.connect(self._on_reply_ended)
        b.sig_reply_failed.connect(self._on_reply_failed)

    # -- public actions (buttons, keys, the main window's shortcuts) ---------------------------------
    @property
    def current_conversation_id(self) -> str | None:
        return self._current_id

    @property
    def streaming(self) -> bool:
        return self._stream is not None

    @property
    def model_state(self) -> str:
        return self._model_state

    def focus_input(self) -> None:
        self.input.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def new_chat(self) -> None:
        """Show an empty, unsaved chat; it is created in the store when its first message is sent."""
        self._current_id = None
        self._messages_request = None
        self.composer.cancel_editing()
        self._detach_stream()
        self._select_row(None)
        self._load_attachments(None)
        self.chat_settings_button.chat_changed(None)
        self._tools_chat_changed(None)
        self.messages.clear()
        self.proposals_panel.clear()
        self._shown_key = None
        self._refresh_empty_state()
        self.sig_title_changed.emit("")
        self.focus_input()

    def send(self) -> None:
        text = self.input.toPlainText()
        if not text.strip():
            return
        if self._stream is not None:
            self.sig_status.emit("A reply is still being written — press Esc to stop it first.", 4000)
            return
        if self._model_state != "ready":
            self.sig_status.emit(_PLACEHOLDERS[self._model_state], 4000)
            return
        editing = self.composer.editing
        if editing is not None and self._current_id is not None:
            self._resend_edited(editing.message_id, text)
            return
        new_chat_settings = self.chat_settings_button.take_pending() if self._current_id is None else None
        new_chat_tools = self.take_pending_tools() if self._current_id is None else False
        request = self._bridge.send_message(self._current_id, text, new_chat_settings, mcp_tools=new_chat_tools)
        self.input.clear()
        self.error_banner.dismiss()
        user = self.messages.add_message("user", "You", text)
        widget = self.messages.add_message("assistant", self._model_name, "", "streaming")
        self.messages.scroll_to_bottom()
        self._stream = ReplyStream(request, self._current_id, widget, user_widget=user)
        self._set_streaming(True)

    def _can_start_reply(self) -> bool:
        if self._stream is not None:
            self.sig_status.emit("A reply is still being written — press Esc to stop it first.", 4000)
            return False
        if self._model_state != "ready":
            self.sig_status.emit(_PLACEHOLDERS[self._model_state], 4000)
            return False
        return True

    def stop(self) -> None:
        """Stop the reply being written (keeps what arrived); harmless when there is none or twice."""
        stream = self._stream
        if stream is None or stream.stopping:
            return
        stream.stopping = True
        self._bridge.stop(stream.request)
        self.sig_status.emit("Stopping…", 2000)
        self._update_composer()

    def delete_conversation(self, conversation_id: str) -> None:
        """Soft-delete a chat and offer Undo (deleted chats are purged when the app closes)."""
        conv = self.list_model.get(conversation_id)
        if conv is None:
            return
        if self._stream is not None and self._stream.conversation_id == conversation_id:
            self.stop()
        self._deleted[conversation_id] = conv
        self._last_deleted = conv
        self._syncing = True
        try:
            self.list_model.remove(conversation_id)
        finally:
            self._syncing = False
        self._cache.pop(conversation_id, None)
        if self._current_id == conversation_id:
            self.composer.cancel_editing()
        EngineOp(
            self, lambda e: e.store.delete_conversation(conversation_id), what="deleting a chat"
        ).failure(self._on_change_failed).run(self._bridge)
        if self._current_id == conversation_id:
            self.new_chat()
        self.undo_banner.show_message(
            f"Deleted “{conv.title}”.",
            "",
            actions=[("Undo", self.undo_delete)],
            timeout_ms=UNDO_MS,
        )

    def undo_delete(self) -> None:
        conv = self._last_deleted
        if conv is None:
            return
        self._last_deleted = None
        self.undo_banner.dismiss()
        conversation_id = conv.id
        EngineOp(
            self, lambda e: e.store.restore_conversation(conversation_id), what="restoring a chat"
        ).success(self._on_restored).failure(self._on_change_failed).run(self._bridge)

    def rename_current(self) -> None:
        self.list_view.setFocus()
        self.list_view.rename_current()

    def select_conversation(self, conversation_id: str) -> None:
        """Show a chat as if the person clicked it in the list."""
        row = self.list_model.row_of(conversation_id)
        if row >= 0:
            self.list_view.setCurrentIndex(self.list_model.index(row))

    def set_model_state(self, state: str, detail: str = "") -> None:
        """Model state "loading" | "ready" | "failed": the input is usable only when a model is ready."""
        self._model_state = state
        self._model_detail = detail
        self._update_composer()
        if state == "loading" and not self._loading_timer.isActive() and not self._loading_shown:
            self._loading_timer.start()
        if state != "loading":
            self._loading_timer.stop()
            self._loading_shown = False
        self._refresh_empty_state()
        self._update_actions()

    def _show_loading(self) -> None:
        self._loading_shown = self._model_state == "loading"
        self._refresh_empty_state()

    def _refresh_empty_state(self) -> None:
        """A new chat's empty view doubles as the start-up screen: loading, failed, or welcome."""
        if self._current_id is not None or not self.messages.is_empty():
            return
        if self._model_state == "loading" and self._loading_shown:
            self.messages.set_empty(
                "Loading the model…", self._model_detail or "This takes a moment.", busy=True
            )
        elif self._model_state == "failed":
            self.messages.set_empty(
                "No model loaded", "Fix the problem above, then press Retry. Past chats can still be opened."
            )
        else:
            self.messages.set_empty(WELCOME_TITLE, WELCOME_HINT)

    def show_error(self, err: ErrorInfo, actions: list | tuple = (), about: str = "") -> None:
        self.error_banner.show_message(err.message, err.hint, actions=list(actions), about=about)

    def message_widgets(self) -> list[MessageWidget]:
        return self.messages.messages()

    # -- engine answers -----------------------------------------------------------------------------
    def _on_engine_start_failed(self, _request_id: str, err: ErrorInfo) -> None:
        self.set_model_state("failed")
        self.show_error(err)

    def _on_model_loaded(self, _request_id: str, summary: ModelSummary) -> None:
        self._model_name = summary.name
        if self.error_banner.about == "model":
            self.error_banner.dismiss()
        self.set_model_state("ready")
        self.focus_input()

    def _on_model_load_failed(self, _request_id: str, err: ErrorInfo) -> None:
        if self._model_state == "failed" and self.error_banner.isVisible():
            return  # the engine never started; that banner already says why
        self.set_model_state("failed")
        self.show_error(err, actions=[("Retry", self._retry_model)], about="model")

    def _retry_model(self) -> None:
        self.set_model_state("loading")
        self._bridge.reload_model()

    def _on_conversations_listed(self, conversations: list[Conversation]) -> None:
        self._syncing = True
        try:
            self.list_model.set_conversations([c for c in conversations if c.id not in self._deleted])
        finally:
            self._syncing = False
        if self._current_id is not None and self.list_model.row_of(self._current_id) < 0:
            self.new_chat()
        else:
            self._select_row(self._current_id)

    def _load_messages(self, conversation_id: str) -> None:
        token = self._messages_request = object()
        EngineOp(self, lambda e: e.store.messages(conversation_id), what="loading a chat").success(
            lambda messages: self._on_messages_loaded(token, conversation_id, messages)
        ).failure(lambda err: self._on_messages_failed(token, err)).run(self._bridge)

    def _on_messages_failed(self, token: object, err: ErrorInfo) -> None:
        self.show_error(err)
        if token is self._messages_request:
            self._messages_request = None
            self.messages.clear("This chat could not be loaded.")

    def _on_messages_loaded(self, token: object, conversation_id: str, messages: list[Message]) -> None:
        if token is not self._messages_request:
            return  # the person moved on to another chat
        self._messages_request = None
        self._cache[conversation_id] = list(messages)
        if conversation_id == self._current_id and display_key(messages) != self._shown_key:
            self._render(conversation_id, messages)
        self._reveal_pending()

    def _on_conversation_created(self, request_id: str, conv: Conversation) -> None:
        stream = self._stream
        if stream is None or stream.request.id != request_id:
            return
        stream.conversation_id = conv.id
        self._cache[conv.id] = []
        if conv.title == "New chat":
            # The engine titles the chat from the first message; show that now, not when the reply ends.
            conv = replace(conv, title=provisional_title(stream.request.text), message_count=1)
        self.list_model.upsert(conv)
        if self._current_id is None and stream.widget is not None:
            self._current_id = conv.id
            self._select_row(conv.id)
            self._load_attachments(conv.id)
            self._tools_chat_changed(conv)
            self.sig_title_changed.emit(conv.title)

    def _on_token(self, request_id: str, piece: str) -> None:
        stream = self._stream
        if stream is None or stream.request.id != request_id:
            return
        stream.text += piece
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _flush(self) -> None:
        stream = self._stream
        if stream is not None and stream.widget is not None:
            stream.widget.stream_text(stream.text)

    def _on_reply_ended(self, request_id: str, result: ReplyResult) -> None:
        stream = self._stream
        if stream is None or stream.request.id != request_id:
            return
        self._flush_timer.stop()
        self._stream = None
        conv, assistant = result.conversation, result.assistant
        if conv.id in self._deleted:
            self._deleted[conv.id] = conv
        else:
            self.list_model.upsert(conv)
        cached = self._cache.get(conv.id)
        if cached is not None:
            cached.extend([assistant] if stream.mode == "regenerate" else [result.user, assistant])
        if stream.widget is not None:
            stream.widget.set_message(assistant)
            if stream.user_widget is not None and stream.mode != "regenerate":
                stream.user_widget.message = result.user
            if self._current_id == conv.id and cached is not None:
                self._shown_key = display_key(cached)
        if self._current_id == conv.id:
            self.sig_title_changed.emit(conv.title)
            if stream.mode != "send":
                # Earlier messages were replaced in the store: show exactly what it now holds.
                self._load_messages(conv.id)
        if self._current_id == conv.id:
            self._show_changes(self._cache.get(conv.id) or [assistant])
        if assistant.status == "cancelled":
            self.sig_status.emit("Reply stopped — what arrived is kept.", 4000)
        self._set_streaming(False)
        if stream.mode != "send" and result.replaced:
            self._offer_undo_replace(conv.id, result.replaced, stream.mode)

    def _on_reply_failed(self, request_id: str, err: ErrorInfo) -> None:
        stream = self._stream
        if stream is None or stream.request.id != request_id:
            return
        self._flush_timer.stop()
        self._stream = None
        if stream.widget is not None:  # its tool calls stay shown (those unfinished as "interrupted")
            stream.widget.set_text(stream.text, "failed", meta={"tool_calls": [r for r, _a in stream.tool_calls.values()]})
        if not stream.text and not self.input.toPlainText() and stream.mode != "regenerate":
            # Nothing came back: give the person their message back rather than make them retype it.
            self.input.setPlainText(stream.request.text)
        if stream.conversation_id:
            self._cache.pop(stream.conversation_id, None)
            if stream.mode != "send" and stream.conversation_id == self._current_id:
                self._load_messages(stream.conversation_id)
        self.show_error(err)
        self._set_streaming(False)
        self._refresh_list()

    def _rename(self, conversation_id: str, title: str) -> None:
        EngineOp(
            self, lambda e: e.store.rename_conversation(conversation_id, title), what="renaming a chat"
        ).success(self._on_renamed).failure(self._on_change_failed).run(self._bridge)

    def _on_renamed(self, conv: Conversation) -> None:
        if conv.id in self._deleted:
            return
        self._syncing = True
        try:
            self.list_model.upsert(conv)
        finally:
            self._syncing = False
        if conv.id == self._current_id:
            self.sig_title_changed.emit(conv.title)

    def _on_restored(self, conv: Conversation) -> None:
        self._deleted.pop(conv.id, None)
        self._syncing = True
        try:
            self.list_model.upsert(conv)
        finally:
            self._syncing = False
        self.select_conversation(conv.id)
        self.sig_status.emit(f"Restored “{conv.title}”.", 3000)

    def _on_change_failed(self, err: ErrorInfo) -> None:
        self.show_error(err)
        self._refresh_list()  # a rename, delete or restore failed: show the store's truth

    # -- helpers ------------------------------------------------------------------------------------
    def _update_empty_list(self, *_args) -> None:
        if self.search.active:
            return
        empty = self.list_model.rowCount() == 0
        self.empty_list_label.setVisible(empty)
        self.list_view.setVisible(not empty)

    def _refresh_list(self) -> None:
        EngineOp(self, lambda e: e.store.list_conversations(), what="listing chats").success(
            self._on_conversations_listed
        ).failure(self.show_error).run(self._bridge)

    def _on_current_changed(self, current, _previous) -> None:
        if self._syncing or not current.isValid():
            return
        conversation_id = self.list_model.data(current, IdRole)
        if conversation_id != self._current_id:
            self._open(conversation_id)

    def _open(self, conversation_id: str) -> None:
        self._current_id = conversation_id
        self.composer.cancel_editing()
        self._detach_stream()
        conv = self.list_model.get(conversation_id)
        self.chat_settings_button.chat_changed(conv)
        self._tools_chat_changed(conv)
        self.sig_title_changed.emit(conv.title if conv else "")
        cached = self._cache.get(conversation_id)
        if cached is not None:
            self._render(conversation_id, cached)
        else:
            self._shown_key = None
            waiting = self._stream is not None
            self.messages.clear("Loading… (after the reply being written)" if waiting else "Loading…")
        self._load_messages(conversation_id)
        self._load_attachments(conversation_id)

    def _render(self, conversation_id: str, messages: list[Message]) -> None:
        self._detach_stream()
        self.messages.clear()
        for m in messages:
            if m.status == "streaming" and self._stream and self._stream.conversation_id == conversation_id:
                continue  # the live widget below shows it
            name = "You" if m.role == "user" else str(m.meta.get("model") or self._model_name)
            self.messages.add_message(m.role, name).set_message(m)
        stream = self._stream
        if stream is not None and stream.conversation_id == conversation_id:
            if stream.mode != "regenerate":
                stream.user_widget = self.messages.add_message("user", "You", stream.request.text)
            stream.widget = self.messages.add_message("assistant", self._model_name, stream.text, "streaming")
            for record, ask in stream.tool_calls.values():
                self._show_tool_call(stream.widget, record, ask)
        self._shown_key = display_key(messages)
        self._show_changes(messages)
        self.messages.scroll_to_bottom()
        self._update_actions()
        self._apply_tests_flag()
        self._reveal_pending()

    def _show_changes(self, messages: list[Message]) -> None:
        """The proposed file changes of the latest reply that made any (hidden when there are none)."""
        last = next((m for m in reversed(messages) if m.role == "assistant" and m.meta.get("workspace")), None)
        if last is None:
            self.proposals_panel.clear()
        else:
            self.proposals_panel.load_message(last.id, last.meta["workspace"].get("refused", []))

    def _reveal_pending(self) -> None:
        message_id = self._reveal_id
        if message_id is None:
            return
        widget = next((w for w in self.message_widgets() if w.message_id == message_id), None)
        if widget is not None:
            self._reveal_id = None
            # After the layout has placed the messages, or the scroll position would be stale.
            QTimer.singleShot(0, widget, lambda: self.messages.reveal(widget))

    def _update_actions(self) -> None:
        """Enable each message's actions for the current state (streaming, model ready, latest reply)."""
        widgets = self.message_widgets()
        idle = self._stream is None and self._model_state == "ready"
        last = widgets[-1] if widgets else None
        for w in widgets:
            stored = w.message is not None
            if w.role == "user":
                w.set_actions(edit=stored and idle)
            else:
                latest = w is last and stored
                w.set_actions(
                    regenerate=idle if latest else None,
                    wrong=stored and w.status() in ("complete", "cancelled"),
                )

    def _on_search_active(self, active: bool) -> None:
        # While searching, the results take the chat list's place, height included.
        self._side_layout.setStretchFactor(self.search, 1 if active else 0)
        self.section_label.setVisible(not active)
        if active:
            self.list_view.hide()
            self.empty_list_label.hide()
        else:
            self._update_empty_list()

    def _detach_stream(self) -> None:
        if self._stream is not None:
            self._stream.widget = None

    def _select_row(self, conversation_id: str | None) -> None:
        self._syncing = True
        try:
            row = self.list_model.row_of(conversation_id)
            selection = self.list_view.selectionModel()
            if row < 0:
                selection.clearSelection()
                selection.setCurrentIndex(self.list_model.index(-1), QItemSelectionModel.SelectionFlag.Clear)
            else:
                self.list_view.setCurrentIndex(self.list_model.index(row))
        finally:
            self._syncing = False

    def _set_streaming(self, streaming: bool) -> None:
        self._update_composer()
        self._update_actions()
        self.sig_streaming_changed.emit(streaming)

    def _update_composer(self) -> None:
        stream = self._stream
        self.composer.set_state(
            ready=self._model_state == "ready",
            streaming=stream is not None,
            stopping=bool(stream and stream.stopping),
            placeholder=_PLACEHOLDERS[self._model_state],
        )
