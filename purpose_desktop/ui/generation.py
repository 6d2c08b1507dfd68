"""GenerationForm: the sampling controls (temperature, top-p, max tokens, seed, thinking, system prompt) shared by
Settings → Generation and a chat's own settings dialog."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.settings import (
    DEFAULT_SYSTEM_PROMPT,
    MAX_SYSTEM_PROMPT_CHARS,
    MAX_TOKENS_RANGE,
    N_CTX_RANGE,
    SEED_RANGE,
    TEMPERATURE_RANGE,
    TOP_P_RANGE,
)

#: The fields a GenerationForm edits, in the order they are shown.
FORM_FIELDS = ("temperature", "top_p", "max_tokens", "n_ctx", "seed", "thinking", "system_prompt")


class GenerationForm(QWidget):
    """Sampling controls bound to a dict of values; ``values()`` reads them back in settings.json terms.

    ``with_context`` shows the context-length control (Settings only: a chat cannot change the loaded
    model's context). Nothing is saved here; the owner decides when (see ``sig_changed``).
    """

    #: (field name) the person changed that control.
    sig_changed = Signal(str)

    def __init__(self, *, with_context: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("generationForm")
        self._syncing = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(6)

        self.temperature = QDoubleSpinBox(decimals=2, singleStep=0.05)
        self.temperature.setRange(*TEMPERATURE_RANGE)
        self.temperature.setToolTip("Higher is more varied, lower is more focused; 0 always picks the likeliest word")
        self.top_p = QDoubleSpinBox(decimals=2, singleStep=0.05)
        self.top_p.setRange(*TOP_P_RANGE)
        self.top_p.setToolTip("Sample only from the likeliest words that together make up this share (nucleus sampling)")
        self.max_tokens = QSpinBox(singleStep=64)
        self.max_tokens.setRange(*MAX_TOKENS_RANGE)
        self.max_tokens.setSuffix(" tokens")
        self.max_tokens.setToolTip("The longest answer; a reasoning model's thinking does not count against it")
        self.n_ctx = QSpinBox(singleStep=1024)
        self.n_ctx.setRange(0, N_CTX_RANGE[1])
        self.n_ctx.setSpecialValueText("Automatic (the model's, up to 4,096)")
        self.n_ctx.setSuffix(" tokens")
        self.n_ctx.setToolTip("How much text the model can see at once; used when a model is loaded next")
        self.seed = QSpinBox()
        self.seed.setRange(-1, SEED_RANGE[1])
        self.seed.setSpecialValueText("Random")
        self.seed.setToolTip("A fixed seed makes the same question give the same answer; Random varies it")
        self.thinking = QCheckBox("Let reasoning models think before answering")
        self.thinking.setToolTip(
            "Qwen3 and DeepSeek-R1 style models write their reasoning in a <think> block, shown collapsed "
            "above the answer. Off asks models that support it (Qwen3) to answer directly."
        )
        self.thinking_note = QLabel("", objectName="mutedText")
        self.thinking_note.setWordWrap(True)
        self.thinking_note.hide()
        self.system_prompt = QPlainTextEdit(objectName="systemPromptEdit")
        self.system_prompt.setPlaceholderText("What the assistant is told before every chat")
        self.system_prompt.setFixedHeight(84)
        self.reset_prompt_button = QPushButton("Default prompt", objectName="secondaryButton")
        self.reset_prompt_button.setToolTip("Put the built-in system prompt back")
        self.reset_prompt_button.clicked.connect(lambda: self.system_prompt.setPlainText(DEFAULT_SYSTEM_PROMPT))

        form.addRow("Temperature", self.temperature)
        form.addRow("Top-p", self.top_p)
        form.addRow("Max answer length", self.max_tokens)
        form.addRow("Context length", self.n_ctx)
        form.addRow("Seed", self.seed)
        self._form = form
        if not with_context:
            form.setRowVisible(self.n_ctx, False)
        layout.addLayout(form)
        layout.addWidget(self.thinking)
        layout.addWidget(self.thinking_note)
        prompt_head = QHBoxLayout()
        prompt_head.addWidget(QLabel("System prompt"))
        prompt_head.addStretch(1)
        prompt_head.addWidget(self.reset_prompt_button)
        layout.addLayout(prompt_head)
        layout.addWidget(self.system_prompt)
        self.prompt_count = QLabel("", objectName="mutedText")
        layout.addWidget(self.prompt_count)

        for name, signal in (
            ("temperature", self.temperature.valueChanged),
            ("top_p", self.top_p.valueChanged),
            ("max_tokens", self.max_tokens.valueChanged),
            ("n_ctx", self.n_ctx.valueChanged),
            ("seed", self.seed.valueChanged),
            ("thinking", self.thinking.toggled),
            ("system_prompt", self.system_prompt.textChanged),
        ):
            signal.connect(lambda *_a, n=name: self._emit(n))
        self.system_prompt.textChanged.connect(self._count_prompt)

    def _emit(self, name: str) -> None:
        if not self._syncing:
            self.sig_changed.emit(name)

    def _count_prompt(self) -> None:
        n = len(self.system_prompt.toPlainText())
        self.prompt_count.setText(
            f"{n:,} of {MAX_SYSTEM_PROMPT_CHARS:,} characters" if n > MAX_SYSTEM_PROMPT_CHARS * 0.8 else ""
        )
        self.prompt_count.setVisible(bool(self.prompt_count.text()))

    def set_values(self, values: dict) -> None:
        """Show ``values`` (settings.json names) without announcing changes."""
        self._syncing = True
        try:
            if "temperature" in values:
                self.temperature.setValue(float(values["temperature"]))
            if "top_p" in values:
                self.top_p.setValue(float(values["top_p"]))
            if "max_tokens" in values:
                self.max_tokens.setValue(int(values["max_tokens"]))
            if "n_ctx" in values:
                self.n_ctx.setValue(int(values["n_ctx"] or 0))
            if "seed" in values:
                self.seed.setValue(-1 if values["seed"] is None else int(values["seed"]))
            if "thinking" in values:
                self.thinking.setChecked(bool(values["thinking"]))
            if "system_prompt" in values and values["system_prompt"] != self.system_prompt.toPlainText():
                self.system_prompt.setPlainText(str(values["system_prompt"]))
        finally:
            self._syncing = False

    def value(self, name: str):
        """One field's value as settings.json holds it (Automatic context and Random seed are None)."""
        if name == "temperature":
            return round(self.temperature.value(), 2)
        if name == "top_p":
            return round(self.top_p.value(), 2)
        if name == "max_tokens":
            return self.max_tokens.value()
        if name == "n_ctx":
            return self.n_ctx.value() or None
        if name == "seed":
            return None if self.seed.value() < 0 else self.seed.value()
        if name == "thinking":
            return self.thinking.isChecked()
        if name == "system_prompt":
            return self.system_prompt.toPlainText()
        raise KeyError(name)

    def values(self, names=FORM_FIELDS) -> dict:
        return {name: self.value(name) for name in names}

    def set_thinking_support(self, thinks: bool, switch: bool) -> None:
        """Say what the thinking switch does for the loaded model (it can be set either way)."""
        if not thinks:
            text = "The loaded model does not think out loud; this applies to reasoning models (Qwen3, R1)."
        elif switch:
            text = "The loaded model can think; off asks it to answer directly (Qwen3's /no_think)."
        else:
            text = "The loaded model always thinks (its template has no switch); the thinking is shown collapsed."
        self.thinking_note.setText(text)
        self.thinking_note.show()
        self.thinking.setEnabled(not thinks or switch)
