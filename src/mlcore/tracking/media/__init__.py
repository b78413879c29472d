"""Media logged inside ``log({...}, step=)`` as W&B does: images, tables, histograms, HTML.

Each value is stored as a step-indexed file of the run (``media/<key>/<step>.<ext>`` with a
``<step>.media.json`` sidecar holding its kind and caption), and ``media/index.json`` lists keys and
steps when the run ends. ``ActiveRun.media(key, step=)`` reads one back. numpy, PIL and pyarrow
are imported when a value is made or read, never at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlcore.tracking.media.base import Media
    from mlcore.tracking.media.histogram import Histogram
    from mlcore.tracking.media.html import Html
    from mlcore.tracking.media.image import Image
    from mlcore.tracking.media.store import LoggedMedia
    from mlcore.tracking.media.table import Table

__all__ = ["Histogram", "Html", "Image", "LoggedMedia", "Media", "Table"]

_LAZY = {
    "Media": "mlcore.tracking.media.base",
    "Histogram": "mlcore.tracking.media.histogram",
    "Html": "mlcore.tracking.media.html",
    "Image": "mlcore.tracking.media.image",
    "LoggedMedia": "mlcore.tracking.media.store",
    "Table": "mlcore.tracking.media.table",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value
