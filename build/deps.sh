#!/usr/bin/env bash
# Installs every build and test dependency of mtgan on Debian bookworm.
# Idempotent: when everything is present it returns in well under a second.
#   build/deps.sh              install what is missing (apt-get)
#   build/deps.sh --if-missing same, but quietly do nothing when all present
#   build/deps.sh --check      only report; exit 1 if anything is missing
#   build/deps.sh --dev        also the reliability tools: clang (make fuzz), valgrind (make valgrind)
#   build/deps.sh --bench      also the benchmark peers: python3-torch, python3-sklearn
set -euo pipefail

# dataset-fashion-mnist: the Fashion-MNIST IDX files (/usr/share/datasets/fashion-mnist), DESIGN §11 (b).
# chromium-headless-shell: the browser that tests the dashboard (tests/integration/test_dashboard.c).
PKGS=(build-essential pkg-config libcurl4-openssl-dev libcjson-dev libopenblas-dev
      libmicrohttpd-dev zlib1g-dev libcriterion-dev libpng-dev liblapacke-dev libssl-dev
      dataset-fashion-mnist chromium-headless-shell)

mode="${1:-install}"
if [ "$mode" = "--dev" ]; then
    PKGS+=(clang libclang-rt-14-dev valgrind)  # the fuzzer runtime is only a Recommends of clang
    mode=install
fi
# The benchmark's peers: PyTorch for `mtgan bench core` (bench/torch_core.py), scikit-learn for the
# independent judge (bench/judge.py). Large, so not part of the test dependencies.
if [ "$mode" = "--bench" ]; then
    PKGS+=(python3-torch python3-sklearn)
    mode=install
fi
missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    [ "$mode" = "--if-missing" ] || echo "deps: all ${#PKGS[@]} packages present"
    exit 0
fi
if [ "$mode" = "--check" ]; then
    echo "deps: missing: ${missing[*]}" >&2
    exit 1
fi

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo to run apt-get" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: done"
