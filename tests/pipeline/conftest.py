"""Fixtures of the pipeline tests: expected results from the real KFP SDK (slow: computed
once a session)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pipeline.kfp_reference import kfp_local_outputs


@pytest.fixture(scope="session")
def kfp_control_flow(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Any]]:
    """kfp.local's outputs of the control-flow sample for seeds 2 (heads) and 3 (tails)."""
    root = tmp_path_factory.mktemp("kfp-local")
    return {
        seed: kfp_local_outputs("control_flow", "control_flow", {"seed": seed}, root / str(seed))
        for seed in (2, 3)
    }
