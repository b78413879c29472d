#!/usr/bin/env bash
# Fresh machine -> the whole test suite: system packages, the test environment, a real
# PostgreSQL server, then lint, types, layers and pytest. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- system packages: PostgreSQL and MariaDB (store tests; the tests start throw-away servers),
# etcd (the Kubernetes executor's API server), Chromium (the web UI's browser tests) ----------------------------------------------
export DEBIAN_FRONTEND=noninteractive
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v etcd >/dev/null \
   || ! command -v mariadbd >/dev/null || ! command -v chromium >/dev/null; then
  as_root apt-get update -q
  as_root apt-get install -y -q postgresql mariadb-server etcd-server openssl chromium
fi

# --- a real kube-apiserver, built once from Debian's source package (~11 min on 2 cores) -----
# It builds in the background while the Python environment installs; the binary is cached
# outside the checkout. The Kubernetes executor's tests run against it (test-infra §4a).
KUBE_DIR=${MLCORE_KUBE_DIR:-$HOME/.cache/mlcore-kube}
export KUBE_APISERVER_BIN="$KUBE_DIR/kube-apiserver"
KUBE_LOG=$(mktemp /tmp/mlcore-kube-build.XXXXXX.log)
bash scripts/build-kube-apiserver.sh "$KUBE_DIR" >"$KUBE_LOG" 2>&1 &
KUBE_BUILD=$!

# --- Python environment ---------------------------------------------------------------------
python3 -m venv .venv
.venv/bin/pip install -q -U pip
.venv/bin/pip install -q -r requirements-test.txt
.venv/bin/pip check
bash scripts/peer-venvs.sh   # the real mlflow client etc., each in its own venv (interop tests)
bash scripts/build-ui.sh     # the web UI bundle (npm ci from ui/package-lock.json, then vite)

# --- PostgreSQL: a throw-away cluster on a free loopback port (test-infra §1) ----------------
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGD=$(mktemp -d /tmp/mlcore-ci-pg.XXXXXX)
PGPORT=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PGD"; PGRUN=(runuser -u postgres --); else PGRUN=(); fi
"${PGRUN[@]}" "$PGBIN/initdb" -D "$PGD/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
"${PGRUN[@]}" "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGD -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
stop_pg() { "${PGRUN[@]}" "$PGBIN/pg_ctl" -D "$PGD/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$PGD"; }
trap stop_pg EXIT
export MLCORE_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/postgres"
export MLCORE_REQUIRE_SERVICES=1   # a missing service fails the run instead of skipping

# --- checks ---------------------------------------------------------------------------------
.venv/bin/ruff check src tests plugins benchmarks
.venv/bin/ruff format --check src tests plugins benchmarks
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
if ! wait "$KUBE_BUILD"; then
  echo "building kube-apiserver failed:"; tail -50 "$KUBE_LOG"; exit 1
fi
.venv/bin/python -m pytest -q -p no:cacheprovider tests plugins/_template/tests \
  plugins/mlcore-dask/tests plugins/mlcore-kubernetes/tests \
  plugins/mlcore-s3/tests plugins/mlcore-gcs/tests "$@"
