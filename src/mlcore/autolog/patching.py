"""Reversible monkey-patching: every patch remembers the original it replaced."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["patch", "patched", "unpatch"]

_patches: dict[str, list[tuple[Any, str, Any]]] = {}


def patch(framework: str, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
    """Replace ``owner.name`` with ``make(original)`` (once per owner and name)."""
    original = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name)
    if original is None or getattr(original, "__mlcore_patched__", False):
        return
    wrapper = make(original)
    if callable(wrapper) and not isinstance(wrapper, (staticmethod, classmethod)):
        functools.update_wrapper(wrapper, original)
        wrapper.__mlcore_patched__ = True
    setattr(owner, name, wrapper)
    _patches.setdefault(framework, []).append((owner, name, original))


def unpatch(framework: str) -> None:
    """Put back every original ``framework``'s patches replaced."""
    for owner, name, original in reversed(_patches.pop(framework, [])):
        setattr(owner, name, original)


def patched(framework: str) -> bool:
    return bool(_patches.get(framework))
