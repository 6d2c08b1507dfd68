"""Binding and running the server: the loopback rule, and uvicorn on a background thread (app and tests)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass

from purpose_desktop.engine.errors import InputError
from purpose_desktop.engine.models.backends import is_loopback_host

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def check_bind(host: str, api_key: str | None, *, host_given: bool) -> None:
    """Refuse to listen beyond this computer unless ``--host`` was given explicitly AND a key is set."""
    if is_loopback_host(host):
        return
    if not host_given:
        raise InputError(
            f"Serving on {host} would let other computers use your model and data.",
            "Pass --host explicitly (with --api-key) if that is what you want; the default is 127.0.0.1.",
        )
    if not api_key:
        raise InputError(
            f"Serving on {host} (not this computer only) needs an API key.",
            "Add --api-key KEY (a long random string) and give it only to the clients you trust.",
        )


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is not "in use"
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


@dataclass
class ServeHandle:
    """A uvicorn server running on its own thread; ``stop()`` ends it (and the owner, when it owns one)."""

    server: object
    thread: threading.Thread
    host: str
    port: int
    owner: object = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.owner is not None:
            self.owner.stop()


def start_server(
    app, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, owner=None, timeout: float = 15.0
) -> ServeHandle:
    """Run ``app`` with uvicorn on a daemon thread and wait until it listens (port 0: any free port)."""
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    if port and not port_free(host, port):
        raise InputError(
            f"Port {port} on {host} is already in use.",
            "Pick another port, or stop the program that is using it.",
        )
    server = uvicorn.Server(config)

    def run() -> None:
        try:
            server.run()
        except SystemExit:  # uvicorn exits when it cannot bind; the caller sees the thread end
            log.warning("the server on %s:%s could not start", host, port)

    thread = threading.Thread(target=run, name="serve-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise InputError(
                f"Could not listen on {host}:{port}: the address is in use or not allowed.",
                "Pick another port (e.g. --port 8766), or stop the program already using it.",
            )
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError("the server did not start in time")
        time.sleep(0.02)
    bound = port
    for srv in getattr(server, "servers", []):
        for sock in srv.sockets:
            bound = sock.getsockname()[1]
            break
    return ServeHandle(server=server, thread=thread, host=host, port=bound, owner=owner)
