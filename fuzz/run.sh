#!/usr/bin/env bash
# fuzz/run.sh - runs the libFuzzer harnesses built by `make fuzz-build`.
#
#   bash fuzz/run.sh SECONDS [fuzz_blob fuzz_json ...]     (all harnesses by default)
#
# Each harness runs SECONDS on a scratch copy of fuzz/corpus/<harness>/ (the
# repo corpus is never written), under $FUZZ_OUT/runs/<timestamp>/<harness>/:
# log.txt, corpus/ (what the fuzzer grew) and any crash-*/leak-*/timeout-*/
# oom-* artifacts. Saved reproducers fuzz/crashes/<harness>-* are replayed
# first. Prints executions per harness and in total; exits 1 on any crash.
# FUZZ_PARALLEL=N runs N harnesses at once (default 1); FUZZ_OUT defaults to
# out-fuzz; FUZZ_ARGS adds libFuzzer flags.
set -u
cd "$(dirname "$0")/.."

secs=${1:-60}
shift || true
out=${FUZZ_OUT:-out-fuzz}
par=${FUZZ_PARALLEL:-1}
if [ $# -gt 0 ]; then
    harnesses=("$@")
else
    harnesses=()
    for f in fuzz/fuzz_*.c; do harnesses+=("$(basename "$f" .c)"); done
fi

# Inputs bigger than libFuzzer's default 4 KiB cap matter for some harnesses:
# model-sized update blobs, whole configs.
max_len_of() {
    case "$1" in
        fuzz_routes) echo 16384 ;;
        fuzz_config | fuzz_digits) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

run_dir="$out/runs/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$run_dir"
status=0

# ---- replay saved reproducers (regressions of crashes found earlier) ----
open=0
for r in fuzz/crashes/*; do
    [ -f "$r" ] || continue
    h=${r##*/}
    h=${h%%-*}
    h=${h%.*}
    bin="$out/bin/$h"
    case "$h" in fuzz_*) ;; *) h="fuzz_$h"; bin="$out/bin/$h" ;; esac
    [ -x "$bin" ] || { echo "reproducer $r: no harness $bin"; continue; }
    if "$bin" -runs=1 "$r" >"$run_dir/replay-${r##*/}.txt" 2>&1; then
        echo "reproducer $r: fixed (runs clean)"
    else
        echo "reproducer $r: STILL CRASHES (log $run_dir/replay-${r##*/}.txt)"
        open=$((open + 1))
    fi
done

run_one() {
    local h=$1 bin="$out/bin/$1" dir="$run_dir/$1"
    mkdir -p "$dir/corpus"
    if [ -d "fuzz/corpus/$h" ]; then cp -r "fuzz/corpus/$h/." "$dir/corpus/"; fi
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -max_len="$(max_len_of "$h")" -artifact_prefix="$dir/" ${FUZZ_ARGS:-} "$dir/corpus" \
        >"$dir/log.txt" 2>&1
    echo $? >"$dir/rc"
}

running=0
for h in "${harnesses[@]}"; do
    if [ ! -x "$out/bin/$h" ]; then
        echo "fuzz: no harness $out/bin/$h (run make fuzz-build)" >&2
        status=1
        continue
    fi
    echo "fuzz: $h for ${secs}s"
    run_one "$h" &
    running=$((running + 1))
    if [ "$running" -ge "$par" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

total=0
crashes=0
printf '\n%-14s %14s %8s %8s  %s\n' harness executions exec/s corpus result
for h in "${harnesses[@]}"; do
    dir="$run_dir/$h"
    [ -f "$dir/log.txt" ] || continue
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log.txt" | tail -1)
    [ -n "$execs" ] || execs=$(grep -o '^#[0-9]*' "$dir/log.txt" | tail -1 | tr -d '#')
    execs=${execs:-0}
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log.txt" | tail -1)
    ncorp=$(find "$dir/corpus" -type f | wc -l)
    arts=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'slow-unit-*' \) | grep -v slow-unit || true)
    result=ok
    if [ -n "$arts" ] || [ "$(cat "$dir/rc")" != 0 ]; then
        result="CRASH: ${arts:-see $dir/log.txt}"
        crashes=$((crashes + 1))
        status=1
    fi
    total=$((total + execs))
    printf '%-14s %14s %8s %8s  %s\n' "$h" "$execs" "${rate:-?}" "$ncorp" "$result"
done
printf '%-14s %14s\n' total "$total"
echo "fuzz: $crashes harness(es) crashed, $open saved reproducer(s) still crash; logs in $run_dir"
[ "$open" -eq 0 ] || status=1
exit $status
