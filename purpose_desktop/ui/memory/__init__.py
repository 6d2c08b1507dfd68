"""memory pane package."""
