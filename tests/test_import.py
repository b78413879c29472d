"""``import mlcore`` must stay cheap: stdlib only, no entry-point scan."""

from __future__ import annotations

import json

from tests.conftest import run_python

HEAVY = [
    "sqlalchemy",
    "pyarrow",
    "pydantic",
    "fsspec",
    "alembic",
    "numpy",
    "yaml",
    "cloudpickle",
    "rich",
    "psycopg",
    "importlib.metadata",
    "mlcore.tracking",
    "mlcore.stores",
    "mlcore.types",
]


def test_import_loads_nothing_heavy() -> None:
    result = run_python(
        "import json, sys, mlcore\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
        "from mlcore import plugins\n"
        "print(json.dumps(list(plugins._registry._scanned)))\n"
    )
    assert result.returncode == 0, result.stderr
    heavy, scanned = (json.loads(line) for line in result.stdout.splitlines())
    assert heavy == []
    assert scanned == []


def test_lazy_names_import_on_first_use() -> None:
    result = run_python(
        "import sys, mlcore\n"
        "assert 'mlcore.tracking' not in sys.modules\n"
        "mlcore.Tracker\n"
        "print('mlcore.tracking' in sys.modules)\n"
    )
    assert result.stdout.strip() == "True", result.stderr
