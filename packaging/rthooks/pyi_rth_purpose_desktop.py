"""First runtime hook of the frozen app: the sandbox's minimal python, then offline defaults.

Custom runtime hooks run before PyInstaller's own (PySide6's imports QtCore), so in sandbox mode
nothing but the standard library is loaded before the user's code starts.
"""

import os
import sys

if len(sys.argv) > 1 and sys.argv[1] == "--sandbox-python":
    from purpose_desktop.sandbox_python import main as _sandbox_main

    sys.exit(_sandbox_main(sys.argv[2:]))

from purpose_desktop.sandbox_python import undo_loader_environment  # noqa: E402

undo_loader_environment()  # xdg-open, bwrap … see the person's LD_LIBRARY_PATH, not the bundle's

# Everything the app needs is inside the bundle: never let a library try the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
