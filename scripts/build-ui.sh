#!/usr/bin/env bash
# Build the web UI (ui/ -> src/mlcore/ui/static, shipped inside the Python package).
# Third-party JS comes from the npm registry, pinned by ui/package-lock.json. Needs Node 20+.
set -euo pipefail
cd "$(dirname "$0")/../ui"
npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
