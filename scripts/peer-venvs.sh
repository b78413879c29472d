#!/usr/bin/env bash
# The peers' own virtualenvs for interop tests: .venv-<name> from interop/<name>.txt, one per
# file (MLflow today; KFP and W&B join the same way). Their pins clash with ours, so each lives
# apart and the tests run code in it as a subprocess (tests/peers.py). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
for spec in interop/*.txt; do
  name=$(basename "$spec" .txt)
  venv=".venv-$name"
  stamp="$venv/.installed-$(sha256sum "$spec" | cut -c1-16)"
  [ -f "$stamp" ] && continue
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -U pip
  "$venv/bin/pip" install -q -r "$spec"
  touch "$stamp"
done
