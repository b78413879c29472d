"""``S3ArtifactStore``: mlcore artifacts in S3 through s3fs.

Uploads stream in parts of ``part_size_mb`` (multipart above one part); the object appears
only when the upload completes, and a failed upload is aborted, so nothing partial is ever
visible under the final key. Transient errors and throttling are retried with exponential
backoff and jitter, by botocore (``standard`` retry mode) and by s3fs around each call.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from typing import Any, ClassVar

from mlcore.artifacts.base import CHUNK_SIZE, HashingReader
from mlcore.artifacts.object_store import ObjectArtifactStore, Option, to_bool, to_positive_int


def _addressing(value: str) -> str:
    if value not in ("auto", "path", "virtual"):
        raise ValueError(f"expected auto, path or virtual, got {value!r}")
    return value


class S3ArtifactStore(ObjectArtifactStore):
    """Artifacts under ``s3://bucket/prefix``.

    Location options (query of the artifact URI, remembered per bucket)::

        s3://bucket/prefix?endpoint_url=http://127.0.0.1:9000&region=eu-west-1&retries=8
    """

    schemes = ("s3", "s3a")
    options: ClassVar[dict[str, Option]] = {
        **ObjectArtifactStore.options,
        "endpoint_url": Option(str, "an S3-compatible server (MinIO, moto, Ceph...)"),
        "region": Option(str, "the bucket's region"),
        "profile": Option(str, "a profile of ~/.aws/credentials"),
        "anon": Option(to_bool, "unsigned requests (public buckets)"),
        "addressing_style": Option(_addressing, "auto, path or virtual"),
        "verify_ssl": Option(to_bool, "check the server's TLS certificate"),
        "max_concurrency": Option(to_positive_int, "parallel part uploads of put_file"),
    }

    def _storage_options(self, options: dict[str, Any]) -> dict[str, Any]:
        retries = options.get("retries", 5)
        config: dict[str, Any] = {
            "retries": {"max_attempts": max(1, retries), "mode": "standard"},
            "connect_timeout": 10,
        }
        if "addressing_style" in options:
            config["s3"] = {"addressing_style": options["addressing_style"]}
        client: dict[str, Any] = {}
        if "region" in options:
            client["region_name"] = options["region"]
        if "verify_ssl" in options:
            client["verify"] = options["verify_ssl"]
        storage: dict[str, Any] = {
            "config_kwargs": config,
            "client_kwargs": client,
            # no default_block_size: s3fs's get_file reads the body in chunks of that size,
            # and 16 MiB reads halve its download speed (measured); writes pass block_size
            "use_listings_cache": False,
        }
        for key in ("endpoint_url", "profile", "anon", "max_concurrency"):
            if key in options:
                storage[key] = options[key]
        return storage

    def _put_local_file(self, local: str, path: str) -> str | None:
        """Files of two parts or more: s3fs's parallel multipart upload (``max_concurrency``
        parts at once; aborted on failure, so still atomic), hashed in a thread meanwhile."""
        if os.path.getsize(local) < 2 * self.part_size:
            return None
        digest: list[str] = []

        def hash_file() -> None:
            with open(local, "rb") as handle:
                reader = HashingReader(handle)
                while reader.read(CHUNK_SIZE):
                    pass
            digest.append(reader.hexdigest())

        hasher = threading.Thread(target=hash_file, name="mlcore-s3-hash", daemon=True)
        hasher.start()
        try:
            self.fs.put_file(local, self._full(path), chunksize=self.part_size)
        finally:
            hasher.join()
        self.fs.invalidate_cache(self._full(path))
        return digest[0]

    def _get_local_file(self, path: str, local: str) -> tuple[str, int] | None:
        """s3fs's streamed ``get_file`` (one GET, no block cache), hashed by a thread that
        follows the file as it grows, so hashing overlaps the transfer."""
        open(local, "wb").close()
        done = threading.Event()
        result: list[tuple[str, int]] = []

        def follow() -> None:
            sha, size = hashlib.sha256(), 0
            with open(local, "rb") as handle:
                while True:
                    finished = done.is_set()  # read after the writer is done: the whole file
                    block = handle.read(CHUNK_SIZE)
                    if block:
                        sha.update(block)
                        size += len(block)
                    elif finished:
                        break
                    else:
                        time.sleep(0.002)
            result.append((sha.hexdigest(), size))

        hasher = threading.Thread(target=follow, name="mlcore-s3-hash", daemon=True)
        hasher.start()
        try:
            self.fs.get_file(self._full(path), local)
        finally:
            done.set()
            hasher.join()
        return result[0]

    def __init__(self, root_uri: str, **options: str) -> None:
        super().__init__(root_uri, **options)
        # s3fs's own retry loop around each call (botocore's covers each HTTP request)
        self.fs.retries = max(1, int(self.location_options.get("retries", 5)))
