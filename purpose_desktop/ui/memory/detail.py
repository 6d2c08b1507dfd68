"""MemoryDetail: one memory in full — text, kind and scope, provenance, scan report, replay evidence, use, history."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.ui.charts import EvidenceChart, Sparkline
from purpose_desktop.ui.memory.lesson_dialog import describe_scope
from purpose_desktop.ui.widgets import Badge, EmptyState, local_time

KIND_LABELS = {
    "purpose_contract": "Purpose contract",
    "user_preference": "Your preference",
    "skill_card": "Skill",
    "episodic_case": "Past case",
    "failure_pattern": "Failure pattern",
    "critic_calibration": "Critic calibration",
    "tool_policy": "Tool policy",
}
STATUS_LABELS = {
    "candidate": "candidate",
    "quarantined": "to review",
    "promoted": "promoted",
    "rejected": "rejected",
    "archived": "archived",
}
VERDICT_WORDS = {
    "helps": "Helps",
    "neutral": "No clear effect",
    "hurts": "Hurts",
    "untested": "Not testable yet",
}


CATEGORY_LABELS = {
    "injection": "Injection",
    "score_manipulation": "Score manipulation",
    "tool_misuse": "Tool misuse",
    "exfiltration": "Data exfiltration",
    "prompt_leak": "Prompt leak",
    "secret": "Secret",
}


def category_label(category: str | None) -> str:
    return CATEGORY_LABELS.get(category or "", (category or "unknown").replace("_", " ").capitalize())


def finding_basis(r: dict) -> str:
    """What a finding rests on: the rule that matched, or the learned detector and its confidence."""
    if r.get("rule") == "learned_detector":
        conf = r.get("confidence")
        return "learned detector" + (f", {conf:.0%} confident" if isinstance(conf, int | float) else "")
    if r.get("rule") == "unread_language":
        conf = r.get("confidence")
        sure = f", {conf:.0%} sure" if isinstance(conf, int | float) else ""
        return f"language identifier: {r.get('excerpt', '?')}{sure}; no rule or detector reads it"
    via = r.get("via") or "text"
    seen = "" if via in ("text", "normalized") else f", seen via {via.replace('+', ' then ')}"
    return f"rule “{r.get('rule', '?')}”{seen}"


def span_html(text: str, r: dict, context: int = 60) -> str:
    """The words that mattered, highlighted inside their sentence (the excerpt alone if the span moved);
    red while they block, grey once the person allowed them."""
    mark = "background:#dddddd;color:#333333" if r.get("allowed") else "background:#f5c2c0;color:#4a1411"
    span = r.get("span") or [0, 0]
    start, end = int(span[0]), int(span[1])
    excerpt = r.get("excerpt", "")
    # A language finding's excerpt is the language's name; its span is the passage.
    moved = r.get("rule") != "unread_language" and ("…" in excerpt or text[start:end][:20] != excerpt[:20])
    if not (0 <= start < end <= len(text)) or moved:
        return f"<span style='{mark}'>{html.escape(excerpt)}</span>"
    before = text[max(0, start - context) : start]
    after = text[end : end + context]
    return (
        ("…" if start > context else "")
        + html.escape(before)
        + f"<span style='{mark}'><b>{html.escape(text[start:end])}</b></span>"
        + html.escape(after)
        + ("…" if end + context < len(text) else "")
    )


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def verdict_word(evidence: dict | None) -> str:
    """The verdict as the pane says it: "Helps", "Not enough evidence", "No grounded runs" …"""
    evidence = evidence or {}
    verdict = evidence.get("verdict", "untested")
    if evidence.get("n") and "n_grounded" in evidence:
        if not evidence.get("n_grounded"):
            return "No grounded runs"
        if evidence.get("verdict_reason") == "not enough evidence":
            return "Not enough evidence"
    return VERDICT_WORDS.get(verdict, verdict)


def decided(evidence: dict | None) -> bool:
    """False when the replay's grounded pairs could not decide (none grounded, or not enough evidence)."""
    return verdict_word(evidence) not in ("No grounded runs", "Not enough evidence")


def shown_delta(evidence: dict | None) -> float | None:
    """The delta the verdict rests on: over the grounded pairs (None when none), the raw one for old evidence."""
    evidence = evidence or {}
    if "n_grounded" in evidence:
        return evidence.get("grounded_delta")
    return evidence.get("delta")


def evidence_summary(evidence: dict | None) -> str:
    """One line: "Helps: 7.3 with vs 5.1 without (+2.2 over n=3, won 3 of 3)"."""
    if not evidence:
        return "Not tested yet. Press Re-test (T) to replay past tasks with and without it."
    if not evidence.get("n"):
        return "Not testable yet: there is no past task to replay it on."
    return (
        f"{verdict_word(evidence)}: {evidence.get('mean_with') or 0:.1f} with vs "
        f"{evidence.get('mean_without') or 0:.1f} without ({evidence.get('delta') or 0:+.2f} over n={evidence.get('n')}, "
        f"won {evidence.get('wins', 0)} of {evidence.get('n')})"
    )


def grounding_text(m: dict) -> str:
    """What the verdict rests on, in plain words (the engine's ``evidence_grounding``), first letter up."""
    text = m.get("evidence_grounding") or ""
    return text[:1].upper() + text[1:]


def _section(title: str) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame(objectName="card")
    box = QVBoxLayout(frame)
    box.setContentsMargins(12, 10, 12, 10)
    box.setSpacing(5)
    box.addWidget(QLabel(title, objectName="sectionTitle"))
    return frame, box


def _text(text: str, name: str = "cardText") -> QLabel:
    label = QLabel(text, objectName=name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class MemoryDetail(QScrollArea):
    """Everything a reviewer needs to decide about one memory."""

    #: (run id) the person clicked the run a memory came from.
    sig_run_clicked = Signal(str)
    #: (memory id) the person says the scan's block is a false positive and wants to overrule it.
    sig_overrule_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        canvas = QWidget(objectName="timelineCanvas")
        self._layout = QVBoxLayout(canvas)
        self._layout.setContentsMargins(4, 0, 8, 8)
        self._layout.setSpacing(8)
        self.setWidget(canvas)
        self.empty = EmptyState("Nothing selected", "")
        self.memory: dict | None = None
        self.grounding_label: QLabel | None = None  # what the replay verdict rests on, when replayed
        self.finding_labels: list[QLabel] = []  # one per scan finding: category, basis, the span
        self.overrule_button: QPushButton | None = None
        self.show_empty("Nothing to review", "New lessons from runs land here for you to approve or reject.")

    def _clear(self) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            w = item.widget()
            if w is not None and w is not self.empty:
                w.deleteLater()

    def show_empty(self, title: str, hint: str) -> None:
        self.memory = None
        self._clear()
        self.empty.set_text(title, hint)
        self.empty.show()
        self._layout.addWidget(self.empty)
        self._layout.addStretch(1)

    def show_memory(self, m: dict) -> None:
        self.memory = m
        self.grounding_label = None
        self.finding_labels = []
        self.overrule_button = None
        self._clear()
        self.empty.hide()
        # What it says
        head = QHBoxLayout()
        head.addWidget(Badge(kind_label(m.get("kind", "")), "none"))
        status = m.get("status", "")
        head.addWidget(Badge(STATUS_LABELS.get(status, status), status))
        head.addStretch(1)
        head.addWidget(QLabel(f"id {m['id'][:8]}", objectName="mutedText"))
        holder = QWidget()
        holder.setLayout(head)
        self._layout.addWidget(holder)
        self.text_label = _text(m.get("text", ""), "memoryText")
        self.text_label.setStyleSheet("font-size: 12pt;")
        self._layout.addWidget(self.text_label)
        self.scope_label = _text("Applies to " + describe_scope(m.get("scope")), "mutedText")
        self._layout.addWidget(self.scope_label)
        reason = m.get("status_reason") or ""
        demoted = next((h for h in reversed(m.get("history", [])) if h.get("action") == "demoted"), None)
        if demoted and status == "quarantined":
            self._layout.addWidget(_text(f"Demoted back to review: {demoted.get('reason', '')}", "evidence"))
        elif status == "rejected" and reason:
            self._layout.addWidget(_text(f"Rejected: {reason}", "evidence"))

        # Where it came from
        frame, box = _section("Where it came from")
        tasks = m.get("run_tasks") or {}
        for p in m.get("provenance") or []:
            run_id = p.get("run_id")
            if run_id:
                step = p.get("step")
                task = " ".join((tasks.get(run_id) or "").split())
                text = f"Run {run_id[:8]}" + (f", step {step + 1}" if isinstance(step, int) else "")
                text += f": “{task[:80]}{'…' if len(task) > 80 else ''}”" if task else ""
                link = QLabel(
                    f'<a href="{html.escape(run_id)}">{html.escape(text)}</a>', objectName="linkLabel"
                )
                link.setWordWrap(True)
                link.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
                link.setToolTip("Open this run in Runs")
                link.setCursor(Qt.CursorShape.PointingHandCursor)
                link.linkActivated.connect(self.sig_run_clicked)
                box.addWidget(link)
            else:
                box.addWidget(_text(str(p.get("source") or "unknown").capitalize()))
            if p.get("why"):  # what produced an evolution or hindsight proposal, in plain words
                box.addWidget(_text(f"Proposed because {p['why']}.", "mutedText"))
        if (m.get("strength") or 1) > 1:
            box.addWidget(
                _text(f"Learned {m['strength']} times (the same lesson strengthens one memory)", "mutedText")
            )
        self._layout.addWidget(frame)

        # Scan report: for each finding, the category, what it rests on and the words that mattered
        self._layout.addWidget(self._scan_section(m))

        # Replay evidence
        frame, box = _section("Replay test (with vs without this memory)")
        evidence = m.get("evidence")
        box.addWidget(_text(evidence_summary(evidence)))
        if evidence and evidence.get("n") and grounding_text(m):
            self.grounding_label = _text(grounding_text(m))
            box.addWidget(self.grounding_label)
        if evidence and evidence.get("n"):
            chart = EvidenceChart()
            chart.set_scores(evidence.get("scores_without") or [], evidence.get("scores_with") or [])
            box.addWidget(chart)
            tasks_tested = evidence.get("tasks") or []
            if tasks_tested:
                box.addWidget(
                    _text(f"Tasks replayed: {'; '.join(t[:60] for t in tasks_tested)}", "mutedText")
                )
        self._layout.addWidget(frame)

        # Use
        frame, box = _section("Use")
        box.addWidget(
            _text(
                f"Used in {m.get('retrieved', 0)} run(s): helped {m.get('helped', 0)}, hurt {m.get('hurt', 0)} · "
                f"utility {m.get('utility', 0):.2f} · trust {m.get('effective_trust', m.get('trust', 0)):.2f}"
            )
        )
        box.addWidget(_text(expected_effect_line(m.get("expected_effect")), "mutedText"))
        credits = list(reversed(m.get("credits") or []))
        if credits:
            spark = Sparkline()
            spark.set_values([c.get("utility_after", 0.5) for c in credits])
            spark.setToolTip("Utility after each run that used it, oldest to newest")
            box.addWidget(spark)
        self._layout.addWidget(frame)

        # History
        frame, box = _section("History")
        for h in reversed(m.get("history") or []):
            move = ""
            if h.get("from_status") != h.get("to_status") and h.get("to_status"):
                move = f" → {STATUS_LABELS.get(h['to_status'], h['to_status'])}"
            box.addWidget(
                _text(
                    f"{local_time(h.get('at'))} · {h.get('actor')} {h.get('action')}{move}: {h.get('reason', '')}",
                    "mutedText",
                )
            )
        self._layout.addWidget(frame)
        self._layout.addStretch(1)

    def _scan_section(self, m: dict) -> QFrame:
        frame, box = _section("Immune scan")
        scan = m.get("scan") or {}
        reasons = scan.get("reasons") or []
        overruled = scan.get("overruled") or {}
        if scan.get("blocked"):
            box.addWidget(
                _text(
                    f"Blocked as {category_label(scan.get('category')).lower()}. It never reaches a prompt.",
                    "evidence",
                )
            )
        elif overruled:
            box.addWidget(
                _text(
                    f"You overruled the block on {local_time(overruled.get('at'))}: {overruled.get('reason', '')}. "
                    "The same finding is allowed from now on.",
                    "mutedText",
                )
            )
        elif not reasons:
            box.addWidget(
                _text(
                    "Clean: no injection, score manipulation, exfiltration, prompt leak, secret or risky "
                    "tool use found (rules and learned detector)."
                )
            )
        text = m.get("text", "")
        for r in reasons:
            if r.get("allowed"):
                flag = "allowed by you"
            else:
                flag = "blocks" if r.get("blocking") else "note"
            label = QLabel(objectName="cardText")
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setText(
                f"<b>{html.escape(category_label(r.get('category')))}</b> ({flag}) · "
                f"{html.escape(finding_basis(r))}<br>{html.escape(str(r.get('message', '')))}<br>"
                f"<span style='font-family:monospace'>{span_html(text, r)}</span>"
            )
            label.setProperty("category", r.get("category"))
            self.finding_labels.append(label)
            box.addWidget(label)
        if scan.get("blocked") and m.get("status") == "rejected" and m.get("id"):
            row = QHBoxLayout()
            row.addWidget(
                _text(
                    "A false positive? Overrule it: the memory goes back to review and the scan "
                    "allows this finding next time.",
                    "mutedText",
                ),
                1,
            )
            self.overrule_button = QPushButton("Not an attack — overrule…", objectName="secondaryButton")
            self.overrule_button.setToolTip("Overrule the scan for this memory (O); you give the reason")
            memory_id = m["id"]
            self.overrule_button.clicked.connect(lambda: self.sig_overrule_requested.emit(memory_id))
            row.addWidget(self.overrule_button)
            holder = QWidget()
            holder.setLayout(row)
            box.addWidget(holder)
        return frame


def expected_effect_line(effects) -> str:
    """What retrieval learned about this memory per kind of task, from grounded runs only."""
    if not effects:
        return (
            "Expected effect: not learned yet (needs grounded runs that used it: tests, checks or examples)."
        )
    parts = []
    for e in effects[:4]:
        sign = "+" if e["effect"] >= 0 else "−"
        runs = f"{e['n']} grounded run{'s' if e['n'] != 1 else ''}"
        parts.append(f"{sign}{abs(e['effect']):.2f} on {e['family']} tasks ({runs})")
    return "Expected effect: " + "; ".join(parts) + ". Retrieval ranks it by this for that kind of task."
