"""The Python in the docs runs: every ```python block of each page, in order, in a fresh
interpreter and directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_python

PAGES = [
    "getting-started.md",
    "tracking.md",
    "search.md",
    "models.md",
    "pipelines.md",
    "server.md",
    "serving.md",
    "sweeps.md",
    "migrating-from-mlflow.md",
    "coming-from-kubeflow.md",
    "coming-from-wandb.md",
]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


@pytest.mark.parametrize("page", PAGES)
def test_page_code_runs(page: str, tmp_path: Path) -> None:
    blocks = BLOCK.findall((ROOT / "docs" / page).read_text())
    assert blocks, f"{page} has no python examples"
    for index, block in enumerate(blocks):
        result = run_python(block, cwd=tmp_path, env={"MLCORE_TRACKING_URI": ""})
        assert result.returncode == 0, f"{page} block {index + 1} failed:\n{block}\n{result.stderr}"


def test_readme_commands_are_the_ones_ci_uses() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in readme
    assert "bash scripts/test.sh" in ci
    assert "bash scripts/quickstart.sh" in readme
