"""LessonDialog: a lesson's text, kind and scope (roles, tools, project) — for Teach, Edit and Teach-from-answer."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.engine.services.memories import MEMORY_KINDS

#: What each kind is for, shown beside the kind picker.
KIND_HELP = {
    "purpose_contract": "what the work is for — applies to every task in its scope",
    "user_preference": "how you want things done — applies to every task in its scope",
    "skill_card": "how to do a kind of task well",
    "episodic_case": "a past task and a solution that worked",
    "failure_pattern": "a mistake to avoid on tasks like this one",
    "critic_calibration": "how to judge work of this kind",
    "tool_policy": "when and how to use a tool",
}
PROJECT_TAG = "project:"


def kind_title(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


def split_words(text: str) -> list[str]:
    """ "coder, tester" → ["coder", "tester"] (commas or spaces)."""
    return [w for w in text.replace(",", " ").split() if w]


def describe_scope(scope: dict | None) -> str:
    """A scope in words: "roles coder, tester · tools python · project billing" or "everywhere"."""
    scope = scope or {}
    tags = list(scope.get("tags") or [])
    projects = [t[len(PROJECT_TAG) :] for t in tags if t.startswith(PROJECT_TAG)]
    words = [t for t in tags if not t.startswith(PROJECT_TAG)]
    parts = []
    if scope.get("roles"):
        parts.append("roles " + ", ".join(scope["roles"]))
    if scope.get("tools"):
        parts.append("tools " + ", ".join(scope["tools"]))
    if projects:
        parts.append("project " + ", ".join(projects))
    if words:
        parts.append("tasks mentioning " + ", ".join(words))
    return " · ".join(parts) or "everywhere (any role, tool and project)"


class ScopeFields(QWidget):
    """A lesson's kind and scope as form fields: kind picker, roles, tools, project (blank = any)."""

    def __init__(self, parent: QWidget | None = None, *, compact: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("scopeFields")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.kind_combo = QComboBox(self)
        self.kind_combo.setAccessibleName("Kind")
        for k in MEMORY_KINDS:
            self.kind_combo.addItem(kind_title(k), k)
            self.kind_combo.setItemData(
                self.kind_combo.count() - 1, KIND_HELP.get(k, ""), Qt.ItemDataRole.ToolTipRole
            )
        self.kind_help = QLabel("", objectName="mutedText")
        self.kind_help.setWordWrap(True)
        self.kind_combo.currentIndexChanged.connect(self._kind_changed)
        kind_row = QHBoxLayout()
        kind_row.addWidget(self.kind_combo, 0)
        kind_row.addWidget(self.kind_help, 1)
        form.addRow("Kind", kind_row)
        self.roles_edit = QLineEdit(self)
        self.roles_edit.setPlaceholderText("any role — or e.g. coder, tester, architect")
        self.tools_edit = QLineEdit(self)
        self.tools_edit.setPlaceholderText("any tools — or e.g. python, files")
        self.project_edit = QLineEdit(self)
        self.project_edit.setPlaceholderText("any project — or a project's name")
        if compact:
            row = QHBoxLayout()
            for label, edit in (
                ("Roles", self.roles_edit),
                ("Tools", self.tools_edit),
                ("Project", self.project_edit),
            ):
                row.addWidget(QLabel(label))
                row.addWidget(edit, 1)
            form.addRow(row)
        else:
            form.addRow("Roles", self.roles_edit)
            form.addRow("Tools", self.tools_edit)
            form.addRow("Project", self.project_edit)
        self._other_tags: list[str] = []
        self.set_values("user_preference", {})

    def set_values(self, kind: str, scope: dict | None) -> None:
        scope = scope or {}
        tags = list(scope.get("tags") or [])
        i = self.kind_combo.findData(kind)
        self.kind_combo.setCurrentIndex(max(0, i))
        self._kind_changed()
        self.roles_edit.setText(", ".join(scope.get("roles") or []))
        self.tools_edit.setText(", ".join(scope.get("tools") or []))
        projects = [t[len(PROJECT_TAG) :] for t in tags if t.startswith(PROJECT_TAG)]
        self.project_edit.setText(", ".join(projects) or scope.get("project") or "")
        self._other_tags = [t for t in tags if not t.startswith(PROJECT_TAG)]

    def kind(self) -> str:
        return str(self.kind_combo.currentData())

    def scope(self) -> dict:
        project = " ".join(self.project_edit.text().split())
        return {
            "roles": split_words(self.roles_edit.text().lower()),
            "tools": split_words(self.tools_edit.text().lower()),
            "tags": list(self._other_tags),
            "project": project or None,
        }

    def _kind_changed(self, *_args) -> None:
        self.kind_help.setText(KIND_HELP.get(self.kind(), ""))


class LessonDialog(QDialog):
    """Edit a lesson's text, kind and scope; opened with ``open()``. Ctrl+Enter confirms."""

    #: (text, kind, scope dict with roles/tools/tags/project) the person confirmed.
    sig_confirmed = Signal(str, str, dict)

    def __init__(
        self,
        title: str,
        intro: str,
        *,
        confirm: str,
        text: str = "",
        kind: str = "user_preference",
        scope: dict | None = None,
        evidence: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("lessonDialog")
        self.setWindowTitle(title)
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        label = QLabel(intro, objectName="mutedText")
        label.setWordWrap(True)
        layout.addWidget(label)
        self.text_edit = QPlainTextEdit(self)
        self.text_edit.setPlainText(text)
        self.text_edit.setPlaceholderText("e.g. Always add type hints to public functions.")
        self.text_edit.setMinimumHeight(130)
        self.text_edit.setAccessibleName("Lesson text")
        layout.addWidget(self.text_edit)
        self.fields = ScopeFields(self)
        self.fields.set_values(kind, scope)
        self.kind_combo, self.roles_edit = self.fields.kind_combo, self.fields.roles_edit
        self.tools_edit, self.project_edit = self.fields.tools_edit, self.fields.project_edit
        layout.addWidget(self.fields)
        self.evidence_label = QLabel(f"Evidence: {evidence}" if evidence else "", objectName="mutedText")
        self.evidence_label.setWordWrap(True)
        self.evidence_label.setVisible(bool(evidence))
        layout.addWidget(self.evidence_label)
        self.error_label = QLabel("", objectName="errorText")
        self.error_label.hide()
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(self)
        self.confirm_button = buttons.addButton(confirm, QDialogButtonBox.ButtonRole.AcceptRole)
        self.confirm_button.setObjectName("primaryButton")
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._confirm)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self._confirm)
        self.text_edit.setFocus()

    def kind(self) -> str:
        return self.fields.kind()

    def scope(self) -> dict:
        return self.fields.scope()

    def _confirm(self) -> None:
        text = self.text_edit.toPlainText().strip()
        if not text:
            self.error_label.setText("Write the lesson first.")
            self.error_label.show()
            self.text_edit.setFocus()
            return
        self.accept()
        self.sig_confirmed.emit(text, self.kind(), self.scope())
