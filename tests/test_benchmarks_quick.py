"""Every benchmark in benchmarks/ runs in its ``--quick`` mode, so none rots.

Each ``benchmarks/bench_*.py`` (found by glob: a new benchmark is covered without touching
this file) runs in a subprocess of this interpreter with this checkout's ``src`` first on the
path. A benchmark reads its data back and checks counts and values itself, so exit status 0
means those checks held; it must also print at least one results table. Peers that are not
installed here (MLflow, kfp) are skipped by the benchmark, which still runs mlcore's side.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = sorted((ROOT / "benchmarks").glob("bench_*.py"))


def test_the_benchmarks_are_found() -> None:
    assert len(BENCHMARKS) >= 10


@pytest.mark.parametrize("script", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_quick_mode_runs_and_prints_its_results(script: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "MLCORE_TRACKING_URI": str(tmp_path / "store"),
    }
    result = subprocess.run(
        [sys.executable, str(script), "--quick"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    tables = [line for line in result.stdout.splitlines() if line.startswith("## ")]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert tables, output[-4000:]
    assert len(rows) > len(tables), output[-4000:]  # a header and at least one result per table
    assert "Traceback" not in output
