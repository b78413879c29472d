"""mlcore-s3: artifacts in Amazon S3 or an S3-compatible store, for ``s3://bucket/prefix``.

Credentials come the usual AWS way (environment, ``~/.aws`` profiles, instance roles); the
endpoint of an S3-compatible server from ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` or the
location's ``endpoint_url`` option. See the README.
"""

from __future__ import annotations

from mlcore_s3.store import S3ArtifactStore

__all__ = ["S3ArtifactStore"]
