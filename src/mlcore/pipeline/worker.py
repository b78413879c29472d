"""Running one step: inside a thread, a worker process, a Dask worker or a Kubernetes pod.

``run_payload(bytes) -> bytes`` is what executors call; ``python -m mlcore.pipeline.worker
--step-run ID --tracking-uri URI`` is the same from a command line (containers): it reads the
request the runner stored with the step run and writes the result back to it.

A step: make the step's run the active run of this thread (so ``mlcore.log_metric`` in the
component logs to it), fetch input artifacts, call the function with its stdout/stderr
captured, check and upload outputs (sha256 recorded), upload the log, return the result.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from mlcore.pipeline.spec import ComponentSpec
from mlcore.tracking.context import run_context

if TYPE_CHECKING:
    from mlcore.tracking import Tracker

__all__ = [
    "ArtifactRef",
    "StepRequest",
    "StepResultData",
    "execute",
    "log_file",
    "main",
    "result_file",
    "run_payload",
]

REQUEST_FILE = "_mlcore/request.json"


def log_file(attempt: int) -> str:
    """Where the output of a step's attempt goes, in the step run's artifacts."""
    return f"logs/attempt-{attempt}.txt"


def result_file(attempt: int) -> str:
    """Where a step run in a container leaves its result for the runner."""
    return f"_mlcore/result-{attempt}.json"


class ArtifactRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uri: str
    type: str = "Artifact"
    sha256: str | None = None
    size: int | None = None


class StepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step_name: str
    attempt: int = 1
    tracking_uri: str
    run: dict[str, Any]  # the step run's RunInfo, as JSON
    component: ComponentSpec
    parameters: dict[str, Any] = Field(default_factory=dict)
    input_artifacts: dict[str, ArtifactRef] = Field(default_factory=dict)
    status: dict[str, Any] | None = None
    persist_result: bool = False


class StepResultData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ok: bool
    outputs: dict[str, Any] = Field(default_factory=dict)
    artifacts: dict[str, ArtifactRef] = Field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None


# -- per-thread output capture ------------------------------------------------------------------
class _Router(io.TextIOBase):
    """Stands in for sys.stdout/err: a thread that registered a buffer gets a copy of its
    writes (the stream still receives them, so consoles and pod logs show them too)."""

    def __init__(self, stream: Any, local: threading.local) -> None:
        self.stream = stream
        self.local = local

    def write(self, text: str) -> int:
        buffer = getattr(self.local, "buffer", None)
        if buffer is not None:
            buffer.write(text)
        return int(self.stream.write(text))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.stream, "encoding", "utf-8"))


_capture = threading.local()
_install_lock = threading.Lock()


def _install_router() -> None:
    with _install_lock:
        if not isinstance(sys.stdout, _Router):
            sys.stdout = _Router(sys.stdout, _capture)
        if not isinstance(sys.stderr, _Router):
            sys.stderr = _Router(sys.stderr, _capture)


@contextlib.contextmanager
def _captured() -> Iterator[io.StringIO]:
    _install_router()
    buffer = io.StringIO()
    previous = getattr(_capture, "buffer", None)
    _capture.buffer = buffer
    try:
        yield buffer
    finally:
        _capture.buffer = previous


# -- trackers, per process ----------------------------------------------------------------------
def register_tracker(tracker: Tracker) -> None:
    """Let steps run in this process use ``tracker`` (the runner's) for its URI."""
    run_context().share_tracker(tracker)


# -- artifacts ----------------------------------------------------------------------------------
def _digest(path: str) -> tuple[str, int]:
    """sha256 and size of a file; for a directory, of its sorted (path, sha256) manifest."""
    if os.path.isfile(path):
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
        return digest.hexdigest(), os.path.getsize(path)
    entries, total = [], 0
    for directory, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for name in sorted(filenames):
            full = os.path.join(directory, name)
            sha, size = _digest(full)
            entries.append(f"{os.path.relpath(full, path)}:{sha}")
            total += size
    return hashlib.sha256("\n".join(entries).encode()).hexdigest(), total


def _local_input(ref: ArtifactRef, scratch: str, name: str) -> str:
    from mlcore.artifacts import resolve_artifact_store
    from mlcore.uris import file_uri_to_path, uri_scheme

    if uri_scheme(ref.uri) in ("", "file"):
        path = file_uri_to_path(ref.uri)
        if os.path.exists(path):
            return path  # read in place
        raise FileNotFoundError(f"input artifact {name!r} not found at {ref.uri}")
    parent, _, leaf = ref.uri.rstrip("/").rpartition("/")
    store = resolve_artifact_store(parent)
    return store.download(leaf, os.path.join(scratch, "inputs", name))


def _upload_output(artifacts: Any, name: str, path: str, type_name: str) -> ArtifactRef:
    relative = f"outputs/{name}"
    if os.path.isdir(path):
        artifacts.put_dir(path, relative)
    else:
        artifacts.put_file(path, relative)
    sha, size = _digest(path)
    return ArtifactRef(uri=artifacts.uri(relative), type=type_name, sha256=sha, size=size)


# -- the step -----------------------------------------------------------------------------------
def _check_output(spec: Any, value: Any) -> Any:
    kinds: dict[str, Any] = {
        "str": str,
        "int": int,
        "float": (int, float),
        "bool": bool,
        "list": (list, tuple),
        "dict": dict,
    }
    expected = kinds.get(spec.type)
    if expected is not None and not isinstance(value, expected):
        raise TypeError(
            f"output {spec.name!r} must be {spec.type}, the function returned "
            f"{type(value).__name__} {value!r:.60}"
        )
    json.dumps(value)  # outputs are JSON values
    return list(value) if isinstance(value, tuple) else value


class _Done(Exception):
    """A container step ended well (leaves the function path)."""


def _container_step(request: StepRequest, artifacts: Any, scratch: str) -> StepResultData:
    """Run a container component's command; read its output files back."""
    from mlcore.pipeline.container_step import run_container
    from mlcore.pipeline.kfp_executor import read_output_parameter

    spec = request.component
    input_paths = {
        name: _local_input(ref, scratch, name) for name, ref in request.input_artifacts.items()
    }
    output_paths: dict[str, str] = {}
    for param in spec.outputs:
        folder = "outputs" if param.kind == "artifact" else "parameters"
        output_paths[param.name] = os.path.join(scratch, folder, param.name)
        os.makedirs(os.path.dirname(output_paths[param.name]), exist_ok=True)
    run_container(spec, request.parameters, input_paths, output_paths, scratch)
    values: dict[str, Any] = {}
    refs: dict[str, ArtifactRef] = {}
    for param in spec.outputs:
        path = output_paths[param.name]
        if param.kind == "artifact":
            if not os.path.exists(path):
                raise FileNotFoundError(f"the step did not write its output {param.name!r}")
            refs[param.name] = _upload_output(artifacts, param.name, path, param.type)
        else:
            read = read_output_parameter(path, param)
            values[param.name] = _check_output(
                param, read.rstrip("\n") if param.type == "str" else read
            )
    return StepResultData(ok=True, outputs=values, artifacts=refs)


def execute(request: StepRequest) -> StepResultData:
    """Run the step ``request`` describes."""
    from mlcore.artifacts import resolve_artifact_store
    from mlcore.pipeline.components import RETURN_OUTPUT, load_function, path_parameters
    from mlcore.pipeline.kfp_executor import (
        check_packages,
        read_output_parameter,
        status_argument,
    )
    from mlcore.pipeline.types import ARTIFACT_TYPES
    from mlcore.tracking.active_run import ActiveRun
    from mlcore.types import Run, RunData, RunInfo, build

    context = run_context()
    tracker = context.worker_tracker(request.tracking_uri)
    info = RunInfo.model_validate(request.run)
    active = ActiveRun(tracker, build(Run, {"info": info, "data": RunData(), "config": {}}))
    artifacts = resolve_artifact_store(info.artifact_uri)
    spec = request.component
    scratch = ""
    logs = io.StringIO()
    result: StepResultData
    try:
        with _captured() as logs, context.activated(active):
            try:
                if spec.container is not None:
                    scratch = tempfile.mkdtemp(prefix="mlcore-step-")
                    result = _container_step(request, artifacts, scratch)
                    raise _Done
                check_packages(spec)
                function = load_function(spec.code)
                paths = path_parameters(function)  # KFP's InputPath / OutputPath
                if paths or any(p.kind == "artifact" for p in [*spec.inputs, *spec.outputs]):
                    scratch = tempfile.mkdtemp(prefix="mlcore-step-")
                    os.makedirs(os.path.join(scratch, "outputs"), exist_ok=True)
                kwargs: dict[str, Any] = dict(request.parameters)
                outputs: dict[str, Any] = {}
                for param in spec.inputs:
                    if param.kind == "artifact" and param.name in request.input_artifacts:
                        ref = request.input_artifacts[param.name]
                        artifact = ARTIFACT_TYPES.get(param.type, ARTIFACT_TYPES["Artifact"])(
                            name=param.name,
                            uri=ref.uri,
                            path=_local_input(ref, scratch, param.name),
                        )
                        kwargs[param.name] = artifact.path if param.name in paths else artifact
                    elif param.kind == "status":
                        kwargs[param.name] = status_argument(param, request.status)
                written: dict[str, str] = {}  # OutputPath parameters: the file to read
                for param in spec.outputs:
                    if param.kind == "artifact":
                        outputs[param.name] = ARTIFACT_TYPES.get(
                            param.type, ARTIFACT_TYPES["Artifact"]
                        )(
                            name=param.name,
                            uri=artifacts.uri(f"outputs/{param.name}"),
                            path=os.path.join(scratch, "outputs", param.name),
                        )
                    elif paths.get(param.name) == "output-parameter":
                        written[param.name] = os.path.join(scratch, "parameters", param.name)
                        os.makedirs(os.path.dirname(written[param.name]), exist_ok=True)
                call = {**kwargs, **outputs, **written}
                for name in paths:
                    if name in outputs:
                        call[name] = outputs[name].path
                returned = function(**call)
                values: dict[str, Any] = {}
                for name, path in written.items():
                    output = spec.output(name)
                    assert output is not None
                    values[name] = _check_output(output, read_output_parameter(path, output))
                parameter_outputs = [
                    o for o in spec.outputs if o.kind == "parameter" and o.name not in written
                ]
                if len(parameter_outputs) == 1 and parameter_outputs[0].name == RETURN_OUTPUT:
                    values[RETURN_OUTPUT] = _check_output(parameter_outputs[0], returned)
                elif parameter_outputs:
                    for output in parameter_outputs:
                        values[output.name] = _check_output(output, getattr(returned, output.name))
                refs: dict[str, ArtifactRef] = {}
                for name, artifact in outputs.items():
                    if not os.path.exists(artifact.path) and artifact.metadata:
                        artifact.write_text(json.dumps(artifact.metadata))  # KFP's metrics
                    if not os.path.exists(artifact.path):
                        raise FileNotFoundError(
                            f"the step did not write its output {name!r} (to .path)"
                        )
                    refs[name] = _upload_output(artifacts, name, artifact.path, artifact.type_name)
                result = StepResultData(ok=True, outputs=values, artifacts=refs)
            except _Done:
                pass
            except BaseException as exc:  # the step's failure, reported, not raised
                if isinstance(exc, KeyboardInterrupt):
                    raise
                text = traceback.format_exc()
                logs.write(text)
                result = StepResultData(
                    ok=False, error=f"{type(exc).__name__}: {exc}", traceback=text
                )
        if logs.getvalue():
            info_file = artifacts.put_bytes(logs.getvalue().encode(), log_file(request.attempt))
            tracker.store.record_artifacts(info.run_id, [info_file])
        if result.artifacts:
            from mlcore.types import FileInfo

            tracker.store.record_artifacts(
                info.run_id,
                [
                    build(
                        FileInfo,
                        {
                            "path": f"outputs/{name}",
                            "is_dir": False,
                            "size": ref.size,
                            "sha256": ref.sha256,
                        },
                    )
                    for name, ref in result.artifacts.items()
                ],
            )
        tracker.flush()
        if request.persist_result:
            artifacts.put_bytes(result.model_dump_json().encode(), result_file(request.attempt))
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return result


def run_payload(payload: bytes) -> bytes:
    """The executor entry point: a JSON StepRequest in, a JSON StepResultData out."""
    request = StepRequest.model_validate_json(payload)
    return execute(request).model_dump_json().encode()


def main(argv: list[str] | None = None) -> int:
    """``python -m mlcore.pipeline.worker --step-run ID --tracking-uri URI``."""
    parser = argparse.ArgumentParser(prog="python -m mlcore.pipeline.worker")
    parser.add_argument("--step-run", required=True)
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--attempt", type=int, default=1)
    args = parser.parse_args(argv)
    from mlcore.artifacts import resolve_artifact_store

    tracker = run_context().worker_tracker(args.tracking_uri)
    run = tracker.store.get_run(args.step_run)
    raw = resolve_artifact_store(run.info.artifact_uri).get_bytes(REQUEST_FILE)
    request = StepRequest.model_validate_json(raw)
    request.persist_result = True
    request.attempt = args.attempt
    result = execute(request)
    tracker.close()
    print(
        f"mlcore step {request.step_name}: {'succeeded' if result.ok else 'failed'}",
        file=sys.stderr,
    )
    return 0 if result.ok else 1


if __name__ == "__main__":  # pragma: no cover - exercised through subprocesses
    sys.exit(main())
