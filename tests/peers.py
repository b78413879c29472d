"""Run code under a peer's own package (MLflow, KFP, W&B) in its virtualenv, as its users do.

``scripts/peer-venvs.sh`` builds ``.venv-<name>`` from ``interop/<name>.txt``; tests call
:func:`peer_python` (skips without the venv, fails under ``MLCORE_REQUIRE_SERVICES=1``) and
:func:`run_peer` to run a script there and read what it printed as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, missing_service


def peer_python(name: str) -> Path:
    """The interpreter of ``.venv-<name>`` (``MLCORE_PEER_VENV_<NAME>`` overrides the path)."""
    override = os.environ.get(f"MLCORE_PEER_VENV_{name.upper()}")
    venv = Path(override) if override else ROOT / f".venv-{name}"
    python = venv / "bin" / "python"
    if not python.exists():
        missing_service(f"{name}'s virtualenv {venv} is missing (bash scripts/peer-venvs.sh)")
    return python


def run_peer(
    name: str, script: str, *, env: dict[str, str] | None = None, timeout: float = 300
) -> Any:
    """Run ``script`` with the peer's interpreter; its last stdout line is parsed as JSON."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "WANDB_"))}
    full_env.pop("PYTHONPATH", None)  # the peer's venv, not ours
    full_env.update(env or {})
    done = subprocess.run(
        [str(peer_python(name)), "-c", textwrap.dedent(script)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{name} script failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
        )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None
