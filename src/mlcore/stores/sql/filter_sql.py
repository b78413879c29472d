"""Compile the search AST (:mod:`mlcore.filters`) to SQLAlchemy expressions.

Every literal becomes a bound parameter; no SQL text is ever assembled from user input.
A condition on a param, metric or tag is ``key IN (SELECT key FROM <table> WHERE key =
... AND <condition>)``: evaluated once per query into a set of integers, composable with AND,
OR and NOT without join blow-ups (keys are never NULL, so NOT IN is safe). Runs use the
correlated form instead, ``EXISTS (SELECT 1 FROM <table> WHERE run_pk = runs.run_pk AND key =
... AND <condition>)``: one primary-key probe per candidate run, so that a search can walk an
index in its sort order and stop after a page (the same truth value: keys are never NULL).
Semantics (as in MLflow where it has them):

- a comparison is false for a row that lacks the key (``!=`` and ``NOT IN`` included);
  ``IS NULL`` is the way to ask for rows without it;
- ``params.x`` compares as text with a quoted literal and numerically with a number literal;
- ``attributes.status`` reads RUNNING runs whose heartbeat deadline passed as CRASHED.

A :class:`FilterTarget` says what the filter runs against: the row key, the attribute columns
and the per-key tables (runs: params, metrics, tags; registered models and model versions:
tags).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    exists,
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.sql.expression import literal

from mlcore.filters import And, Comparison, Expr, Not, Or, OrderBy
from mlcore.stores.sql.schema import (
    latest_metrics,
    model_version_tags,
    model_versions,
    params,
    registered_model_tags,
    registered_models,
    runs,
    tags,
)

__all__ = [
    "FilterTarget",
    "apply_order",
    "compile_comparison",
    "compile_filter",
    "model_target",
    "run_target",
    "status_column",
    "version_target",
]


@dataclass(frozen=True)
class FilterTarget:
    """What a filter is compiled against.

    Attributes:
        key: columns identifying a row (``runs.run_pk``; ``model_pk, version``).
        attributes: attribute name -> column expression.
        tables: entity (``params``/``metrics``/``tags``) -> table keyed by the same columns.
        default_order: the tiebreak appended to every ORDER BY.
    """

    key: Sequence[ColumnElement[Any]]
    attributes: dict[str, ColumnElement[Any]]
    tables: dict[str, Table]
    default_order: list[ColumnElement[Any]] = field(default_factory=list)
    numeric_params: bool = False
    correlated: bool = False  # per-key conditions as EXISTS probes instead of IN sets


def status_column(now_ms: int | ColumnElement[Any]) -> ColumnElement[Any]:
    """``runs.status`` with stale RUNNING runs read as CRASHED (``now_ms``: a number or a
    bound parameter)."""
    return case(
        (
            and_(
                runs.c.status == "RUNNING",
                runs.c.alive_until.is_not(None),
                runs.c.alive_until < now_ms,
            ),
            literal("CRASHED"),
        ),
        else_=runs.c.status,
    )


def run_target(now_ms: int | ColumnElement[Any], *, correlated: bool = True) -> FilterTarget:
    return FilterTarget(
        key=[runs.c.run_pk],
        attributes={
            "run_id": runs.c.run_id,
            "run_name": runs.c.name,
            "status": status_column(now_ms),
            "start_time": runs.c.start_time,
            "end_time": runs.c.end_time,
            "experiment_id": cast(runs.c.experiment_id, String),
            "user": runs.c.user,
            "parent_run_id": runs.c.parent_run_id,
            "artifact_uri": runs.c.artifact_uri,
        },
        tables={"params": params, "metrics": latest_metrics, "tags": tags},
        default_order=[runs.c.start_time.desc(), runs.c.run_id.asc()],
        numeric_params=True,
        correlated=correlated,
    )


def model_target() -> FilterTarget:
    return FilterTarget(
        key=[registered_models.c.model_pk],
        attributes={
            "name": registered_models.c.name,
            "description": registered_models.c.description,
            "creation_time": registered_models.c.creation_time,
            "last_update_time": registered_models.c.last_update_time,
        },
        tables={"tags": registered_model_tags},
        default_order=[registered_models.c.name.asc()],
    )


def version_target() -> FilterTarget:
    return FilterTarget(
        key=[model_versions.c.model_pk, model_versions.c.version],
        attributes={
            "name": registered_models.c.name,
            "version": model_versions.c.version,
            "run_id": model_versions.c.run_id,
            "source": model_versions.c.source,
            "stage": model_versions.c.stage,
            "status": model_versions.c.status,
            "description": model_versions.c.description,
            "creation_time": model_versions.c.creation_time,
            "last_update_time": model_versions.c.last_update_time,
        },
        tables={"tags": model_version_tags},
        default_order=[registered_models.c.name.asc(), model_versions.c.version.desc()],
    )


def _items(column: ColumnElement[Any], values: Sequence[Any]) -> list[Any]:
    return [bindparam(None, v, type_=column.type) for v in values]


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    # one bound parameter per item (not an "expanding" list): a compiled statement holds them
    "IN": lambda column, value: column.in_(_items(column, value)),
    "NOT IN": lambda column, value: column.not_in(_items(column, value)),
    "LIKE": lambda column, value: column.like(value),
    "NOT LIKE": lambda column, value: column.not_like(value),
    "ILIKE": lambda column, value: column.ilike(value),
    "NOT ILIKE": lambda column, value: column.not_ilike(value),
}


def _apply(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = _OPERATORS[op](column, value)
    return condition


def _key_expr(columns: Sequence[ColumnElement[Any]]) -> ColumnElement[Any]:
    return columns[0] if len(columns) == 1 else tuple_(*columns)


def _keyed(
    target: FilterTarget, table: Table, key: str, condition: ColumnElement[bool] | None
) -> ColumnElement[bool]:
    # Uncorrelated ``key IN (SELECT ...)``: the database evaluates the subquery once (through
    # the (key, ...) indexes) instead of once per candidate row. Correlated ``EXISTS``: one
    # primary-key probe per candidate row, what a walk in index order that stops early wants.
    names = [c.name for c in target.key]
    where = [table.c.key == key]
    if condition is not None:
        where.append(condition)
    if target.correlated:
        probe = [table.c[name] == column for name, column in zip(names, target.key)]
        return exists().where(*probe, *where)
    inner = select(*(table.c[name] for name in names)).where(*where)
    return _key_expr(target.key).in_(inner)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def compile_comparison(cmp: Comparison, target: FilterTarget) -> ColumnElement[bool]:
    ident, op, value = cmp.ident, cmp.op, cmp.value
    if ident.entity == "attributes":
        column = target.attributes[ident.key]
        if op == "IS NULL":
            return column.is_(None)
        if op == "IS NOT NULL":
            return column.is_not(None)
        if isinstance(value, float) or (
            isinstance(value, tuple) and all(isinstance(v, float) for v in value)
        ):
            value = tuple(int(v) for v in value) if isinstance(value, tuple) else int(value)
        return _apply(column, op, value)

    table = target.tables[ident.entity]
    if op == "IS NULL":
        return not_(_keyed(target, table, ident.key, None))
    if op == "IS NOT NULL":
        return _keyed(target, table, ident.key, None)
    if ident.entity == "params" and target.numeric_params:
        values = value if isinstance(value, tuple) else (value,)
        numeric = all(isinstance(v, float) for v in values) and not op.endswith("LIKE")
        column = table.c.value_num if numeric else table.c.value
        if not numeric:
            value = tuple(_text(v) for v in values) if isinstance(value, tuple) else _text(value)
        return _keyed(target, table, ident.key, _apply(column, op, value))
    return _keyed(target, table, ident.key, _apply(table.c.value, op, value))


def compile_filter(expr: Expr, target: FilterTarget) -> ColumnElement[bool]:
    """The SQLAlchemy condition for ``expr`` on ``target``."""
    if isinstance(expr, Comparison):
        return compile_comparison(expr, target)
    if isinstance(expr, And):
        return and_(*(compile_filter(item, target) for item in expr.items))
    if isinstance(expr, Or):
        return or_(*(compile_filter(item, target) for item in expr.items))
    if isinstance(expr, Not):
        return not_(compile_filter(expr.item, target))
    raise AssertionError(expr)  # pragma: no cover


def apply_order(query: Select[Any], orders: list[OrderBy], target: FilterTarget) -> Select[Any]:
    """Add ORDER BY (NULLs last in both directions) and the target's stable tiebreak."""
    clauses: list[ColumnElement[Any]] = []
    for index, order in enumerate(orders):
        ident = order.ident
        columns: list[ColumnElement[Any]]
        if ident.entity == "attributes":
            column = target.attributes[ident.key]
            if ident.key == "experiment_id":
                column = runs.c.experiment_id
            columns = [column]
        else:
            table = target.tables[ident.entity]
            alias = table.alias(f"order_{index}")
            on = [alias.c[c.name] == c for c in target.key]
            query = query.outerjoin(alias, and_(*on, alias.c.key == ident.key))
            columns = (
                [alias.c.value_num, alias.c.value]
                if ident.entity == "params" and target.numeric_params
                else [alias.c.value]
            )
        for column in columns:
            clauses.append(column.is_(None))
            clauses.append(column.asc() if order.ascending else column.desc())
    return query.order_by(*clauses, *target.default_order)
