"""``@pipeline`` and :class:`Pipeline`: a traced DAG that compiles to YAML and runs.

The decorated function is called once, at decoration time, with placeholders for its
parameters; the component calls it makes become the tasks of a :class:`PipelineSpec`. The
spec is checked whole (every reference resolves, no cycle, exit handlers well formed) before
a ``Pipeline`` is returned, so a broken pipeline fails where it is written, not when it runs.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError
from mlcore.pipeline.components import parameter_type
from mlcore.pipeline.dsl import PipelineParam, tracing
from mlcore.pipeline.spec import ParamSpec, PipelineSpec, TaskSpec
from mlcore.tracking.context import run_context

if TYPE_CHECKING:
    from mlcore.executors import Executor
    from mlcore.pipeline.runner import PipelineResult, StepInfo
    from mlcore.tracking import Tracker

__all__ = ["Pipeline", "pipeline"]


class Pipeline:
    """A pipeline: its spec, and how to compile and run it.

    Build one with ``@pipeline`` or :meth:`from_yaml`.
    """

    def __init__(self, spec: PipelineSpec, func: Callable[..., Any] | None = None) -> None:
        check_spec(spec)
        self.spec = spec
        self.func = func
        if func is not None:
            self.__doc__ = func.__doc__

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        return f"<Pipeline {self.name}: {len(self.spec.tasks)} steps>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise InvalidInputError(
            f"a pipeline is run with {self.name}.run({{...arguments}}), not called"
        )

    # -- the IR ----------------------------------------------------------------------------------
    def to_yaml(self) -> str:
        """The versioned YAML spec (``format: mlcore.pipeline/v1``)."""
        return self.spec.to_yaml()

    def compile(self, path: str | os.PathLike[str], format: str = "mlcore") -> str:
        """Write the pipeline to ``path`` (atomically) and return the path.

        ``format``: ``mlcore`` (its own spec), ``kfp`` (a KFP v2 ``PipelineSpec``, for a
        Kubeflow cluster) or ``argo`` (an Argo ``Workflow``). The name says how: YAML for
        ``.yaml``/``.yml`` (or no suffix), JSON for ``.json``, a gzipped tar holding
        ``pipeline.yaml`` for ``.tar.gz``/``.tgz``.

        Raises:
            InvalidInputError: another suffix or format; nothing is created.
        """
        target = os.fspath(path)
        base = os.path.basename(target).lower()
        archive = base.endswith((".tar.gz", ".tgz"))
        suffix = os.path.splitext(base)[1]
        if not archive and suffix not in ("", ".yaml", ".yml", ".json"):
            raise InvalidInputError(
                f"cannot compile a pipeline to {os.path.basename(target)!r}: write YAML "
                "(.yaml, .yml), JSON (.json) or a gzipped tar (.tar.gz, .tgz)",
                field="path",
            )
        data = self._document(format)
        if suffix == ".json":
            import json

            payload = (
                json.dumps(data, indent=2) if data is not None else self.spec.to_json()
            ).encode()
        else:
            payload = (_yaml(data) if data is not None else self.to_yaml()).encode()
        if archive:
            payload = _tar_gz("pipeline.yaml", payload)
        directory = os.path.dirname(os.path.abspath(target))
        os.makedirs(directory, exist_ok=True)
        temporary = f"{target}.tmp-{os.getpid()}"
        with open(temporary, "wb") as handle:
            handle.write(payload)
        os.replace(temporary, target)
        return target

    def _document(self, format: str) -> dict[str, Any] | None:
        if format == "mlcore":
            return None
        if format == "kfp":
            from mlcore.pipeline.kfp_ir_out import write_kfp_ir

            return write_kfp_ir(self.spec)
        if format == "argo":
            from mlcore.pipeline.argo import write_argo_workflow

            return write_argo_workflow(self.spec)
        raise InvalidInputError(
            f"unknown pipeline format {format!r}: mlcore, kfp or argo", field="format"
        )

    @classmethod
    def from_yaml(cls, source: str | os.PathLike[str]) -> Pipeline:
        """A pipeline from a compiled spec: a file path (YAML or JSON), or the text itself.

        The components' code is imported where it is importable, else rebuilt from the
        embedded pickle or source, so the original module is not needed.
        """
        text = os.fspath(source)
        if "\n" not in text and text.lower().endswith((".tar.gz", ".tgz")):
            text = _read_archive(text)
        elif "\n" not in text and (
            os.path.exists(text) or text.endswith((".yaml", ".yml", ".json"))
        ):
            try:
                with open(text, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise InvalidInputError(f"cannot read pipeline file {text}: {exc}") from exc
        if "pipelineInfo" in text:  # perhaps a PipelineSpec compiled by KFP
            from mlcore.pipeline.kfp_ir import is_kfp_ir, read_kfp_ir

            data = _first_document(text)
            if is_kfp_ir(data):
                return cls(read_kfp_ir(data))
        if "container" in text or "script" in text:  # perhaps a plain container pipeline
            from mlcore.pipeline.container_yaml import is_container_yaml, read_container_yaml

            data = _first_document(text)
            if is_container_yaml(data) and "format" not in data:
                return cls(read_container_yaml(data))
        return cls(PipelineSpec.from_yaml(text))

    # -- running ---------------------------------------------------------------------------------
    def run(
        self,
        arguments: Mapping[str, Any] | None = None,
        *,
        executor: str | Executor = "local",
        executor_options: dict[str, Any] | None = None,
        tracker: Tracker | None = None,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        run_name: str | None = None,
        cache: bool = True,
        fail_fast: bool = False,
        resume: str | None = None,
        progress: bool = False,
        on_update: Callable[[StepInfo], None] | None = None,
    ) -> PipelineResult:
        """Run the pipeline and wait for it to end.

        Args:
            arguments: the pipeline's parameters (defaults fill the rest).
            executor: ``local``, ``process``, ``dask``, ``kubernetes`` (or an instance).
            executor_options: passed to the executor (``workers``, ``address``...).
            tracker / tracking_uri: where runs go (default: the fluent API's tracker).
            experiment: the experiment of the pipeline run (default: the pipeline's name).
            cache: reuse outputs of steps already run with the same code and inputs.
            fail_fast: on the first failed step, cancel everything else.
            resume: the run id of an earlier (failed or killed) run of this pipeline: run
                it again in place, reusing the steps that succeeded (even uncached ones); its
                arguments are used unless given.
            progress: show a live table of the steps (needs ``rich``).
            on_update: called with a step's :class:`StepInfo` whenever it changes.

        Returns:
            :class:`PipelineResult` (``status`` SUCCEEDED, FAILED or KILLED). Ctrl-C cancels
            the running steps, ends the run KILLED and re-raises ``KeyboardInterrupt``.
        """
        from mlcore.pipeline.runner import PipelineRunner

        tracker = _tracker(tracker, tracking_uri)
        given = dict(arguments or {})
        if resume is not None:
            given = {**_resumed_arguments(tracker, resume, self.spec), **given}
            experiment = tracker.store.get_experiment(
                tracker.store.get_run(resume).info.experiment_id
            ).name
        display = None
        if progress:
            from mlcore.pipeline.progress import ProgressView

            display = ProgressView(self.spec)
            on_update = display.chain(on_update)
        runner = PipelineRunner(
            self.spec,
            tracker=tracker,
            executor=executor,
            executor_options=executor_options,
            cache=cache,
            fail_fast=fail_fast,
            experiment=experiment,
            run_name=run_name,
            resume=resume,
            on_update=on_update,
        )
        if display is None:
            return runner.run(given)
        with display:
            return runner.run(given)


def _yaml(data: dict[str, Any]) -> str:
    import yaml

    def represent(dumper: Any, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(str, represent)
    return str(yaml.dump(data, Dumper=Dumper, sort_keys=False, width=100))


def _tar_gz(name: str, payload: bytes) -> bytes:
    import io
    import tarfile
    import time

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mtime = int(time.time())
        info.mode = 0o644
        archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def _read_archive(path: str) -> str:
    """The first YAML or JSON file of a gzipped tar (as ``compile("x.tar.gz")`` writes)."""
    import tarfile

    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive.getmembers():
                if member.isfile() and member.name.endswith((".yaml", ".yml", ".json")):
                    handle = archive.extractfile(member)
                    if handle is not None:
                        return handle.read().decode("utf-8")
    except (OSError, tarfile.TarError) as exc:
        raise InvalidInputError(f"cannot read pipeline archive {path}: {exc}") from exc
    raise InvalidInputError(f"pipeline archive {path} holds no .yaml, .yml or .json file")


def _first_document(text: str) -> Any:
    import yaml

    try:  # KFP adds a second document for platform (Kubernetes) options
        return next(iter(yaml.safe_load_all(text)), None)
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"pipeline file is not valid YAML: {exc}") from exc


def _tracker(tracker: Tracker | None, tracking_uri: str | None) -> Tracker:
    if tracker is not None and tracking_uri is not None:
        raise InvalidInputError("give a tracker or a tracking_uri, not both")
    if tracker is not None:
        return tracker
    from mlcore.tracking import Tracker

    if tracking_uri is not None:
        return Tracker(tracking_uri)
    return run_context().default_tracker()


def _resumed_arguments(tracker: Tracker, run_id: str, spec: PipelineSpec) -> dict[str, Any]:
    run = tracker.store.get_run(run_id)
    name = run.data.tags.get("mlcore.pipeline.name")
    if name is None:
        raise InvalidInputError(f"run {run_id} is not a pipeline run", field="resume")
    if name != spec.name:
        raise InvalidInputError(
            f"run {run_id} is a run of pipeline {name!r}, not {spec.name!r}", field="resume"
        )
    if run.info.status.value == "RUNNING":
        raise InvalidInputError(f"run {run_id} is still running", field="resume")
    return dict(run.config or {})


# -- tracing ------------------------------------------------------------------------------------
def _parameter(
    name: str, parameter: inspect.Parameter, hints: dict[str, Any], where: str
) -> ParamSpec:
    has_default = parameter.default is not inspect.Parameter.empty
    default = parameter.default if has_default else None
    if name in hints:
        type_name, optional = parameter_type(hints[name], f"{where} parameter {name!r}")
    elif has_default and default is not None:
        type_name, optional = parameter_type(type(default), f"{where} parameter {name!r}")
    else:
        raise InvalidInputError(
            f"{where}: parameter {name!r} needs a type annotation (or a default)", field=name
        )
    spec = ParamSpec(name=name, type=type_name, default=default, optional=has_default or optional)
    if has_default:
        from mlcore.pipeline.dsl import _constant_fits

        if not _constant_fits(default, spec):
            raise InvalidInputError(
                f"{where}: default of {name!r} must be {type_name}, got {default!r:.60}",
                field=name,
            )
        import json

        try:
            json.dumps(default)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"{where}: default of {name!r} must be JSON-serialisable", field=name
            ) from None
    return spec


def trace(
    func: Callable[..., Any],
    name: str | None = None,
    description: str | None = None,
    localns: dict[str, Any] | None = None,
) -> PipelineSpec:
    """The spec of a pipeline function (see :func:`pipeline`)."""
    import typing

    pipeline_name = name or func.__name__.replace("_", "-")
    where = f"pipeline {pipeline_name!r}"
    try:
        hints = typing.get_type_hints(func, localns=localns)
    except Exception as exc:
        raise InvalidInputError(f"{where}: cannot read its type annotations: {exc}") from exc
    parameters = []
    for pname, parameter in inspect.signature(func).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise InvalidInputError(f"{where}: *args and **kwargs are not supported", field=pname)
        parameters.append(_parameter(pname, parameter, hints, where))
    with tracing() as tracer:
        func(**{p.name: PipelineParam(p.name, p.type) for p in parameters})
    if not tracer.tasks:
        raise InvalidInputError(f"{where} has no steps: call components inside it")
    doc = inspect.getdoc(func)
    return PipelineSpec(
        name=pipeline_name,
        description=description or (doc.strip().splitlines()[0] if doc else None),
        parameters=parameters,
        components=dict(tracer.components),
        loops=dict(tracer.loops),
        tasks=[task.spec() for task in tracer.tasks.values()],
    )


def pipeline(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    display_name: str | None = None,
    pipeline_root: str | None = None,
    pipeline_config: Any = None,
) -> Any:
    """Trace a function that calls components into a :class:`Pipeline`.

    Parameters of the function are the pipeline's parameters (typed ``str``, ``int``,
    ``float``, ``bool``, ``list`` or ``dict``; a default makes one optional).
    ``display_name``, ``pipeline_root`` and ``pipeline_config`` are KFP's, accepted and
    unused (artifacts go to the step runs' artifact store).
    """

    def wrap(function: Callable[..., Any], depth: int = 1) -> Pipeline:
        localns = dict(sys._getframe(depth).f_locals)
        return Pipeline(trace(function, name, description, localns), function)

    return wrap(func, 2) if func is not None else wrap


# -- whole-spec checks --------------------------------------------------------------------------
def _task_refs(task: TaskSpec) -> list[str]:
    arguments = list(task.arguments.values())
    for condition in task.conditions:
        arguments += [condition.left] + ([condition.right] if condition.right else [])
    names = [a.task for a in arguments if a.task is not None]
    names += [a.collect for a in arguments if a.collect is not None]
    return names + list(task.after) + list(task.exit_for or [])


def check_spec(spec: PipelineSpec) -> None:
    """Every reference of ``spec`` resolves and its tasks form a DAG (InvalidInputError)."""
    tasks = {task.name: task for task in spec.tasks}
    if len(tasks) != len(spec.tasks):
        raise InvalidInputError(f"pipeline {spec.name!r}: two steps share a name")
    params = {p.name for p in spec.parameters}
    for task in spec.tasks:
        where = f"step {task.name!r}"
        component = spec.components.get(task.component)
        if component is None:
            raise InvalidInputError(
                f"{where}: unknown component {task.component!r}", field=task.name
            )
        if task.loop is not None and task.loop not in spec.loops:
            raise InvalidInputError(f"{where}: unknown loop {task.loop!r}", field=task.name)
        for argument, arg in task.arguments.items():
            if component.input(argument) is None:
                raise InvalidInputError(f"{where}: unknown argument {argument!r}", field=argument)
            _check_arg(spec, tasks, params, where, argument, arg)
        for condition in task.conditions:
            for side in (condition.left, condition.right):
                if side is not None:
                    _check_arg(spec, tasks, params, where, "when", side)
        for ref in list(task.after) + list(task.exit_for or []):
            if ref not in tasks:
                raise InvalidInputError(f"{where}: runs after unknown step {ref!r}", field=ref)
    for loop_id, loop in spec.loops.items():
        _check_arg(spec, tasks, params, f"loop {loop_id!r}", "items", loop.items)
    order = _topological(tasks)
    if order is None:
        cycle = _find_cycle(tasks)
        raise InvalidInputError(
            f"pipeline {spec.name!r} has a cycle: {' -> '.join(cycle)}", field=cycle[0]
        )


def _check_arg(
    spec: PipelineSpec,
    tasks: dict[str, TaskSpec],
    params: set[str],
    where: str,
    argument: str,
    arg: Any,
) -> None:
    kind = arg.kind()
    if kind == "param" and arg.param not in params:
        raise InvalidInputError(
            f"{where} argument {argument!r}: unknown pipeline parameter {arg.param!r}",
            field=argument,
        )
    if kind in ("task", "collect"):
        producer = tasks.get(arg.task or arg.collect)
        if producer is None:
            raise InvalidInputError(
                f"{where} argument {argument!r}: unknown step {arg.task or arg.collect!r}",
                field=argument,
            )
        if spec.components[producer.component].output(arg.output or "") is None:
            raise InvalidInputError(
                f"{where} argument {argument!r}: step {producer.name!r} has no output "
                f"{arg.output!r}",
                field=argument,
            )
    if kind == "loop_item" and arg.loop_item not in spec.loops:
        raise InvalidInputError(f"{where} argument {argument!r}: unknown loop", field=argument)


def _topological(tasks: dict[str, TaskSpec]) -> list[str] | None:
    indegree = dict.fromkeys(tasks, 0)
    users: dict[str, list[str]] = {name: [] for name in tasks}
    for name, task in tasks.items():
        for ref in set(_task_refs(task)):
            indegree[name] += 1
            users[ref].append(name)
    ready = [name for name, count in indegree.items() if count == 0]
    order = []
    while ready:
        name = ready.pop()
        order.append(name)
        for user in users[name]:
            indegree[user] -= 1
            if indegree[user] == 0:
                ready.append(user)
    return order if len(order) == len(tasks) else None


def _find_cycle(tasks: dict[str, TaskSpec]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for ref in _task_refs(tasks[name]):
            if state.get(ref) == 1:
                return [*stack[stack.index(ref) :], ref]
            if ref not in state:
                found = visit(ref)
                if found:
                    return found
        stack.pop()
        state[name] = 2
        return None

    for name in tasks:
        if name not in state:
            found = visit(name)
            if found:
                return list(reversed(found))
    return []  # pragma: no cover - only called when a cycle exists
