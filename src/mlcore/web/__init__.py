"""The HTTP layer mlcore's apps share (SPI layer): who may call, how much they may send, and
how errors look.

- :mod:`mlcore.web.guard`: the ASGI middleware (bearer tokens and scopes, the loopback rule,
  body limits) and :class:`~mlcore.web.guard.Access`, the app's routes as scope data;
- :mod:`mlcore.web.tokens`: ``token:scope`` lists from ``MLCORE_SERVER_TOKENS`` or a file;
- :mod:`mlcore.web.errors`: JSON errors with a stable code, and exception handlers;
- :mod:`mlcore.web.bodies`: reading a request body up to a limit.

Used by ``mlcore.server`` (the tracking server) and ``mlcore.serving`` (model serving); never
imported by ``import mlcore``. Needs the server extra (Starlette).
"""

from __future__ import annotations

__all__: list[str] = []
