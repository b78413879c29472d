"""mlcore-gcs: artifacts in Google Cloud Storage, for ``gs://bucket/prefix``.

Credentials come the usual Google way (``GOOGLE_APPLICATION_CREDENTIALS``, the gcloud
default credentials, the metadata server on GCP); an emulator from ``STORAGE_EMULATOR_HOST``
or the location's ``endpoint_url`` option. See the README.
"""

from __future__ import annotations

from mlcore_gcs.store import GcsArtifactStore

__all__ = ["GcsArtifactStore"]
