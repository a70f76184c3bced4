#!/usr/bin/env bash
# `make bench` entry point: runs every bench mode in one invocation (see README "Benchmarks").
#   make bench                      # core + headline + loopback + ablation + widths + scale, 10 tasks
#   make bench BENCH_ARGS=quick     # the same on 3 tasks (about 20 minutes)
#   make bench BENCH_ARGS="core"    # one mode
set -euo pipefail
cd "$(dirname "$0")/.."
bash build/deps.sh --bench >/dev/null   # PyTorch and scikit-learn: the core peer and the judge
export MTGAN_DATA_DIR="${MTGAN_DATA_DIR:-$PWD/data}"
export OPENBLAS_NUM_THREADS=1
exec out/bin/mtgan bench --log-level warn "$@"
