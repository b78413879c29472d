"""``mlcore server``: the tracking/registry REST API with the artifact proxy."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = [
    "HOSTS_HELP",
    "PROXIES_HELP",
    "add_network_arguments",
    "add_parsers",
    "require_server_extra",
    "server_command",
    "split_list",
    "ui_command",
]

HOSTS_HELP = (
    "comma-separated Host names answered besides loopback names and IP addresses "
    "(name, name:port, *.domain, or * for any); the --host name is added (with --host 0.0.0.0, "
    "this machine's host name); against DNS rebinding"
)
PROXIES_HELP = (
    "comma-separated IPs/CIDRs of reverse proxies whose Forwarded/X-Forwarded-For/X-Real-IP "
    "headers name the client (default: loopback ones; '' for none)"
)


def add_network_arguments(parser: argparse.ArgumentParser) -> None:
    """``--allowed-hosts`` and ``--trusted-proxies`` (shared with ``mlcore serve``)."""
    parser.add_argument("--allowed-hosts", default="", metavar="HOSTS", help=HOSTS_HELP)
    parser.add_argument("--trusted-proxies", metavar="IPS", help=PROXIES_HELP)
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="close a connection that has not sent a whole request head in this time",
    )
    parser.add_argument(
        "--keep-alive-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="close an idle keep-alive connection after this time",
    )


def connection_limits(args: argparse.Namespace) -> Any:
    """The :class:`~mlcore.web.connections.ConnectionLimits` of the network arguments."""
    from mlcore.web.connections import ConnectionLimits

    return ConnectionLimits(
        header_timeout_s=args.header_timeout, keep_alive_s=args.keep_alive_timeout
    )


def split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    server = sub.add_parser(
        "server",
        parents=[common],
        help="serve the tracking store and registry over HTTP (REST API + artifact proxy)",
        description=(
            "Clients use set_tracking_uri('http://HOST:PORT'). Tokens come from "
            "$MLCORE_SERVER_TOKENS ('token:write,token2:read') or --tokens-file; with none, "
            "only loopback clients are served unless --allow-remote."
        ),
    )
    server.add_argument("--store", default="./.mlcore", help="the metadata store URL")
    server.add_argument("--artifacts", metavar="URI", help="the artifact root (proxied)")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=5000)
    server.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    server.add_argument("--tokens-file", metavar="FILE", help="lines of 'token scope'")
    server.add_argument(
        "--allow-remote",
        action="store_true",
        help="serve non-loopback clients even without tokens (trusted networks only)",
    )
    server.add_argument("--max-body-mb", type=int, default=64, help="largest JSON request")
    add_network_arguments(server)
    uploads = server.add_argument_group("uploads")
    uploads.add_argument(
        "--staging-dir",
        metavar="DIR",
        help="private directory (made 0700) for uploads in progress; default: a fresh temp dir",
    )
    uploads.add_argument(
        "--upload-ttl-hours", type=float, default=24.0, help="remove abandoned uploads after"
    )
    uploads.add_argument(
        "--max-uploads-per-client", type=int, default=64, help="upload bodies at once (429 over)"
    )
    uploads.add_argument(
        "--upload-idle-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="drop an upload whose client sends nothing this long (408; nothing stored)",
    )
    server.set_defaults(handler=server_command, needs_tracker=False)

    ui = sub.add_parser(
        "ui",
        parents=[common],
        help="open the web UI on a local store (the embedded default: ./.mlcore)",
        description=(
            "Serves the web UI and the REST API over --store (default: $MLCORE_TRACKING_URI, "
            "else ./.mlcore) on loopback. For a team server with tokens use `mlcore server`, "
            "which serves the same UI at /."
        ),
    )
    ui.add_argument("--store", help="the metadata store URL (default: the tracking URI)")
    ui.add_argument("--artifacts", metavar="URI", help="the artifact root")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=5000)
    ui.add_argument("--open", action="store_true", help="open the UI in a web browser")
    add_network_arguments(ui)
    ui.set_defaults(handler=ui_command, needs_tracker=False)


def require_server_extra(command: str) -> None:
    """A clear error, not a traceback, when FastAPI/uvicorn are not installed."""
    import importlib.util

    from mlcore.errors import UnsupportedError

    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        raise UnsupportedError(
            f"`mlcore {command}` needs the server extra ({', '.join(missing)} missing): "
            'pip install "mlcore[server]"'
        )


def ui_command(_tracker: object, args: argparse.Namespace) -> int:
    import os

    require_server_extra("ui")
    from mlcore.server import Server
    from mlcore.ui import is_built

    store = args.store or os.environ.get("MLCORE_TRACKING_URI") or "./.mlcore"
    srv = Server.tracking(
        store=store,
        artifacts=args.artifacts or os.environ.get("MLCORE_ARTIFACT_URI"),
        allowed_hosts=split_list(args.allowed_hosts),
        trusted_proxies=None if args.trusted_proxies is None else split_list(args.trusted_proxies),
    )
    shown = "localhost" if args.host in ("127.0.0.1", "::1", "0.0.0.0") else args.host
    url = f"http://{shown}:{args.port}/"
    print(f"mlcore UI on {url} (store: {store}); Ctrl+C stops it", flush=True)
    if not is_built():
        print("note: the UI bundle is not built (bash scripts/build-ui.sh); the API works")
    if args.open:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    srv.run(host=args.host, port=args.port, limits=connection_limits(args))
    return 0


def server_command(_tracker: object, args: argparse.Namespace) -> int:
    require_server_extra("server")
    from mlcore.server import Server
    from mlcore.web.tokens import load_tokens

    srv = Server.tracking(
        store=args.store,
        artifacts=args.artifacts,
        tokens=load_tokens(args.tokens_file),
        allow_remote=args.allow_remote,
        max_body_mb=args.max_body_mb,
        allowed_hosts=split_list(args.allowed_hosts),
        trusted_proxies=None if args.trusted_proxies is None else split_list(args.trusted_proxies),
        staging_dir=args.staging_dir,
        upload_ttl_s=args.upload_ttl_hours * 3600,
        max_uploads_per_client=args.max_uploads_per_client,
        upload_idle_timeout_s=args.upload_idle_timeout,
    )
    srv.run(host=args.host, port=args.port, workers=args.workers, limits=connection_limits(args))
    return 0
