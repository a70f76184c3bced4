#!/usr/bin/env bash
# Proves build/k8s-validate.sh catches broken inputs: it must pass on the good tree and fail on
# each file in tests/k8s/broken/ (with the message named by that file's "# expect:" line).
# values-*.yaml files are Helm values (passed with --values); the others are extra manifests.
#   bash build/k8s-tools.sh && bash tests/k8s/run.sh
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
pass=0; fail=0
log=$(mktemp); trap 'rm -f "$log"' EXIT

if bash build/k8s-validate.sh >"$log" 2>&1; then
    echo "ok   good tree validates"; pass=$((pass + 1))
else
    echo "FAIL good tree does not validate:"; cat "$log"; fail=$((fail + 1))
fi

for f in tests/k8s/broken/*.yaml; do
    expect=$(sed -n 's/^# expect: //p' "$f" | head -1)
    case "$(basename "$f")" in
        values-*) args=(--values "$f") ;;
        *) args=("$f") ;;
    esac
    if MTGAN_K8S_RENDER="$PWD/out/k8s-render-test" bash build/k8s-validate.sh "${args[@]}" >"$log" 2>&1; then
        echo "FAIL $f: k8s-validate passed, expected a failure"; fail=$((fail + 1))
    elif [ -n "$expect" ] && ! grep -qF -- "$expect" "$log"; then
        echo "FAIL $f: failed, but without \"$expect\":"; grep -E 'FAIL|error|Error' "$log" | head -5; fail=$((fail + 1))
    else
        echo "ok   $f rejected ($expect)"; pass=$((pass + 1))
    fi
done
rm -rf out/k8s-render-test
echo "k8s tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
