"""MemoryReplayActions: the Memory pane's re-tests (T), the background replay queue and "Propose tidy-ups"."""

from __future__ import annotations

from purpose_desktop.ui.bridge import ErrorInfo
from purpose_desktop.ui.ops import EngineOp


class MemoryReplayActions:
    """A mixin of MemoryReviewPane (it uses the pane's bridge, ``_op``, model, busy bar, queue bar and banner)."""

    def retest(self) -> None:
        chosen = self.selected()
        if self._retest is not None:
            self.sig_status.emit("A re-test is already running; wait for it or stop it.", 3000)
            return
        if len(chosen) != 1:
            self.sig_status.emit("Select one memory to re-test.", 3000)
            return
        self._start_retest(chosen[0].id)

    def _start_retest(self, memory_id: str) -> None:
        self._retest = self._bridge.retest_memory(memory_id)
        self.retest_busy.start("Replaying past tasks with and without it, in the background (chat keeps working)…")
        self._update_buttons()

    def cancel_retest(self) -> None:
        if self._retest is not None:
            self._bridge.stop(self._retest)
            self.retest_busy.label.setText("Stopping…")
            self.retest_busy.cancel_button.setEnabled(False)

    def evolve(self) -> None:
        """Ask for merge, split and retirement proposals; they land in To review like any lesson."""
        self.evolve_button.setEnabled(False)

        def done(proposals) -> None:
            self.evolve_button.setEnabled(True)
            if not proposals:
                self.sig_status.emit("Nothing to tidy: no near-duplicate, split or fading lessons right now.", 4000)
                return
            counts: dict[str, int] = {}
            for p in proposals:
                counts[p.action] = counts.get(p.action, 0) + 1
            what = ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))
            self.sig_status.emit(f"{len(proposals)} proposal(s) wait in To review: {what}.", 6000)
            self.refresh()

        EngineOp(self, lambda e: e.memories.evolve(), what="proposing tidy-ups").success(done).failure(
            lambda err: (self.evolve_button.setEnabled(True), self._on_failed(err))
        ).run(self._bridge)

    def pause_retests(self, pause: bool) -> None:
        """Pause (the re-test in progress starts over later) or resume the background re-tests."""
        self._op(
            (lambda e: e.replays.pause()) if pause else (lambda e: e.replays.resume()),
            "pausing re-tests" if pause else "resuming re-tests",
            lambda _r: self.sig_status.emit("Re-tests paused." if pause else "Re-tests resumed.", 2000),
        )

    def _short_text(self, memory_id: str) -> str | None:
        row = self.model.row_of(memory_id)
        m = self.model.memory(row) if row >= 0 else None
        if m is None:
            return None
        text = " ".join(m.text.split())
        return text if len(text) <= 40 else text[:39] + "…"

    def _on_queue_status(self, status) -> None:
        before = self.queue_bar.status
        self.queue_bar.show_status(status)
        if before is None or self._retest is not None:
            return
        if status.finished > before.finished or status.proposed > before.proposed:
            self.refresh()  # an idle-time re-test stored evidence, or tidy-ups were proposed

    def _on_retest_progress(self, request_id: str, p) -> None:
        if self._retest is None or request_id != self._retest.id:
            return
        self.retest_busy.set_progress(p.done / max(1, p.total), f"Replay {p.done} of {p.total} ({p.arm} it)…")

    def _on_retest_ended(self, request_id: str, evidence, cancelled: bool) -> None:
        if self._retest is None or request_id != self._retest.id:
            return
        memory_id = self._retest.memory_id
        self._retest = None
        self.retest_busy.stop()
        self.sig_status.emit(
            "Re-test stopped; nothing was stored." if cancelled else "Re-test finished.", 4000
        )
        self._focus_id = memory_id
        self.refresh()
        self._update_buttons()

    def _on_retest_failed(self, request_id: str, err: ErrorInfo) -> None:
        if self._retest is not None and request_id == self._retest.id:
            self._retest = None
            self.retest_busy.stop()
            self.banner.show_message(err.message, err.hint)
            self._update_buttons()
