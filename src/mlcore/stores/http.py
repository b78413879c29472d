"""``HttpStore``: the metadata store behind ``set_tracking_uri("http://host:port")``.

Each hook of :class:`~mlcore.stores.MetadataStore` is one request to ``mlcore server`` (see
:mod:`mlcore.stores.http_api`); the public methods above it validate exactly as they do for a
local store, and the Tracker's batching writer sends one ``log-metrics`` request per batch (a
batch beyond ``MAX_REQUEST_POINTS`` points or ``MAX_REQUEST_BYTES`` bytes as several).
Needs ``httpx`` (``pip install "mlcore[server]"``).
"""

from __future__ import annotations

import abc
import inspect
import io
import json
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from mlcore import _http
from mlcore.errors import InvalidInputError
from mlcore.stores.base import MetadataStore
from mlcore.stores.http_api import (
    BATCH_HOOKS,
    SEARCHES,
    VIEW_HOOKS,
    Operation,
    operations,
    search_body,
)
from mlcore.stores.metric_batches import halves
from mlcore.stores.paging import ModelPage, RunPage
from mlcore.stores.records import MetricPoint

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.filters import Expr, OrderBy
    from mlcore.stores.queries import SearchQuery
    from mlcore.types import ViewType

__all__ = ["ARTIFACT_FILES", "MAX_REQUEST_BYTES", "MAX_REQUEST_POINTS", "HttpStore"]

ARTIFACT_FILES = "/api/v1/artifact-files"
#: a ``log-metrics`` request carries at most this many points...
MAX_REQUEST_POINTS = 65_536
#: ...and at most this many bytes (a server accepts 64 MiB by default, ``--max-body-mb``)
MAX_REQUEST_BYTES = 8 * 1024 * 1024


def _adapter(result: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(result)


class _HttpStoreBase(MetadataStore):
    schemes: ClassVar[tuple[str, ...]] = ("http", "https")

    def __init__(self, url: str, *, artifact_uri: str | None = None) -> None:
        try:
            import httpx  # noqa: F401
        except ImportError:  # pragma: no cover - httpx is in the server extra
            raise InvalidInputError(
                'an http:// tracking URI needs httpx: pip install "mlcore[server]"'
            ) from None
        if artifact_uri:
            raise InvalidInputError(
                "an mlcore server keeps its own artifact root; do not set an artifact URI "
                "with an http:// tracking URI",
                field="artifact_uri",
            )
        self.url = url.rstrip("/")
        self._client = _http.HttpClient.for_url(self.url)
        self.display_name = self._client.display_name
        self.default_artifact_root = self.url + ARTIFACT_FILES
        self._adapters: dict[str, Any] = {}

    @classmethod
    def from_uri(cls, uri: str, *, artifact_uri: str | None = None) -> MetadataStore:
        return cls(uri, artifact_uri=artifact_uri)

    def close(self) -> None:
        """Nothing to release: the connection pool is shared by every store of this server."""

    # -- calls -----------------------------------------------------------------------------------
    def _call(self, op: Operation, args: dict[str, Any]) -> Any:
        from pydantic import TypeAdapter

        body = TypeAdapter(op.request).dump_json(op.request.model_construct(**args))
        response = self._client.request(
            "POST",
            op.path,
            content=body,
            headers={"Content-Type": "application/json"},
            idempotent=not op.dedupe,
        )
        assert response is not None
        if op.result is None:
            return None
        adapter = self._adapters.get(op.hook)
        if adapter is None:
            adapter = self._adapters[op.hook] = _adapter(op.result)
        return adapter.validate_json(response.content)

    # -- hot path and special bodies -------------------------------------------------------------
    def _log_metrics(self, points: Sequence[MetricPoint], batch_id: str | None) -> None:
        # One request per batch of up to MAX_REQUEST_POINTS points and MAX_REQUEST_BYTES
        # bytes; a larger batch is halved until each piece fits, each piece under its own id
        # derived from the batch's (mlcore.stores.metric_batches), so a retried batch stores
        # each piece once. A piece the server refuses raises at once (pieces sent before it
        # are stored; the writer's own halving then meets them under the same ids).
        path = operations()["_log_metrics"].path
        pieces = [(points, batch_id or uuid.uuid4().hex)]
        while pieces:
            part, part_id = pieces.pop()
            body = _metrics_body(part, part_id) if len(part) <= MAX_REQUEST_POINTS else None
            if len(part) > 1 and (body is None or len(body) > MAX_REQUEST_BYTES):
                first, second = halves(part, part_id)
                pieces.append(second)
                pieces.append(first)
                continue
            assert body is not None
            self._client.request(
                "POST", path, content=body, headers={"Content-Type": "application/json"}
            )

    def _metric_history(
        self,
        run_id: str,
        key: str,
        max_points: int | None = None,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> pa.Table:
        import pyarrow as pa

        body: dict[str, Any] = {"run_id": run_id, "key": key}
        # only the options given: a full read stays what servers without them accept
        for name, value in (
            ("max_points", max_points),
            ("min_step", min_step),
            ("max_step", max_step),
        ):
            if value is not None:
                body[name] = value
        response = self._client.request(
            "POST",
            operations()["_metric_history"].path,
            content=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/vnd.apache.arrow.stream",
            },
        )
        assert response is not None
        with pa.ipc.open_stream(io.BytesIO(response.content)) as reader:
            return reader.read_all()

    # -- searches: forwarded as written ----------------------------------------------------------
    def _search(self, kind: str, body: dict[str, Any], item: Any) -> tuple[list[Any], str | None]:
        from pydantic import TypeAdapter

        response = self._client.request(
            "POST",
            SEARCHES[kind].path,
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        assert response is not None
        data = json.loads(response.content)
        items = TypeAdapter(list[item]).validate_python(data["items"])
        return items, data.get("next_page_token")

    def _search_runs_page(
        self,
        experiment_ids: list[str],
        expr: Expr | None,
        orders: list[OrderBy],
        offset: int,
        view: ViewType,
        query: SearchQuery,
    ) -> RunPage:
        from mlcore.types import Run

        body = search_body(query, experiment_ids=experiment_ids, view=view.value)
        runs, token = self._search("runs", body, Run)
        page = RunPage(runs)
        page.next_page_token = token
        return page

    def _search_models_page(
        self,
        kind: str,
        expr: Expr | None,
        orders: list[OrderBy],
        offset: int,
        query: SearchQuery,
    ) -> ModelPage:
        from mlcore.types import ModelVersion, RegisteredModel

        item = RegisteredModel if kind == "registered_models" else ModelVersion
        items, token = self._search(kind, search_body(query), item)
        page = ModelPage(items)
        page.next_page_token = token
        return page

    def _search_runs(self, *args: Any) -> Any:  # pragma: no cover - searches use the page hook
        raise NotImplementedError

    def _search_registered_models(self, *args: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def _search_model_versions(self, *args: Any) -> Any:  # pragma: no cover
        raise NotImplementedError


def _metrics_body(points: Sequence[MetricPoint], batch_id: str) -> bytes:
    # json.dumps writes tuples as arrays and keeps NaN/Infinity, which the server's parser reads
    rows = points if isinstance(points, (list, tuple)) else list(points)
    return json.dumps({"points": rows, "batch_id": batch_id}).encode()


def _hook_method(op: Operation) -> Any:
    signature = inspect.signature(getattr(MetadataStore, op.hook))

    def method(self: _HttpStoreBase, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        values.pop("self")
        return self._call(op, values)

    method.__name__ = op.hook
    method.__doc__ = f"``POST {op.path}``"
    return method


def _with_hooks(cls: type[_HttpStoreBase]) -> type[_HttpStoreBase]:
    for hook, op in operations().items():
        if (
            hook in BATCH_HOOKS
            or hook in VIEW_HOOKS
            or getattr(getattr(cls, hook), "__isabstractmethod__", False)
        ):
            setattr(cls, hook, _hook_method(op))
    abc.update_abstractmethods(cls)
    return cls


@_with_hooks
class HttpStore(_HttpStoreBase):
    """The store of an ``mlcore server`` at ``http(s)://host:port``.

    Args:
        url: the server's base URL.
        artifact_uri: not allowed: artifacts go through the server, to its own root.
    """
