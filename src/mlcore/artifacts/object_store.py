"""``ObjectArtifactStore``: the shared base of object-store plugins (``mlcore-s3``, ``mlcore-gcs``).

What object stores have in common, done once:

- **Atomic uploads without a rename.** An object appears only when its upload completes (a
  single PUT, or the final "complete" call of a multipart/resumable upload), so the bytes
  stream straight to the final key; if the stream fails, the upload is aborted (``discard``)
  and nothing, not even a partial object, is left under that name. An object store "rename"
  would be a full copy, so the temp-name dance of ``FsspecArtifactStore`` is avoided.
- **Options** from the location's query or remembered for its bucket
  (:mod:`mlcore.artifact_options`), checked against :attr:`ObjectArtifactStore.options`;
  credentials are refused in URIs (they come from the environment, profiles or files).
- **Fresh listings**: listing caches are off, so files written by another process or machine
  are seen at once.
- **Errors** that name the store and never carry a credential: rejected credentials become
  "access denied" with the provider's error code; known secrets are masked from any message.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from mlcore.artifact_options import options_for, split_options
from mlcore.artifacts.base import CHUNK_SIZE, HashingReader
from mlcore.artifacts.fsspec_store import FsspecArtifactStore
from mlcore.errors import InvalidInputError, MlcoreError, NotFoundError, StoreError

__all__ = ["ObjectArtifactStore", "Option"]

#: Query keys that would put a secret into a URI; refused with a pointer to the right place.
CREDENTIAL_KEYS = frozenset(
    {"key", "secret", "access_key", "secret_key", "aws_access_key_id",
     "aws_secret_access_key", "session_token", "password", "token_value", "private_key"}
)  # fmt: skip

#: Environment variables whose values must never appear in an error message.
SECRET_ENV = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SESSION_TOKEN",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
)

_DENIED = re.compile(
    r"InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|ExpiredToken|InvalidToken|"
    r"\b401\b|\b403\b|Forbidden|Unauthorized|invalid_grant|PermissionError",
    re.IGNORECASE,
)


class Option:
    """One accepted location option: a converter from the query string and what it does."""

    def __init__(self, convert: Callable[[str], Any], help: str) -> None:
        self.convert = convert
        self.help = help


def to_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def to_positive_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(f"expected a number >= 0, got {value!r}")
    return number


class ObjectArtifactStore(FsspecArtifactStore):
    """Artifacts in an object store bucket, under an optional key prefix.

    Subclasses set :attr:`schemes`, :attr:`options` and implement :meth:`_storage_options`,
    which turns checked options into fsspec keyword arguments.
    """

    #: Accepted location options (query keys); subclasses extend it.
    options: ClassVar[dict[str, Option]] = {
        "retries": Option(to_positive_int, "attempts on transient errors and throttling"),
        "part_size_mb": Option(to_positive_int, "multipart / resumable upload part size (MiB)"),
    }
    #: Part size of multipart uploads when none is configured.
    default_part_size_mb: ClassVar[int] = 16

    def __init__(self, root_uri: str, **options: str) -> None:
        clean, own = split_options(root_uri)
        merged = {**options_for(clean), **options, **own}
        checked = self.check_options(merged, clean)
        self.location_options = checked
        self.part_size = int(checked.get("part_size_mb") or self.default_part_size_mb) << 20
        self.display_name = f"artifact store {clean.rstrip('/')}"
        storage = self._storage_options(checked)
        try:
            super().__init__(clean, **storage)
        except MlcoreError:
            raise
        except Exception as exc:  # bad credentials files, unreachable metadata servers...
            raise self._translate(exc, "could not set up the connection") from None
        self.display_name = f"artifact store {self.root_uri}"

    @classmethod
    def from_uri(cls, uri: str) -> ObjectArtifactStore:
        return cls(uri)

    @classmethod
    def check_options(cls, options: dict[str, str], location: str) -> dict[str, Any]:
        """Convert and check ``options``; InvalidInputError names a bad or unknown key."""
        checked: dict[str, Any] = {}
        for key, raw in options.items():
            if key.lower() in CREDENTIAL_KEYS:
                raise InvalidInputError(
                    f"option {key!r} of {location!r} would put a credential in a URI, where it "
                    "would be logged and stored; give credentials through the environment, a "
                    "profile or a credentials file",
                    field=key,
                )
            option = cls.options.get(key)
            if option is None:
                raise InvalidInputError(
                    f"unknown option {key!r} for {location!r}; accepted: "
                    + ", ".join(sorted(cls.options)),
                    field=key,
                )
            try:
                checked[key] = option.convert(raw)
            except ValueError as exc:
                raise InvalidInputError(
                    f"option {key!r} of {location!r}: {exc}", field=key
                ) from None
        return checked

    def _storage_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """fsspec keyword arguments for the checked ``options``."""
        raise NotImplementedError

    # -- errors ----------------------------------------------------------------------------------
    @contextmanager
    def _boundary(self, path: str) -> Iterator[None]:
        try:
            yield
        except MlcoreError:
            raise
        except FileNotFoundError as exc:
            raise NotFoundError(f"artifact {path!r} not found in {self.display_name}") from exc
        except Exception as exc:
            raise self._translate(exc) from exc

    def _translate(self, exc: BaseException, doing: str = "") -> StoreError:
        text = " ".join(str(exc).split()) or type(exc).__name__
        if doing:
            # setting up the client: the exception may quote a credentials file; name the
            # failure, not the content
            return StoreError(
                f"{self.display_name}: {doing} ({type(exc).__name__}); check the credentials "
                "(environment, profile or credentials file)"
            )
        for name in SECRET_ENV:
            secret = os.environ.get(name)
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        if isinstance(exc, PermissionError) or _DENIED.search(text):
            return StoreError(
                f"{self.display_name}: access denied; the credentials were rejected or lack "
                f"permission ({type(exc).__name__}: {text[:300]})"
            )
        return StoreError(f"{self.display_name}: {type(exc).__name__}: {text[:500]}")

    # -- atomic streamed upload ------------------------------------------------------------------
    def _put_stream(self, reader: HashingReader, path: str) -> None:
        handle = self.fs.open(self._full(path), "wb", block_size=self.part_size)
        try:
            while chunk := reader.read(max(CHUNK_SIZE, self.part_size)):
                handle.write(chunk)
            handle.close()  # completes the upload: the object appears now, whole
        except BaseException as exc:
            # abort the multipart/resumable upload; mark closed so no later close() commits
            with contextlib.suppress(Exception):
                handle.discard()
            handle.closed = True
            if isinstance(exc, FileNotFoundError):  # writing never misses but for the bucket
                bucket = self.root_path.split("/", 1)[0]
                raise NotFoundError(
                    f"{self.display_name}: bucket {bucket!r} does not exist (create it first)"
                ) from exc
            raise
        self.fs.invalidate_cache(self._full(path))

    def _delete(self, path: str) -> None:
        super()._delete(path)
        self.fs.invalidate_cache()
