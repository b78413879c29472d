"""The tracking server's REST API, derived from the ``MetadataStore`` contract.

Every abstract hook of :class:`~mlcore.stores.MetadataStore` is one endpoint,
``POST /api/v1/<hook-name-with-dashes>`` (``_create_experiment`` -> ``/api/v1/create-experiment``),
whose JSON body holds the hook's arguments by name and whose answer is the hook's result. The
client (:class:`~mlcore.stores.http.HttpStore`) implements each hook by calling its endpoint;
the server calls the *public*, validating method of its own store, so nothing a client sends
skips the checks a local caller gets. Searches forward the query as written (``filter``
string, page token) to ``/api/v1/search-runs``, ``/search-registered-models`` and
``/search-model-versions``.

Request models and response types come from the hooks' type hints, so the OpenAPI spec, the
client and the server cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import operator
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator

from mlcore import _validation
from mlcore.errors import InvalidInputError
from mlcore.stores.base import MetadataStore
from mlcore.stores.records import MetricPoint, NewRun, RunUpdate

__all__ = [
    "BATCH_HOOKS",
    "PREFIX",
    "SEARCHES",
    "VIEW_HOOKS",
    "Operation",
    "SearchEndpoint",
    "operations",
    "search_body",
]

PREFIX = "/api/v1"
READ, WRITE = "read", "write"
_READ_VERBS = ("get", "search", "list", "artifact", "metric", "model_versions_of")
_READ_HOOKS = frozenset({"sampled_histories", "experiment_summaries", "run_columns"})


@dataclass(frozen=True)
class Operation:
    """One endpoint: the hook it serves, its path and scope, and how the server runs it."""

    hook: str
    path: str
    scope: str
    parameters: tuple[str, ...]
    request: type[Any]  # a pydantic model of the arguments
    result: Any  # the result type (for a pydantic TypeAdapter); None for no result
    call: Callable[[Any, dict[str, Any]], Any]
    #: writes that are not naturally idempotent (a retry would add a second version...)
    dedupe: bool


def _public(name: str) -> Callable[[Any, dict[str, Any]], Any]:
    def call(store: Any, args: dict[str, Any]) -> Any:
        return getattr(store, name)(**args)

    return call


def _stage(delete: str, restore: str, key: str) -> Callable[[Any, dict[str, Any]], Any]:
    def call(store: Any, args: dict[str, Any]) -> None:
        stage = args["stage"]
        if stage not in ("active", "deleted"):
            raise InvalidInputError(
                f"stage must be 'active' or 'deleted', got {stage!r}", field="stage"
            )
        getattr(store, delete if stage == "deleted" else restore)(args[key])

    return call


def _create_run(store: Any, args: dict[str, Any]) -> Any:
    args = dict(args)
    try:
        config = json.loads(args.pop("config_json"))
    except ValueError:
        raise InvalidInputError("config_json is not JSON", field="config_json") from None
    if not isinstance(config, dict):
        raise InvalidInputError("config_json must hold a JSON object", field="config_json")
    experiment_id = args.pop("experiment_id")
    return store.create_run(experiment_id, config=config, **args)


def _update_run_config(store: Any, args: dict[str, Any]) -> Any:
    return store.update_run_config(args["run_id"], args["config"])


def _transition(store: Any, args: dict[str, Any]) -> Any:
    return store.transition_model_version_stage(
        args["name"], args["version"], args["stage"], archive_existing=args["archive_existing"]
    )


def _artifact_ref(name: str) -> Callable[[Any, dict[str, Any]], Any]:
    def call(store: Any, args: dict[str, Any]) -> Any:
        ref = f"{args['name']}:{args['version']}"
        if name == "record_artifact_use":
            return store.record_artifact_use(ref, args["run_id"])
        return store.get_artifact_version(ref)

    return call


_SPECIAL: dict[str, Callable[[Any, dict[str, Any]], Any]] = {
    "_create_run": _create_run,
    "_update_run_config": _update_run_config,
    "_set_experiment_stage": _stage("delete_experiment", "restore_experiment", "experiment_id"),
    "_set_run_stage": _stage("delete_run", "restore_run", "run_id"),
    "_set_experiment_tags": _public("set_experiment_tags"),
    "_set_registered_model_tags": _public("set_registered_model_tags"),
    "_set_model_version_tags": _public("set_model_version_tags"),
    "_transition_stage": _transition,
    "_get_artifact_version": _artifact_ref("get_artifact_version"),
    "_record_artifact_use": _artifact_ref("record_artifact_use"),
    "_create_runs": lambda store, a: store.create_runs(
        a["experiment_id"], a["new_runs"], updates=a["updates"]
    ),
    "_update_runs": lambda store, a: store.update_runs(a["updates"]),
}
#: batch hooks with a default built on the single ones, served as one request (one transaction)
BATCH_HOOKS = ("_create_runs", "_update_runs")
#: read hooks with a default built on the others (what the web UI reads), served as one request
VIEW_HOOKS = ("_sampled_histories", "_experiment_summaries", "_run_columns")
#: hooks a client never calls over HTTP (searches go through the page endpoints below)
_LOCAL_ONLY = frozenset({"_search_runs", "_search_registered_models", "_search_model_versions"})
#: writes whose retry would not be absorbed by the store itself (metrics carry a batch id;
#: tags and params are upserts)
_DEDUPE = frozenset(
    {
        "_create_experiment",
        "_create_run",
        "_create_runs",
        "_create_registered_model",
        "_create_model_version",
    }
)


def _hints_namespace() -> dict[str, Any]:
    import pyarrow as pa

    from mlcore import types

    return {
        **vars(types),
        "pa": pa,
        "MetricPoint": MetricPoint,
        "NewRun": NewRun,
        "RunUpdate": RunUpdate,
        "Any": Any,
    }


#: the longest artifact name, alias and version reference the stores accept (stores.checks)
_MAX_ARTIFACT_NAME = 128
_MAX_ALIAS = 255


#: what the stores hold of an integer (steps, timestamps, versions), as the spec states it
#: (exclusiveMaximum 2**63, not maximum 2**63 - 1: the spec's numbers pass through floats)
_INT64 = {"type": "integer", "minimum": _validation.INT64_MIN, "exclusiveMaximum": 2**63}
#: names and keys hold no control characters (the server's checks refuse them)
_NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]+$"


def _json_integer(value: Any) -> Any:
    if isinstance(value, (bool, str)):
        raise ValueError(f"must be an integer, got {type(value).__name__} {value!r:.40}")
    return value


#: an integer of a request: a JSON integer (``3``, or ``3.0`` as JSON Schema counts it), never
#: ``false``/``true`` (Python's bools are ints) nor a string of digits
JsonInt = Annotated[int, BeforeValidator(_json_integer)]


def _model_version() -> Any:
    """A model version number: a strict integer from 1 (artifact versions start at 0)."""
    from pydantic import WithJsonSchema

    return Annotated[JsonInt, WithJsonSchema({**_INT64, "minimum": 1})]


def _text(min_length: int, max_length: int, *, pattern: bool = True) -> Any:
    """``str`` whose spec states the lengths the server's checks enforce (those checks, run
    on every request, refuse a longer value with a message naming the value and the limit)."""
    from pydantic import WithJsonSchema

    schema: dict[str, Any] = {"type": "string", "minLength": min_length, "maxLength": max_length}
    if min_length and pattern:  # (not for the keys of a dict: a pattern there drops the rest)
        schema["pattern"] = _NO_CONTROL
    return Annotated[str, WithJsonSchema(schema)]


def _text_limits(hook: str) -> dict[str, Any]:
    """Parameter name -> its length-constrained ``str`` for ``hook``."""
    name_limit = _MAX_ARTIFACT_NAME if "artifact" in hook else _validation.MAX_NAME_LENGTH
    key = _text(1, _validation.MAX_KEY_LENGTH)
    dict_key = _text(1, _validation.MAX_KEY_LENGTH, pattern=False)
    return {
        "name": _text(1, name_limit),
        "new_name": _text(1, _validation.MAX_NAME_LENGTH),
        "key": key,
        "alias": _text(1, _MAX_ALIAS),
        "tags": dict.__class_getitem__((dict_key, _text(0, _validation.MAX_TAG_VALUE_LENGTH))),
        "params": dict.__class_getitem__((dict_key, _text(0, _validation.MAX_PARAM_VALUE_LENGTH))),
    }


def _constrained(annotation: Any, limited: Any) -> Any:
    """``annotation`` with its ``str`` (or ``dict[str, str]``) replaced by ``limited``."""
    if annotation is str or annotation == dict[str, str]:
        return limited
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return _union(_constrained(a, limited) for a in typing.get_args(annotation))
    return annotation


def _union(parts: Iterable[Any]) -> Any:
    return functools.reduce(operator.or_, parts)


def _strict(annotation: Any) -> Any:
    """``annotation`` with every ``int`` in it a :data:`JsonInt`: never ``false``/``true``
    (nested records and entities become strict subclasses of themselves)."""
    from pydantic import BaseModel, WithJsonSchema

    if annotation is int:
        return Annotated[JsonInt, WithJsonSchema(_INT64)]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return _union(_strict(a) for a in args)
    if origin is Annotated:
        return Annotated[(_strict(args[0]), *annotation.__metadata__)]
    if origin is not None and args:
        strict_args = tuple(a if a is Ellipsis else _strict(a) for a in args)
        return annotation if strict_args == args else origin[strict_args]
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return _strict_dataclass(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _strict_model(annotation)
    return annotation


@functools.cache
def _strict_dataclass(cls: type[Any]) -> type[Any]:
    hints = typing.get_type_hints(cls)
    fields = [
        (f.name, _strict(hints[f.name]), dataclasses.field(default=f.default))
        if f.default_factory is dataclasses.MISSING
        else (f.name, _strict(hints[f.name]), dataclasses.field(default_factory=f.default_factory))
        for f in dataclasses.fields(cls)
    ]
    frozen = cls.__dataclass_params__.frozen
    return dataclasses.make_dataclass(cls.__name__, fields, bases=(cls,), frozen=frozen)


@functools.cache
def _strict_model(cls: type[Any]) -> type[Any]:
    from pydantic import BaseModel, create_model

    changed: dict[str, Any] = {
        name: (_strict(info.annotation), info)
        for name, info in cls.model_fields.items()
        if _strict(info.annotation) != info.annotation
    }
    if not changed:
        return cls
    base: type[BaseModel] = cls
    model: type[Any] = create_model(f"{cls.__name__}In", __base__=base, **changed)
    model.__doc__ = cls.__doc__
    return model


def _request_model(
    hook: str, params: Mapping[str, inspect.Parameter], hints: dict[str, Any]
) -> Any:
    from pydantic import ConfigDict, create_model

    limits = _text_limits(hook)
    fields: dict[str, Any] = {}
    for name, param in params.items():
        annotation = _strict(hints.get(name, Any))
        if name == "version" and hints.get(name) is int and "artifact" not in hook:
            annotation = _model_version()
        if name in limits:
            annotation = _constrained(annotation, limits[name])
        if param.default is inspect.Parameter.empty:
            fields[name] = (annotation, ...)
        else:
            fields[name] = (annotation, param.default)
    title = "".join(part.title() for part in hook.strip("_").split("_")) + "Request"
    return create_model(title, __config__=ConfigDict(extra="forbid"), **fields)


@functools.cache
def operations() -> dict[str, Operation]:
    """Every endpoint, by hook name."""
    namespace = _hints_namespace()
    found: dict[str, Operation] = {}
    for hook in sorted(MetadataStore.__abstractmethods__ | set(BATCH_HOOKS) | set(VIEW_HOOKS)):
        if hook == "from_uri" or hook in _LOCAL_ONLY:
            continue
        function = getattr(MetadataStore, hook)
        hints = typing.get_type_hints(function, localns=namespace)
        signature = inspect.signature(function)
        params = {k: v for k, v in signature.parameters.items() if k != "self"}
        result = hints.get("return")
        public = hook[1:]
        verb = public.split("_", 1)[0]
        found[hook] = Operation(
            hook=hook,
            path=f"{PREFIX}/{public.replace('_', '-')}",
            scope=READ
            if public.startswith(_READ_VERBS) or verb == "get" or public in _READ_HOOKS
            else WRITE,
            parameters=tuple(params),
            request=_request_model(hook, params, hints),
            result=None if result is type(None) else result,
            call=_SPECIAL.get(hook, _public(public)),
            dedupe=hook in _DEDUPE,
        )
    return found


@dataclass(frozen=True)
class SearchEndpoint:
    kind: str
    path: str


SEARCHES = {
    "runs": SearchEndpoint("runs", f"{PREFIX}/search-runs"),
    "registered_models": SearchEndpoint("registered_models", f"{PREFIX}/search-registered-models"),
    "model_versions": SearchEndpoint("model_versions", f"{PREFIX}/search-model-versions"),
}


def search_body(
    query: Any, *, experiment_ids: Sequence[str] | None = None, view: str | None = None
) -> dict[str, Any]:
    """The JSON body of a search request from a :class:`~mlcore.stores.queries.SearchQuery`."""
    order_by = query.order_by
    body: dict[str, Any] = {
        "filter": query.filter,
        "order_by": order_by if order_by is None or isinstance(order_by, str) else list(order_by),
        "max_results": query.max_results,
        "page_token": query.page_token,
    }
    if experiment_ids is not None:
        body["experiment_ids"] = list(experiment_ids)
        body["view"] = view
    return body
