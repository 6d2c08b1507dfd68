"""ConfigManager: change the engine settings (validated, saved to settings.json, then used) and read them back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from purpose_desktop.engine import paths
from purpose_desktop.engine.settings import FIELD_NAMES, save_settings

if TYPE_CHECKING:
    from purpose_desktop.engine.core import Engine


@dataclass(frozen=True)
class SettingsSnapshot:
    """Engine settings plus where things live."""

    settings: dict
    data_dir: str
    database: str
    log_dir: str
    fields: tuple[str, ...]


class ConfigManager:
    """``engine.config``: settings.json is the one place engine settings are kept."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def update(self, changes: dict[str, Any]) -> SettingsSnapshot:
        """Validate, save atomically, then use: a bad value raises InputError and changes nothing."""
        if changes:
            new = self._engine.settings.with_changes(**changes)
            save_settings(new)
            self._engine.settings = new
            if "auto_promote" in changes:  # on: idle-time re-tests may start; off: none start by themselves
                replays = getattr(self._engine, "replays", None)
                if replays is not None:
                    replays.kick()
        return self.snapshot()

    def snapshot(self) -> SettingsSnapshot:
        return SettingsSnapshot(
            settings=self._engine.settings.to_dict(),
            data_dir=str(paths.data_dir()),
            database=str(paths.db_path()),
            log_dir=str(paths.log_dir()),
            fields=FIELD_NAMES,
        )
