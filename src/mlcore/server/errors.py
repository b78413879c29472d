"""Moved to :mod:`mlcore.web.errors` (shared with model serving); these names stay importable
from here."""

from __future__ import annotations

from mlcore.web.errors import (
    error_response,
    http_error,
    mlcore_error,
    unexpected_error,
    validation_error,
)

__all__ = ["error_response", "http_error", "mlcore_error", "unexpected_error", "validation_error"]
