"""The OpenAI-compatible server: a Starlette app whose model work runs on one owner thread, fairly queued."""

from __future__ import annotations

from purpose_desktop.engine.serve.app import RequestRecord, ServeOptions, create_app
from purpose_desktop.engine.serve.catalog import EMBEDDING_MODEL_ID, ModelCatalog
from purpose_desktop.engine.serve.owner import FairQueue, Job, ModelOwner
from purpose_desktop.engine.serve.server import ServeHandle, check_bind, start_server

__all__ = [
    "EMBEDDING_MODEL_ID",
    "FairQueue",
    "Job",
    "ModelCatalog",
    "ModelOwner",
    "RequestRecord",
    "ServeHandle",
    "ServeOptions",
    "check_bind",
    "create_app",
    "start_server",
]
