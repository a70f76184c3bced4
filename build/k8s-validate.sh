#!/usr/bin/env bash
# Offline validation of everything mtgan ships for Kubernetes; no cluster needed.
#   bash build/k8s-tools.sh && bash build/k8s-validate.sh [EXTRA.yaml ...] [--values VALUES.yaml ...]
# Steps (each failure is reported; the script exits 1 if any step failed):
#   1. yamllint (build/k8s/yamllint.yaml) on crds/, manifests/, helm values, EXTRA files
#   2. helm lint --strict of helm/mtgan with default values and each helm/mtgan/ci/*.yaml
#   3. helm template of the chart with the same value sets (+ --values files) -> out/k8s-render/
#   4. build/k8s/validate.js on the CRDs, the samples, manifests/, the rendered chart and EXTRA:
#      Kubernetes schemas (strict: unknown fields fail), our CRD's schema, Sedna's CRD schemas
#   5. the chart's CRD is a symlink to crds/ (one copy)
# EXTRA files and --values files let tests/k8s/run.sh prove that a broken input fails.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

TOOLS="${MTGAN_K8S_TOOLS:-$PWD/out/k8s-tools}"
HELM="$TOOLS/bin/helm"
RENDER="${MTGAN_K8S_RENDER:-$PWD/out/k8s-render}"
CHART=helm/mtgan
start=$(date +%s)

extra=()
values=()
while [ $# -gt 0 ]; do
    case "$1" in
        --values) values+=("$2"); shift 2 ;;
        *) extra+=("$1"); shift ;;
    esac
done

for t in "$HELM" "$TOOLS/node_modules/kubernetes-models"; do
    [ -e "$t" ] || { echo "k8s-validate: $t missing: run build/k8s-tools.sh first" >&2; exit 2; }
done
command -v yamllint >/dev/null || { echo "k8s-validate: yamllint missing: run build/k8s-tools.sh first" >&2; exit 2; }

failed=()
step() { echo "== k8s-validate: $*"; }

# 1. yamllint (templates are Go templates, not YAML: their rendered output is checked in step 4).
step "yamllint"
mapfile -t lint_files < <(find crds manifests -name '*.yaml' | sort; \
    echo "$CHART/Chart.yaml"; echo "$CHART/values.yaml"; echo .github/workflows/kind-e2e.yml; find "$CHART/ci" "$CHART/crds" -name '*.yaml' | sort)
yamllint -s -c build/k8s/yamllint.yaml "${lint_files[@]}" ${extra[@]+"${extra[@]}"} || failed+=(yamllint)

# 2 + 3. helm lint and template with each value set.
rm -rf "$RENDER"; mkdir -p "$RENDER"
sets=(default)
for v in "$CHART"/ci/*.yaml ${values[@]+"${values[@]}"}; do sets+=("$v"); done
for v in "${sets[@]}"; do
    args=(); name=default
    if [ "$v" != default ]; then args=(-f "$v"); name=$(basename "$v" .yaml); fi
    step "helm lint --strict ($name)"
    "$HELM" lint --strict --quiet "$CHART" ${args[@]+"${args[@]}"} >"$RENDER/lint-$name.log" 2>&1 \
        || { cat "$RENDER/lint-$name.log"; failed+=("helm lint $name"); }
    step "helm template ($name)"
    "$HELM" template mtgan "$CHART" --namespace mtgan --include-crds ${args[@]+"${args[@]}"} \
        >"$RENDER/$name.yaml" 2>"$RENDER/template-$name.log" \
        || { cat "$RENDER/template-$name.log"; failed+=("helm template $name"); rm -f "$RENDER/$name.yaml"; }
done

# 4. schema validation.
step "schema validation (kubernetes-models $(node -p "require('$TOOLS/node_modules/kubernetes-models/package.json').version"), CRD schemas)"
crd_args=()
for c in crds/*.yaml crds/sedna/*.yaml; do crd_args+=(--crd "$c"); done
mapfile -t docs < <(find crds manifests -name '*.yaml' | sort; find "$CHART/crds" -name '*.yaml'; \
    find "$RENDER" -name '*.yaml' | sort)
node build/k8s/validate.js "${crd_args[@]}" "${docs[@]}" ${extra[@]+"${extra[@]}"} || failed+=("schema validation")

# 5. one copy of our CRD: the chart's crds/ entries are symlinks to crds/ (helm follows them and
#    packages the content), so the two cannot drift.
step "chart CRD is crds/"
for c in "$CHART"/crds/*.yaml; do
    want="$(realpath "crds/$(basename "$c")")"
    { [ -L "$c" ] && [ "$(realpath "$c")" = "$want" ]; } \
        || { echo "FAIL $c is not a symlink to crds/$(basename "$c") (ln -sf ../../../crds/$(basename "$c") $c)"; failed+=("chart CRD symlink"); }
done

secs=$(( $(date +%s) - start ))
if [ ${#failed[@]} -gt 0 ]; then
    echo "k8s-validate: FAILED (${secs}s): $(IFS=,; echo "${failed[*]}")"
    exit 1
fi
echo "k8s-validate: OK (${secs}s): yamllint, helm lint/template x${#sets[@]}, ${#docs[@]} files schema-validated"
