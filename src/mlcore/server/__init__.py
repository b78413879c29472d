"""mlcore's servers (interface layer): ASGI apps and a small handle to run them.

```python
srv = mlcore.Server.tracking(store="sqlite:///mlcore.db", artifacts="./artifacts")
srv = mlcore.Server.model("models:/credit@champion", batching={"max_batch_size": 32})
srv.app                     # the ASGI app, to mount in your own service
url = srv.start(port=0)     # background thread: "http://127.0.0.1:PORT" (notebooks, tests)
srv.stop(); srv.run(host="127.0.0.1", port=5000, workers=4)   # blocking, uvicorn
```

Both ways of running apply :class:`~mlcore.web.connections.ConnectionLimits` (``limits=``): a
connection slow to send its request head is closed after 10 s, an idle keep-alive one after
5 s, and a request head over 64 KiB is refused.

Needs the server extra: ``pip install "mlcore[server]"`` (FastAPI, uvicorn, httpx).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from mlcore.server.tracking import ServerOptions
from mlcore.web.hosts import HostPolicy, check_network_options

if TYPE_CHECKING:
    from mlcore.serving import ServingOptions
    from mlcore.web.connections import ConnectionLimits

__all__ = ["Server", "ServerOptions"]

OPTIONS_ENV = "MLCORE_SERVER_OPTIONS"


def app_from_env() -> Any:
    """The app a uvicorn worker builds (``--workers`` > 1): options come in the environment."""
    from mlcore.server.tracking import create_tracking_app

    return create_tracking_app(ServerOptions(**json.loads(os.environ[OPTIONS_ENV])))


class Server:
    """A tracking server or a model server: its ASGI app, and ways to run it."""

    def __init__(self, options: ServerOptions | ServingOptions) -> None:
        self.options = options
        self._app: Any = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @classmethod
    def tracking(
        cls,
        store: str = "./.mlcore",
        artifacts: str | None = None,
        *,
        tokens: dict[str, str] | None = None,
        allow_remote: bool = False,
        max_body_mb: int = 64,
        staging_dir: str | None = None,
        allowed_hosts: Sequence[str] = (),
        trusted_proxies: Sequence[str] | None = None,
        upload_ttl_s: float = 24 * 3600,
        max_uploads_per_client: int = 64,
        upload_idle_timeout_s: float = 60.0,
    ) -> Server:
        """A tracking/registry server over ``store`` with artifacts under ``artifacts``.

        ``allowed_hosts`` are ``Host`` names answered besides loopback names and IP addresses
        (``name``, ``name:port``, ``*.domain``, ``*``); ``trusted_proxies`` the IPs/CIDRs whose
        forwarding headers name the client (default: loopback ones). Uploads in progress are
        staged under ``staging_dir`` (default: a private temp dir per server), abandoned ones
        removed after ``upload_ttl_s``; a client may send ``max_uploads_per_client`` at once,
        and one silent for ``upload_idle_timeout_s`` is dropped. See docs/server.md.
        """
        check_network_options(allowed_hosts, trusted_proxies)
        return cls(
            ServerOptions(
                store=store,
                artifacts=artifacts,
                tokens=dict(tokens or {}),
                allow_remote=allow_remote,
                max_body_mb=max_body_mb,
                staging_dir=staging_dir,
                allowed_hosts=list(allowed_hosts),
                trusted_proxies=None if trusted_proxies is None else list(trusted_proxies),
                upload_ttl_s=upload_ttl_s,
                max_uploads_per_client=max_uploads_per_client,
                upload_idle_timeout_s=upload_idle_timeout_s,
            )
        )

    @classmethod
    def model(
        cls,
        model_uri: str,
        *,
        tracking_uri: str | None = None,
        name: str | None = None,
        batching: dict[str, Any] | bool | None = None,
        accelerate: str = "auto",
        log_predictions: float = 0.0,
        max_body_mb: int = 64,
        tokens: dict[str, str] | None = None,
        allow_remote: bool = False,
        allowed_hosts: Sequence[str] = (),
        trusted_proxies: Sequence[str] | None = None,
    ) -> Server:
        """A model server for ``model_uri`` (see :func:`mlcore.serving.create_app`); the model
        is loaded, verified and checked when ``app`` is first built. ``tokens``,
        ``allow_remote``, ``allowed_hosts`` and ``trusted_proxies`` work as on
        :meth:`tracking`; any token's scope may predict."""
        from mlcore.serving.app import create_app

        app = create_app(
            model_uri,
            tracking_uri=tracking_uri,
            name=name,
            batching=batching,
            accelerate=accelerate,  # type: ignore[arg-type]
            log_predictions=log_predictions,
            max_body_mb=max_body_mb,
            tokens=tokens,
            allow_remote=allow_remote,
            allowed_hosts=allowed_hosts,
            trusted_proxies=trusted_proxies,
        )
        server = cls(app.state.service.options)
        server._app = app
        return server

    @property
    def app(self) -> Any:
        if self._app is None:
            if isinstance(self.options, ServerOptions):
                from mlcore.server.tracking import create_tracking_app

                self._app = create_tracking_app(self.options)
            else:
                from mlcore.serving.app import create_app_from_options

                self._app = create_app_from_options(self.options)
        return self._app

    def _allow_bind(self, host: str) -> None:
        """Answer to the name the server binds, too (see :meth:`HostPolicy.allow_bind`)."""
        app = self.app
        policy = getattr(app, "hosts", None) or getattr(getattr(app, "state", None), "hosts", None)
        if isinstance(policy, HostPolicy):
            policy.allow_bind(host)

    def start(
        self, host: str = "127.0.0.1", port: int = 0, *, limits: ConnectionLimits | None = None
    ) -> str:
        """Serve in a background thread; returns the base URL once it accepts connections."""
        import uvicorn

        self._allow_bind(host)
        config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="on",
            access_log=False,
            proxy_headers=False,  # the guard reads them, from trusted proxies only
            **_connection_settings(limits),
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="mlcore-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start (is the port free?)")
            time.sleep(0.01)
        bound = self._server.servers[0].sockets[0].getsockname()
        return f"http://{host}:{bound[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(30)
            self._server = self._thread = None

    def run(
        self,
        host: str = "127.0.0.1",
        port: int = 5000,
        workers: int = 1,
        access_log: bool = True,
        *,
        limits: ConnectionLimits | None = None,
    ) -> None:
        """Serve in the foreground (uvicorn) until interrupted."""
        import uvicorn

        connections = _connection_settings(limits)
        if workers <= 1:
            self._allow_bind(host)
            uvicorn.run(
                self.app,
                host=host,
                port=port,
                log_level="info",
                access_log=access_log,
                proxy_headers=False,  # the guard reads them, from trusted proxies only
                **connections,
            )
            return
        hosts = HostPolicy(self.options.allowed_hosts)
        hosts.allow_bind(host)
        staging: str | None = None
        if isinstance(self.options, ServerOptions):
            if self.options.staging_dir is None:  # one private directory for all the workers
                staging = tempfile.mkdtemp(prefix="mlcore-staging-")
            options = replace(
                self.options,
                allowed_hosts=hosts.patterns,
                staging_dir=staging or self.options.staging_dir,
            )
            os.environ[OPTIONS_ENV] = json.dumps(asdict(options))
            factory = "mlcore.server:app_from_env"
        else:
            from mlcore.serving.app import OPTIONS_ENV as SERVING_ENV

            serving = replace(self.options, allowed_hosts=tuple(hosts.patterns))
            os.environ[SERVING_ENV] = serving.to_env()
            factory = "mlcore.serving.app:app_from_env"
        try:
            uvicorn.run(
                factory,
                access_log=access_log,
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                proxy_headers=False,
                **connections,
            )
        finally:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)


def _connection_settings(limits: ConnectionLimits | None) -> dict[str, Any]:
    from mlcore.web.connections import DEFAULT_LIMITS

    try:
        return (limits or DEFAULT_LIMITS).uvicorn_settings()
    except ValueError as exc:
        from mlcore.errors import InvalidInputError

        raise InvalidInputError(f"limits: {exc}", field="limits") from None
