"""The server's artifact root never leaves it: locations under the root are shown to clients as
``<server>/api/v1/artifact-files/<relative path>`` and mapped back on the way in.

Locations a client sends (an experiment's ``artifact_location``, a model version's ``source``)
must be such proxied URLs; the relative part is validated like any artifact path. Anything else
(``file:``, bare paths, other hosts' buckets, ``..`` tricks in any encoding) is refused.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from mlcore.errors import InvalidInputError
from mlcore.uris import parse_runs_uri, validate_artifact_path

__all__ = ["FILES", "INCOMING_KEYS", "OUTGOING_KEYS", "UriMapping"]

FILES = "/api/v1/artifact-files"
OUTGOING_KEYS = frozenset({"artifact_location", "artifact_uri", "source"})
INCOMING_KEYS = ("artifact_location", "source")


class UriMapping:
    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")

    def outgoing(self, data: Any, public: str) -> Any:
        """``data`` (JSON-able) with root locations replaced by ``public`` + relative path."""
        # only containers are walked into: a page of runs or a sampled series holds thousands
        # of plain values, and a call per value would cost more than encoding them
        nested = (dict, list)
        if isinstance(data, dict):
            return {
                k: self._show(v, public)
                if k in OUTGOING_KEYS and isinstance(v, str)
                else self.outgoing(v, public)
                if isinstance(v, nested)
                else v
                for k, v in data.items()
            }
        if isinstance(data, list):
            return [self.outgoing(v, public) if isinstance(v, nested) else v for v in data]
        return data

    def _show(self, value: str, public: str) -> str:
        if value == self.root:
            return public
        if value.startswith(self.root + "/"):
            return public + value[len(self.root) :]
        return value

    def incoming(self, args: dict[str, Any]) -> dict[str, Any]:
        """Arguments with proxied locations mapped into the root (others refused)."""
        for key in INCOMING_KEYS:
            value = args.get(key)
            if value is not None:
                args = {**args, key: self.to_root(value, key)}
        return args

    def to_root(self, value: Any, field: str) -> str:
        if not isinstance(value, str):
            raise InvalidInputError(f"{field} must be a string", field=field)
        if field == "source" and value.startswith(("runs:/", "models:/")):
            # symbolic sources name a run's or a version's files, which the store resolves
            # inside its own roots; their paths are validated like any artifact path
            if value.startswith("runs:/"):
                parse_runs_uri(value)
            elif any(s in (".", "..") for s in value[len("models:/") :].split("/")):
                raise InvalidInputError(f"not a valid models:/ URI: {value!r}", field=field)
            return value
        parts = urlsplit(value)
        marker = parts.path.find(FILES)
        if (
            parts.scheme not in ("http", "https")
            or marker < 0
            or parts.query
            or parts.fragment
            or ";" in parts.path
        ):
            raise InvalidInputError(
                f"{field} {value!r} lies outside this server's artifact root; use a location "
                f"under {FILES}/ (runs and models get one automatically)",
                field=field,
            )
        relative = parts.path[marker + len(FILES) :].lstrip("/")
        # validate the raw form too (it checks every percent-decoded form, three deep)
        validate_artifact_path(relative, encoded=True)
        normal = validate_artifact_path(unquote(relative))
        return f"{self.root}/{normal}" if normal else self.root
