"""What the model-integrity tests load and attack with: a genuine model function, and a pickle
that writes a marker file when it is unpickled (what an attacker's model would do)."""

from __future__ import annotations

from typing import Any


def double(values: Any) -> Any:
    """The genuine model."""
    return [2 * v for v in values]


def write_marker(path: str) -> None:
    with open(path, "w") as handle:
        handle.write("a pickle from the attacker ran")


class Malicious:
    """Unpickling this writes the marker file at ``marker``."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (write_marker, (self.marker,))
