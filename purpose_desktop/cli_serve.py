"""`purpose-desktop serve` (an OpenAI-compatible server) and `models add-server/remove-server` (remote engines)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from purpose_desktop.engine.errors import InputError, PurposeError

API_KEY_ENV = "PURPOSE_DESKTOP_API_KEY"


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.serve import ModelCatalog, ModelOwner, ServeOptions, check_bind, create_app
    from purpose_desktop.engine.serve.server import DEFAULT_HOST, port_free
    from purpose_desktop.engine.settings import load_settings

    host = args.host or DEFAULT_HOST
    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    check_bind(host, api_key, host_given=args.host is not None)
    if not port_free(host, args.port):
        raise InputError(
            f"Port {args.port} on {host} is already in use.",
            "Pick another one with --port, or stop the program using it.",
        )
    settings = load_settings()
    engines: list[Engine] = []

    def build() -> Engine:  # runs on the owner thread: the Engine (SQLite, llama) belongs to it
        engine = Engine(settings=settings)
        try:
            engine.load_model(args.model or None)
        except BaseException:
            engine.close()
            raise
        engines.append(engine)
        return engine

    owner = ModelOwner(engine_factory=build)
    owner.start()
    catalog = ModelCatalog(lambda: engines[0].model if engines else None, added=settings.added_models)
    options = ServeOptions(api_key=api_key, grounding=not args.no_grounding)
    app = create_app(owner, catalog, options)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    shown = f"[{host}]" if ":" in host else host
    sys.stderr.write(
        f"Serving {catalog.loaded_id()} at http://{shown}:{args.port}/v1 "
        f"(grounding {'on' if options.grounding else 'off'}; API key {'required' if api_key else 'not set'}). "
        "Ctrl+C stops.\n"
    )
    sys.stderr.flush()
    try:
        uvicorn.Server(
            uvicorn.Config(
                app, host=host, port=args.port, log_level="warning", access_log=False, lifespan="off"
            )
        ).run()
    finally:
        owner.stop()
    return 0


def cmd_add_server(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from purpose_desktop.engine import paths
    from purpose_desktop.engine.core import Engine
    from purpose_desktop.engine.models.backends import is_loopback_host, parse_endpoint_spec

    base_url, _ = parse_endpoint_spec(args.url)
    host = urlsplit(base_url).hostname or ""
    allow = args.allow_remote
    if not is_loopback_host(host) and not allow:
        if not sys.stdin.isatty():
            raise InputError(
                f"{host} is not this computer: what you send to its models would leave this computer.",
                "Run again with --allow-remote to confirm.",
            )
        answer = input(f"Text you send to models on {host} will leave this computer. Allow? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            sys.stderr.write("Not added.\n")
            return 1
        allow = True
    api_key = args.api_key or os.environ.get(API_KEY_ENV) or None
    engine = Engine()
    try:
        row = engine.servers.add(base_url, name=args.name, api_key=api_key, allow_remote=allow)
    finally:
        engine.close()
    if args.json:
        from purpose_desktop.cli import _print_json

        _print_json(
            {"name": row.name, "base_url": row.base_url, "remote": row.remote, "models": list(row.models)}
        )
        return 0
    print(f"Added server {row.name!r} ({row.base_url}) with {len(row.models)} model(s):")
    for m in row.models:
        print(f"  {row.spec(m)}")
    if row.remote:
        print(f"Text sent to these models leaves this computer: it goes to {row.host}.")
    if row.has_key:
        print(
            f"Its API key is stored in {paths.settings_path()} (readable only by you); it is not shown again."
        )
    return 0


def cmd_remove_server(args: argparse.Namespace) -> int:
    from purpose_desktop.engine.core import Engine

    engine = Engine()
    try:
        engine.servers.remove(args.name)
    finally:
        engine.close()
    print(f"Removed server {args.name!r} and its key.")
    return 0


def server_rows(settings) -> list:
    """The added servers with their models (probed now), for `models list`."""
    from purpose_desktop.engine.core import Engine

    engine = Engine(settings=settings)
    try:
        return engine.servers.list()
    finally:
        engine.close()


def print_servers(rows) -> None:
    if not rows:
        return
    print("\nServers (OpenAI-compatible):")
    for r in rows:
        where = f"REMOTE — text goes to {r.host}" if r.remote else "this computer"
        print(f"  {r.name:<20} {r.base_url:<36} {where}{', key stored' if r.has_key else ''}")
        if r.error:
            print(f"    unreachable: {r.error}")
        for m in r.models:
            print(f"    {r.spec(m)}")


def server_entries(rows) -> list[dict]:
    """`models list --json` rows for the servers' models (source "server")."""
    return [
        {
            "id": r.spec(m),
            "path": r.base_url,
            "source": "server",
            "display_name": f"{m} @ {r.name}",
            "info": None,
            "error": r.error,
            "remote_host": r.host if r.remote else None,
        }
        for r in rows
        for m in r.models
    ]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the `serve` command."""
    serve = sub.add_parser(
        "serve", help="answer OpenAI-compatible requests (editors, scripts) on this computer"
    )
    serve.add_argument(
        "--host", default=None, help="address to listen on (default 127.0.0.1: this computer only)"
    )
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument(
        "--api-key",
        default=None,
        help=f"require this key as 'Authorization: Bearer KEY' (or set {API_KEY_ENV}); needed beyond loopback",
    )
    serve.add_argument(
        "--model", default=None, help="GGUF file or model id to load (default: the app's model)"
    )
    serve.add_argument(
        "--no-grounding",
        action="store_true",
        help="answer without your approved lessons and Vault excerpts",
    )
    serve.set_defaults(func=cmd_serve)


def register_models(models_sub: argparse._SubParsersAction) -> None:
    """Add `models add-server` and `models remove-server`."""
    add = models_sub.add_parser("add-server", help="use the models of an OpenAI-compatible server")
    add.add_argument("url", help="its base URL, e.g. http://192.168.1.20:8080/v1")
    add.add_argument("--name", help="a name for it (default: its host)")
    add.add_argument(
        "--api-key", help=f"its API key (or set {API_KEY_ENV}); stored in settings.json, mode 0600"
    )
    add.add_argument(
        "--allow-remote",
        action="store_true",
        help="confirm that text may leave this computer (needed for a server on another machine)",
    )
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=cmd_add_server)
    rm = models_sub.add_parser("remove-server", help="forget an added server and its key")
    rm.add_argument("name")
    rm.set_defaults(func=cmd_remove_server)


__all__ = ["PurposeError", "register", "register_models"]
