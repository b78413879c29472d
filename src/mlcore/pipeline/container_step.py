"""Running a container component's step: its command with KFP's placeholders filled in,
in a container runtime (Docker or Podman), or on the host when asked
(``MLCORE_CONTAINER_RUNTIME=host``: for tests, and images that only wrap a local command).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import Any

from mlcore.errors import UnsupportedError
from mlcore.pipeline.spec import ComponentSpec

__all__ = ["RUNTIME_ENV", "ContainerRuntimeError", "container_runtime", "run_container"]

RUNTIME_ENV = "MLCORE_CONTAINER_RUNTIME"
_RUNTIMES = ("docker", "podman")
_PLACEHOLDER = re.compile(
    r"\{\{\$\.(inputs|outputs)\.(parameters|artifacts)\['([^']+)'\]"
    r"(?:\.(output_file|path|uri))?\}\}"
)


class ContainerRuntimeError(UnsupportedError):
    """No container runtime to run a container component with."""


def container_runtime() -> str:
    """``host``, ``docker`` or ``podman``: ``$MLCORE_CONTAINER_RUNTIME``, else the first of
    Docker and Podman on ``PATH``.

    Raises:
        ContainerRuntimeError: none is installed and none was chosen.
    """
    chosen = os.environ.get(RUNTIME_ENV, "").strip().lower()
    if chosen:
        if chosen != "host" and chosen not in _RUNTIMES:
            raise ContainerRuntimeError(f"{RUNTIME_ENV}={chosen!r}: choose host, docker or podman")
        return chosen
    for runtime in _RUNTIMES:
        if shutil.which(runtime):
            return runtime
    raise ContainerRuntimeError(
        "a container component needs a container runtime: neither docker nor podman is on "
        f"PATH; install one, or set {RUNTIME_ENV}=host to run the command on this machine"
    )


def fill(
    text: str,
    parameters: dict[str, Any],
    input_paths: dict[str, str],
    output_paths: dict[str, str],
) -> str:
    """``text`` with its placeholders replaced by values and paths."""

    def replace(match: re.Match[str]) -> str:
        side, kind, name, attribute = match.groups()
        if side == "inputs" and kind == "parameters":
            value = parameters.get(name)
            return value if isinstance(value, str) else json.dumps(value)
        paths = input_paths if side == "inputs" else output_paths
        if name not in paths:
            raise KeyError(f"placeholder {match.group(0)} names no {side[:-1]} {name!r}")
        return paths[name] if attribute != "uri" else "file://" + paths[name]

    return _PLACEHOLDER.sub(replace, text)


def run_container(
    spec: ComponentSpec,
    parameters: dict[str, Any],
    input_paths: dict[str, str],
    output_paths: dict[str, str],
    workdir: str,
) -> None:
    """Run the component's command; its output goes to this step's log.

    Raises:
        ContainerRuntimeError: no runtime (see :func:`container_runtime`).
        RuntimeError: the command exited non-zero.
    """
    assert spec.container is not None
    runtime = container_runtime()
    command = [fill(part, parameters, input_paths, output_paths) for part in spec.container.command]
    args = [fill(part, parameters, input_paths, output_paths) for part in spec.container.args]
    env = {**os.environ, **spec.env}
    if runtime == "host":
        argv = command + args
    else:
        if not spec.image:
            raise ContainerRuntimeError(f"component {spec.name!r} has no image to run")
        argv = [runtime, "run", "--rm", "-v", f"{workdir}:{workdir}"]
        argv += [item for key, value in spec.env.items() for item in ("-e", f"{key}={value}")]
        if command:
            argv += ["--entrypoint", command[0], spec.image, *command[1:], *args]
        else:
            argv += [spec.image, *args]
    if not argv:
        raise RuntimeError(f"component {spec.name!r} has no command")
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.stdout:
        print(done.stdout, end="")
    if done.stderr:
        print(done.stderr, end="")
    if done.returncode != 0:
        raise RuntimeError(
            f"{argv[0]} exited with code {done.returncode} ({runtime} runtime): "
            f"{done.stderr.strip()[-300:]}"
        )
