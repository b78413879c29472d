"""URIs and artifact paths: parsing, normalising and refusing the dangerous ones (no I/O).

Artifact paths are the attack surface MLflow's CVE history is made of (``../``, encoded and
double-encoded traversal, backslashes, absolute paths, ``;`` path parameters, scheme
smuggling). :func:`validate_artifact_path` is the single gate every artifact store and the
server pass paths through.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from mlcore.errors import InvalidInputError

__all__ = [
    "RunsUri",
    "file_uri_to_path",
    "join_uri",
    "parse_runs_uri",
    "path_to_file_uri",
    "redact_uri",
    "uri_scheme",
    "validate_artifact_path",
]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: the longest artifact path, in characters (Unicode code points) of its decoded form: the unit
#: the stores' path columns count in
MAX_PATH_LENGTH = 1024
#: the longest path segment, in UTF-8 bytes: the unit file systems count a file name in
MAX_SEGMENT_LENGTH = 255


def uri_scheme(uri: str) -> str:
    """The scheme of ``uri`` in lower case, ``""`` for a plain path.

    The driver suffix of SQLAlchemy URLs is dropped (``postgresql+psycopg`` -> ``postgresql``)
    and one-letter schemes are treated as Windows drive letters, i.e. paths.
    """
    match = _SCHEME.match(uri)
    if not match or len(match.group(1)) == 1:
        return ""
    return match.group(1).split("+", 1)[0].lower()


def path_to_file_uri(path: str | os.PathLike[str]) -> str:
    """An absolute ``file://`` URI for a local path (percent-encoding what needs it)."""
    absolute = os.path.abspath(os.fspath(path))
    return "file://" + quote(absolute.replace(os.sep, "/"), safe="/:@!$&'()*+,;=-._~")


def file_uri_to_path(uri: str) -> str:
    """The local path of a ``file:`` URI, or ``uri`` itself when it is already a path."""
    if uri_scheme(uri) != "file":
        return uri
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise InvalidInputError(f"file URI with a remote host is not supported: {uri!r}")
    return unquote(parts.path)


def join_uri(base: str, *parts: str) -> str:
    """Join path segments onto a URI or path with ``/`` (no normalisation of ``base``)."""
    tail = "/".join(p.strip("/") for p in parts if p and p.strip("/"))
    if not tail:
        return base
    return base.rstrip("/") + "/" + tail


def redact_uri(uri: str) -> str:
    """``uri`` with any password replaced by ``***`` (for messages and logs)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparseable uri>"
    if parts.password is None:
        return uri
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = netloc[0].split(":", 1)[0] + ":***"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{netloc[1]}"))


def _decoded_forms(path: str) -> list[str]:
    """``path`` and every distinct form percent-decoding gives, up to three rounds."""
    forms = [path]
    current = path
    for _ in range(3):
        decoded = unquote(current)
        if decoded == current:
            return forms
        forms.append(decoded)
        current = decoded
    if unquote(current) != current:
        raise InvalidInputError(
            f"artifact path is percent-encoded more than three times: {path!r}", field="path"
        )
    return forms


def _check_lengths(path: str) -> None:
    """Refuse a path over :data:`MAX_PATH_LENGTH` characters or a segment over
    :data:`MAX_SEGMENT_LENGTH` UTF-8 bytes, saying which unit was counted."""
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidInputError(
            f"artifact path is {len(path)} characters long, longer than the {MAX_PATH_LENGTH} "
            f"characters (Unicode code points) accepted: {path[:40]!r}...",
            field="path",
        )
    for segment in path.split("/"):
        size = len(segment.encode("utf-8", "surrogatepass"))
        if size > MAX_SEGMENT_LENGTH:
            raise InvalidInputError(
                f"artifact path segment is {size} bytes long in UTF-8, longer than the "
                f"{MAX_SEGMENT_LENGTH} bytes a file name holds: {segment[:40]!r}...",
                field="path",
            )


def validate_artifact_path(path: str, *, allow_root: bool = True, encoded: bool = False) -> str:
    """Check a relative artifact path and return its normal form.

    The normal form uses ``/`` separators, has no empty segments and no trailing slash;
    ``""`` is the artifact root.

    Args:
        path: the relative path a user or client gave.
        allow_root: whether ``""`` (the root itself) is acceptable.
        encoded: whether ``path`` is the percent-encoded form of a URL; its lengths are then
            measured on the decoded path (the one stored), not on the longer encoding.

    Raises:
        InvalidInputError: for non-strings, control characters, backslashes, absolute paths,
            ``.``/``..`` segments (also percent-encoded, any depth up to three), ``;`` path
            parameters, URI schemes or drive letters, and over-long paths.
    """
    if not isinstance(path, str):
        raise InvalidInputError(
            f"artifact path must be a string, got {type(path).__name__}", field="path"
        )
    _check_lengths(unquote(path) if encoded else path)
    for form in _decoded_forms(path):
        if _CONTROL.search(form):
            raise InvalidInputError(
                f"artifact path contains a control character: {path!r}", field="path"
            )
        if "\\" in form:
            raise InvalidInputError(
                f"artifact path must use '/' separators, not backslashes: {path!r}", field="path"
            )
        if form.startswith(("/", "~")):
            raise InvalidInputError(
                f"artifact path must be relative, not absolute: {path!r}", field="path"
            )
        if _SCHEME.match(form):
            raise InvalidInputError(
                f"artifact path must not carry a URI scheme or drive letter: {path!r}",
                field="path",
            )
        for segment in form.split("/"):
            if segment in (".", ".."):
                raise InvalidInputError(
                    f"artifact path must not contain '.' or '..' segments: {path!r}",
                    field="path",
                )
            if ";" in segment:
                raise InvalidInputError(
                    f"artifact path must not contain ';' (path parameters): {path!r}",
                    field="path",
                )
    normal = "/".join(segment for segment in path.split("/") if segment)
    if not normal and not allow_root:
        raise InvalidInputError("artifact path must not be empty", field="path")
    return normal


@dataclass(frozen=True)
class RunsUri:
    """A parsed ``runs:/<run_id>/<path>`` URI."""

    run_id: str
    path: str


_RUN_ID = re.compile(r"^[0-9a-fA-F]{32}$")


def parse_runs_uri(uri: str) -> RunsUri:
    """Parse ``runs:/<run_id>/<artifact path>``.

    Raises:
        InvalidInputError: when ``uri`` is not of that form or its path is unsafe.
    """
    if not uri.startswith("runs:/"):
        raise InvalidInputError(f"not a runs:/ URI: {uri!r}", field="uri")
    rest = uri[len("runs:/") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not _RUN_ID.match(run_id):
        raise InvalidInputError(f"runs:/ URI has no valid run id: {uri!r}", field="uri")
    return RunsUri(run_id=run_id.lower(), path=validate_artifact_path(path))
