"""A POST with exactly the headers given, as a browser's fetch() sends it (no client library
adding a Content-Type of its own): the guard tests of both servers use it."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit


def post_exactly(url: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """The status and the decoded JSON answer (``{}`` for an empty body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()
