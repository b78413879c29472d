"""What a step needs beyond a plain call when its component is written the KFP way, as
KFP's executor does it: the exit-handler status as ``PipelineTaskFinalStatus``, values of
``OutputPath`` parameters read back from their files, and ``packages_to_install`` checked
against the running interpreter."""

from __future__ import annotations

import json
import re
from typing import Any

from mlcore.pipeline.spec import ComponentSpec, ParamSpec
from mlcore.pipeline.types import PipelineStatus, PipelineTaskFinalStatus

__all__ = ["MissingPackagesError", "check_packages", "read_output_parameter", "status_argument"]


class MissingPackagesError(RuntimeError):
    """The step's ``packages_to_install`` are not installed where it runs."""


def status_argument(param: ParamSpec, status: dict[str, Any] | None) -> Any:
    """The value of an exit handler's status parameter."""
    status = status or {"state": ""}
    if param.type != "PipelineTaskFinalStatus":
        return PipelineStatus(**status)
    failed = list(status.get("failed_steps") or [])
    return PipelineTaskFinalStatus(
        state=str(status.get("state", "")),
        pipeline_job_resource_name=str(status.get("pipeline_run_id", "")),
        pipeline_task_name=str(status.get("group", "exit-handler")),
        error_code=1 if failed else None,
        error_message=f"Task {failed[0]} failed." if failed else None,
    )


def read_output_parameter(path: str, param: ParamSpec) -> Any:
    """The value a step wrote to an ``OutputPath`` parameter: the text for ``str``, JSON
    for other types (``true``/``True`` both read as booleans, as in KFP)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"the step did not write its output {param.name!r} (to the OutputPath)"
        ) from None
    if param.type == "str":
        return text
    try:
        return json.loads(text.lower() if param.type == "bool" else text)
    except ValueError as exc:
        raise ValueError(f"output {param.name!r} is not a {param.type}: {text!r:.60}") from exc


_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def check_packages(spec: ComponentSpec) -> None:
    """Raise :class:`MissingPackagesError` naming the requirements of ``packages_to_install``
    this interpreter lacks (or has at another version, when ``packaging`` is here to tell)."""
    if not spec.packages:
        return
    from importlib import metadata

    missing = []
    for requirement in spec.packages:
        match = _NAME.match(requirement)
        if match is None or "://" in requirement or requirement.startswith(("git+", "/", ".")):
            missing.append(requirement)  # a URL or a path: only pip can tell
            continue
        try:
            version = metadata.version(match.group(1))
        except metadata.PackageNotFoundError:
            missing.append(requirement)
            continue
        if not _satisfied(requirement, version):
            missing.append(f"{requirement} (installed: {version})")
    if missing:
        raise MissingPackagesError(
            f"component {spec.name!r} needs packages_to_install {', '.join(missing)}, which "
            "this environment lacks: install them (pip install ...) where the step runs"
        )


def _satisfied(requirement: str, version: str) -> bool:
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pragma: no cover - packaging is nearly always there
        return True
    try:
        return Requirement(requirement).specifier.contains(version, prereleases=True)
    except Exception:
        return True
