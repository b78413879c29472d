"""Components: typed Python functions turned into pipeline steps, and back.

``component_spec`` reads a function's signature into a :class:`ComponentSpec` (typed
parameters, ``Input[...]``/``Output[...]`` artifacts, a return value as the ``Output``
parameter or a ``NamedTuple`` as named outputs) and records its code: import path, source,
and a cloudpickle when the function cannot be imported back (defined in ``__main__``, in a
notebook, or inside another function). ``load_function`` turns a spec's code back into the
function: import, else unpickle, else execute the source.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import importlib.util
import inspect
import sys
import textwrap
import typing
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

from mlcore.errors import InvalidInputError
from mlcore.executors.pickling import dumps_with_code
from mlcore.pipeline.spec import CodeSpec, ComponentSpec, ParamSpec
from mlcore.pipeline.types import (
    ARTIFACT_TYPES,
    INPUT,
    OUTPUT,
    Artifact,
    InputPath,
    OutputPath,
    PipelineStatus,
    PipelineTaskFinalStatus,
)

__all__ = [
    "RETURN_OUTPUT",
    "component_spec",
    "load_function",
    "parameter_type",
    "path_parameters",
]

#: The name a component's plain return value is published under (as in KFP).
RETURN_OUTPUT = "Output"

_SIMPLE = {str: "str", int: "int", float: "float", bool: "bool", list: "list", dict: "dict"}


def parameter_type(annotation: Any, where: str) -> tuple[str, bool]:
    """``(type name, optional)`` of a parameter annotation (``int``, ``list[str]``...)."""
    optional = False
    origin = get_origin(annotation)
    if origin is Union or type(annotation).__name__ == "UnionType":
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            annotation, optional = members[0], True
            origin = get_origin(annotation)
    if annotation in _SIMPLE:
        return _SIMPLE[annotation], optional
    if origin in (list, dict):
        return _SIMPLE[origin], optional
    raise InvalidInputError(
        f"{where}: unsupported type {annotation!r}; use str, int, float, bool, list, dict, "
        "Input[Dataset|Model|Artifact] or Output[...]",
        field=where,
    )


def _artifact(annotation: Any) -> tuple[str, Any] | None:
    """``(direction, artifact class)`` for ``Input[X]`` / ``Output[X]``, else None."""
    if get_origin(annotation) is typing.Annotated:
        base, *extras = get_args(annotation)
        for direction in (INPUT, OUTPUT):
            if any(e is direction for e in extras):
                if not (isinstance(base, type) and issubclass(base, Artifact)):
                    raise InvalidInputError(
                        f"{direction!r} annotations take an artifact type (Dataset, Model, "
                        f"Artifact), got {base!r}"
                    )
                return ("input" if direction is INPUT else "output"), base
    if isinstance(annotation, type) and issubclass(annotation, Artifact):
        return "input", annotation
    return None


def _path_type(kind: Any) -> str | None:
    """The artifact type an ``InputPath``/``OutputPath`` names (``Dataset``,
    ``'system.Model@0.0.1'``...), or None for a parameter type (``str``, ``int``...)."""
    if isinstance(kind, type) and issubclass(kind, Artifact):
        return kind.type_name
    if kind in _SIMPLE or get_origin(kind) in (list, dict):
        return None
    if isinstance(kind, str):
        title = kind.split("@")[0].removeprefix("system.")
        if title in ARTIFACT_TYPES:
            return title
        if title.lower() in ("string", "str", "integer", "int", "float", "double", "boolean"):
            return None
    return "Artifact"


def path_parameters(function: Callable[..., Any]) -> dict[str, str]:
    """The parameters of ``function`` annotated ``InputPath``/``OutputPath``: name ->
    ``"input"``, ``"output-artifact"`` or ``"output-parameter"`` (the step gets paths)."""
    found = _paths.get(function)
    if found is not None:
        return found
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:
        hints = dict(getattr(function, "__annotations__", {}))
    found = {}
    for name, annotation in hints.items():
        if isinstance(annotation, InputPath):
            found[name] = "input"
        elif isinstance(annotation, OutputPath):
            artifact = _path_type(annotation.type) is not None
            found[name] = "output-artifact" if artifact else "output-parameter"
    _paths[function] = found
    return found


_paths: dict[Callable[..., Any], dict[str, str]] = {}


def _json_default(name: str, where: str, value: Any) -> Any:
    import json

    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"{where}: default of {name!r} must be JSON-serialisable, got {value!r}"
        ) from None
    return value


def _outputs_from_return(
    annotation: Any, where: str, localns: dict[str, Any] | None = None
) -> list[ParamSpec]:
    if annotation in (inspect.Signature.empty, None, type(None)):
        return []
    fields = getattr(annotation, "__annotations__", None)
    if isinstance(annotation, type) and issubclass(annotation, tuple) and fields:
        try:  # resolve string annotations (``from __future__ import annotations``)
            fields = typing.get_type_hints(annotation, localns=localns)
        except Exception as exc:
            raise InvalidInputError(f"{where}: cannot read its outputs' types: {exc}") from exc
        return [
            ParamSpec(name=name, type=parameter_type(kind, f"{where} output {name}")[0])
            for name, kind in fields.items()
        ]
    type_name, _ = parameter_type(annotation, f"{where} return value")
    return [ParamSpec(name=RETURN_OUTPUT, type=type_name)]


def _code(func: Callable[..., Any]) -> CodeSpec:

    module, qualname = func.__module__, func.__qualname__
    try:
        source: str | None = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        source = None
    importable = module != "__main__" and "<locals>" not in qualname and "<lambda>" not in qualname
    loaded = sys.modules.get(module)
    if loaded is not None and getattr(loaded, "__spec__", None) is None:
        importable = False  # a script run by path (runpy, exec): no import finds it again
    if importable and loaded is None:  # (the usual case is a module being imported now,
        try:  # whose attribute is not yet assigned: the decorator is still running)
            importable = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            importable = False
    try:  # embedded too when importable: the spec then runs where the module is not
        pickled: str | None = base64.b64encode(dumps_with_code(func, func)).decode()
    except Exception:  # a global that cannot be pickled: import or source it is
        if not importable and source is None:
            raise InvalidInputError(
                f"component {qualname!r} is neither importable nor picklable, and its source "
                "is unavailable"
            ) from None
        pickled = None
    digest = hashlib.sha256((source or pickled or f"{module}:{qualname}").encode()).hexdigest()
    return CodeSpec(
        module=module,
        qualname=qualname,
        importable=importable,
        source=source,
        pickle=pickled,
        digest=digest,
    )


def component_spec(func: Callable[..., Any], options: dict[str, Any]) -> ComponentSpec:
    """The spec of ``func`` as a component (options: retries, retry_backoff, timeout, cache,
    image, resources, env, name, packages, pip_index_urls)."""
    name = options.get("name") or func.__name__.replace("_", "-")
    where = f"component {name!r}"
    try:
        hints = typing.get_type_hints(func, localns=options.get("localns"), include_extras=True)
    except Exception as exc:
        raise InvalidInputError(f"{where}: cannot read its type annotations: {exc}") from exc
    inputs: list[ParamSpec] = []
    outputs: list[ParamSpec] = []
    for pname, parameter in inspect.signature(func).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise InvalidInputError(f"{where}: *args and **kwargs are not supported", field=pname)
        if pname not in hints:
            raise InvalidInputError(
                f"{where}: parameter {pname!r} needs a type annotation", field=pname
            )
        annotation = hints[pname]
        has_default = parameter.default is not inspect.Parameter.empty
        default = parameter.default if has_default else None
        artifact = _artifact(annotation)
        if isinstance(annotation, InputPath):
            read = _path_type(annotation.type) or "Artifact"
            inputs.append(ParamSpec(name=pname, type=read, kind="artifact", optional=has_default))
        elif isinstance(annotation, OutputPath):
            kind = _path_type(annotation.type)
            if kind is None:
                type_name, _ = parameter_type(annotation.type, f"{where} parameter {pname!r}")
                outputs.append(ParamSpec(name=pname, type=type_name))
            else:
                outputs.append(ParamSpec(name=pname, type=kind, kind="artifact"))
        elif annotation is PipelineTaskFinalStatus:
            inputs.append(
                ParamSpec(name=pname, type="PipelineTaskFinalStatus", kind="status", optional=True)
            )
        elif artifact is not None:
            direction, cls = artifact
            spec = ParamSpec(name=pname, type=cls.type_name, kind="artifact", optional=has_default)
            (inputs if direction == "input" else outputs).append(spec)
        elif annotation is PipelineStatus:
            inputs.append(
                ParamSpec(name=pname, type="PipelineStatus", kind="status", optional=True)
            )
        else:
            type_name, optional = parameter_type(annotation, f"{where} parameter {pname!r}")
            inputs.append(
                ParamSpec(
                    name=pname,
                    type=type_name,
                    default=_json_default(pname, where, default),
                    optional=has_default or optional,
                )
            )
    returned = _outputs_from_return(
        hints.get("return", inspect.Signature.empty), where, options.get("localns")
    )
    clash = {o.name for o in returned} & {o.name for o in outputs}
    if clash:
        raise InvalidInputError(f"{where}: output name(s) {sorted(clash)} used twice")
    retries = options.get("retries", 0)
    if not isinstance(retries, int) or retries < 0:
        raise InvalidInputError(f"{where}: retries must be a non-negative integer")
    timeout = options.get("timeout")
    if timeout is not None and (not isinstance(timeout, (int, float)) or timeout <= 0):
        raise InvalidInputError(f"{where}: timeout must be a positive number of seconds")
    return ComponentSpec(
        name=name,
        inputs=inputs,
        outputs=outputs + returned,
        retries=retries,
        retry_backoff=float(options.get("retry_backoff", 1.0)),
        timeout=float(timeout) if timeout is not None else None,
        cache=bool(options.get("cache", True)),
        image=options.get("image"),
        resources={str(k): str(v) for k, v in (options.get("resources") or {}).items()},
        env={str(k): str(v) for k, v in (options.get("env") or {}).items()},
        packages=_strings(options.get("packages"), f"{where}: packages_to_install"),
        pip_index_urls=_strings(options.get("pip_index_urls"), f"{where}: pip_index_urls"),
        code=_code(func),
    )


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise InvalidInputError(f"{where} takes a list of strings, got {value!r:.60}")
    return list(value)


_loaded: dict[str, Callable[..., Any]] = {}


def load_function(code: CodeSpec) -> Callable[..., Any]:
    """The function a spec's code names: imported, unpickled, or executed from its source
    (once per process and code digest)."""
    key = f"{code.module}:{code.qualname}:{code.digest}"
    cached = _loaded.get(key)
    if cached is None:
        cached = _loaded[key] = _load_function(code)
    return cached


def _load_function(code: CodeSpec) -> Callable[..., Any]:
    found: Any = None
    if code.importable or code.pickle is None:
        try:
            found = importlib.import_module(code.module)
            for part in code.qualname.split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError):
            found = None
    if found is None and code.pickle is not None:
        import cloudpickle

        try:
            found = cloudpickle.loads(base64.b64decode(code.pickle))
        except Exception as exc:
            if code.source is None:
                raise InvalidInputError(
                    f"cannot load component code {code.module}:{code.qualname}: its embedded "
                    f"pickle does not load here ({type(exc).__name__}: {exc})"
                ) from exc
    if found is None and code.source is not None:
        namespace = _source_namespace()
        exec(compile(code.source, f"<component {code.qualname}>", "exec"), namespace)
        found = namespace.get(code.qualname.rsplit(".", 1)[-1])
    if found is None:
        raise InvalidInputError(
            f"cannot load component code {code.module}:{code.qualname}: not importable here, "
            "and the pipeline file embeds no code for it"
        )
    function: Callable[..., Any] = getattr(found, "func", found)  # a Component wraps it
    return function


def _source_namespace() -> dict[str, Any]:
    import mlcore.pipeline as dsl

    return {name: getattr(dsl, name) for name in dsl.__all__} | {"__name__": "__component__"}
