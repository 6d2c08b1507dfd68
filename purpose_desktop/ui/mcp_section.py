"""McpToolsSection: Settings ▸ Tools — add or remove MCP servers, see their tools, choose "always allow" per tool."""

from __future__ import annotations

import shlex
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from purpose_desktop.ui.ops import EngineOp
from purpose_desktop.ui.widgets import BusyBar

LOOPBACK = ("127.0.0.1", "localhost", "::1")
ROLE_NAME = Qt.ItemDataRole.UserRole


class AddMcpServerDialog(QDialog):
    """Name + either a stdio command (with arguments) or a streamable-HTTP URL."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("addMcpServerDialog")
        self.setWindowTitle("Add an MCP server")
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name_edit = QLineEdit(placeholderText="e.g. files")
        form.addRow("Name", self.name_edit)
        kinds = QHBoxLayout()
        self.stdio_radio = QRadioButton("Program (stdio)")
        self.http_radio = QRadioButton("URL (streamable HTTP)")
        self.stdio_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.stdio_radio)
        group.addButton(self.http_radio)
        kinds.addWidget(self.stdio_radio)
        kinds.addWidget(self.http_radio)
        kinds.addStretch(1)
        form.addRow("Connect to", kinds)
        self.command_edit = QLineEdit(placeholderText="e.g. python or npx")
        self.args_edit = QLineEdit(placeholderText='e.g. -m my_server --root "/home/me/notes"')
        self.url_edit = QLineEdit(placeholderText="e.g. http://127.0.0.1:8000/mcp")
        form.addRow("Command", self.command_edit)
        form.addRow("Arguments", self.args_edit)
        form.addRow("URL", self.url_edit)
        layout.addLayout(form)
        self.problem = QLabel("", objectName="errorText")
        self.problem.setWordWrap(True)
        self.problem.hide()
        layout.addWidget(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = buttons.addButton("Connect and add", QDialogButtonBox.ButtonRole.AcceptRole)
        self.add_button.setDefault(True)
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.stdio_radio.toggled.connect(self._kind_changed)
        self._kind_changed()

    def _kind_changed(self, *_args) -> None:
        stdio = self.stdio_radio.isChecked()
        self.command_edit.setEnabled(stdio)
        self.args_edit.setEnabled(stdio)
        self.url_edit.setEnabled(not stdio)

    def values(self) -> dict:
        """``{"name", "command", "args"}`` or ``{"name", "url"}`` (arguments split like a shell does)."""
        name = self.name_edit.text().strip()
        if self.http_radio.isChecked():
            return {"name": name, "url": self.url_edit.text().strip()}
        return {
            "name": name,
            "command": self.command_edit.text().strip(),
            "args": shlex.split(self.args_edit.text()),
        }

    def _check(self) -> None:
        try:
            values = self.values()
        except ValueError as exc:  # an unclosed quote in the arguments
            return self._say(f"The arguments cannot be split: {exc}. Close every quote.")
        if not values["name"]:
            return self._say("Give the server a short name (it appears before its tools' names).")
        if "url" in values and urlsplit(values["url"]).scheme not in ("http", "https"):
            return self._say("Type the server's http:// or https:// address.")
        if "command" in values and not values["command"]:
            return self._say("Type the program that starts the server, e.g. python or npx.")
        self.accept()

    def _say(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.show()


class McpToolsSection(QFrame):
    """The Tools card of Settings: MCP servers, their tools, and which tools may run without asking."""

    #: (text, timeout ms) a line for the status bar.
    sig_status = Signal(str, int)

    def __init__(self, bridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self._bridge = bridge
        self._syncing = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(8)
        layout.addWidget(QLabel("Tools", objectName="cardTitle"))
        text = QLabel(
            "MCP servers whose tools your team's roles may use (tick them per role in Team) and a chat may "
            "offer (⚒ Tools in the chat's composer, Ctrl+Shift+M). Every call "
            "shows you its arguments and runs only when you allow it, unless you ticked “Always allow” "
            "for that tool. What a tool returns is checked by the safety scan before the model sees it. "
            "A program (stdio) server runs on this computer with your permissions, outside the sandbox: "
            "add only servers you trust.",
            objectName="cardText",
        )
        text.setWordWrap(True)
        layout.addWidget(text)
        self.busy = BusyBar()
        layout.addWidget(self.busy)
        self.tree = QTreeWidget(objectName="mcpServers")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Server / tool", "Always allow"])
        self.tree.setRootIsDecorated(True)
        self.tree.setMinimumHeight(120)
        self.tree.setMaximumHeight(240)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        layout.addWidget(self.tree)
        self.empty = QLabel(
            "No MCP servers yet. Add one to give roles its tools, e.g. a file or issue-tracker server.",
            objectName="mutedText",
        )
        self.empty.setWordWrap(True)
        layout.addWidget(self.empty)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add server…", objectName="secondaryButton")
        self.add_button.setToolTip("Connect to an MCP server and list its tools")
        self.refresh_button = QPushButton("Refresh tools", objectName="secondaryButton")
        self.refresh_button.setToolTip("List the selected server's tools again")
        self.remove_button = QPushButton("Remove", objectName="secondaryButton")
        self.remove_button.setToolTip("Forget the selected server and its “always allow” choices")
        row.addWidget(self.add_button)
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        row.addWidget(self.remove_button)
        layout.addLayout(row)
        self.add_button.clicked.connect(self.add_server)
        self.refresh_button.clicked.connect(self.refresh_server)
        self.remove_button.clicked.connect(self.remove_server)
        self.show_servers(())

    # -- engine answers -----------------------------------------------------------------------------
    def refresh(self) -> None:
        EngineOp(self, lambda e: e.mcp.servers(), what="listing MCP servers").success(self.show_servers).run(
            self._bridge
        )

    def show_servers(self, servers) -> None:
        selected = self.selected_server()
        self._syncing = True
        try:
            self.tree.clear()
            for server in servers:
                where = server.target + ("  — leaves this computer" if server.leaves_computer else "")
                top = QTreeWidgetItem([f"{server.name}  ·  {server.transport}: {where}", ""])
                top.setData(0, ROLE_NAME, server.name)
                top.setToolTip(0, server.target)
                for tool in server.tools:
                    about = " ".join(tool.description.split())
                    about = about if len(about) <= 90 else about[:89] + "…"
                    child = QTreeWidgetItem([f"{tool.name}  —  {about}" if about else tool.name, ""])
                    child.setData(0, ROLE_NAME, server.name)
                    child.setData(1, ROLE_NAME, tool.name)
                    child.setToolTip(0, tool.description or tool.name)
                    child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    child.setCheckState(
                        1, Qt.CheckState.Checked if tool.always_allowed else Qt.CheckState.Unchecked
                    )
                    top.addChild(child)
                if not server.tools:
                    top.addChild(QTreeWidgetItem(["(no tools listed)", ""]))
                self.tree.addTopLevelItem(top)
                top.setExpanded(True)
                if server.name == selected:
                    self.tree.setCurrentItem(top)
            self.tree.resizeColumnToContents(1)
            self.tree.setColumnWidth(0, max(260, self.tree.width() - 140))
        finally:
            self._syncing = False
        self.tree.setVisible(bool(servers))
        self.empty.setVisible(not servers)
        self._update_buttons()

    def selected_server(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, ROLE_NAME) if item is not None else None

    def _update_buttons(self) -> None:
        has = self.selected_server() is not None
        self.refresh_button.setEnabled(has)
        self.remove_button.setEnabled(has)

    # -- the person's choices -------------------------------------------------------------------------
    def add_server(self) -> None:
        dialog = AddMcpServerDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.add_values(dialog.values())

    def add_values(self, values: dict) -> None:
        """Connect and add (after confirming when a URL leaves this computer)."""
        url = values.get("url")
        host = (urlsplit(url).hostname or "") if url else ""
        if url and host not in LOOPBACK and not host.startswith("127."):
            answer = QMessageBox.warning(
                self,
                "Send tool calls to another computer?",
                f"{host} is not this computer. The arguments of every call you allow, which may hold text "
                "from your chats, code or Vault, would be sent there.\n\nAdd it anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        name = values["name"]
        kwargs = {k: v for k, v in values.items() if k != "name"}
        self.add_button.setEnabled(False)
        EngineOp(self, lambda e: e.mcp.add(name, **kwargs), what="adding an MCP server").success(
            lambda servers: self._added(name, servers)
        ).failure(self._failed).busy(self.busy, f"Connecting to {name} and listing its tools…").run(
            self._bridge
        )

    def _added(self, name: str, servers) -> None:
        self.add_button.setEnabled(True)
        self.show_servers(servers)
        count = next((len(s.tools) for s in servers if s.name == name), 0)
        self.sig_status.emit(
            f"Added {name}: {count} tool{'s' if count != 1 else ''}. Offer them to roles in Team.", 5000
        )

    def _failed(self, err) -> None:
        self.add_button.setEnabled(True)
        from purpose_desktop.ui.ops import show_error

        show_error(self, err)

    def refresh_server(self) -> None:
        name = self.selected_server()
        if name is None:
            return
        EngineOp(self, lambda e: e.mcp.refresh(name), what="listing an MCP server's tools").success(
            self.show_servers
        ).failure(self._failed).busy(self.busy, f"Listing {name}'s tools…").run(self._bridge)

    def remove_server(self) -> None:
        name = self.selected_server()
        if name is None:
            return
        answer = QMessageBox.question(
            self,
            "Remove MCP server?",
            f"Remove {name}? Roles that use its tools will say the server is missing when they run.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        EngineOp(self, lambda e: e.mcp.remove(name), what="removing an MCP server").success(
            lambda servers: (self.show_servers(servers), self.sig_status.emit(f"Removed {name}.", 3000))
        ).run(self._bridge)

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        tool = item.data(1, ROLE_NAME)
        if self._syncing or column != 1 or not tool:
            return
        server = item.data(0, ROLE_NAME)
        on = item.checkState(1) == Qt.CheckState.Checked
        EngineOp(
            self, lambda e: e.mcp.set_always_allow(server, tool, on), what="saving a tool choice"
        ).success(self.show_servers).run(self._bridge)
        self.sig_status.emit(
            f"{server}/{tool} now runs without asking." if on else f"{server}/{tool} now asks you first.",
            4000,
        )
