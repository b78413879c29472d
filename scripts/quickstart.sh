#!/usr/bin/env bash
# Fresh machine -> a real run logged to ./.mlcore: installs mlcore into .venv and runs
# `mlcore quickstart`, which prints the run and where to look (`mlcore ui` shows it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-ui.sh   # the web UI (Node 20 + npm); mlcore ui serves it
python3 -m venv .venv
.venv/bin/pip install -q -U pip
.venv/bin/pip install -q -e ".[cli,server]"   # server: `mlcore ui`
.venv/bin/mlcore quickstart
