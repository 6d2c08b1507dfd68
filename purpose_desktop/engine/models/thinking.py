"""Reasoning output: split ``<think>…</think>`` (Qwen3, DeepSeek-R1 distills) from the answer, once, for all.

Chat shows the thinking collapsed; the critic, distillation and chat history read only the answer; token
budgets count answer tokens. Everything that needs the split calls :func:`split_thinking` (or the
streaming :class:`ThinkingCounter`) so the rules live in one place:

* every ``<think>…</think>`` block is thinking, wherever it sits; several blocks are joined;
* a ``<think>`` that is never closed makes the rest thinking (a reply still streaming, or one cut by
  its token limit);
* a ``</think>`` with no opening tag makes everything before it thinking (R1 distills' templates put
  the ``<think>`` into the prompt, so the model's output starts inside the block);
* while streaming, a tag cut in half at the end ("…<thi") is held back rather than shown as text.
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN = "<think>"
CLOSE = "</think>"
#: The soft switches Qwen3 documents for turning thinking off or on in a user or system message.
NO_THINK = "/no_think"
THINK = "/think"


@dataclass(frozen=True)
class SplitReply:
    """A reply split into what the model thought and what it answered."""

    thinking: str
    answer: str
    #: A think block is still open (streaming, or cut off by the token limit).
    open: bool = False

    @property
    def has_thinking(self) -> bool:
        return bool(self.thinking.strip()) or self.open


def _partial_tag_at_end(text: str) -> int:
    """Length of a proper prefix of ``<think>``/``</think>`` that ``text`` ends with (0 when none)."""
    tail = text[-(len(CLOSE) - 1) :]
    for n in range(min(len(tail), len(CLOSE) - 1), 0, -1):
        piece = tail[-n:]
        if OPEN.startswith(piece) or CLOSE.startswith(piece):
            return n
    return 0


def split_thinking(text: str, *, streaming: bool = False) -> SplitReply:
    """Split ``text`` into thinking and answer (see the module docstring for the rules)."""
    if not text or ("<" not in text):
        return SplitReply("", text or "")
    if streaming:
        cut = _partial_tag_at_end(text)
        if cut:
            text = text[:-cut]
    first_open, first_close = text.find(OPEN), text.find(CLOSE)
    thoughts: list[str] = []
    answer: list[str] = []
    pos = 0
    if first_close != -1 and (first_open == -1 or first_close < first_open):
        # Output that starts inside a block whose <think> was in the prompt.
        thoughts.append(text[:first_close])
        pos = first_close + len(CLOSE)
    open_block = False
    while pos < len(text):
        start = text.find(OPEN, pos)
        if start == -1:
            answer.append(text[pos:])
            break
        answer.append(text[pos:start])
        end = text.find(CLOSE, start + len(OPEN))
        if end == -1:
            thoughts.append(text[start + len(OPEN) :])
            open_block = True
            break
        thoughts.append(text[start + len(OPEN) : end])
        pos = end + len(CLOSE)
    thinking = "\n\n".join(t.strip() for t in thoughts if t.strip())
    return SplitReply(thinking, "".join(answer).strip() if thoughts or open_block else "".join(answer), open_block)


def strip_thinking(text: str) -> str:
    """Only the answer: what the critic, distillation and the next turn's history read."""
    return split_thinking(text).answer


def template_supports_thinking_switch(chat_template: str | None) -> bool:
    """True when the model's chat template lets thinking be turned off (Qwen3's ``enable_thinking``)."""
    return bool(chat_template) and ("enable_thinking" in chat_template)


def template_thinks(chat_template: str | None) -> bool:
    """True when the template knows about ``<think>`` blocks (a reasoning model)."""
    return bool(chat_template) and any(k in chat_template for k in (OPEN, CLOSE, "enable_thinking"))


def with_thinking_switch(messages: list[dict], thinking: bool) -> list[dict]:
    """``messages`` with Qwen3's soft switch appended to the last user message (a copy; input untouched).

    llama-cpp-python cannot pass ``enable_thinking`` to the template, so the documented ``/no_think``
    (or ``/think``) switch is used instead; Qwen3 then answers with an empty think block.
    """
    out = [dict(m) for m in messages]
    for m in reversed(out):
        if m.get("role") == "user":
            switch = THINK if thinking else NO_THINK
            content = str(m.get("content") or "")
            if not content.rstrip().endswith(switch):
                m["content"] = f"{content.rstrip()} {switch}"
            break
    return out


class ThinkingCounter:
    """Streaming state: is the model inside a think block right now? Fed one piece at a time.

    Used to count answer tokens apart from thinking tokens while a reply streams (token budgets are the
    answer's). Pieces that carry a tag count as thinking. Works for R1-style output too: once a
    ``</think>`` arrives with no opening tag, everything so far is recounted as thinking.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled  # False: a model that does not think; every piece is answer
        self.answer_tokens = 0
        self.thinking_tokens = 0
        self._inside = False
        self._seen_open = False
        self._buffer = ""  # the last few characters, so a tag split over pieces is still seen
        self._last_was_answer = False

    def feed(self, piece: str) -> bool:
        """Count ``piece``; True when it belongs to the answer."""
        if not self.enabled:
            self.answer_tokens += 1
            return True
        window = self._buffer + piece
        self._buffer = window[-(len(CLOSE) - 1) :]
        piece_at = len(window) - len(piece)
        has_open = OPEN in window[max(0, piece_at - len(OPEN) + 1) :]
        has_close = CLOSE in window[max(0, piece_at - len(CLOSE) + 1) :]
        was_answer, self._last_was_answer = self._last_was_answer, False
        if (has_open or has_close) and was_answer:
            starts = [window.rfind(t) for t, seen in ((OPEN, has_open), (CLOSE, has_close)) if seen]
            if min(starts) < piece_at:  # the tag began in the previous piece, counted as answer then
                self.answer_tokens -= 1
                self.thinking_tokens += 1
        if has_open:
            self._seen_open = True
            self._inside = not has_close or window.rfind(OPEN) > window.rfind(CLOSE)
            self.thinking_tokens += 1
            return False
        if has_close:
            if not self._seen_open and not self._inside:
                # R1 style: the answer so far was thinking all along.
                self.thinking_tokens += self.answer_tokens
                self.answer_tokens = 0
            self._inside = False
            self.thinking_tokens += 1
            return False
        if self._inside:
            self.thinking_tokens += 1
            return False
        self.answer_tokens += 1
        self._last_was_answer = True
        return True
