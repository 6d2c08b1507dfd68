"""llama_cpp loads libllama/libggml with ctypes from llama_cpp/lib, which PyInstaller cannot see."""

from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs

# Keep them in llama_cpp/lib: llama_cpp looks there (relative to its own file), and the libraries
# find each other through their $ORIGIN run path.
binaries = collect_dynamic_libs("llama_cpp", search_patterns=["*.so", "*.so.*", "*.dylib", "*.dll"])
datas = collect_data_files("llama_cpp")
hiddenimports = ["llama_cpp._logger", "llama_cpp.llama_grammar", "llama_cpp.llama_chat_format"]
