"""transformers (≥ 5.2x) imports `kernels`, which reads `_internals/python_depends.json` at import time.

PyInstaller sees the Python modules but not that data file: without it the frozen app cannot load the
embedder ("Cannot load dependency data, is `kernels` correctly installed?"). Collect every non-Python
file of the package, and its metadata (it checks its own version).
"""

from PyInstaller.utils.hooks import collect_data_files, copy_metadata

datas = collect_data_files("kernels") + copy_metadata("kernels")
