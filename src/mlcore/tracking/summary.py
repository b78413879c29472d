"""``Summary``: a run's one-value-per-key view (W&B's ``run.summary``), and ``define_metric``.

By default a key's summary is the last value logged for it. ``define_metric(name,
summary="min")`` (``max``, ``mean``, ``last``, ``first``, or several joined by commas) makes it a
mapping instead (``{"min": 0.1}``), as W&B does; ``name`` may end with ``*`` to match a prefix.
A value set by hand (``run.summary["best"] = 0.9``) wins over what logging computes.

The summary is stored with the run as the JSON tag ``mlcore.summary`` (values set by hand and
the aggregates of defined metrics; written when a value is set and when the run ends) next to
its latest metrics; metric definitions as the JSON tag ``mlcore.define_metric``. A resumed run
reads both back and carries on; :func:`stored_summary` rebuilds the view of any stored run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from mlcore.errors import InvalidInputError

__all__ = [
    "DEFINE_METRIC_TAG",
    "SUMMARY_AGGREGATES",
    "SUMMARY_TAG",
    "MetricStats",
    "Summary",
    "parse_aggregates",
    "stored_summary",
]

SUMMARY_TAG = "mlcore.summary"
DEFINE_METRIC_TAG = "mlcore.define_metric"
#: what ``define_metric(summary=...)`` accepts (comma-separated for several)
SUMMARY_AGGREGATES = ("min", "max", "mean", "last", "first", "none")


class MetricStats:
    """Running min, max, sum, count, first and last of one metric (for its summary)."""

    __slots__ = ("count", "first", "last", "max", "min", "total")

    def __init__(self, state: Mapping[str, Any] | None = None) -> None:
        state = state or {}
        self.count: int = int(state.get("count", 0))
        self.total: float = float(state.get("total", 0.0))
        self.min: float = float(state.get("min", math.inf))
        self.max: float = float(state.get("max", -math.inf))
        self.first: float | None = state.get("first")
        self.last: float | None = state.get("last")

    def add(self, value: float) -> None:
        if self.count == 0:
            self.first = value
        self.count += 1
        self.total += value
        self.last = value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value

    def view(self, aggregates: tuple[str, ...]) -> dict[str, float | None]:
        values: dict[str, float | None] = {
            "min": self.min if self.count else None,
            "max": self.max if self.count else None,
            "mean": self.total / self.count if self.count else None,
            "last": self.last,
            "first": self.first,
        }
        return {name: values[name] for name in aggregates if name != "none"}

    def state(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "total": self.total,
            "min": self.min if self.count else None,
            "max": self.max if self.count else None,
            "first": self.first,
            "last": self.last,
        }


def parse_aggregates(summary: str | None) -> tuple[str, ...]:
    """``"min,max"`` -> ``("min", "max")``; InvalidInputError for anything unknown."""
    if summary is None:
        return ("last",)
    if not isinstance(summary, str):
        raise InvalidInputError("define_metric summary must be a string", field="summary")
    names = tuple(part.strip() for part in summary.split(",") if part.strip())
    unknown = [name for name in names if name not in SUMMARY_AGGREGATES]
    if unknown or not names:
        raise InvalidInputError(
            f"define_metric summary {summary!r}: use {', '.join(SUMMARY_AGGREGATES)} "
            "(several joined by commas)",
            field="summary",
        )
    return names


class Summary(MutableMapping[str, Any]):
    """A run's summary: the last value of each logged key, aggregates for defined metrics,
    and values set by hand. ``persist(payload)`` stores it (see the module docstring)."""

    def __init__(
        self,
        persist: Callable[[str], None] | None = None,
        stored: str | None = None,
        latest: Callable[[], Mapping[str, float]] | None = None,
    ) -> None:
        self._persist = persist
        self._latest = latest  # the stored latest metrics (a resumed run's history)
        self._last: dict[str, Any] = {}  # last value logged in this process, by key
        self._stats: dict[str, MetricStats] = {}  # keys with a defined summary
        self._set: dict[str, Any] = {}  # values set by hand
        self._removed: set[str] = set()
        self._definitions: dict[str, dict[str, Any]] = {}
        self._aggregates: dict[str, tuple[str, ...]] = {}
        if stored:
            try:
                payload = json.loads(stored)
                self._set = dict(payload.get("set", {}))
                self._removed = set(payload.get("removed", []))
                self._stats = {k: MetricStats(v) for k, v in payload.get("stats", {}).items()}
            except (ValueError, AttributeError, TypeError):  # a tag edited by hand: start over
                pass

    # -- definitions -----------------------------------------------------------------------------
    def define(self, name: str, definition: dict[str, Any], aggregates: tuple[str, ...]) -> None:
        self._definitions[name] = definition
        self._aggregates[name] = aggregates

    def load_definitions(self, stored: str | None) -> None:
        if not stored:
            return
        try:
            definitions = json.loads(stored)
        except ValueError:
            return
        if isinstance(definitions, dict):
            for name, definition in definitions.items():
                if isinstance(definition, dict):
                    summary = definition.get("summary")
                    try:
                        self.define(name, definition, parse_aggregates(summary))
                    except InvalidInputError:
                        continue

    def definitions(self) -> dict[str, dict[str, Any]]:
        return dict(self._definitions)

    def aggregates_for(self, key: str) -> tuple[str, ...] | None:
        """The aggregates defined for ``key`` (exact name, else the longest ``prefix*``)."""
        found = self._aggregates.get(key)
        if found is not None:
            return found
        best: tuple[str, ...] | None = None
        length = -1
        for name, aggregates in self._aggregates.items():
            if name.endswith("*") and key.startswith(name[:-1]) and len(name) > length:
                best, length = aggregates, len(name)
        return best

    # -- logging ---------------------------------------------------------------------------------
    def observe(self, points: list[tuple[str, Any]]) -> None:
        """Record the values of one committed step."""
        last = self._last
        for key, value in points:
            last[key] = value
            if self._aggregates and self.aggregates_for(key) not in (None, ("last",)):
                stats = self._stats.get(key)
                if stats is None:
                    stats = self._stats[key] = MetricStats()
                stats.add(float(value))

    # -- the mapping -----------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        view: dict[str, Any] = {}
        if self._latest is not None:
            view.update(self._latest())
        view.update(self._last)
        for key in list(view):
            aggregates = self.aggregates_for(key)
            if aggregates is None or aggregates == ("last",):
                continue
            stats = self._stats.get(key)
            if "none" in aggregates:
                del view[key]
            elif stats is not None:
                view[key] = stats.view(aggregates)
        for key in self._removed:
            view.pop(key, None)
        view.update(self._set)
        return view

    def __getitem__(self, key: str) -> Any:
        return self.as_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_dict())

    def __len__(self) -> int:
        return len(self.as_dict())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self.as_dict()[name]
        except KeyError:
            raise AttributeError(f"summary has no key {name!r}") from None

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        if key not in self.as_dict():
            raise KeyError(key)
        self._set.pop(key, None)
        self._removed.add(key)
        self.save()

    def update(self, values: Any = None, /, **more: Any) -> None:
        """Set keys by hand (they win over logged values) and store the summary."""
        merged = {**dict(values or {}), **more}
        for key in merged:
            if not isinstance(key, str) or not key:
                raise InvalidInputError("summary keys must be non-empty strings", field="key")
        try:
            json.dumps(merged, allow_nan=True)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"summary values must be JSON-able: {exc}") from exc
        self._set.update(merged)
        self._removed.difference_update(merged)
        self.save()

    def payload(self) -> str:
        """What is stored: values set by hand and the running aggregates of defined metrics
        (the last value of every other key is the run's latest metric, stored anyway)."""
        return json.dumps(
            {
                "set": self._set,
                "removed": sorted(self._removed),
                "stats": {key: stats.state() for key, stats in self._stats.items()},
            },
            allow_nan=True,
            default=str,
        )

    def save(self) -> None:
        if self._persist is not None:
            self._persist(self.payload())

    def __repr__(self) -> str:
        return f"Summary({self.as_dict()!r})"


def stored_summary(tags: Mapping[str, str], metrics: Mapping[str, float]) -> dict[str, Any]:
    """The summary of a stored run, from its tags and latest metrics."""
    summary = Summary(stored=tags.get(SUMMARY_TAG), latest=lambda: metrics)
    summary.load_definitions(tags.get(DEFINE_METRIC_TAG))
    return summary.as_dict()
