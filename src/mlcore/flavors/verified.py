"""The verified bytes of a model directory: read once, checked, and the only thing loaded.

Hashing a file and then reopening it to deserialise lets anyone who can swap the file in
between run a pickle of their choice. :func:`read_verified` reads the manifest and every file
it lists exactly once, checks those bytes, and hands them to the flavor as
:class:`VerifiedFiles`; a library that needs a path gets a private copy written from the
checked bytes into a fresh directory only this process's user can open (0700), never the
original path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Mapping

from mlcore._config import env_str
from mlcore.errors import IntegrityError, NotFoundError
from mlcore.flavors.spec import MANIFEST, ModelSpec

__all__ = ["TRUST_UNRECORDED_ENV", "VerifiedFiles", "read_verified", "trust_unrecorded_from_env"]

TRUST_UNRECORDED_ENV = "MLCORE_TRUST_UNRECORDED_MODELS"


def trust_unrecorded_from_env() -> bool:
    """Whether ``MLCORE_TRUST_UNRECORDED_MODELS`` opts in to loading unrecorded models."""
    return (env_str(TRUST_UNRECORDED_ENV) or "").strip().lower() in ("1", "true", "yes")


class VerifiedFiles(Mapping[str, bytes]):
    """A model's files (manifest name -> bytes), each already checked against its sha256."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self._files = dict(files)
        self._private: str | None = None

    def __getitem__(self, name: str) -> bytes:
        return self._files[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def private_directory(self) -> str:
        """A directory holding a copy of the verified bytes, for libraries that load from a
        path: created for this load, readable by this user only, removed by :meth:`close`."""
        if self._private is None:
            private = tempfile.mkdtemp(prefix="mlcore-verified-model-")
            os.chmod(private, 0o700)
            try:
                for name, data in self._files.items():
                    target = os.path.join(private, *name.split("/"))
                    os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
                    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(descriptor, "wb") as handle:
                        handle.write(data)
            except BaseException:
                shutil.rmtree(private, ignore_errors=True)
                raise
            self._private = private
        return self._private

    def close(self) -> None:
        """Remove the private copy, if one was made."""
        private, self._private = self._private, None
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)

    def release_with(self, owner: object) -> None:
        """Drop the bytes now and remove the private copy when ``owner`` is collected (a
        library may read its files lazily)."""
        self._files = {}
        if self._private is not None:
            weakref.finalize(owner, shutil.rmtree, self._private, True)
            self._private = None


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def read_verified(
    directory: str, *, expected_sha256: str | None = None
) -> tuple[ModelSpec, VerifiedFiles]:
    """The manifest of ``directory`` and the bytes of every file it lists, each read once and
    checked (the manifest against ``expected_sha256`` when given, each file against the
    manifest).

    Raises:
        NotFoundError: not a model directory.
        IntegrityError: the manifest or a file does not match its sha256, or a listed file is
            missing.
    """
    manifest = os.path.join(directory, MANIFEST)
    try:
        raw = _read(manifest)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise NotFoundError(f"{directory!r} is not an mlcore model (no {MANIFEST})") from None
    if expected_sha256 is not None and hashlib.sha256(raw).hexdigest() != expected_sha256:
        raise IntegrityError(
            f"model manifest in {directory!r} does not match the sha256 recorded when it was "
            "logged; the model was altered"
        )
    spec = ModelSpec.from_yaml(raw, directory)  # the bytes just checked, not the file again
    files: dict[str, bytes] = {}
    for name, digest in spec.files.items():
        parts = name.split("/")
        if ".." in parts or "" in parts:
            raise IntegrityError(f"model manifest lists an invalid file name {name!r}")
        try:
            data = _read(os.path.join(directory, *parts))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise IntegrityError(f"model file {name!r} listed in the manifest is missing") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise IntegrityError(
                f"model file {name!r} does not match its sha256 in {MANIFEST}; refusing to load "
                "a file that was altered after the model was saved"
            )
        files[name] = data
    return spec, VerifiedFiles(files)
