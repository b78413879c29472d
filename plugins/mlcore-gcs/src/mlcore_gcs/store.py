"""``GcsArtifactStore``: mlcore artifacts in Google Cloud Storage through gcsfs.

Uploads larger than one part are resumable uploads in parts of ``part_size_mb`` (a multiple of
256 KiB); the object appears only when the upload is finalised, and a failed upload is
cancelled, so nothing partial is ever visible under the final name. gcsfs retries transient
HTTP errors (429, 5xx, connection resets) six times with exponential backoff (1, 2, 4... s).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from mlcore.artifacts.object_store import ObjectArtifactStore, Option

TOKEN_METHODS = ("anon", "google_default", "cloud", "browser")


def _token(value: str) -> str:
    if value not in TOKEN_METHODS:
        raise ValueError(
            f"expected one of {', '.join(TOKEN_METHODS)} (a key file goes in credentials_file), "
            "got another value"
        )
    return value


def _existing_file(value: str) -> str:
    if not os.path.isfile(value):
        raise ValueError(f"no credentials file at {value!r}")
    return value


class GcsArtifactStore(ObjectArtifactStore):
    """Artifacts under ``gs://bucket/prefix``.

    Location options (query of the artifact URI, remembered per bucket)::

        gs://bucket/prefix?project=my-project&retries=8
        gs://bucket/prefix?endpoint_url=http://127.0.0.1:9023     (an emulator; token=anon)
    """

    schemes = ("gs", "gcs")
    options: ClassVar[dict[str, Option]] = {
        # no "retries": gcsfs fixes its retry count (6, backoff up to 32 s) at class definition
        "part_size_mb": ObjectArtifactStore.options["part_size_mb"],
        "endpoint_url": Option(str, "a GCS emulator or private endpoint"),
        "project": Option(str, "the Google Cloud project"),
        "token": Option(_token, "how to authenticate: anon, google_default, cloud, browser"),
        "credentials_file": Option(_existing_file, "a service-account or user key file"),
    }
    # resumable upload parts must be multiples of 256 KiB
    default_part_size_mb: ClassVar[int] = 16

    def _storage_options(self, options: dict[str, Any]) -> dict[str, Any]:
        endpoint = options.get("endpoint_url") or os.environ.get("STORAGE_EMULATOR_HOST")
        if endpoint:
            # gcsfs's experimental bucket-type probe speaks gRPC to the real service; against an
            # emulator it stalls 60 s a bucket (test-infra §3). Must be set before import.
            os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        storage: dict[str, Any] = {"use_listings_cache": False, "block_size": self.part_size}
        if "endpoint_url" in options:
            storage["endpoint_url"] = options["endpoint_url"]
        if "project" in options:
            storage["project"] = options["project"]
        if "credentials_file" in options:
            storage["token"] = options["credentials_file"]
        elif "token" in options:
            storage["token"] = options["token"]
        elif endpoint:
            storage["token"] = "anon"  # emulators take no credentials
        return storage
