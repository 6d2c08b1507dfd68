"""team pane package."""
