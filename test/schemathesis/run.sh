#!/usr/bin/env bash
# Property-based tests of the whole HTTP API against its own OpenAPI document: starts weir
# (test/schemathesis/serve-for-schemathesis.ts), runs schemathesis (v4 CLI) over every
# operation with the credential it needs (read key, write key, admin token, none), and exits
# non-zero when a check fails. Bounded for CI: MAX_EXAMPLES examples per operation.
#   MAX_EXAMPLES=30 test/schemathesis/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=.cache/venv
if [ ! -x "$VENV/bin/st" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet schemathesis
fi

LOG=$(mktemp)
node --import tsx test/schemathesis/serve-for-schemathesis.ts >"$LOG" 2>&1 &
PID=$!
cleanup() {
  kill -TERM "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  rm -f "$LOG"
}
trap cleanup EXIT

for _ in $(seq 1 240); do
  grep -q '^WEIR_SERVING ' "$LOG" && break
  if ! kill -0 "$PID" 2>/dev/null; then
    cat "$LOG" >&2
    echo "serving did not start" >&2
    exit 1
  fi
  sleep 0.5
done
LINE=$(grep '^WEIR_SERVING ' "$LOG" | head -1 | cut -d' ' -f2-)
[ -n "$LINE" ] || { cat "$LOG" >&2; echo "serving did not start in time" >&2; exit 1; }
field() { node -e 'process.stdout.write(JSON.parse(process.argv[1])[process.argv[2]])' "$LINE" "$1"; }
URL=$(field url)
READ_KEY=$(field read_key)
echo "serving at $URL"

WRITE_KEY=$(field write_key)
ADMIN_TOKEN=$(field admin_token)

# One schemathesis run per credential. Checks: no 5xx, responses as documented, what the
# document forbids is refused (4xx), and a method a path does not document gets 405 + Allow.
# Order matters: the admin run may rotate st-app's keys or disable it, so it goes last.
STATUS=0
fuzz() {
  local what=$1 auth=$2
  shift 2
  echo "== schemathesis: $what"
  "$VENV/bin/st" --config-file test/schemathesis/schemathesis.toml run "$URL/openapi.json" \
    --url "$URL" \
    ${auth:+-H "Authorization: $auth"} \
    --checks not_a_server_error,response_schema_conformance,negative_data_rejection,unsupported_method \
    --max-examples "${MAX_EXAMPLES:-30}" \
    --seed "${SEED:-1}" \
    --no-color "$@" || STATUS=1
}
# The stream never ends, so it is left to the integration tests.
fuzz 'read routes (read key)' "Bearer $READ_KEY" --include-path-regex '^/v1/apps/' --exclude-operation-id realtimeStream
fuzz 'collector and Segment routes (write key)' "Bearer $WRITE_KEY" --include-path-regex '^/v1/(events|batch|track|screen|page|identify|group|alias)$'
fuzz 'operations routes (no credential)' '' --include-path-regex '^/(health|ready|metrics)?$'
fuzz 'admin routes (admin token)' "Bearer $ADMIN_TOKEN" --include-path-regex '^/v1/admin/'
exit $STATUS
