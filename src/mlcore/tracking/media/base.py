"""``Media``: what a value logged as a file (not a number) provides (stdlib only)."""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["Media"]


class Media:
    """A value ``log`` stores as a file: ``kind``, a file ``extension``, and its bytes."""

    kind: ClassVar[str] = "media"
    extension: ClassVar[str] = "bin"

    def to_bytes(self) -> bytes:
        """The file's content."""
        raise NotImplementedError

    def metadata(self) -> dict[str, Any]:
        """JSON-able details stored next to the file (caption, shape...)."""
        return {}

    @classmethod
    def read(cls, data: bytes, metadata: dict[str, Any]) -> Any:
        """The stored file turned back into a Python value."""
        return data
