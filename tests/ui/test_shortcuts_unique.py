"""Every keyboard shortcut in the main window does one thing. Two window-wide bindings of one key sequence,
or a window-wide one that a pane also binds, make Qt do neither ("Ambiguous shortcut overload"). The same
key in two different panes (Esc to stop in each) is fine: only the focused pane's applies. Checked with the
app at rest (no reply streaming)."""

from __future__ import annotations

from collections import Counter

from PySide6.QtGui import QAction, QKeySequence, QShortcut


def _key(seq: QKeySequence) -> str:
    return seq.toString(QKeySequence.SequenceFormat.PortableText)


def test_no_window_wide_shortcut_is_bound_twice_or_shadowed_by_a_pane(qtbot, make_app):
    window = make_app().window
    window_wide: Counter = Counter()
    in_panes: set[str] = set()

    def note(context, sequences) -> None:
        for seq in sequences:
            if seq.isEmpty():
                continue
            if context.name in ("WindowShortcut", "ApplicationShortcut"):
                window_wide[_key(seq)] += 1
            elif context.name == "WidgetWithChildrenShortcut":
                in_panes.add(_key(seq))

    for action in window.findChildren(QAction):
        if action.isEnabled():  # a disabled action (Esc "stop the reply" at rest) takes no key
            note(action.shortcutContext(), action.shortcuts())
    for shortcut in window.findChildren(QShortcut):
        if shortcut.isEnabled():
            note(shortcut.context(), [shortcut.key()])
    assert window_wide, "no shortcuts found"
    clashes = {key for key, n in window_wide.items() if n > 1} | (set(window_wide) & in_panes)
    assert not clashes, f"shortcuts bound twice: {sorted(clashes)}"
