"""``Html``: an HTML document logged with ``log`` (W&B's ``wandb.Html``)."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from mlcore.errors import InvalidInputError
from mlcore.tracking.media.base import Media

__all__ = ["Html"]


class Html(Media):
    """HTML text, or an open file or path holding it. Read back as a string."""

    kind: ClassVar[str] = "html"
    extension: ClassVar[str] = "html"

    def __init__(self, data: str | os.PathLike[str] | Any, inject: bool = True) -> None:
        if isinstance(data, os.PathLike) or (
            isinstance(data, str) and data.endswith(".html") and os.path.isfile(data)
        ):
            with open(data, encoding="utf-8") as handle:
                data = handle.read()
        elif hasattr(data, "read"):
            data = data.read()
        if not isinstance(data, str):
            raise InvalidInputError("Html takes a string, a path or an open file", field="data")
        self.html = data

    def to_bytes(self) -> bytes:
        return self.html.encode("utf-8")

    @classmethod
    def read(cls, data: bytes, metadata: dict[str, Any]) -> str:
        return data.decode("utf-8")
