"""Filtering and ordering experiments with the search language (``Tracker.search_experiments``):
``name``, ``experiment_id``, ``creation_time``, ``last_update_time``, ``artifact_location`` and
``tags.<key>``, as MLflow's ``search_experiments`` takes them. Experiments are few, so the
filter runs over the listed experiments in Python."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from mlcore.filters import And, Comparison, Expr, FilterContext, Not, Or, parse_filter
from mlcore.filters import parse_order_by as _parse_order_by
from mlcore.types import Experiment

__all__ = ["EXPERIMENTS", "filter_experiments"]

EXPERIMENTS = FilterContext(
    "experiments",
    frozenset({"tags", "attributes"}),
    {
        "name": "str",
        "experiment_id": "str",
        "artifact_location": "str",
        "creation_time": "int",
        "last_update_time": "int",
    },
    {"id": "experiment_id", "created": "creation_time"},
    {},
)


def _value(experiment: Experiment, comparison: Comparison) -> Any:
    ident = comparison.ident
    if ident.entity == "tags":
        return experiment.tags.get(ident.key)
    return getattr(experiment, ident.key)


def _like(pattern: str, text: str, insensitive: bool) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return (
        re.fullmatch(regex, text, re.IGNORECASE | re.DOTALL if insensitive else re.DOTALL)
        is not None
    )


def _compare(value: Any, op: str, literal: Any) -> bool:
    if op == "IS NULL":
        return value is None
    if op == "IS NOT NULL":
        return value is not None
    if value is None:
        return False
    if op in ("IN", "NOT IN"):
        found = any(_equal(value, item) for item in literal)
        return found if op == "IN" else not found
    if op in ("LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE"):
        matched = _like(str(literal), str(value), "ILIKE" in op)
        return not matched if op.startswith("NOT") else matched
    if op in ("=", "=="):
        return _equal(value, literal)
    if op in ("!=", "<>"):
        return not _equal(value, literal)
    left, right = (float(value), float(literal)) if isinstance(literal, float) else (value, literal)
    return bool(
        {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
    )


def _equal(value: Any, literal: Any) -> bool:
    if isinstance(literal, float):
        return float(value) == literal
    return bool(str(value) == literal)


def _matches(experiment: Experiment, expr: Expr) -> bool:
    if isinstance(expr, And):
        return all(_matches(experiment, item) for item in expr.items)
    if isinstance(expr, Or):
        return any(_matches(experiment, item) for item in expr.items)
    if isinstance(expr, Not):
        return not _matches(experiment, expr.item)
    return _compare(_value(experiment, expr), expr.op, expr.value)


def filter_experiments(
    experiments: Sequence[Experiment],
    filter: str | None,
    order_by: Sequence[str] | str | None,
) -> list[Experiment]:
    """``experiments`` matching ``filter``, sorted by ``order_by`` (default: newest first, as
    MLflow lists them).

    Raises:
        InvalidInputError: a malformed filter or order_by.
    """
    expr = parse_filter(filter, EXPERIMENTS)
    found = [e for e in experiments if expr is None or _matches(e, expr)]
    clauses = _parse_order_by(
        order_by if order_by is None or isinstance(order_by, str) else list(order_by),
        EXPERIMENTS,
    )
    if not clauses:
        return sorted(found, key=lambda e: (e.creation_time or 0, e.experiment_id), reverse=True)
    for clause in reversed(clauses):
        present = [e for e in found if _sort_value(e, clause.ident) is not None]
        missing = [e for e in found if _sort_value(e, clause.ident) is None]
        present.sort(key=lambda e: _sort_value(e, clause.ident), reverse=not clause.ascending)
        found = present + missing
    return found


def _sort_value(experiment: Experiment, ident: Any) -> Any:
    if ident.entity == "tags":
        return experiment.tags.get(ident.key)
    return getattr(experiment, ident.key)
