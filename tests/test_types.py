"""Entities: validation at the boundary, and the store's fast builder."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mlcore.types import FileInfo, LifecycleStage, Run, RunData, RunInfo, RunStatus, build


def info_values() -> dict[str, object]:
    return {
        "run_id": "a" * 32,
        "experiment_id": "1",
        "name": "n",
        "status": RunStatus.RUNNING,
        "start_time": 1,
        "end_time": None,
        "parent_run_id": None,
        "artifact_uri": "file:///x",
        "lifecycle_stage": LifecycleStage.ACTIVE,
        "user": "u",
    }


def test_build_equals_model_construct_and_validation() -> None:
    built = build(RunInfo, info_values())
    assert built == RunInfo.model_construct(**info_values())
    assert built == RunInfo(**info_values())
    assert built.model_dump() == RunInfo(**info_values()).model_dump()
    assert built.model_fields_set == set(info_values())
    run = build(
        Run,
        {
            "info": built,
            "data": build(RunData, {"params": {}, "metrics": {"m": 1.0}, "tags": {}}),
            "config": {},
        },
    )
    assert run.id == "a" * 32
    assert run.model_dump(mode="json")["data"]["metrics"] == {"m": 1.0}


def test_entities_are_frozen_and_validated() -> None:
    info = RunInfo(**info_values())
    with pytest.raises(ValidationError):
        info.name = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        RunInfo(**{**info_values(), "status": "NOPE"})
    with pytest.raises(ValidationError):
        FileInfo(path="x", bogus=1)  # type: ignore[call-arg]
    assert RunStatus("FAILED").is_terminal and not RunStatus.RUNNING.is_terminal
