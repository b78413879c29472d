"""Splitting a batch of metric points into halves with stable batch ids.

Both the batching writer (which halves a batch the store refused, to find the bad point) and
``HttpStore`` (which halves a batch too large for one request) split the same way: the first
half is ``points[:n // 2]``, and each half's id is derived from the batch's id. So a half
stored once under its id (in one request of an oversized batch) is the same half, under the
same id, when the writer later splits that batch itself, and the store's duplicate check
keeps it from being stored twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from mlcore.stores.records import MetricPoint

__all__ = ["half_id", "halves"]


def half_id(batch_id: str, half: int) -> str:
    """The id of half ``half`` (0 or 1) of the batch ``batch_id``: 32 hex digits, so ids
    stay short however deep a batch is split."""
    digest = hashlib.blake2b(f"{batch_id}/{half}".encode(), digest_size=16)
    return digest.hexdigest()


def halves(
    points: Sequence[MetricPoint], batch_id: str
) -> tuple[tuple[Sequence[MetricPoint], str], tuple[Sequence[MetricPoint], str]]:
    """``points`` (at least two) as two halves, each with its own id."""
    middle = len(points) // 2
    return (points[:middle], half_id(batch_id, 0)), (points[middle:], half_id(batch_id, 1))
