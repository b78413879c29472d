"""Compile the search AST (:mod:`mlcore.filters`) to SQLAlchemy expressions on ``runs``.

Every literal becomes a bound parameter; no SQL text is ever assembled from user input.
A condition on a param, metric or tag is ``run_pk IN (SELECT run_pk FROM <table> WHERE key =
... AND <condition>)``: evaluated once per query into a set of integers, composable with AND,
OR and NOT without join blow-ups (keys are never NULL, so NOT IN is safe).
Semantics (as in MLflow where it has them):

- a comparison is false for a run that lacks the key (``!=`` and ``NOT IN`` included);
  ``IS NULL`` is the way to ask for runs without it;
- ``params.x`` compares as text with a quoted literal and numerically with a number literal;
- ``attributes.status`` reads RUNNING runs whose heartbeat deadline passed as CRASHED.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    not_,
    or_,
    select,
)
from sqlalchemy.sql.expression import literal

from mlcore.filters import And, Comparison, Expr, Not, Or, OrderBy
from mlcore.stores.sql.schema import latest_metrics, params, runs, tags


def status_column(now_ms: int) -> ColumnElement[Any]:
    """``runs.status`` with stale RUNNING runs read as CRASHED."""
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


def _attribute_column(key: str, now_ms: int) -> ColumnElement[Any]:
    if key == "status":
        return status_column(now_ms)
    if key == "experiment_id":
        return cast(runs.c.experiment_id, String)
    if key == "run_name":
        return runs.c.name
    return runs.c[key]


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "IN": lambda column, value: column.in_(list(value)),
    "NOT IN": lambda column, value: column.not_in(list(value)),
    "LIKE": lambda column, value: column.like(value),
    "NOT LIKE": lambda column, value: column.not_like(value),
    "ILIKE": lambda column, value: column.ilike(value),
    "NOT ILIKE": lambda column, value: column.not_ilike(value),
}


def _text_ops(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = _OPERATORS[op](column, value)
    return condition


def _keyed(table: Any, key: str, condition: ColumnElement[bool] | None) -> ColumnElement[bool]:
    # An uncorrelated ``run_pk IN (SELECT ...)``: the database evaluates the subquery once
    # (through the (key, ...) indexes) instead of once per candidate run, as EXISTS would.
    where = [table.c.key == key]
    if condition is not None:
        where.append(condition)
    return runs.c.run_pk.in_(select(table.c.run_pk).where(*where))


def compile_comparison(cmp: Comparison, now_ms: int) -> ColumnElement[bool]:
    ident, op, value = cmp.ident, cmp.op, cmp.value
    if ident.entity == "attributes":
        column = _attribute_column(ident.key, now_ms)
        if op == "IS NULL":
            return column.is_(None)
        if op == "IS NOT NULL":
            return column.is_not(None)
        if ident.key in ("start_time", "end_time"):
            value = tuple(int(v) for v in value) if isinstance(value, tuple) else int(value)  # type: ignore[arg-type]
        return _text_ops(column, op, value)

    table = {"params": params, "metrics": latest_metrics, "tags": tags}[ident.entity]
    if op == "IS NULL":
        return not_(_keyed(table, ident.key, None))
    if op == "IS NOT NULL":
        return _keyed(table, ident.key, None)
    if ident.entity == "params":
        values = value if isinstance(value, tuple) else (value,)
        numeric = all(isinstance(v, float) for v in values) and not op.endswith("LIKE")
        column = table.c.value_num if numeric else table.c.value
        if not numeric:
            value = tuple(_text(v) for v in values) if isinstance(value, tuple) else _text(value)
        return _keyed(table, ident.key, _text_ops(column, op, value))
    return _keyed(table, ident.key, _text_ops(table.c.value, op, value))


def _text(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def compile_filter(expr: Expr, now_ms: int) -> ColumnElement[bool]:
    """The SQLAlchemy condition for ``expr``."""
    if isinstance(expr, Comparison):
        return compile_comparison(expr, now_ms)
    if isinstance(expr, And):
        return and_(*(compile_filter(item, now_ms) for item in expr.items))
    if isinstance(expr, Or):
        return or_(*(compile_filter(item, now_ms) for item in expr.items))
    if isinstance(expr, Not):
        return not_(compile_filter(expr.item, now_ms))
    raise AssertionError(expr)  # pragma: no cover


def apply_order(query: Select[Any], orders: list[OrderBy], now_ms: int) -> Select[Any]:
    """Add ORDER BY (NULLs last in both directions) and the stable default tiebreak."""
    clauses: list[ColumnElement[Any]] = []
    for index, order in enumerate(orders):
        ident = order.ident
        columns: list[ColumnElement[Any]]
        if ident.entity == "attributes":
            column = _attribute_column(ident.key, now_ms)
            if ident.key == "experiment_id":
                column = runs.c.experiment_id
            columns = [column]
        else:
            table = {"params": params, "metrics": latest_metrics, "tags": tags}[ident.entity]
            alias = table.alias(f"order_{index}")
            query = query.outerjoin(
                alias, and_(alias.c.run_pk == runs.c.run_pk, alias.c.key == ident.key)
            )
            columns = (
                [alias.c.value_num, alias.c.value] if ident.entity == "params" else [alias.c.value]
            )
        for column in columns:
            clauses.append(column.is_(None))
            clauses.append(column.asc() if order.ascending else column.desc())
    clauses.extend([runs.c.start_time.desc(), runs.c.run_id.asc()])
    return query.order_by(*clauses)
