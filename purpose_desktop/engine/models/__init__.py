"""Model files and inference: GGUF header reading, model discovery, and the llama.cpp-backed LocalModel."""

from purpose_desktop.engine.models.discovery import (
    ModelEntry,
    default_model_path,
    discover_models,
    resolve_model,
)
from purpose_desktop.engine.models.gguf import SUPPORTED_ARCHITECTURES, GGUFInfo, read_gguf_info
from purpose_desktop.engine.models.local import ChatModel, GenerationSettings, LocalModel, Reply, count_tokens

__all__ = [
    "SUPPORTED_ARCHITECTURES",
    "ChatModel",
    "GGUFInfo",
    "GenerationSettings",
    "LocalModel",
    "ModelEntry",
    "Reply",
    "count_tokens",
    "default_model_path",
    "discover_models",
    "read_gguf_info",
    "resolve_model",
]
