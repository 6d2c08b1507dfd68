"""sentence-transformers picks modules (pooling, normalize …) by name from modules.json at load time."""

from PyInstaller.utils.hooks import collect_submodules, copy_metadata

hiddenimports = collect_submodules(
    "sentence_transformers",
    # The ONNX/OpenVINO backends need packages we do not ship (imported only when asked for).
    filter=lambda name: not name.startswith("sentence_transformers.backend"),
)
datas = copy_metadata("sentence_transformers")
