"""Connection options of artifact locations: given in a URI's query, kept out of its identity.

``s3://team-bucket/mlcore?endpoint_url=http://minio:9000&region=eu-west-1`` names the location
``s3://team-bucket/mlcore``; the query says how to reach it from this process. Metadata stores
persist only the location (a run's artifact URI must mean the same on every machine), and the
options are remembered per bucket for the life of the process, so every later store for a path
in that bucket reaches it the same way. Credentials never belong in a URI: plugins refuse them.

Plugins list the options they accept (:attr:`ObjectArtifactStore.options
<mlcore.artifacts.object_store.ObjectArtifactStore.options>`); anything else is an
:class:`~mlcore.errors.InvalidInputError` naming the key.
"""

from __future__ import annotations

import threading
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from mlcore.errors import InvalidInputError

__all__ = [
    "LOCATIONS",
    "LocationOptions",
    "configure",
    "location_key",
    "options_for",
    "remember",
    "split_options",
]


class LocationOptions:
    """Connection options per bucket (``scheme://netloc``), shared by every store of a process.

    The options are how this process reaches a location, not part of its identity, so they
    cannot travel with the artifact URIs that metadata stores persist: a store built later for
    a run's artifacts (from its bare URI) finds them here. One instance, :data:`LOCATIONS`,
    serves the module's functions; it is safe to use from several threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._options: dict[str, dict[str, str]] = {}

    def configure(self, uri: str, options: dict[str, str]) -> None:
        """Add ``options`` to those of ``uri``'s bucket (later values win)."""
        if options:
            with self._lock:
                self._options.setdefault(location_key(uri), {}).update(options)

    def get(self, uri: str) -> dict[str, str]:
        """A copy of the options of ``uri``'s bucket (empty if none were given)."""
        with self._lock:
            return dict(self._options.get(location_key(uri), {}))


#: the options this process has been given, per bucket
LOCATIONS = LocationOptions()


def split_options(uri: str) -> tuple[str, dict[str, str]]:
    """``(uri without its query, the query's options)``; a URI without a query is unchanged."""
    if "?" not in uri:
        return uri, {}
    parts = urlsplit(uri)
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InvalidInputError(
            f"the options of artifact location {urlunsplit(parts._replace(query=''))!r} are "
            "not a valid query string (expected key=value&key=value)",
            field="artifact_uri",
        ) from None
    options: dict[str, str] = {}
    for key, value in pairs:
        if key in options:
            raise InvalidInputError(
                f"artifact location option {key!r} is given twice", field="artifact_uri"
            )
        options[key] = value
    return urlunsplit(parts._replace(query="", fragment="")), options


def location_key(uri: str) -> str:
    """What options are remembered by: ``scheme://netloc`` (the bucket)."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def configure(uri: str, **options: str) -> None:
    """Remember connection options for every location in ``uri``'s bucket (this process)."""
    LOCATIONS.configure(uri, options)


def remember(uri: str) -> str:
    """Strip ``uri``'s query, remembering its options for the bucket; returns the location."""
    clean, options = split_options(uri)
    configure(clean, **options)
    return clean


def options_for(uri: str) -> dict[str, str]:
    """The options remembered for ``uri``'s bucket, merged with those in its own query."""
    clean, own = split_options(uri)
    merged = LOCATIONS.get(clean)
    merged.update(own)
    return merged
