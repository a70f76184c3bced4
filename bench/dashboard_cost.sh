#!/usr/bin/env bash
# Server CPU spent answering one minute of the dashboard's requests (README "Dashboard"): 30 polls of
# its four JSON routes and 100 sample grids (10 tasks, one grid each every 6 s), against a fresh
# mtgan-server with the 10 digit tasks, evaluation off and no edges.
#   bash bench/dashboard_cost.sh [PORT]        (after `make`; needs curl)
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-18777}"
export MTGAN_DATA_DIR="${MTGAN_DATA_DIR:-$PWD/data}" OPENBLAS_NUM_THREADS=1
dir=$(mktemp -d)
trap 'kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; rm -rf "$dir"' EXIT
echo '{"train": {"eval_every": 0}}' > "$dir/config.json"
out/bin/mtgan-server --config "$dir/config.json" --port "$port" --state-dir "$dir/state" --log-level warn \
    >"$dir/server.log" 2>&1 &
srv=$!
for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
cpu_ms() { awk -v t="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / t)}' "/proc/$srv/stat"; }
c0=$(cpu_ms)
for _ in $(seq 30); do
    for r in /v1/status "/v1/history?since=0" /v1/edges /v1/scheduler; do
        curl -fs -o /dev/null "http://127.0.0.1:$port$r"
    done
done
c1=$(cpu_ms)
for _ in $(seq 10); do
    for t in 0 1 2 3 4 5 6 7 8 9; do
        curl -fs -o /dev/null "http://127.0.0.1:$port/v1/tasks/digit-$t/samples?n=48&format=png&seed=1"
    done
done
c2=$(cpu_ms)
echo "dashboard cost: 30 polls $((c1 - c0)) ms of server CPU, 100 sample grids $((c2 - c1)) ms"
