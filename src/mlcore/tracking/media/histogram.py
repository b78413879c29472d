"""``Histogram``: a distribution logged with ``log`` (W&B's ``wandb.Histogram``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from mlcore.errors import InvalidInputError
from mlcore.tracking.media.base import Media

__all__ = ["Histogram"]

MAX_BINS = 512


class Histogram(Media):
    """Counts over bins, from a sequence of numbers (``num_bins`` bins, default 64) or from
    ``np_histogram=(counts, edges)``. Read back as ``{"bins": edges, "values": counts}``."""

    kind: ClassVar[str] = "histogram"
    extension: ClassVar[str] = "json"

    def __init__(
        self,
        sequence: Sequence[float] | Any = None,
        np_histogram: tuple[Any, Any] | None = None,
        num_bins: int = 64,
    ) -> None:
        import numpy as np

        if not isinstance(num_bins, int) or not 1 <= num_bins <= MAX_BINS:
            raise InvalidInputError(f"num_bins must be 1..{MAX_BINS}", field="num_bins")
        if np_histogram is not None:
            counts, edges = np_histogram
            values = np.asarray(counts, dtype=float)
            bins = np.asarray(edges, dtype=float)
            if values.ndim != 1 or bins.shape != (values.size + 1,):
                raise InvalidInputError(
                    "np_histogram must be (counts, edges) with len(edges) == len(counts) + 1",
                    field="np_histogram",
                )
        elif sequence is not None:
            data = np.asarray(sequence, dtype=float).ravel()
            data = data[np.isfinite(data)]
            values, bins = np.histogram(data, bins=num_bins)
        else:
            raise InvalidInputError("Histogram needs a sequence or np_histogram")
        self.histogram: list[float] = [float(v) for v in values]
        self.bins: list[float] = [float(b) for b in bins]

    def to_bytes(self) -> bytes:
        return json.dumps({"bins": self.bins, "values": self.histogram}).encode()

    @classmethod
    def read(cls, data: bytes, metadata: dict[str, Any]) -> dict[str, list[float]]:
        loaded: dict[str, list[float]] = json.loads(data)
        return loaded
