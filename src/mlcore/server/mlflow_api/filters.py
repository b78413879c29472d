"""MLflow's search grammar on mlcore's search language.

MLflow's run filters are mlcore's grammar with other names: ``attributes.user_id``,
``attributes.run_uuid``, ``attributes.created`` and the system tags ``tags.mlflow.runName``,
``tags.mlflow.parentRunId``, ``tags.mlflow.user`` name fields of an mlcore run, and
``tags.mlflow.source.*`` its ``mlcore.source.*`` tags. A filter is parsed with those names,
rewritten, and written back as an mlcore filter for the store (no SQL built here). Experiment
searches are small and filtered in Python (:func:`match_experiment`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from mlcore.filters import (
    ATTRIBUTES,
    And,
    Comparison,
    Expr,
    FilterContext,
    Identifier,
    Not,
    Or,
    OrderBy,
    parse_filter,
    parse_order_by,
)
from mlcore.server.mlflow_api.messages import stored_tag_key
from mlcore.types import Experiment

__all__ = [
    "EXPERIMENTS",
    "match_experiment",
    "run_filter",
    "run_order_by",
    "sort_experiments",
]

MLFLOW_RUNS = FilterContext(
    "runs",
    frozenset({"params", "metrics", "tags", "attributes"}),
    ATTRIBUTES,
    {
        "id": "run_id",
        "run_uuid": "run_id",
        "name": "run_name",
        "created": "start_time",
        "user_id": "user",
        "experiment": "experiment_id",
    },
    {"status": ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED", "CRASHED")},
)
EXPERIMENTS = FilterContext(
    "experiments",
    frozenset({"tags", "attributes"}),
    {"name": "str", "experiment_id": "str", "creation_time": "int", "last_update_time": "int"},
    {"created": "creation_time", "id": "experiment_id"},
    {},
)
#: MLflow system tags that are fields of an mlcore run
_TAG_ATTRIBUTES = {
    "mlflow.runName": "run_name",
    "mlflow.parentRunId": "parent_run_id",
    "mlflow.user": "user",
}


def _ident(ident: Identifier) -> Identifier:
    if ident.entity == "tags":
        if ident.key in _TAG_ATTRIBUTES:
            return Identifier("attributes", _TAG_ATTRIBUTES[ident.key], ident.position)
        return replace(ident, key=stored_tag_key(ident.key))
    return ident


def _rewrite(expr: Expr) -> Expr:
    if isinstance(expr, Comparison):
        return replace(expr, ident=_ident(expr.ident))
    if isinstance(expr, And):
        return And(tuple(_rewrite(e) for e in expr.items))
    if isinstance(expr, Or):
        return Or(tuple(_rewrite(e) for e in expr.items))
    return Not(_rewrite(expr.item))


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _column(ident: Identifier) -> str:
    if "`" in ident.key:  # double quotes, with backslash escapes
        quoted = ident.key.replace("\\", "\\\\").replace('"', '\\"')
        return f'{ident.entity}."{quoted}"'
    return f"{ident.entity}.`{ident.key}`"


def _text(expr: Expr) -> str:
    if isinstance(expr, Comparison):
        column = _column(expr.ident)
        if expr.value is None:
            return f"{column} {expr.op}"
        if isinstance(expr.value, tuple):
            return f"{column} {expr.op} ({', '.join(_literal(v) for v in expr.value)})"
        return f"{column} {expr.op} {_literal(expr.value)}"
    if isinstance(expr, And):
        return " AND ".join(f"({_text(e)})" for e in expr.items)
    if isinstance(expr, Or):
        return " OR ".join(f"({_text(e)})" for e in expr.items)
    return f"NOT ({_text(expr.item)})"


def run_filter(source: str | None) -> str | None:
    """An MLflow run filter as the mlcore filter that means the same."""
    expr = parse_filter(source, MLFLOW_RUNS)
    return None if expr is None else _text(_rewrite(expr))


def run_order_by(clauses: Sequence[str] | None) -> list[str]:
    """MLflow's ``order_by`` clauses as mlcore's."""
    if not clauses:
        return []
    result = []
    for order in parse_order_by(list(clauses), MLFLOW_RUNS):
        result.append(f"{_column(_ident(order.ident))} {'ASC' if order.ascending else 'DESC'}")
    return result


# -- experiments -------------------------------------------------------------------------------
def _experiment_value(experiment: Experiment, ident: Identifier) -> Any:
    if ident.entity == "tags":
        return experiment.tags.get(ident.key)
    return getattr(experiment, ident.key)


def _like(pattern: str, text: str, ignore_case: bool) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return (
        re.fullmatch(regex, text, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)
        is not None
    )


def _compare(value: Any, op: str, wanted: Any) -> bool:
    if op == "IS NULL":
        return value is None
    if op == "IS NOT NULL":
        return value is not None
    if value is None:
        return False
    if op in ("LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"):
        found = _like(str(wanted), str(value), "ILIKE" in op)
        return not found if op.startswith("NOT") else found
    if op in ("IN", "NOT IN"):
        inside = str(value) in {str(w) for w in wanted}
        return not inside if op == "NOT IN" else inside
    if isinstance(wanted, float) and isinstance(value, (int, float)):
        left: Any = float(value)
    else:
        left, wanted = str(value), str(wanted)
    results: dict[str, bool] = {
        "=": left == wanted,
        "!=": left != wanted,
        "<": left < wanted,
        "<=": left <= wanted,
        ">": left > wanted,
        ">=": left >= wanted,
    }
    return results[op]


def _matches(experiment: Experiment, expr: Expr) -> bool:
    if isinstance(expr, Comparison):
        return _compare(_experiment_value(experiment, expr.ident), expr.op, expr.value)
    if isinstance(expr, And):
        return all(_matches(experiment, e) for e in expr.items)
    if isinstance(expr, Or):
        return any(_matches(experiment, e) for e in expr.items)
    return not _matches(experiment, expr.item)


def match_experiment(source: str | None) -> Any:
    """A predicate on experiments for an MLflow experiment filter (``name LIKE 'x%'`` and
    ``tags.k = 'v'``; a bare ``name`` means ``attributes.name``)."""
    if source and source.strip():
        source = re.sub(
            r"(?<![\w.`])(name|creation_time|last_update_time|experiment_id)(?=\s*(?:[=!<>]|like|ilike|in|not)\b|\s*[=!<>])",
            r"attributes.\1",
            source,
            flags=re.IGNORECASE,
        )
    expr = parse_filter(source, EXPERIMENTS)
    return lambda experiment: expr is None or _matches(experiment, expr)


def sort_experiments(experiments: list[Experiment], clauses: Sequence[str] | None) -> None:
    """Sort in place by MLflow's experiment ``order_by`` (default: newest first)."""
    orders: list[OrderBy] = []
    if clauses:
        fixed = [
            re.sub(
                r"^\s*(name|creation_time|last_update_time|experiment_id)\b", r"attributes.\1", c
            )
            for c in clauses
        ]
        orders = parse_order_by(fixed, EXPERIMENTS)
    experiments.sort(key=lambda e: int(e.experiment_id) if e.experiment_id.isdigit() else 0)
    if not orders:
        experiments.sort(key=lambda e: e.creation_time or 0, reverse=True)
        return
    for order in reversed(orders):
        experiments.sort(
            key=lambda e, o=order: (  # type: ignore[misc]
                _experiment_value(e, o.ident) is None,
                _experiment_value(e, o.ident) or 0,
            ),
            reverse=not order.ascending,
        )
