#!/usr/bin/env bash
# End-to-end test on a throwaway kind cluster (needs a Docker engine, kind, kubectl and helm):
#   1. kind cluster: 1 control-plane + 2 workers, one worker labelled node-role.kubernetes.io/edge
#   2. docker build Dockerfile.server / Dockerfile.edge, kind load them
#   3. apply crds/, helm install helm/mtgan with helm/mtgan/ci/kind-values.yaml
#   4. wait for the server and edge pods, then for the MultiTaskGANJob's status: phase Running,
#      then condition QualityReached=True (or phase Completed)
#   5. fetch a PNG of samples through the Service (kubectl port-forward) and check its signature
#   6. tear down (trap), also on failure; logs and status are dumped before that on failure
# Where docker or kind are missing or no engine answers, prints "skipped: <reason>" and exits 0.
# Env: KIND_CLUSTER (mtgan-e2e), E2E_TIMEOUT seconds for quality (900), KEEP_CLUSTER=1 to keep it,
#      HELM / KUBECTL to override the binaries (default: PATH, else out/k8s-tools/bin).
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER="${KIND_CLUSTER:-mtgan-e2e}"
NS=mtgan
RELEASE=mtgan
TIMEOUT="${E2E_TIMEOUT:-900}"
TAG="e2e-$(date +%s)"
TOOLS="${MTGAN_K8S_TOOLS:-$PWD/out/k8s-tools}"

skip() { echo "skipped: $*"; exit 0; }
command -v docker >/dev/null 2>&1 || skip "docker is not installed"
command -v kind >/dev/null 2>&1 || skip "kind is not installed"
docker info >/dev/null 2>&1 || skip "docker cannot reach a Docker engine ($(docker info 2>&1 | grep -m1 -iE 'error|cannot' || echo 'docker info failed'))"
HELM="${HELM:-$(command -v helm || echo "$TOOLS/bin/helm")}"
KUBECTL="${KUBECTL:-$(command -v kubectl || echo "$TOOLS/bin/kubectl")}"
[ -x "$HELM" ] || skip "helm not found (run build/k8s-tools.sh)"
[ -x "$KUBECTL" ] || skip "kubectl not found (run build/k8s-tools.sh)"

log() { echo "kind-e2e: $*"; }
tmp=$(mktemp -d)
pf_pid=""
cleanup() {
    rc=$?
    if [ -n "$pf_pid" ]; then kill "$pf_pid" 2>/dev/null || true; fi
    if [ $rc -ne 0 ]; then
        log "FAILED (rc=$rc); state for debugging:"
        k get mtj -o yaml 2>/dev/null | sed -n '/^  status:/,$p' | head -60 || true
        k get pods -o wide 2>/dev/null || true
        k logs deploy/$RELEASE-server --tail=80 2>/dev/null || true
        k logs ds/$RELEASE-edge --all-containers --prefix --tail=40 2>/dev/null || true
    fi
    if [ "${KEEP_CLUSTER:-0}" != 1 ]; then kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; fi
    rm -rf "$tmp"
    exit $rc
}
trap cleanup EXIT INT TERM
k() { "$KUBECTL" --context "kind-$CLUSTER" -n "$NS" "$@"; }

log "creating kind cluster $CLUSTER"
cat > "$tmp/kind.yaml" <<KIND
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
  - role: worker
  - role: worker
    labels:
      node-role.kubernetes.io/edge: ""
KIND
kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
kind create cluster --name "$CLUSTER" --config "$tmp/kind.yaml" --wait 180s

log "building images (tag $TAG)"
docker build -f Dockerfile.server -t "mtgan-server:$TAG" .
docker build -f Dockerfile.edge -t "mtgan-edge:$TAG" .
docker run --rm "mtgan-server:$TAG" --help >/dev/null
docker run --rm "mtgan-edge:$TAG" --help >/dev/null
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep ":$TAG"
kind load docker-image --name "$CLUSTER" "mtgan-server:$TAG" "mtgan-edge:$TAG"

log "installing CRD and chart"
"$KUBECTL" --context "kind-$CLUSTER" apply -f crds/mtgan.sedna.io_multitaskganjobs.yaml
"$KUBECTL" --context "kind-$CLUSTER" wait --for condition=Established crd/multitaskganjobs.mtgan.sedna.io --timeout 60s
"$HELM" --kube-context "kind-$CLUSTER" install "$RELEASE" helm/mtgan --namespace "$NS" --create-namespace \
    -f helm/mtgan/ci/kind-values.yaml \
    --set image.server.tag="$TAG" --set image.edge.tag="$TAG" \
    --set image.server.pullPolicy=Never --set image.edge.pullPolicy=Never --wait --timeout 5m
k rollout status deploy/$RELEASE-server --timeout 180s
k rollout status ds/$RELEASE-edge --timeout 180s
edges=$(k get pods -l app.kubernetes.io/component=edge -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}')
log "edge pods on: $edges"
[ "$(echo "$edges" | grep -c .)" -eq 1 ] || { log "expected exactly one edge pod (on the labelled worker)"; exit 1; }

job=e2e
log "waiting for MultiTaskGANJob/$job to run"
deadline=$(( $(date +%s) + 180 ))
until [ "$(k get mtj $job -o jsonpath='{.status.phase}')" = Running ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { log "job never reached phase Running"; exit 1; }
    sleep 3
done
log "job Running; waiting up to ${TIMEOUT}s for quality"
deadline=$(( $(date +%s) + TIMEOUT ))
while :; do
    q=$(k get mtj $job -o jsonpath='{.status.conditions[?(@.type=="QualityReached")].status}')
    phase=$(k get mtj $job -o jsonpath='{.status.phase}')
    [ "$q" = True ] || [ "$phase" = Completed ] && break
    [ "$phase" = Failed ] && { log "job Failed"; exit 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { log "quality not reached in ${TIMEOUT}s"; exit 1; }
    sleep 10
    log "round $(k get mtj $job -o jsonpath='{.status.round}') tasks $(k get mtj $job -o jsonpath='{.status.tasks}')"
done
k get mtj $job

log "fetching samples through the Service"
port=18080
k port-forward svc/$RELEASE-server $port:8080 >"$tmp/pf.log" 2>&1 &
pf_pid=$!
for _ in $(seq 30); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 1; done
curl -fsS "http://127.0.0.1:$port/v1/tasks/digit-3/samples?n=64&format=png" -o "$tmp/s.png"
sig=$(head -c 8 "$tmp/s.png" | od -An -tx1 | tr -d ' \n')
[ "$sig" = 89504e470d0a1a0a ] || { log "samples are not a PNG (signature $sig)"; exit 1; }
cp "$tmp/s.png" "${E2E_PNG_OUT:-out/kind-e2e-samples.png}" 2>/dev/null || true
log "PASS: job reached quality, $(stat -c %s "$tmp/s.png")-byte sample PNG fetched"
