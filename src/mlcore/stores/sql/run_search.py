"""Run search on SQL: the queries behind ``search_runs`` and their keyset page tokens.

Results are ordered by the requested keys (NULLs last in both directions), then newest first
(``start_time DESC``), then ``run_id``: a total order, since run ids are unique.

- Ordered first by a metric: two passes. First the runs that have a value for it, walked in
  the order of the ``(key, value)`` index of ``latest_metrics`` until a page is full; then,
  only if the page is not full yet, the runs without one (missing, or NaN, stored as NULL),
  which sort last in both directions.
- Anything else: one query on ``runs``; unordered, it walks the ``(experiment_id,
  lifecycle_stage, start_time)`` index.

Filters are correlated ``EXISTS`` probes (see :mod:`filter_sql`), so every plan stops after a
page instead of building the full match set. A page token holds the sort values of the last
run returned; the next page starts strictly after them, so runs inserted while a client pages
through never shift the pages: no run that existed at the start is skipped or returned twice.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Dialect,
    Select,
    and_,
    bindparam,
    false,
    or_,
    select,
)

from mlcore.filters import And, Comparison, Expr, OrderBy
from mlcore.stores.sql.filter_sql import FilterTarget, compile_filter, run_target
from mlcore.stores.sql.rows import RUN_COLUMNS, Fetch
from mlcore.stores.sql.schema import experiments, latest_metrics, runs

__all__ = ["SearchPlan", "SortKey", "build_search", "page_queries", "run_search"]

_WIDTH = len(RUN_COLUMNS)
# attributes that are never NULL: no ``IS NULL`` term in the ORDER BY, so an index can serve it
_NOT_NULL = {"run_id", "run_name", "start_time", "experiment_id", "artifact_uri", "status"}


@dataclass(frozen=True)
class SortKey:
    """One ORDER BY term; NULLs (when ``nullable``) sort last in both directions."""

    column: ColumnElement[Any]
    ascending: bool
    nullable: bool

    def clauses(self) -> list[ColumnElement[Any]]:
        ordered = self.column.asc() if self.ascending else self.column.desc()
        return [self.column.is_(None), ordered] if self.nullable else [ordered]

    def equal(self, value: BindParameter[Any] | None) -> ColumnElement[bool]:
        return self.column.is_(None) if value is None else self.column == value

    def beyond(self, value: BindParameter[Any] | None) -> ColumnElement[bool]:
        """Rows strictly after ``value`` on this key alone."""
        if value is None:  # NULLs come last: nothing is after them
            return false()
        past = self.column > value if self.ascending else self.column < value
        return or_(past, self.column.is_(None)) if self.nullable else past

    def from_value(self, value: BindParameter[Any] | None) -> ColumnElement[bool] | None:
        """An implied range (``>=``/``<=``) an index can seek to, where there is one."""
        if self.nullable or value is None:
            return None
        if self.ascending:
            return self.column >= value
        return self.column <= value


def _after(keys: Sequence[SortKey], nulls: Sequence[bool], first: int) -> ColumnElement[bool]:
    """Rows strictly after the cursor in the order of ``keys`` (lexicographic); the cursor's
    values are the bound parameters ``after_<first + i>`` (``nulls``: which of them are NULL)."""
    values = [
        None if null else bindparam(f"after_{first + i}", type_=key.column.type)
        for i, (key, null) in enumerate(zip(keys, nulls))
    ]
    terms = []
    for i, key in enumerate(keys):
        equal = [keys[j].equal(values[j]) for j in range(i)]
        terms.append(and_(*equal, key.beyond(values[i])))
    condition = or_(*terms)
    start = keys[0].from_value(values[0])
    return condition if start is None else and_(start, condition)


def _order_keys(
    query: Select[Any], orders: Sequence[OrderBy], target: FilterTarget, first_index: int
) -> tuple[Select[Any], list[SortKey]]:
    """Joins and sort keys for ``orders`` (aliases ``order_<i>``), then the default order."""
    keys: list[SortKey] = []
    for index, order in enumerate(orders, start=first_index):
        ident = order.ident
        if ident.entity == "attributes":
            column = target.attributes[ident.key]
            if ident.key == "experiment_id":
                column = runs.c.experiment_id
            keys.append(SortKey(column, order.ascending, ident.key not in _NOT_NULL))
            continue
        table = target.tables[ident.entity]
        alias = table.alias(f"order_{index}")
        query = query.outerjoin(
            alias, and_(alias.c.run_pk == runs.c.run_pk, alias.c.key == ident.key)
        )
        columns = (
            [alias.c.value_num, alias.c.value] if ident.entity == "params" else [alias.c.value]
        )
        keys += [SortKey(column, order.ascending, True) for column in columns]
    keys += [SortKey(runs.c.start_time, False, False), SortKey(runs.c.run_id, True, False)]
    return query, keys


def _conditions(
    experiment_ids: Sequence[str], expr: Expr | None, view: str, target: FilterTarget
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if experiment_ids:
        ids = [bindparam(None, int(e), type_=runs.c.experiment_id.type) for e in experiment_ids]
        where.append(runs.c.experiment_id.in_(ids))
    active_experiments = select(experiments.c.experiment_id).where(
        experiments.c.lifecycle_stage == "active"
    )
    if view == "active":
        where += [
            runs.c.lifecycle_stage == "active",
            runs.c.experiment_id.in_(active_experiments),
        ]
    elif view == "deleted":
        where.append(
            or_(
                runs.c.lifecycle_stage == "deleted",
                runs.c.experiment_id.not_in(active_experiments),
            )
        )
    if expr is not None:
        where.append(compile_filter(expr, target))
    return where


_RANGE_OPS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
}


def _bounds(
    expr: Expr | None, key: str, value: ColumnElement[Any]
) -> tuple[list[ColumnElement[bool]], Expr | None]:
    """Comparisons of a top-level AND on the order metric itself, as bounds on the walked
    index column (so that the walk seeks to them), and what remains of the filter."""
    items = expr.items if isinstance(expr, And) else (expr,) if expr is not None else ()
    bounds, rest = [], []
    for item in items:
        if (
            isinstance(item, Comparison)
            and item.ident.entity == "metrics"
            and item.ident.key == key
            and item.op in _RANGE_OPS
            and isinstance(item.value, float)
        ):
            bounds.append(_RANGE_OPS[item.op](value, item.value))
        else:
            rest.append(item)
    remaining = None if not rest else rest[0] if len(rest) == 1 else And(tuple(rest))
    return bounds, remaining


@dataclass(frozen=True)
class _Pass:
    query: Select[Any]  # RUN_COLUMNS, then the values of ``keys``
    keys: list[SortKey]


@dataclass(frozen=True, eq=False)
class SearchPlan:
    """The passes of one search, in result order; ``size``: sort values per token."""

    passes: list[_Pass]
    size: int
    metric_first: bool
    compiled: dict[Any, list[Any]] = field(default_factory=dict)


@functools.lru_cache(maxsize=256)
def build_search(
    experiment_ids: tuple[str, ...],
    expr: Expr | None,
    orders: tuple[OrderBy, ...],
    view: str,
    single_pass: bool = False,
) -> SearchPlan:
    """The queries of a search, without cursor or limit (see :func:`run_search`), built once
    per search shape (the time of day is the bound parameter ``now_ms``);
    ``single_pass``: one query even when ordered by a metric (what an offset needs)."""
    target = run_target(bindparam("now_ms", type_=BigInteger))
    where = _conditions(experiment_ids, expr, view, target)
    if orders and orders[0].ident.entity == "metrics" and not single_pass:
        first = orders[0]
        lead = latest_metrics.alias("order_0")
        on = and_(lead.c.run_pk == runs.c.run_pk, lead.c.key == first.ident.key)
        # with a value: driven by the (key, value) index of latest_metrics; the filter probes
        # key on the index entry's run_pk, so they run before the run's row is read
        valued: Select[Any] = select(*RUN_COLUMNS).select_from(lead).join(runs, on)
        valued, rest = _order_keys(valued, orders[1:], target, 1)
        valued_keys = [SortKey(lead.c.value, first.ascending, False), *rest]
        bounds, remaining = _bounds(expr, first.ident.key, lead.c.value)
        probes = replace(target, key=[lead.c.run_pk])
        valued = valued.where(
            lead.c.value.is_not(None),
            *bounds,
            *_conditions(experiment_ids, remaining, view, probes),
        )
        # without one (missing or NaN): after every valued run, in the order of the rest
        bare: Select[Any] = select(*RUN_COLUMNS).select_from(runs).outerjoin(lead, on)
        bare, rest = _order_keys(bare, orders[1:], target, 1)
        bare = bare.where(lead.c.value.is_(None), *where)
        return SearchPlan(
            [
                _Pass(valued.add_columns(*(k.column for k in valued_keys)), valued_keys),
                _Pass(bare.add_columns(lead.c.value, *(k.column for k in rest)), rest),
            ],
            len(valued_keys),
            True,
        )
    query, keys = _order_keys(select(*RUN_COLUMNS), orders, target, 0)
    query = query.where(*where).add_columns(*(k.column for k in keys))
    return SearchPlan([_Pass(query, keys)], len(keys), False)


def _ordered(step: _Pass, nulls: Sequence[bool] | None, first: int = 0) -> Select[Any]:
    query = step.query
    if nulls is not None:
        query = query.where(_after(step.keys, nulls, first))
    query = query.order_by(*(c for k in step.keys for c in k.clauses()))
    return query.limit(bindparam("page_limit")).offset(bindparam("page_offset"))


def page_queries(plan: SearchPlan, nulls: tuple[bool, ...] | None) -> list[Select[Any]]:
    """The ordered queries that continue strictly after a cursor whose NULL values are
    ``nulls`` (None: from the start); parameters ``after_<i>``, ``page_limit``,
    ``page_offset`` and ``now_ms``."""
    if not plan.metric_first:
        return [_ordered(plan.passes[0], nulls)]
    valued, bare = plan.passes
    if nulls is None:
        return [_ordered(valued, None), _ordered(bare, None)]
    if nulls[0]:  # the last page ended among the runs without the metric
        return [_ordered(bare, nulls[1:], 1)]
    return [_ordered(valued, nulls), _ordered(bare, None)]


def _compiled(dialect: Dialect, plan: SearchPlan, nulls: tuple[bool, ...] | None) -> list[Any]:
    """The page queries compiled for a dialect, once per plan and cursor shape: a page then
    costs one driver-level execution, not a SQLAlchemy compilation."""
    key = (dialect.name, dialect.driver, nulls)
    found = plan.compiled.get(key)
    if found is None:
        found = plan.compiled[key] = [
            query.compile(dialect=dialect) for query in page_queries(plan, nulls)
        ]
    return found


def run_search(
    fetch: Fetch,
    dialect: Dialect,
    plan: SearchPlan,
    max_results: int,
    offset: int,
    after: list[Any] | None,
    now_ms: int,
) -> tuple[list[Any], bool, list[Any] | None]:
    """One page through ``fetch`` (a connection of ``dialect`` at the driver level): rows
    (RUN_COLUMNS), whether more follow, and the sort values of the last row when more follow.
    ``offset`` (tokens without ``after``) needs a single-pass plan."""
    wanted = max_results + 1
    rows: list[Any] = []
    nulls = None if after is None else tuple(v is None for v in after)
    values: dict[str, Any] = {"now_ms": now_ms, "page_offset": offset}
    if after is not None:
        values.update((f"after_{i}", v) for i, v in enumerate(after) if v is not None)
    for compiled in _compiled(dialect, plan, nulls):
        values["page_limit"] = wanted - len(rows)
        params = compiled.construct_params(values)
        if compiled.positiontup is not None:
            args: Any = tuple([params[name] for name in compiled.positiontup])
        else:
            args = params
        rows += fetch(compiled.string, args)
        if len(rows) >= wanted:
            break
    more = len(rows) > max_results
    page = rows[:max_results]
    last = list(page[-1][_WIDTH:]) if more and page else None
    return [r[:_WIDTH] for r in page], more, last
