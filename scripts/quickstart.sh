#!/usr/bin/env bash
# Fresh machine -> a real run logged to ./.mlcore: installs mlcore into .venv and runs
# `mlcore quickstart`, which prints the run and where to look.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q -U pip
.venv/bin/pip install -q -e ".[cli]"
.venv/bin/mlcore quickstart
