"""Read endpoints behind the UI's runs table: how many runs match, groups with aggregates of a
metric, and what the table shows as a Parquet file.

- ``POST /api/v1/count-runs {experiment_ids, filter?, view?}`` → ``{"count": n}``
- ``POST /api/v1/group-runs {experiment_ids, filter?, view?, group_by, metric?}`` →
  ``{"groups": [{value, count, min, max, mean}], "total": n}`` (``group_by``: ``params.<k>``
  or ``tags.<k>``; the aggregates are of ``metrics.<metric>``, null without values)
- ``POST /api/v1/export-runs {experiment_ids, filter?, order_by?, view?, columns?}`` → the
  runs as Parquet (``attributes.<name>``, ``params.<k>``, ``metrics.<k>``, ``tags.<k>``
  columns, in the order asked; ``run_id`` first).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict
from starlette.responses import Response

from mlcore import _validation as check
from mlcore.errors import InvalidInputError
from mlcore.stores.paging import MAX_RESULTS_LIMIT

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.stores import TrackingStore
    from mlcore.types import Run

__all__ = ["PARQUET", "RUN_VIEW_PATHS", "add_run_views"]

PARQUET = "application/vnd.apache.parquet"
PREFIX = "/api/v1"
RUN_VIEW_PATHS = (f"{PREFIX}/count-runs", f"{PREFIX}/group-runs", f"{PREFIX}/export-runs")
#: attribute columns an export may ask for (``duration``: end - start, in ms)
_ATTRIBUTES = frozenset(
    [
        "run_id",
        "run_name",
        "status",
        "start_time",
        "end_time",
        "duration",
        "user",
        "parent_run_id",
        "experiment_id",
    ]
)


class CountRunsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    experiment_ids: list[str]
    filter: str | None = None
    view: str = "active"


class GroupRunsRequest(CountRunsRequest):
    group_by: str
    metric: str | None = None


class ExportRunsRequest(CountRunsRequest):
    order_by: list[str] | str | None = None
    columns: list[str] | None = None


class Group(BaseModel):
    value: str | None
    count: int
    min: float | None = None
    max: float | None = None
    mean: float | None = None


class Groups(BaseModel):
    groups: list[Group]
    total: int


class Count(BaseModel):
    count: int


def _all_runs(
    store: TrackingStore,
    body: CountRunsRequest,
    order_by: list[str] | str | None = None,
) -> Iterator[Run]:
    token: str | None = None
    while True:
        page = store.search_runs(
            body.experiment_ids,
            body.filter,
            order_by,
            max_results=MAX_RESULTS_LIMIT,
            page_token=token,
            view=body.view,
        )
        yield from page
        token = page.next_page_token
        if token is None:
            return


def group_runs(store: TrackingStore, body: GroupRunsRequest) -> Groups:
    """Runs bucketed by a param's or tag's value, largest groups first."""
    entity, _, key = body.group_by.partition(".")
    if entity not in ("params", "tags") or not key:
        raise InvalidInputError(
            f"group_by must be params.<key> or tags.<key>, got {body.group_by!r}",
            field="group_by",
        )
    buckets: dict[str | None, list[float]] = {}
    counts: dict[str | None, int] = {}
    for run in _all_runs(store, body):
        value = getattr(run.data, entity).get(key)
        counts[value] = counts.get(value, 0) + 1
        values = buckets.setdefault(value, [])
        if body.metric is not None:
            found = run.data.metrics.get(body.metric)
            if found is not None and not math.isnan(found):
                values.append(found)
    groups = []
    for value, count in sorted(counts.items(), key=lambda item: (-item[1], str(item[0]))):
        values = buckets[value]
        groups.append(
            Group(
                value=value,
                count=count,
                min=min(values) if values else None,
                max=max(values) if values else None,
                mean=sum(values) / len(values) if values else None,
            )
        )
    return Groups(groups=groups, total=sum(counts.values()))


def export_table(store: TrackingStore, body: ExportRunsRequest) -> pa.Table:
    """The matching runs (in the search's order) with the asked columns."""
    import pyarrow as pa

    from mlcore.tracking.tables import runs_to_table

    runs = list(_all_runs(store, body, body.order_by))
    table = runs_to_table(runs)
    ends = [(r.info.end_time, r.info.start_time) for r in runs]
    duration = [None if end is None else end - start for end, start in ends]
    table = table.append_column("duration", pa.array(duration, pa.int64()))
    if body.columns is None:
        return table
    names: list[str] = ["run_id"]
    for column in body.columns:
        entity, _, key = column.partition(".")
        if entity == "attributes" and key in _ATTRIBUTES:
            name = key
        elif entity in ("params", "metrics", "tags") and key:
            name = column
        else:
            raise InvalidInputError(f"unknown column {column!r}", field="columns")
        if name not in names:
            names.append(name)
    columns: list[Any] = []
    for name in names:
        if name in table.column_names:
            columns.append(table[name])
        else:  # a key no matching run has: an empty column
            kind = pa.float64() if name.startswith("metrics.") else pa.string()
            columns.append(pa.nulls(table.num_rows, kind))
    return pa.table(columns, names=names)


def add_run_views(app: FastAPI, store: TrackingStore, responses: dict[int | str, Any]) -> None:
    """Register the three endpoints (read scope)."""

    def count_runs(body: CountRunsRequest) -> Count:
        check.check_request_values(body.model_dump())
        return Count(count=store.count_runs(body.experiment_ids, body.filter, body.view))

    def group(body: GroupRunsRequest) -> Groups:
        check.check_request_values(body.model_dump())
        return group_runs(store, body)

    def export_runs(body: ExportRunsRequest) -> Response:
        import pyarrow.parquet as pq

        check.check_request_values(body.model_dump())
        sink = io.BytesIO()
        pq.write_table(export_table(store, body), sink)
        return Response(
            sink.getvalue(),
            media_type=PARQUET,
            headers={"Content-Disposition": 'attachment; filename="runs.parquet"'},
        )

    count_path, group_path, export_path = RUN_VIEW_PATHS
    app.add_api_route(count_path, count_runs, methods=["POST"], tags=["read"], responses=responses)
    app.add_api_route(group_path, group, methods=["POST"], tags=["read"], responses=responses)
    app.add_api_route(
        export_path,
        export_runs,
        methods=["POST"],
        tags=["read"],
        responses={**responses, 200: {"content": {PARQUET: {}}, "description": "Parquet"}},
        response_class=Response,
    )
