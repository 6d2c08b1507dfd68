"""Qt-free engine: models, store, agents, critic, memory, vault and tools (no PySide6 import here)."""
