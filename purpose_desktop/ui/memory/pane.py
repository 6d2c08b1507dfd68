"""MemoryReviewPane: what the app learned, waiting for a person — filter, read the evidence, approve or reject.

Keys (while the pane has focus): A approve · R reject (type a reason, Enter) · E edit · T re-test ·
Shift+A archive · J / ↓ next · K / ↑ previous · Ctrl+Z undo the last decision · Ctrl+F search.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.services import MemoryDecision, MemoryList
from purpose_desktop.ui.bridge import EngineBridge, ErrorInfo
from purpose_desktop.ui.chat.messages import Banner
from purpose_desktop.ui.memory.detail import (
    KIND_LABELS,
    MemoryDetail,
)
from purpose_desktop.ui.memory.lesson_dialog import LessonDialog, ScopeFields
from purpose_desktop.ui.memory.replay_actions import MemoryReplayActions
from purpose_desktop.ui.memory.replay_bar import ReplayQueueBar
from purpose_desktop.ui.memory.table_model import MemoryTableModel
from purpose_desktop.ui.memory.transfer import MemoryTransferActions
from purpose_desktop.ui.ops import EngineOp
from purpose_desktop.ui.widgets import BusyBar, EmptyState, PaneHeader

#: Tabs: (label, statuses shown). Review comes first: it is what needs a person.
TABS = (
    ("To review", ("quarantined", "candidate")),
    ("Promoted", ("promoted",)),
    ("Rejected", ("rejected",)),
    ("Archived", ("archived",)),
    ("All", ()),
)
QUICK_REASONS = ("Wrong", "Too specific", "Duplicate", "Unsafe")
UNDO_MS = 15_000
PAST = {"approve": "Approved", "reject": "Rejected", "archive": "Archived", "restore": "Moved back to review"}


class MemoryReviewPane(QWidget, MemoryTransferActions, MemoryReplayActions):
    """Approve what helps, reject what doesn't, and see why — memories reach prompts only once promoted."""

    #: (text, timeout ms) for the status bar.
    sig_status = Signal(str, int)
    #: (count) memories waiting for review (the rail's badge).
    sig_review_count_changed = Signal(int)
    #: (run id) show this run in Runs.
    sig_run_open_requested = Signal(str)

    def __init__(self, bridge: EngineBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("memoryPane")
        self._bridge = bridge
        self._all: list = []
        self._counts: dict[str, int] = {}
        self._show_request: object | None = None  # the latest memory opened; older answers are ignored
        self._retest = None
        self._undo: MemoryDecision | None = None
        self._focus_id: str | None = None
        self._next_after: str | None = None
        self._build()
        self._build_actions()
        b = bridge
        b.sig_engine_started.connect(lambda _id: self.refresh())
        b.sig_memory_retest_progressed.connect(self._on_retest_progress)
        b.sig_memory_retested.connect(lambda rid, ev: self._on_retest_ended(rid, ev, False))
        b.sig_memory_retest_cancelled.connect(lambda rid, ev: self._on_retest_ended(rid, ev, True))
        b.sig_team_run_finished.connect(lambda *_: self.refresh())
        b.sig_memory_retest_failed.connect(self._on_retest_failed)
        b.sig_replay_status_changed.connect(self._on_queue_status)

    # -- layout -----------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 12)
        layout.setSpacing(6)
        header = PaneHeader(
            "Memory review",
            "Lessons drawn from runs wait here. Only what you approve reaches a prompt. "
            "A approve · R reject · E edit · T re-test · J/K next/previous · Ctrl+Z undo",
        )
        self.teach_button = header.add_button(
            "Teach…", "Add a lesson of your own (any kind, with a scope), e.g. “Always add type hints”"
        )
        self.teach_button.clicked.connect(self.teach)
        self.evolve_button = header.add_button(
            "Propose tidy-ups",
            "Propose merging near-duplicate lessons, splitting lessons that help one kind of task and hurt "
            "another, and retiring lessons whose utility keeps falling. Each proposal waits here for you.",
        )
        self.evolve_button.clicked.connect(self.evolve)
        self.export_button = header.add_button("Export…", "Save every memory to a JSONL file")
        self.export_button.clicked.connect(self.export_memories)
        self.import_button = header.add_button(
            "Import…", "Import memories from a JSONL file: scanned, and all held for your review"
        )
        self.import_button.clicked.connect(self.import_memories)
        self.undo_button = header.add_button("Undo", "Undo the last decision (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo)
        self.undo_button.setEnabled(False)
        layout.addWidget(header)
        self.banner = Banner("error")
        layout.addWidget(self.banner)
        self.undo_banner = Banner("info")
        layout.addWidget(self.undo_banner)

        filters = QHBoxLayout()
        filters.setContentsMargins(20, 0, 20, 0)
        self.tabs = QTabBar(objectName="memoryTabs")
        self.tabs.setDrawBase(False)
        self.tabs.setExpanding(False)
        for label, _ in TABS:
            self.tabs.addTab(label)
        self.tabs.currentChanged.connect(lambda _i: self._apply_filters())
        self.kind_combo = QComboBox()
        self.kind_combo.addItem("All kinds", None)
        for kind, label in KIND_LABELS.items():
            self.kind_combo.addItem(label, kind)
        self.kind_combo.currentIndexChanged.connect(lambda _i: self._apply_filters())
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search memories (Ctrl+F)")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setMinimumWidth(240)
        self.search_edit.setMaximumWidth(300)
        self.search_edit.textChanged.connect(lambda _t: self._apply_filters())
        filters.addWidget(self.tabs)
        filters.addStretch(1)
        filters.addWidget(self.kind_combo)
        filters.addWidget(self.search_edit)
        layout.addLayout(filters)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, objectName="memorySplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(20, 0, 8, 0)
        self.table = QTableView(objectName="memoryTable")
        self.model = MemoryTableModel(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().setDefaultSectionSize(2 * self.fontMetrics().lineSpacing() + 12)
        self.table.setAccessibleName("Memories")
        h = self.table.horizontalHeader()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            h.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        h.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_selection())
        lv.addWidget(self.table, 1)
        self.list_empty = EmptyState("", "")
        self.list_empty.hide()
        lv.addWidget(self.list_empty, 1)
        self.splitter.addWidget(left)

        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(8, 0, 20, 0)
        rv.setSpacing(6)
        self.retest_busy = BusyBar(cancellable=True)
        self.retest_busy.sig_cancel_requested.connect(self.cancel_retest)
        rv.addWidget(self.retest_busy)
        self.queue_bar = ReplayQueueBar(name_of=self._short_text)
        self.queue_bar.sig_pause_requested.connect(self.pause_retests)
        rv.addWidget(self.queue_bar)
        self.detail = MemoryDetail()
        self.detail.sig_run_clicked.connect(self.sig_run_open_requested)
        self.detail.sig_overrule_requested.connect(lambda _mid: self.start_overrule())
        rv.addWidget(self.detail, 1)
        # Inline box: why the scan's block is a false positive (recorded in history and the allow-list).
        self.overrule_box = QFrame(objectName="card")
        ob = QVBoxLayout(self.overrule_box)
        ob.setContentsMargins(12, 8, 12, 8)
        ob.addWidget(
            QLabel(
                "Why is this not an attack? (Enter to overrule, Esc to cancel)", objectName="sectionTitle"
            )
        )
        row = QHBoxLayout()
        self.overrule_edit = QLineEdit()
        self.overrule_edit.setPlaceholderText("e.g. advice about SQL injection, not an instruction")
        self.overrule_edit.returnPressed.connect(self._confirm_overrule)
        row.addWidget(self.overrule_edit, 1)
        confirm = QPushButton("Overrule", objectName="primaryButton")
        confirm.clicked.connect(self._confirm_overrule)
        row.addWidget(confirm)
        ob.addLayout(row)
        self.overrule_box.hide()
        rv.addWidget(self.overrule_box)
        # Inline editors: a reason for Reject, new text for Edit.
        self.reject_box = QFrame(objectName="card")
        rb = QVBoxLayout(self.reject_box)
        rb.setContentsMargins(12, 8, 12, 8)
        rb.addWidget(QLabel("Why reject it? (Enter to reject, Esc to cancel)", objectName="sectionTitle"))
        row = QHBoxLayout()
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("e.g. wrong for Python 3.11")
        self.reason_edit.returnPressed.connect(self._confirm_reject)
        row.addWidget(self.reason_edit, 1)
        for reason in QUICK_REASONS:
            quick = QPushButton(reason, objectName="secondaryButton")
            quick.clicked.connect(
                lambda _=False, r=reason: (self.reason_edit.setText(r), self._confirm_reject())
            )
            row.addWidget(quick)
        rb.addLayout(row)
        self.reject_box.hide()
        rv.addWidget(self.reject_box)
        self.edit_box = QFrame(objectName="card")
        eb = QVBoxLayout(self.edit_box)
        eb.setContentsMargins(12, 8, 12, 8)
        eb.addWidget(
            QLabel(
                "Edit the lesson (Ctrl+Enter saves; it is scanned and re-tested)", objectName="sectionTitle"
            )
        )
        self.text_edit = QPlainTextEdit(objectName="field")
        self.text_edit.setFixedHeight(90)
        eb.addWidget(self.text_edit)
        self.scope_fields = ScopeFields(self.edit_box, compact=True)
        eb.addWidget(self.scope_fields)
        row = QHBoxLayout()
        row.addStretch(1)
        cancel = QPushButton("Cancel", objectName="secondaryButton")
        cancel.clicked.connect(self._close_inline)
        save = QPushButton("Save", objectName="primaryButton")
        save.clicked.connect(self._confirm_edit)
        row.addWidget(cancel)
        row.addWidget(save)
        eb.addLayout(row)
        self.edit_box.hide()
        rv.addWidget(self.edit_box)
        buttons = QHBoxLayout()
        self.approve_button = QPushButton("Approve", objectName="primaryButton")
        self.approve_button.setToolTip("Promote it: it may now reach prompts (A)")
        self.approve_button.clicked.connect(self.approve)
        self.reject_button = QPushButton("Reject…", objectName="dangerButton")
        self.reject_button.setToolTip("Reject it with a reason; it is kept for audit (R)")
        self.reject_button.clicked.connect(self.start_reject)
        self.edit_button = QPushButton("Edit", objectName="secondaryButton")
        self.edit_button.setToolTip("Change the text; it is scanned and tested again (E)")
        self.edit_button.clicked.connect(self.start_edit)
        self.retest_button = QPushButton("Re-test", objectName="secondaryButton")
        self.retest_button.setToolTip("Replay past tasks with and without it (T)")
        self.retest_button.clicked.connect(self.retest)
        self.archive_button = QPushButton("Archive", objectName="secondaryButton")
        self.archive_button.setToolTip("Keep it, but out of prompts (Shift+A)")
        self.archive_button.clicked.connect(self.archive)
        self.restore_button = QPushButton("Back to review", objectName="secondaryButton")
        self.restore_button.setToolTip("Put a rejected or archived memory back in review")
        self.restore_button.clicked.connect(self.restore)
        for b in (self.reject_button, self.archive_button, self.restore_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        for b in (self.edit_button, self.retest_button, self.approve_button):
            buttons.addWidget(b)
        rv.addLayout(buttons)
        self.splitter.addWidget(right)
        self.splitter.setSizes([560, 560])
        layout.addWidget(self.splitter, 1)
        self._update_buttons()

    def _build_actions(self) -> None:
        def add(keys, slot) -> None:
            action = QAction(self)
            action.setShortcuts([QKeySequence(k) for k in (keys if isinstance(keys, tuple) else (keys,))])
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

        self._typing_actions = []
        for keys, slot in (
            ("A", self.approve),
            ("R", self.start_reject),
            ("E", self.start_edit),
            ("T", self.retest),
            ("Shift+A", self.archive),
            ("O", self.start_overrule),
            ("J", lambda: self.move(1)),
            ("K", lambda: self.move(-1)),
        ):
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _=False, s=slot: self._unless_typing(s))
            self.addAction(action)
        add("Ctrl+Z", self.undo)
        add("Ctrl+F", lambda: self.search_edit.setFocus())
        add(("Ctrl+Return", "Ctrl+Enter"), self._confirm_edit_if_open)
        add("Esc", self._close_inline)

    def _unless_typing(self, slot) -> None:
        # Single-letter keys act on memories only when the person is not typing somewhere.
        focus = self.focusWidget()
        if isinstance(focus, QLineEdit | QPlainTextEdit):
            return
        slot()

    # -- public actions ---------------------------------------------------------------------------
    def refresh(self) -> None:
        EngineOp(self, lambda e: e.memories.list(), what="listing memories").success(self._on_listed).run(
            self._bridge
        )

    def _op(self, fn, what: str, done) -> None:
        """A one-shot request whose failure shows in the banner and re-reads the list."""
        EngineOp(self, fn, what=what).success(done).failure(self._on_failed).run(self._bridge)

    def selected(self) -> list:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [m for r in rows if (m := self.model.memory(r)) is not None]

    def select(self, memory_id: str) -> None:
        """Show this memory (switching to the All tab if the filters hide it)."""
        if self.model.row_of(memory_id) < 0:
            self.search_edit.clear()
            self.kind_combo.setCurrentIndex(0)
            self.tabs.setCurrentIndex(len(TABS) - 1)
        row = self.model.row_of(memory_id)
        if row >= 0:
            self.table.clearSelection()  # show this one, not this one as well
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
        else:
            self._focus_id = memory_id  # not listed yet: select it when the list arrives

    def show_memory(self, memory_id: str) -> None:
        """Select and show one memory (e.g. from a chat answer's chip); lists again if it is not known yet."""
        known = any(m.id == memory_id for m in self._all)
        self.select(memory_id)
        if not known:
            self._focus_id = memory_id
            self.refresh()

    def move(self, delta: int) -> None:
        current = self.table.currentIndex().row()
        row = max(0, min(self.model.rowCount() - 1, (current if current >= 0 else -1) + delta))
        if self.model.rowCount():
            self.table.selectRow(row)

    def approve(self) -> None:
        self._decide("approve")

    def archive(self) -> None:
        self._decide("archive")

    def restore(self) -> None:
        self._decide("restore")

    def start_reject(self) -> None:
        if not self.selected():
            return
        self.edit_box.hide()
        self.reject_box.show()
        self.reason_edit.clear()
        self.reason_edit.setFocus()

    def start_overrule(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1 or chosen[0].status != "rejected" or not chosen[0].scan.get("blocked"):
            self.sig_status.emit("Only a memory the immune scan blocked can be overruled.", 3000)
            return
        self.edit_box.hide()
        self.reject_box.hide()
        self.overrule_box.show()
        self.overrule_edit.clear()
        self.overrule_edit.setFocus()

    def _confirm_overrule(self) -> None:
        chosen = self.selected()
        reason = self.overrule_edit.text().strip()
        if len(chosen) != 1:
            return
        if not reason:
            self.sig_status.emit("Say why the scan was wrong; it is kept in the memory's history.", 4000)
            return
        self._close_inline()
        memory_id = chosen[0].id
        self._op(lambda e: e.memories.overrule(memory_id, reason), "overruling the scan", self._on_overruled)

    def _on_overruled(self, memory) -> None:
        self.sig_status.emit(
            "Overruled. The memory is back in review, and the scan allows this finding from now on.", 5000
        )
        self._focus_id = memory.id
        self.refresh()

    def reject(self, reason: str) -> None:
        if not reason.strip():
            self.sig_status.emit("Say why it is rejected — it helps the next reviewer (you, later).", 4000)
            return
        self._decide("reject", reason.strip())

    def start_edit(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1:
            self.sig_status.emit("Select one memory to edit.", 3000)
            return
        self.reject_box.hide()
        self.text_edit.setPlainText(chosen[0].text)
        self.scope_fields.set_values(chosen[0].kind, chosen[0].scope.to_dict())
        self.edit_box.show()
        self.text_edit.setFocus()

    def undo(self) -> None:
        decision, self._undo = self._undo, None
        if decision is None or not decision.previous:
            self.sig_status.emit("Nothing to undo.", 2000)
            return
        self.undo_banner.dismiss()
        previous = decision.previous
        self._op(lambda e: e.memories.undo(previous), "undoing", lambda d: self._on_decided(d, "undo"))
        self._update_buttons()

    def teach(self) -> LessonDialog:
        """Teach a lesson of any kind, with a scope; it is scanned, then promoted (you are its approver)."""
        dialog = LessonDialog(
            "Teach a lesson",
            "A lesson of your own. It is scanned first; then, since you taught it, it is used at once "
            "wherever its scope says (leave a field blank for any).",
            confirm="Teach",
            parent=self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.sig_confirmed.connect(
            lambda text, kind, scope: self._op(
                lambda e: e.memories.teach(text, kind=kind, scope=scope), "teaching", self._on_taught
            )
        )
        self.teach_dialog = dialog
        dialog.open()
        return dialog


    # -- internals --------------------------------------------------------------------------------
    def _decide(self, action: str, reason: str = "") -> None:
        chosen = self.selected()
        if not chosen:
            return
        allowed = {
            "approve": ("quarantined",),
            "reject": ("quarantined", "promoted"),
            "archive": ("quarantined", "promoted"),
            "restore": ("rejected", "archived"),
        }[action]
        ids = [m.id for m in chosen if m.status in allowed]
        if not ids:
            self.sig_status.emit(f"Nothing selected can be {PAST[action].lower()}.", 3000)
            return
        self._close_inline()
        self._next_after = self._row_after(chosen)
        self._op(
            lambda e: e.memories.decide(ids, action, reason),
            f"{action} memories",
            lambda d: self._on_decided(d, action),
        )

    def _row_after(self, chosen) -> str | None:
        """The memory to show after deciding on ``chosen``: the next one below, else the one above."""
        rows = sorted(self.model.row_of(m.id) for m in chosen)
        ids = {m.id for m in chosen}
        for r in list(range(rows[-1] + 1, self.model.rowCount())) + list(range(rows[0] - 1, -1, -1)):
            m = self.model.memory(r)
            if m is not None and m.id not in ids:
                return m.id
        return None

    def _confirm_reject(self) -> None:
        self.reject(self.reason_edit.text())

    def _confirm_edit_if_open(self) -> None:
        if self.edit_box.isVisible():
            self._confirm_edit()

    def _confirm_edit(self) -> None:
        chosen = self.selected()
        text = self.text_edit.toPlainText().strip()
        if len(chosen) != 1 or not text:
            return
        self._close_inline()
        memory_id = chosen[0].id
        kind, scope = self.scope_fields.kind(), self.scope_fields.scope()
        self._op(
            lambda e: e.memories.edit(memory_id, text, scope=scope, kind=kind),
            "editing a memory",
            self._on_edited,
        )

    def _close_inline(self) -> None:
        self.reject_box.hide()
        self.edit_box.hide()
        self.overrule_box.hide()
        self.table.setFocus()

    def _apply_filters(self) -> None:
        statuses = TABS[max(0, self.tabs.currentIndex())][1]
        kind = self.kind_combo.currentData()
        needle = self.search_edit.text().strip().lower()
        shown = [
            m
            for m in self._all
            if (not statuses or m.status in statuses)
            and (kind is None or m.kind == kind)
            and (not needle or needle in m.text.lower())
        ]
        keep = self._focus_id or (self.selected()[0].id if self.selected() else None)
        self.model.set_memories(shown)
        self.table.setVisible(bool(shown))
        self.list_empty.setVisible(not shown)
        if not shown:
            if self._all and (needle or kind):
                self.list_empty.set_text("No memories match", "Clear the search or pick another kind.")
            elif self.tabs.currentIndex() == 0:
                self.list_empty.set_text(
                    "Nothing waiting for review",
                    "Run tasks in the Team pane in “Learn” mode; lessons drawn from them appear here. "
                    "Or press Teach… to add a preference of your own.",
                )
            else:
                self.list_empty.set_text("Nothing here yet", "Memories you decide on move to these tabs.")
            self.detail.show_empty("Nothing selected", "")
            self._update_buttons()
            return
        row = self.model.row_of(keep) if keep else -1
        self.table.selectRow(row if row >= 0 else 0)
        self._focus_id = None
        self._update_buttons()

    def _on_selection(self) -> None:
        chosen = self.selected()
        if not chosen:
            self._close_inline()
        if len(chosen) == 1:
            token = self._show_request = object()
            memory_id = chosen[0].id
            EngineOp(self, lambda e: e.memories.show(memory_id), what="opening a memory").success(
                lambda detail: self._on_shown(token, detail)
            ).run(self._bridge)
        elif len(chosen) > 1:
            self._show_request = None
            self.detail.show_empty(
                f"{len(chosen)} memories selected",
                "Approve (A), reject (R) or archive (Shift+A) them all at once.",
            )
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = self.selected()
        statuses = {m.status for m in chosen}
        one = len(chosen) == 1
        self.approve_button.setEnabled("quarantined" in statuses)
        self.reject_button.setEnabled(bool(statuses & {"quarantined", "promoted"}))
        self.archive_button.setEnabled(bool(statuses & {"quarantined", "promoted"}))
        self.restore_button.setVisible(bool(statuses & {"rejected", "archived"}))
        self.edit_button.setEnabled(one)
        self.retest_button.setEnabled(
            one and self._retest is None and bool(statuses & {"quarantined", "promoted"})
        )
        self.undo_button.setEnabled(self._undo is not None)
        n = len(chosen)
        self.approve_button.setText(f"Approve {n}" if n > 1 else "Approve")

    # -- answers ----------------------------------------------------------------------------------
    def _on_listed(self, result: MemoryList) -> None:
        self._all = list(result.memories)
        self._counts = dict(result.counts)
        review = self._counts.get("quarantined", 0) + self._counts.get("candidate", 0)
        for i, (label, statuses) in enumerate(TABS):
            n = len(self._all) if not statuses else sum(self._counts.get(s, 0) for s in statuses)
            self.tabs.setTabText(i, f"{label} ({n})")
        self.sig_review_count_changed.emit(review)
        self._apply_filters()

    def _on_shown(self, token: object, detail: dict) -> None:
        if token is not self._show_request:
            return
        self._show_request = None
        self.detail.show_memory(detail)

    def _on_decided(self, decision: MemoryDecision, what: str) -> None:
        n = len(decision.memories)
        if what == "undo":
            self.sig_status.emit(
                f"Undone: {n} memor{'y is' if n == 1 else 'ies are'} back where they were.", 4000
            )
            self._focus_id = decision.memories[0].id if decision.memories else None
        else:
            self._undo = decision
            words = f"{PAST[what]} {n} memor{'y' if n == 1 else 'ies'}."
            failed = (
                f" {len(decision.failed)} could not be: {decision.failed[0][1]}" if decision.failed else ""
            )
            self.undo_banner.show_message(
                words + failed, "", actions=[("Undo", self.undo)], timeout_ms=UNDO_MS
            )
            self._focus_id = self._next_after
        self.refresh()
        self._update_buttons()

    def _on_edited(self, memory) -> None:
        if memory.status == "rejected":
            self.banner.show_message(
                "The edited text was blocked by the immune scan, so the memory is now rejected.",
                "Its history keeps the old text; edit it again without the flagged part.",
            )
        elif self._retest is None:
            # New text, new evidence: the old replay result no longer applies, so test it again now.
            self.sig_status.emit("Saved. The new text passed the scan; re-testing it now…", 4000)
            self._start_retest(memory.id)
        else:
            self.sig_status.emit(
                "Saved. The new text passed the scan and is back in review; re-test it when the "
                "running re-test ends.",
                6000,
            )
        self._focus_id = memory.id
        self.refresh()

    def _on_taught(self, result) -> None:
        outcome = getattr(result, "outcome", "")
        words = {
            "promoted": "Learned. It is promoted: you taught it.",
            "strengthened": "You taught this before; that memory is now stronger.",
            "rejected": "The immune scan blocked that lesson; it is kept as rejected for audit.",
        }.get(outcome, f"Saved ({outcome}).")
        self.sig_status.emit(words, 5000)
        self._focus_id = result.memory.id
        self.refresh()

    def _on_failed(self, err: ErrorInfo) -> None:
        self.banner.show_message(err.message, err.hint)
        self.refresh()
