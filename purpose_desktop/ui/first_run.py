"""FirstRunDialog: on the very first start, what the app is, what the bundled model can't do, and one click to a coding model.

Shown once: either answer ("Get a coding model" or "Skip, stay offline") — or closing it — saves
``first_run_done`` in the engine settings, and the guide never appears again.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from purpose_desktop.engine.errors import PurposeError
from purpose_desktop.engine.models.catalog import CatalogEntry, load_catalog, recommend, speed_note
from purpose_desktop.engine.models.fit import human_bytes, memory_info
from purpose_desktop.ui.catalog_panel import size_text
from purpose_desktop.ui.ops import EngineOp

BUNDLED_LIMITS = "The bundled SmolLM2-135M model keeps everything working offline, but it is too small to write reliable code."


def recommended_entry() -> tuple[CatalogEntry | None, str]:
    """The catalog's recommendation for this computer and a sentence on why (or why none)."""
    try:
        catalog = load_catalog()
    except PurposeError as exc:
        return None, f"The model catalog cannot be read: {exc.message}"
    total, available = memory_info()
    best = recommend(catalog, total, available)
    if best is None:
        return None, (
            f"None of the catalog's coding models fits in this computer's {human_bytes(total)} of RAM; "
            "the bundled model stays in use."
        )
    return best, f"{best.fit(total, available).why.rstrip('.')}; {speed_note(best)}."


class FirstRunDialog(QDialog):
    """The first-run guide; ``choice`` is "get" or "skip" once answered."""

    #: "get" (download the recommended model) or "skip" (stay offline)
    sig_choice_made = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunDialog")
        self.setWindowTitle("Welcome to Purpose Desktop")
        self.setModal(True)
        self.setMinimumWidth(560)
        self.choice: str | None = None
        self.entry, why = recommended_entry()
        box = QVBoxLayout(self)
        box.setContentsMargins(24, 20, 24, 18)
        box.setSpacing(10)
        title = QLabel("Welcome to Purpose Desktop", objectName="paneTitle")
        box.addWidget(title)
        intro = QLabel(
            "An offline, private coding helper: a team of local agents (architect, coder, tester) whose work "
            "is checked by running tests, and that learns from lessons you approve. Nothing leaves this "
            "computer unless you ask.",
            objectName="cardText",
        )
        intro.setWordWrap(True)
        box.addWidget(intro)
        limits = QLabel(BUNDLED_LIMITS, objectName="mutedText")
        limits.setWordWrap(True)
        box.addWidget(limits)
        card = QLabel(objectName="cardText")
        card.setWordWrap(True)
        card.setTextFormat(Qt.TextFormat.RichText)
        if self.entry is not None:
            e = self.entry
            score = next((f", {s.benchmark} {s.value:g}" for s in e.scores), "")
            card.setText(
                f"<b>Recommended for this computer: {e.name}</b><br>"
                f"{size_text(e)} download from Hugging Face ({e.repo}), {e.license} license{score}.<br>{why}"
            )
        else:
            card.setText(why)
        self.recommendation = card
        box.addWidget(card)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.skip_button = QPushButton("Skip, stay offline", objectName="secondaryButton")
        self.skip_button.setToolTip(
            "Keep the bundled model; you can download models later in Models (Ctrl+6)"
        )
        self.skip_button.clicked.connect(lambda: self._answer("skip"))
        self.get_button = QPushButton("Get a coding model", objectName="primaryButton")
        self.get_button.setToolTip("Open Models and download the recommended model (you can pause it)")
        self.get_button.clicked.connect(lambda: self._answer("get"))
        self.get_button.setEnabled(self.entry is not None)
        self.get_button.setDefault(self.entry is not None)
        buttons.addWidget(self.skip_button)
        buttons.addWidget(self.get_button)
        box.addStretch(1)  # a taller dialog grows below the text, never between its paragraphs
        box.addLayout(buttons)
        # Wrapped labels' size hints assume a narrower dialog, which leaves gaps between the paragraphs:
        # size it for the wrapped text at its real width instead.
        width = max(self.minimumWidth(), box.sizeHint().width())
        self.resize(width, box.totalHeightForWidth(width))

    def _answer(self, choice: str) -> None:
        self.choice = choice
        self.sig_choice_made.emit(choice)
        self.accept()

    def reject(self) -> None:  # Esc or the close box: the same as skipping
        if self.choice is None:
            self.choice = "skip"
            self.sig_choice_made.emit("skip")
        super().reject()


def maybe_show_first_run(window, bridge) -> None:
    """Once the engine is up, show the guide if it was never answered; remember the answer."""

    def check(snapshot) -> None:
        if snapshot.settings.get("first_run_done"):
            return
        dialog = FirstRunDialog(window)
        window.first_run_dialog = dialog

        def answered(choice: str) -> None:
            EngineOp(window, lambda e: e.config.update({"first_run_done": True}), what="saving settings").run(
                bridge
            )
            if choice == "get" and dialog.entry is not None:
                window.show_pane("models")
                window.models_pane.catalog.start_download(dialog.entry.id)

        dialog.sig_choice_made.connect(answered)
        dialog.open()

    def started(_engine_id) -> None:
        bridge.sig_engine_started.disconnect(started)
        EngineOp(window, lambda e: e.config.snapshot(), what="reading settings").success(check).run(bridge)

    bridge.sig_engine_started.connect(started)
