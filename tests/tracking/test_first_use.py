"""The first metric of a fresh process loads only what storing it needs.

Every module below is latency a user waits for before their first point is stored (hundreds
of milliseconds together): models and flavors, pyarrow, the migration tool, artifact stores,
the server and HTTP stacks, SQL dialects other than the store's, the entry-point scan.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlcore.tracking import Tracker
from tests.conftest import run_python

NOT_NEEDED = [
    "pyarrow",
    "numpy",
    "pandas",
    "mlcore.flavors",
    "mlcore.tracking.models",
    "mlcore.tracking.tables",
    "mlcore.artifacts",
    "fsspec",
    "alembic",
    "mlcore.server",
    "mlcore.stores.http",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "sqlalchemy.orm",
    "sqlalchemy.dialects.postgresql",
]

FIRST_METRIC = """
import json, sys
import mlcore
mlcore.set_tracking_uri({uri!r})
with mlcore.start_run() as run:
    mlcore.log_metric("loss", 0.25, step=1)
from mlcore import plugins
print(json.dumps({{
    "run": run.id,
    "loaded": [m for m in {modules!r} if m in sys.modules],
    "scanned": list(plugins._registry._scanned),
}}))
"""


@pytest.mark.parametrize("kind", ["sqlite", "directory"])
def test_first_metric_on_an_existing_store_loads_nothing_it_does_not_need(
    tmp_path: Path, kind: str
) -> None:
    uri = f"sqlite:///{tmp_path / 'runs.db'}" if kind == "sqlite" else str(tmp_path / "home")
    Tracker(uri).close()  # the store exists (created and migrated) before the timed process
    result = run_python(FIRST_METRIC.format(uri=uri, modules=NOT_NEEDED))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["loaded"] == []
    assert report["scanned"] == []  # built-in stores resolve without reading entry points
    with Tracker(uri) as tracker:  # and the point is stored
        run = tracker.get_run(report["run"])
        assert run.data.metrics == {"loss": 0.25}
        assert run.info.status.value == "FINISHED"
