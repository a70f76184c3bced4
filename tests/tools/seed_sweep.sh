#!/usr/bin/env bash
# Runs one integration test under N seeds beside a CPU hog (`yes >/dev/null`), the way issue 13
# asks GAN-quality tests to be checked, and prints one line per seed plus the pass count.
#   tests/tools/seed_sweep.sh SUITE FILTER SEED_VAR N [FIRST]
#   tests/tools/seed_sweep.sh test_ring 'ring/mtgan*' MTGAN_IT_RING_SEED 20
# Build first (make all out/test/integration/SUITE). Raw output goes to bench/results/sweep-*.log.
# The binaries are copied first, so a rebuild during the sweep does not change what it measures.
set -u
cd "$(dirname "$0")/../.."
suite=$1 filter=$2 var=$3 n=$4 first=${5:-1}
log=bench/results/sweep-${suite}-$(echo "$filter" | tr -c 'a-zA-Z0-9_-' _)-$(date +%Y%m%d-%H%M%S).log
mkdir -p bench/results
snap=$(mktemp -d)
cp -r out/bin "$snap/bin" && cp "out/test/integration/$suite" "$snap/"
yes >/dev/null & hog=$!
trap 'kill $hog 2>/dev/null; rm -rf "$snap"' EXIT
pass=0
for ((s = first; s < first + n; s++)); do
    out=$(env "$var=$s" MTGAN_BIN_DIR="$snap/bin" MTGAN_DATA_DIR="$PWD/data" MTGAN_SRC_DIR="$PWD" \
          OPENBLAS_NUM_THREADS=1 MTGAN_IT_TIME_SCALE=2 "$snap/$suite" --jobs=1 \
          --short-filename --filter="$filter" 2>&1)
    ok=$(echo "$out" | grep -c 'Failing: 0 | Crashing: 0')
    pass=$((pass + ok))
    echo "seed $s: $([ "$ok" = 1 ] && echo pass || echo FAIL) | $(echo "$out" | grep -E '^(ring|lifelong|quality)' | tr '\n' ' ')" | tee -a "$log"
done
echo "$suite $filter: $pass of $n seeds passed (hog beside)" | tee -a "$log"
