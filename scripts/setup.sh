#!/usr/bin/env bash
# Installs what weir needs on a fresh machine, idempotently: npm packages, Java 17 and Maven
# when missing (Debian), the Kafka broker jars and the S3Proxy jar (Maven Central, cached in
# .cache/). Called by `npm start` and `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
if [ "${WEIR_WITH_BROWSER:-0}" = 1 ] && [ ! -x /usr/bin/chromium ]; then need_apt+=(chromium); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} with apt-get" >&2
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# npm packages: only when the lock or a patch of a package (patches/, applied by the
# postinstall script) changed since the last install.
installed_stamp() { { cat package-lock.json; cat patches/*.patch 2>/dev/null || true; } | sha256sum; }
if [ ! -f node_modules/.package-lock.json ] || [ "$(installed_stamp)" != "$(cat .cache/npm-install.stamp 2>/dev/null)" ]; then
  echo "setup: installing npm packages" >&2
  # npm ci refuses this lock on some npm versions (chdb's other-platform optional packages are
  # "missing from lock file"); npm install follows the same lock and adds only those.
  npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error
  mkdir -p .cache && installed_stamp > .cache/npm-install.stamp
fi

node --import tsx scripts/provision-jars.ts
