#!/usr/bin/env bash
# Schemathesis (PyPI, pinned below) against /openapi.json of a real `fleet-q start` pod, once per store:
# SQLite, and PostgreSQL when FLEET_Q_TEST_DATABASE_URL is set. Every route, every phase (examples,
# coverage, fuzzing, stateful), every check; then verify.mjs checks that the database holds exactly what
# the accepted requests created. Fails on any finding. Needs dist/ built (npm ci builds it) and python3.
# Usage: .ci/api-fuzz/run.sh [MAX_EXAMPLES]   (default 30: about 1,500 requests and 50 s per store here)
set -euo pipefail
cd "$(dirname "$0")/../.."

SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES="${1:-30}"
VENV=.tmp/schemathesis-venv
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fleet-q-api-fuzz.XXXXXX")
POD_PID=""
cleanup() {
  if [ -n "$POD_PID" ] && kill -0 "$POD_PID" 2>/dev/null; then kill -9 "$POD_PID" 2>/dev/null || true; fi
  if [ -z "${API_FUZZ_KEEP:-}" ]; then rm -rf "$WORK"; else echo "api-fuzz: kept $WORK"; fi
}
trap cleanup EXIT

if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null || true)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  if ! python3 -m venv --help > /dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3 python3-venv > /dev/null
  fi
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

ADMIN_TOKEN="api-fuzz-admin-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
BASE="http://127.0.0.1:$PORT"

# One store: start a pod on it, wait for /health 200, fuzz, verify, drain the pod.
fuzz_store() {
  local name=$1; shift
  local accepted="$WORK/$name-accepted.ndjson"
  : > "$accepted"
  echo "api-fuzz: $name"
  # The pod sees only the variables given here: any other FLEET_Q_* of this shell would be a config error.
  # shellcheck disable=SC2046
  env $(env | sed -n 's/^\(FLEET_Q_[A-Za-z0-9_]*\)=.*/-u \1/p') "$@" \
    FLEET_Q_API_HOST=127.0.0.1 FLEET_Q_API_PORT="$PORT" FLEET_Q_API_TOKENS_ADMIN="$ADMIN_TOKEN" \
    FLEET_Q_LOG_LEVEL=warn FLEET_Q_SHUTDOWN_GRACE_SECONDS=1 FLEET_Q_POD_ID=api-fuzz \
    node dist/src/cli.js start > "$WORK/$name-pod.log" 2>&1 &
  POD_PID=$!
  for _ in $(seq 1 150); do
    if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))' "$BASE/health"; then break; fi
    sleep 0.2
  done
  local status=0
  API_FUZZ_ACCEPTED="$accepted" SCHEMATHESIS_HOOKS=hooks PYTHONPATH=.ci/api-fuzz \
    "$VENV/bin/schemathesis" run "$BASE/openapi.json" \
      --header "Authorization: Bearer $ADMIN_TOKEN" \
      --checks all --max-examples "$MAX_EXAMPLES" --seed "${FLEET_Q_TEST_SEED:-20261206}" \
      --generation-database none --no-color --wait-for-schema 30 || status=$?
  kill -TERM "$POD_PID" 2>/dev/null || true
  wait "$POD_PID" || { echo "api-fuzz: the $name pod exited non-zero"; status=1; }
  POD_PID=""
  # shellcheck disable=SC2046
  env $(env | sed -n 's/^\(FLEET_Q_[A-Za-z0-9_]*\)=.*/-u \1/p') "$@" node .ci/api-fuzz/verify.mjs "$accepted" || status=1
  if [ "$status" -ne 0 ]; then
    echo "api-fuzz: $name FAILED; the end of its pod log:"
    tail -n 40 "$WORK/$name-pod.log"
    return 1
  fi
}

failed=0
[ -n "${API_FUZZ_SKIP_SQLITE:-}" ] || fuzz_store sqlite FLEET_Q_STORAGE_MODE=sqlite FLEET_Q_SQLITE_DB_PATH="$WORK/queue.db" || failed=1
if [ -n "${FLEET_Q_TEST_DATABASE_URL:-}" ]; then
  SCHEMA="api_fuzz_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
  fuzz_store postgres FLEET_Q_STORAGE_MODE=postgres FLEET_Q_DATABASE_URL="$FLEET_Q_TEST_DATABASE_URL" FLEET_Q_DB_SCHEMA="$SCHEMA" || failed=1
  node -e '
    const pg = require("pg");
    const client = new pg.Client(process.argv[1]);
    client.connect().then(() => client.query(`DROP SCHEMA IF EXISTS "${process.argv[2]}" CASCADE`)).finally(() => client.end());
  ' "$FLEET_Q_TEST_DATABASE_URL" "$SCHEMA" || true
fi
exit "$failed"
