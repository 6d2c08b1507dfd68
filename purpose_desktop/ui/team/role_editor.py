"""RoleEditor: edit one role of a team — its title, instructions, tools, model and kind of work."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

KINDS = (
    ("plan", "Plans"),
    ("code", "Writes code (tests run on it)"),
    ("test", "Writes checks"),
    ("text", "Writes text"),
)
TOOL_LABELS = {
    "python": "Run Python (sandboxed)",
    "calculator": "Calculator",
    "files": "Read/write files",
    "vault": "Search your Vault",
}


class RoleEditor(QFrame):
    """Edit one role: its title, instructions, tools, model and what kind of work it does."""

    #: the role was changed by the person.
    sig_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self._role: dict | None = None
        self._syncing = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 12)
        layout.setSpacing(6)
        row = QHBoxLayout()
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText("Role title, e.g. Reviewer")
        self.kind_combo = QComboBox()
        for kind, label in KINDS:
            self.kind_combo.addItem(label, kind)
        self.kind_combo.setToolTip("What the critic can check for this role")
        row.addWidget(self.title_edit, 1)
        row.addWidget(self.kind_combo)
        layout.addLayout(row)
        layout.addWidget(QLabel("Instructions", objectName="sectionTitle"))
        self.instructions = QPlainTextEdit(objectName="field")
        self.instructions.setPlaceholderText(
            "What this role does, in a few sentences. Only this role sees them."
        )
        self.instructions.setTabChangesFocus(True)
        layout.addWidget(self.instructions, 1)
        # Two columns of tools: one row of four was wider than the editor at 1280 px and clipped a label.
        tools_row = QGridLayout()
        tools_row.setHorizontalSpacing(12)
        tools_row.addWidget(QLabel("Tools", objectName="sectionTitle"), 0, 0, Qt.AlignmentFlag.AlignTop)
        self.tool_boxes: dict[str, QCheckBox] = {}
        for i, (name, label) in enumerate(TOOL_LABELS.items()):
            box = QCheckBox(label)
            box.toggled.connect(self._changed)
            if name == "files":
                box.setToolTip(
                    "Read files in the open project folder (Project ▸ Open Folder…, Ctrl+O). Writes are only "
                    "proposals: you see each as a diff and apply or reject it."
                )
            self.tool_boxes[name] = box
            tools_row.addWidget(box, i // 2, 1 + i % 2)
        tools_row.setColumnStretch(3, 1)
        layout.addLayout(tools_row)
        # Tools of the MCP servers set up in Settings ▸ Tools (each call asks the person first).
        self._mcp_row = QGridLayout()
        self._mcp_row.setHorizontalSpacing(12)
        self._mcp_title = QLabel("MCP tools", objectName="sectionTitle")
        self._mcp_title.setToolTip("From the MCP servers in Settings ▸ Tools; every call asks you first")
        self._mcp_title.hide()
        self._mcp_row.addWidget(self._mcp_title, 0, 0, Qt.AlignmentFlag.AlignTop)
        self._mcp_row.setColumnStretch(3, 1)
        self.mcp_boxes: dict[str, QCheckBox] = {}
        layout.addLayout(self._mcp_row)
        model_row = QHBoxLayout()
        model_row.addWidget(QLabel("Model", objectName="sectionTitle"))
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Which model this role uses; by default the chat model")
        model_row.addWidget(self.model_combo, 1)
        layout.addLayout(model_row)
        self.title_edit.textEdited.connect(self._changed)
        self.instructions.textChanged.connect(self._changed)
        self.kind_combo.currentIndexChanged.connect(self._changed)
        self.model_combo.currentIndexChanged.connect(self._changed)
        self.set_models(())
        self.setEnabled(False)

    def set_models(self, models) -> None:
        current = self.model_combo.currentData()
        self._syncing = True
        try:
            self.model_combo.clear()
            self.model_combo.addItem("The chat model", None)
            for model_id, label in models:
                self.model_combo.addItem(label, model_id)
            self._select_model(current)
        finally:
            self._syncing = False

    def _select_model(self, model_id) -> None:
        index = self.model_combo.findData(model_id) if model_id else 0
        if index < 0:  # a model that is no longer on this computer: keep it visible, not silently dropped
            self.model_combo.addItem(f"{model_id} (not found)", model_id)
            index = self.model_combo.count() - 1
        self.model_combo.setCurrentIndex(index)

    def set_mcp_tools(self, tools) -> None:
        """(``mcp:server/tool``, label) pairs the roles may be offered; a role's MCP tool that is no longer
        listed stays ticked and visible, marked missing, so nothing is dropped silently."""
        wanted = dict(tools)
        if self._role is not None:
            for name in self._role.get("tools") or []:
                if name.startswith("mcp:") and name not in wanted:
                    wanted[name] = f"{name[4:]} (not found)"
        if list(wanted.items()) == [(n, b.text()) for n, b in self.mcp_boxes.items()]:
            return
        for box in self.mcp_boxes.values():
            self._mcp_row.removeWidget(box)
            box.deleteLater()
        self.mcp_boxes = {}
        for i, (name, label) in enumerate(wanted.items()):
            box = QCheckBox(label)
            box.setToolTip(f"{name}: runs only after you allow each call (or chose Always allow)")
            box.toggled.connect(self._changed)
            self.mcp_boxes[name] = box
            self._mcp_row.addWidget(box, i // 2, 1 + i % 2)
        self._mcp_title.setVisible(bool(wanted))
        self._sync_mcp_boxes()

    def _sync_mcp_boxes(self) -> None:
        syncing, self._syncing = self._syncing, True
        try:
            for name, box in self.mcp_boxes.items():
                box.setChecked(name in ((self._role or {}).get("tools") or []))
        finally:
            self._syncing = syncing

    def set_role(self, role: dict | None) -> None:
        self._role = role
        self._syncing = True
        try:
            self.setEnabled(role is not None)
            role = role or {}
            self.title_edit.setText(role.get("title", ""))
            self.instructions.setPlainText(role.get("instructions", ""))
            index = self.kind_combo.findData(role.get("kind", "text"))
            self.kind_combo.setCurrentIndex(max(0, index))
            for name, box in self.tool_boxes.items():
                box.setChecked(name in (role.get("tools") or []))
            missing = [n for n in role.get("tools") or [] if n.startswith("mcp:") and n not in self.mcp_boxes]
            if missing:
                self.set_mcp_tools([(n, b.text()) for n, b in self.mcp_boxes.items()])
            self._sync_mcp_boxes()
            self._select_model(role.get("model"))
        finally:
            self._syncing = False

    def _changed(self, *_args) -> None:
        if self._syncing or self._role is None:
            return
        r = self._role
        r["title"] = self.title_edit.text().strip() or r.get("name", "Role").title()
        r["instructions"] = self.instructions.toPlainText()
        r["kind"] = self.kind_combo.currentData()
        r["tools"] = [n for n, b in self.tool_boxes.items() if b.isChecked()] + [
            n for n, b in self.mcp_boxes.items() if b.isChecked()
        ]
        r["model"] = self.model_combo.currentData()
        self.sig_changed.emit()
