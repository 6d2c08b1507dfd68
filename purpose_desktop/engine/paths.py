"""Where Purpose Desktop keeps its data: one folder (platformdirs, or PURPOSE_DESKTOP_HOME)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "PurposeDesktop"
HOME_ENV = "PURPOSE_DESKTOP_HOME"
DB_FILENAME = "purpose.db"


def data_dir(create: bool = True) -> Path:
    """The user data folder; ``PURPOSE_DESKTOP_HOME`` overrides the platform default."""
    override = os.environ.get(HOME_ENV)
    path = Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP_NAME, False))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def db_path() -> Path:
    """The one SQLite file holding chats, traces, memories and vault embeddings."""
    return data_dir() / DB_FILENAME


def log_dir() -> Path:
    path = data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings_path() -> Path:
    return data_dir() / "settings.json"
