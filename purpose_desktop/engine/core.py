"""Engine: the one facade the CLI and the GUI worker call; it owns the store and the loaded model."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from purpose_desktop.engine.cancel import CancelToken
from purpose_desktop.engine.chat import context as chat_context
from purpose_desktop.engine.chat import export as chat_export
from purpose_desktop.engine.chat.tool_calls import history_turns
from purpose_desktop.engine.errors import InputError, ModelError
from purpose_desktop.engine.models import GenerationSettings, LocalModel, resolve_model
from purpose_desktop.engine.models.backends import endpoint_model, is_endpoint_spec, list_endpoint_models
from purpose_desktop.engine.models.gate import ForegroundModel, ModelGate
from purpose_desktop.engine.models.gguf import GGUFInfo
from purpose_desktop.engine.models.thinking import strip_thinking
from purpose_desktop.engine.services import (
    ConfigManager,
    Diagnostics,
    McpManager,
    MemoryManager,
    ModelFiles,
    RemoteServers,
    RunHistory,
    TeamManager,
    WorkspaceManager,
)
from purpose_desktop.engine.services.backup import Backups
from purpose_desktop.engine.services.chat_loop import ChatLoop
from purpose_desktop.engine.services.chat_tools import ChatTools
from purpose_desktop.engine.services.evaluation import EvalManager
from purpose_desktop.engine.services.prompt_opt import PromptOptManager
from purpose_desktop.engine.services.replays import ReplayQueue
from purpose_desktop.engine.settings import (
    CHAT_OVERRIDE_FIELDS,
    EngineSettings,
    check_chat_overrides,
    load_settings,
)
from purpose_desktop.engine.store import Message, MessageHit, Store, now_iso

log = logging.getLogger(__name__)

#: Longest message a person can send; the GUI refuses bigger pastes before they get here.
MAX_INPUT_CHARS = 200_000
#: How often a streaming reply is checkpointed to SQLite, so a crash mid-reply keeps most of it.
CHECKPOINT_EVERY_S = 1.0


def title_for(text: str, limit: int = 60) -> str:
    """A chat's title from its first message: the first line, cut at ``limit`` characters."""
    first_line = (text.strip().splitlines() or ["New chat"])[0].strip()
    if len(first_line) <= limit:
        return first_line or "New chat"
    return first_line[:limit].rstrip() + "…"


class Engine:
    """Owns one Store and at most one loaded chat model; every call runs on the thread that made it.

    ``model_factory`` exists so tests can drive control flow with a scripted model; the app always
    uses :class:`LocalModel` on a real GGUF file. ``vault_embedder`` is the embedder chat uses to search
    the Vault (None: the process-wide bundled one, loaded only when the Vault has chunks).
    """

    def __init__(
        self,
        store: Store | None = None,
        settings: EngineSettings | None = None,
        model_factory: Callable[..., object] | None = None,
        *,
        vault_embedder: Any = None,
    ) -> None:
        self.settings = settings or load_settings()
        self.store = store or Store()
        # One model in RAM, shared by this thread (foreground: chat, team runs) and the re-test queue's
        # thread (background): the gate lets a person's request in within one token.
        self.gate = ModelGate()
        self._model = None
        self._model_view = None
        self._model_factory = model_factory or LocalModel
        self._vault_embedder = vault_embedder
        self._vault = None
        # The services (one manager per area) the GUI worker and the CLI share.
        self.model_files = ModelFiles(self)
        self.config = ConfigManager(self)
        self.teams = TeamManager(self)
        self.runs = RunHistory(self)
        self.memories = MemoryManager(self)
        self.diagnostics = Diagnostics(self)
        self.chat_loop = ChatLoop(self)
        self.chat_tools = ChatTools(self)  # MCP tools offered in a chat, when the person turns them on
        self.backups = Backups(self)
        self.mcp = McpManager(self)
        self.replays = ReplayQueue(self)
        self.workspace = WorkspaceManager(self)  # the attached project folder, if any
        self.servers = RemoteServers(self)
        self.evals = EvalManager(self)
        self.prompts = PromptOptManager(self)  # role-prompt proposals (issue 18)

    @property
    def model(self):
        """The loaded chat model as this thread uses it (each call takes the model gate in the foreground),
        or None. Assigning a model (tests assign scripted ones) wraps it the same way."""
        return self._model_view

    @model.setter
    def model(self, model) -> None:
        if isinstance(model, ForegroundModel):
            model = model.wrapped
        self._model = model
        self._model_view = None if model is None else ForegroundModel(model, self.gate)

    @property
    def raw_model(self):
        """The loaded model itself, for work that goes through the gate on its own (``BackgroundModel``)."""
        return self._model

    # -- models ---------------------------------------------------------------------------------
    def load_model(self, spec: str | Path | None = None, on_progress: Callable[[str], None] | None = None):
        """Load (or switch to) a chat model; the previous one is closed only once the new one works."""
        spec = spec if spec is not None else self.settings.model
        started = time.perf_counter()
        if is_endpoint_spec(spec):
            model = self._endpoint_model(str(spec), on_progress)
            path = model.base_url
        else:
            path = resolve_model(spec, added=[Path(p) for p in self.settings.added_models])
            if on_progress:
                on_progress(f"Loading {path.name}…")
            model = self._model_factory(
                path,
                n_ctx=self.settings.n_ctx,
                n_threads=self.settings.n_threads,
                n_gpu_layers=self.settings.n_gpu_layers,
                on_progress=on_progress,
            )
        self.replays.restart_running("the model changed")  # its A/B runs must all use one model
        with self.gate.foreground():  # a replay call in progress gives the old model up first
            old, self.model = self._model, model
            if old is not None:
                old.close()
        self.replays.kick()
        log.info("loaded %s in %.2fs", path, time.perf_counter() - started)
        if on_progress:
            on_progress(f"Ready: {model.display_name}")
        return model.info

    def _endpoint_model(self, spec: str, on_progress: Callable[[str], None] | None):
        """A model on an added OpenAI-compatible server; refused when it is remote and not allowed."""
        model = endpoint_model(spec, self.settings.servers)
        if on_progress:
            on_progress(f"Connecting to {model.base_url}…")
        names = list_endpoint_models(model.base_url, api_key=model._api_key, allow_remote=model.allow_remote)
        if model.model and model.model not in names:
            raise ModelError(
                f"The server at {model.base_url} has no model {model.model!r}.",
                f"Pick one it lists: {', '.join(names) or 'none'}.",
            )
        return model

    @property
    def model_info(self) -> GGUFInfo | None:
        return getattr(self.model, "info", None)

    def generation_settings(self, overrides: dict | None = None) -> GenerationSettings:
        """Sampling for a reply: Settings → Generation, with a chat's own ``overrides`` on top."""
        values = {**{k: getattr(self.settings, k) for k in CHAT_OVERRIDE_FIELDS}, **(overrides or {})}
        return GenerationSettings(
            max_tokens=values["max_tokens"],
            temperature=values["temperature"],
            top_p=values["top_p"],
            seed=values["seed"],
            thinking=values["thinking"],
        )

    def chat_settings(self, conversation_id: str) -> dict:
        """What a chat answers with: ``{"defaults": {...}, "overrides": {...}, "effective": {...}}``
        plus whether the loaded model can think (``model_thinks``) and be told not to (``thinking_switch``)."""
        defaults = {k: getattr(self.settings, k) for k in CHAT_OVERRIDE_FIELDS}
        overrides = self.store.get_conversation(conversation_id).settings if conversation_id else {}
        return {
            "defaults": defaults,
            "overrides": dict(overrides),
            "effective": {**defaults, **overrides},
            "model_thinks": bool(getattr(self.model, "thinks", False)),
            "thinking_switch": bool(getattr(self.model, "thinking_switch", False)),
        }

    def set_chat_settings(self, conversation_id: str, overrides: dict) -> dict:
        """Store a chat's own generation settings (validated; ``{}`` goes back to the app's); see chat_settings."""
        self.store.set_conversation_settings(conversation_id, check_chat_overrides(overrides))
        return self.chat_settings(conversation_id)

    # -- chat -----------------------------------------------------------------------------------
    def send_message(
        self,
        conversation_id: str,
        text: str,
        *,
        cancel: CancelToken | None = None,
        on_token: Callable[[str], None] | None = None,
        settings: GenerationSettings | None = None,
        **tool_hooks: Any,
    ) -> tuple[Message, Message]:
        """Persist the user's message, gather its context, stream the reply, persist it with its timings.

        The user's message is committed before generation starts and the reply is checkpointed
        while it streams, so a crash loses at most about a second of the reply and nothing earlier.
        The reply's ``meta["context"]`` says which approved lessons and Vault excerpts shaped it.
        ``tool_hooks`` (``on_tool_call(record, ask)``, ``approve_tool(ask, cancel)``) serve a chat that
        offers MCP tools (see ``_answer``); every reply method takes them.
        """
        text = _check_text(text)
        self._require_model()
        history = _history(self.store.messages(conversation_id))
        user = self.store.add_message(conversation_id, "user", text)
        if len(history) == 0:
            self._title_from(conversation_id, text)
        return user, self._answer(user, history, cancel=cancel, on_token=on_token, settings=settings, **tool_hooks)

    def regenerate(
        self,
        conversation_id: str,
        *,
        cancel: CancelToken | None = None,
        on_token: Callable[[str], None] | None = None,
        settings: GenerationSettings | None = None,
        on_replaced: Callable[[list[Message]], None] | None = None,
        **tool_hooks: Any,
    ) -> tuple[Message, Message]:
        """Answer the last user message again (fresh context): its old reply, whatever its status, is removed.

        ``on_replaced`` gets the removed messages first, so they can be put back (``restore_messages``).
        """
        self._require_model()
        messages = self.store.messages(conversation_id)
        users = [m for m in messages if m.role == "user"]
        if not users:
            raise InputError("There is no message to answer again in this chat.", "Send a message first.")
        user = users[-1]
        later = [m for m in messages if m.seq > user.seq]
        if later:
            self.store.delete_messages_from(conversation_id, later[0].seq)
            if on_replaced is not None:
                on_replaced(later)
        history = _history(m for m in messages if m.seq < user.seq)
        return user, self._answer(user, history, cancel=cancel, on_token=on_token, settings=settings, **tool_hooks)

    def edit_and_resend(
        self,
        message_id: str,
        text: str,
        *,
        cancel: CancelToken | None = None,
        on_token: Callable[[str], None] | None = None,
        settings: GenerationSettings | None = None,
        on_replaced: Callable[[list[Message]], None] | None = None,
        **tool_hooks: Any,
    ) -> tuple[Message, Message]:
        """Replace one of the person's messages with ``text``, drop everything after it, and answer anew.

        The cut and the new message are one transaction; as with send_message the new message stays
        saved when the reply fails. ``on_replaced`` gets the removed messages (the original included).
        """
        text = _check_text(text)
        self._require_model()
        original = self.store.get_message(message_id)
        if original.role != "user":
            raise InputError(
                "Only your own messages can be edited and sent again.",
                "Pick a message you wrote; to get another answer to it, use Regenerate.",
            )
        messages = self.store.messages(original.conversation_id)
        history = _history(m for m in messages if m.seq < original.seq)
        _removed, user = self.store.rewrite_from(original.conversation_id, original.seq, "user", text)
        if on_replaced is not None:
            on_replaced([m for m in messages if m.seq >= original.seq])
        return user, self._answer(user, history, cancel=cancel, on_token=on_token, settings=settings, **tool_hooks)

    def restore_messages(self, conversation_id: str, messages: list[Message]) -> list[Message]:
        """Undo a regenerate or an edit: put back the messages it replaced; returns the chat's messages."""
        self.store.restore_tail(conversation_id, messages)
        return self.store.messages(conversation_id)

    def chat_context(self, text: str) -> chat_context.ChatContext:
        """The approved lessons and Vault excerpts (within the context budget) for answering ``text``."""
        s = self.settings
        return chat_context.gather(
            self.store,
            text,
            use_memory=s.chat_uses_memory,
            use_vault=s.chat_uses_vault,
            vault_k=s.chat_vault_k,
            n_ctx=getattr(self.model, "n_ctx", None) or s.n_ctx,
            count_tokens=getattr(self.model, "count_tokens", None),
            vault_factory=self._chat_vault,
            project=self.workspace.current.name if self.workspace.current else None,
            policy=self.memories.policy(),  # the learning methods the person has on
        )

    def warm_up_context(self) -> bool:
        """Load what grounded chat will need (the embedder, the Vault's search matrix) before the first
        question, when there are approved lessons or Vault passages to find; True when it did.

        The app calls this right after the model loads, so the first answer does not wait seconds
        for the embedding model. Read-only: nothing is counted or written.
        """
        s = self.settings
        wanted = (s.chat_uses_memory and chat_context.has_promoted_memories(self.store)) or (
            s.chat_uses_vault and chat_context.has_vault_chunks(self.store)
        )
        if wanted:
            self.chat_context("warm up")
        return bool(wanted)

    def _chat_vault(self):
        """The Vault over this engine's Store, made on first use (its search matrix is reused)."""
        if self._vault is None:
            from purpose_desktop.engine.vault import Vault

            self._vault = Vault(self.store, embedder=self._vault_embedder)
        return self._vault

    def _require_model(self) -> None:
        if self.model is None:
            raise ModelError(
                "No model is loaded yet.", "Wait for the model to finish loading, or pick one in Models."
            )

    def _answer(
        self,
        user: Message,
        history: list[dict],
        *,
        cancel: CancelToken | None,
        on_token: Callable[[str], None] | None,
        settings: GenerationSettings | None,
        on_tool_call: Callable[[dict, Any], None] | None = None,
        approve_tool: Callable | None = None,
    ) -> Message:
        """Stream the reply to the stored ``user`` message, checkpointing it; returns the stored reply.

        In a chat that offers MCP tools, each call's record is stored in ``meta["tool_calls"]`` as it
        changes and handed to ``on_tool_call(record, ask)``; ``approve_tool(ask, cancel)`` waits for the
        person's answer (None: calls not marked "always allow" do not run).
        """
        cancel = cancel or CancelToken()
        conversation = self.store.get_conversation(user.conversation_id, include_deleted=True)
        overrides = conversation.settings
        tools = self.chat_tools.offered(conversation, approve_tool)
        context = self.chat_context(user.content)
        assistant = self.store.add_message(
            user.conversation_id,
            "assistant",
            "",
            status="streaming",
            meta={"model": self.model.display_name, "context": context.to_meta()},
        )
        system = context.system_prompt(overrides.get("system_prompt", self.settings.system_prompt))
        if note := self.workspace.chat_note(user.content):
            system = f"{system}\n\n{note}"
        messages = [
            {"role": "system", "content": system},
            *history,
            {"role": "user", "content": user.content},
        ]
        parts: list[str] = []
        last_checkpoint = time.monotonic()

        def collect(piece: str) -> None:
            nonlocal last_checkpoint
            parts.append(piece)
            if on_token is not None:
                on_token(piece)
            now = time.monotonic()
            if now - last_checkpoint >= CHECKPOINT_EVERY_S:
                last_checkpoint = now
                self.store.update_message(assistant.id, content="".join(parts))

        calls: list[dict] = []

        def on_call(record: dict, ask: Any) -> None:
            at = next((i for i, r in enumerate(calls) if r["id"] == record["id"]), len(calls))
            calls[at : at + 1] = [record]
            self.store.update_message(assistant.id, meta={"tool_calls": list(calls)}, touch=False)
            if on_tool_call is not None:
                on_tool_call(record, ask)

        gen = settings or self.generation_settings(overrides)
        try:
            if tools:
                reply = self.chat_tools.reply(
                    messages, tools, settings=gen, cancel=cancel, on_token=collect, on_call=on_call
                )
            else:
                reply = self.model.chat(messages, settings=gen, cancel=cancel, on_token=collect)
        except Exception as exc:
            self.store.update_message(
                assistant.id,
                content="".join(parts),
                status="failed",
                meta={"model": self.model.display_name, "error": str(exc)},
            )
            raise
        status = "cancelled" if reply.finish_reason == "cancelled" else "complete"
        message = self.store.update_message(assistant.id, content=reply.text, status=status, meta=reply.to_dict())
        if status == "complete" and (changes := self.workspace.after_reply(message)):
            message = self.store.update_message(assistant.id, meta={"workspace": changes}, touch=False)
        return message

    # -- feedback, search, export ------------------------------------------------------------------
    def mark_wrong(self, message_id: str, note: str = "") -> dict:
        """The person says this answer was wrong: record it, and debit every lesson that shaped it.

        Returns ``{"message_id", "already_marked", "memories": [{"id", "verdict", "utility_after",
        "demoted", "flagged"}]}``; marking the same answer again changes nothing.
        """
        from purpose_desktop.engine.learning.credit import apply_feedback

        if not isinstance(note, str):
            raise InputError("The note must be text.", "Say what was wrong, or leave it empty.")
        message = self.store.get_message(message_id)
        if message.role != "assistant":
            raise InputError("Only an answer can be marked wrong.", "Pick one of the assistant's replies.")
        feedback = message.meta.get("feedback")
        if isinstance(feedback, dict) and feedback.get("verdict") in ("wrong", "good"):
            return {"message_id": message.id, "already_marked": True, "memories": []}
        context = message.meta.get("context")
        used = (context or {}).get("memories") if isinstance(context, dict) else None
        ids = [m["id"] for m in used or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]
        # Credit first: it is idempotent per (memory, message), so a crash before the feedback is
        # saved cannot debit twice when the person marks the answer again.
        report = apply_feedback(self.store, message.id, ids)
        self.store.update_message(
            message.id,
            meta={"feedback": {"verdict": "wrong", "note": note.strip()[:2000], "at": now_iso()}},
            touch=False,  # marking an old answer must not move its chat to the top of the list
        )
        return {
            "message_id": message.id,
            "already_marked": False,
            "memories": [
                {
                    "id": u.memory_id,
                    "verdict": u.verdict,
                    "utility_after": u.utility_after,
                    "demoted": bool(u.demote_reason),
                    "flagged": bool(u.flag_reason),
                }
                for u in report.updates
            ],
        }

    def search_messages(self, query: str, limit: int = 50) -> list[MessageHit]:
        """Messages containing ``query`` in every chat not deleted, newest first (see Store.search_messages)."""
        return self.store.search_messages(query, limit)

    def export_markdown(self, conversation_id: str) -> str:
        """The chat as Markdown: title, date, each message under "### You" / "### Assistant", its sources."""
        conversation = self.store.get_conversation(conversation_id)
        return chat_export.to_markdown(conversation, self.store.messages(conversation_id))

    def export_conversation(self, conversation_id: str, path: str | Path) -> Path:
        """Write the chat's Markdown to ``path`` atomically (an existing file is replaced whole or kept)."""
        return chat_export.write_atomically(path, self.export_markdown(conversation_id))

    def _title_from(self, conversation_id: str, text: str) -> None:
        conv = self.store.get_conversation(conversation_id)
        if conv.title in ("", "New chat"):
            self.store.rename_conversation(conversation_id, title_for(text))

    def close(self) -> None:
        """Free the model, the chat's Vault searcher and the database; safe to call twice."""
        if self._vault is not None:
            vault, self._vault = self._vault, None
            vault.close()
        self.replays.close()
        if self._model is not None:
            with self.gate.foreground():
                self._model.close()
            self.model = None
        if self.store is not None:
            self.store.close()


def _check_text(text: str) -> str:
    if not isinstance(text, str):
        raise InputError("A message must be text.", "Type a question or some code, then press Enter.")
    text = text.strip()
    if not text:
        raise InputError("The message is empty.", "Type a question or some code, then press Enter.")
    if len(text) > MAX_INPUT_CHARS:
        raise InputError(
            f"The message is {len(text):,} characters; the limit is {MAX_INPUT_CHARS:,}.",
            "Attach large files through the Vault instead, or paste the part that matters.",
        )
    return text


def _history(messages: Iterable[Message]) -> list[dict]:
    """Earlier turns as the model sees them: finished messages with text (no stored context, and no
    ``<think>`` blocks: a reasoning model's earlier thinking only costs context)."""
    out = []
    for m in messages:
        if m.status != "complete" or not m.content:
            continue
        content = strip_thinking(m.content) if m.role == "assistant" else m.content
        if m.role == "assistant":
            out.extend(history_turns(m.meta.get("tool_calls")))  # what its tools said, quoted as it was
        if content:
            out.append({"role": m.role, "content": content})
    return out
