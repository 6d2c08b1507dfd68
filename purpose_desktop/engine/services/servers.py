"""RemoteServers: the OpenAI-compatible servers the person added (llama.cpp's server, vLLM, Ollama, serve).

A server on another computer is stored only with the person's confirmation (``allowed``), because every
prompt sent to it leaves this computer. API keys live in settings.json, which is written 0600.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from purpose_desktop.engine.errors import InputError, ModelError
from purpose_desktop.engine.models.backends import (
    endpoint_spec,
    is_loopback_host,
    list_endpoint_models,
    parse_endpoint_spec,
)

if TYPE_CHECKING:
    from purpose_desktop.engine.core import Engine


@dataclass(frozen=True)
class ServerRow:
    """One added server as the Models pane and ``models list`` show it (never its key)."""

    name: str
    base_url: str
    host: str
    remote: bool  # True: prompts sent to it leave this computer
    allowed: bool
    has_key: bool
    models: tuple[str, ...] = ()
    error: str | None = None

    def spec(self, model: str) -> str:
        """The model spec chat, teams and roles use for ``model`` on this server."""
        return endpoint_spec(self.base_url, model)


def _row(server: dict, models: tuple[str, ...] = (), error: str | None = None) -> ServerRow:
    host = urlsplit(server["base_url"]).hostname or ""
    return ServerRow(
        name=server["name"],
        base_url=server["base_url"],
        host=host,
        remote=not is_loopback_host(host),
        allowed=bool(server.get("allowed")),
        has_key=bool(server.get("api_key")),
        models=models,
        error=error,
    )


def describe_remote(host: str) -> str:
    """The plain sentence the status bar and the privacy report use for a remote model."""
    return f"Text you send leaves this computer: it goes to {host}."


class RemoteServers:
    """``engine.servers``: add, list (with their models) and remove OpenAI-compatible servers."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _stored(self) -> tuple[dict, ...]:
        return self._engine.settings.servers

    def list(self, *, probe: bool = True) -> list[ServerRow]:
        """Every added server; with ``probe``, its models as GET /models lists them now (or the error)."""
        rows = []
        for server in self._stored():
            if not probe:
                rows.append(_row(server))
                continue
            try:
                models = list_endpoint_models(
                    server["base_url"],
                    api_key=server.get("api_key"),
                    allow_remote=bool(server.get("allowed")),
                )
                rows.append(_row(server, tuple(models)))
            except ModelError as exc:
                rows.append(_row(server, (), exc.message))
        return rows

    def add(
        self, url: str, *, name: str | None = None, api_key: str | None = None, allow_remote: bool = False
    ) -> ServerRow:
        """Check the server answers GET /models, then remember it (replacing one with the same name or URL).

        A server that is not on this computer needs ``allow_remote`` (the person's confirmation).
        """
        if not isinstance(url, str) or not url.strip():
            raise InputError("The server address is empty.", "Type e.g. http://192.168.1.20:8080/v1.")
        base_url, _ = parse_endpoint_spec(url)
        host = urlsplit(base_url).hostname or ""
        if not is_loopback_host(host) and not allow_remote:
            raise InputError(
                f"{host} is not this computer: everything you send to its models would leave this computer.",
                "Confirm that this is what you want (in the app's dialog, or with --allow-remote).",
            )
        api_key = (api_key or "").strip() or None
        models = list_endpoint_models(base_url, api_key=api_key, allow_remote=allow_remote)
        name = (name or "").strip() or host
        # Stored as allowed: a loopback server always is, and a remote one got here only confirmed.
        entry = {"name": name, "base_url": base_url, "api_key": api_key, "allowed": True}
        kept = [s for s in self._stored() if s["name"] != name and s["base_url"] != base_url]
        self._engine.config.update({"servers": (*kept, entry)})
        return _row(entry, tuple(models))

    def remove(self, name: str) -> None:
        """Forget a server (its key with it); a chat model on it stays loaded until another is picked."""
        kept = tuple(s for s in self._stored() if s["name"] != name)
        if len(kept) == len(self._stored()):
            raise InputError(f"There is no server named {name!r}.", "See `purpose-desktop models list`.")
        self._engine.config.update({"servers": kept})

    def remote_hosts(self) -> list[str]:
        """Hosts of added servers that are not this computer (the privacy report lists them)."""
        return [r.host for r in self.list(probe=False) if r.remote]
