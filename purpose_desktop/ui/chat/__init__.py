"""chat pane package."""
