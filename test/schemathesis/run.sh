#!/usr/bin/env bash
# Property-based tests of the serving API against its own OpenAPI document: starts serving
# (test/schemathesis/serve-for-schemathesis.ts), runs schemathesis (v4 CLI) over the read
# routes with the app's read key, and exits non-zero when a check fails.
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

# The stream never ends, so it is left to the integration tests.
"$VENV/bin/st" --config-file test/schemathesis/schemathesis.toml run "$URL/openapi.json" \
  --url "$URL" \
  -H "Authorization: Bearer $READ_KEY" \
  --include-path-regex '^/v1/apps/' \
  --exclude-operation-id realtimeStream \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "${MAX_EXAMPLES:-30}" \
  --seed "${SEED:-1}" \
  --no-color
