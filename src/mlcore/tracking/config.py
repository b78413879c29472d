"""``Config``: a run's W&B-style config, readable as attributes (``config.lr``) and keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["Config"]


class Config(Mapping[str, Any]):
    """A read-mostly mapping with attribute access; ``update`` persists through a callback.

    Setting a key that holds another value is a ``ParamConflictError`` (config values are
    logged as params, which are immutable).
    """

    __slots__ = ("_data", "_persist")

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        persist: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        object.__setattr__(self, "_data", dict(data or {}))
        object.__setattr__(self, "_persist", persist)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            known = ", ".join(sorted(self._data)) or "none"
            raise AttributeError(f"config has no key {name!r} (keys: {known})") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self.update({name: value})

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def update(self, values: Mapping[str, Any] | None = None, **more: Any) -> None:
        """Add keys to the config (and to the run's params)."""
        merged = {**(values or {}), **more}
        if not merged:
            return
        if self._persist is not None:
            object.__setattr__(self, "_data", self._persist(merged))
        else:
            self._data.update(merged)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def __repr__(self) -> str:
        return f"Config({self._data!r})"
