"""The web UI: the built bundle (``static/``, from ``ui/`` in the repository) and the routes
that serve it.

``mlcore server`` and ``mlcore ui`` mount it at ``/``: every page path answers the same
``index.html`` (the pages are drawn in the browser, which then calls ``/api/v1``), the hashed
``/assets/*`` files are cached for good, and every answer carries a Content-Security-Policy
that lets only the UI's own scripts run. The shell holds no data, so it needs no token; the
API calls it makes do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "ASSETS",
    "PAGE_PATHS",
    "PAGE_PREFIXES",
    "SECURITY_HEADERS",
    "is_built",
    "mount_ui",
    "static_root",
]

#: paths that are pages of the UI (answered with index.html)
PAGE_PATHS = frozenset({"/", "/compare", "/models", "/artifacts", "/pipelines", "/sweeps"})
#: path prefixes whose every path is a page of the UI
PAGE_PREFIXES = (
    "/experiments/",
    "/runs/",
    "/models/",
    "/artifacts/",
    "/pipelines/",
    "/sweeps/",
)
#: the bundle's hashed files
ASSETS = "/assets/"

#: on every UI answer: only the UI's own code runs; no framing; no MIME sniffing
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; frame-src 'self' blob:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

_NOT_BUILT = (
    "<!doctype html><title>mlcore</title><h1>The web UI is not built</h1>"
    "<p>This mlcore was installed from a source checkout without its UI bundle. Build it with "
    "<code>bash scripts/build-ui.sh</code> (needs Node 20 and npm), then reload. The API under "
    "<code>/api/v1</code> works without it.</p>"
)


def static_root() -> Path:
    """Where the built bundle lives inside the package."""
    return Path(__file__).resolve().parent / "static"


def is_built() -> bool:
    return (static_root() / "index.html").is_file()


def mount_ui(app: Any) -> None:
    """Add the UI's routes to a Starlette/FastAPI ``app`` (after its API routes)."""
    from starlette.responses import FileResponse, HTMLResponse, Response
    from starlette.routing import Route

    root = static_root()

    def page(_request: Any) -> Response:
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(_NOT_BUILT, status_code=503, headers=SECURITY_HEADERS)
        headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
        return FileResponse(index, media_type="text/html; charset=utf-8", headers=headers)

    def asset(request: Any) -> Response:
        name = request.path_params["name"]
        assets = (root / "assets").resolve()
        target = (assets / name).resolve()
        if "/" in name or "\\" in name or target.parent != assets or not target.is_file():
            return Response("not found", status_code=404, media_type="text/plain")
        headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=31536000, immutable"}
        return FileResponse(target, headers=headers)

    routes = [Route(f"{ASSETS}{{name}}", asset, methods=["GET", "HEAD"])]
    routes += [Route(path, page, methods=["GET", "HEAD"]) for path in sorted(PAGE_PATHS)]
    routes += [
        Route(f"{prefix}{{rest:path}}", page, methods=["GET", "HEAD"]) for prefix in PAGE_PREFIXES
    ]
    app.router.routes.extend(routes)
