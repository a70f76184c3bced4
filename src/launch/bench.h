/*
 * bench.h - one benchmark run: a server process and its edge processes on
 * loopback, trained until every task reaches its quality target or the
 * wall budget, observed through GET /v1/status. Measures what DESIGN §10
 * asks for: wall time to target, a virtual-clock makespan (busiest edge's
 * compute x speed + emulated link time), the server's peak RSS (VmHWM),
 * bytes each way, and per-task quality; keeps a quality-versus-time trace.
 *
 *     struct mtg_bench_run r;
 *     mtg_bench_run(&cfg, "bench/runs/x/mtgan", "mtgan", &r, &err);
 *     printf("%.1f s to target\n", r.to_target_s);
 *     mtg_bench_run_deinit(&r);
 */
#ifndef MTG_LAUNCH_BENCH_H
#define MTG_LAUNCH_BENCH_H

#include <stdint.h>

#include "config/config.h"
#include "quality/summary.h"

struct mtg_err;
struct cJSON;

#define MTG_BENCH_MAX_TRACE 4096

struct mtg_bench_run {
    char name[64];
    char protocol[8];
    int n_tasks;
    int n_reached;
    double to_target_s;   /* server clock: last task's time to target; wall_s if not all reached */
    double wall_s;
    double virtual_s;     /* busiest edge: compute x speed + emulated link seconds */
    long server_peak_rss; /* bytes; -1 unknown */
    uint64_t bytes_in;    /* edges -> server: request bodies, as the edges count them */
    uint64_t bytes_out;   /* server -> edges: response bodies */
    size_t model_bytes;   /* protocol state the server reports holding */
    struct mtg_summary sum;
    int trace_n;
    float trace_t[MTG_BENCH_MAX_TRACE];
    float trace_fd[MTG_BENCH_MAX_TRACE];   /* mean FD over evaluated tasks */
    float trace_done[MTG_BENCH_MAX_TRACE]; /* tasks at target */
};

/*
 * Runs cfg (protocol, profile, budget train.max_wall_s) in run_dir, which
 * is created; name labels the run. Fills *r. MTG_OK even when the budget
 * ran out (r->n_reached < r->n_tasks); errors only when processes fail.
 */
int mtg_bench_run(const struct mtg_cfg *cfg, const char *run_dir, const char *name, struct mtg_bench_run *r,
                  struct mtg_err *err);

/* The run as JSON (for bench/results/). Caller owns the object. */
struct cJSON *mtg_bench_run_json(const struct mtg_bench_run *r);

/* Scale mode: n_edges simulated edges, driven sequentially over HTTP, against a real server process. */
struct mtg_bench_scale {
    int n_edges;
    char protocol[8];
    double round_s;       /* mean seconds per round (mtgan) or step (sgda) */
    long server_peak_rss;
    size_t model_bytes;
};
int mtg_bench_scale(const struct mtg_cfg *cfg, const char *run_dir, int n_edges, int rounds,
                    struct mtg_bench_scale *out, struct mtg_err *err);

/* `bench core`: C steps/s vs the PyTorch peer, dense GFLOP/s vs raw sgemm. Caller owns the JSON. */
struct cJSON *mtg_bench_core(int steps);

/*
 * `bench novelty`: detection and false-new rates of unknown-task detection
 * on held-out digit classes, per method (novelty_bench.c). Caller owns the
 * JSON; NULL with err filled on failure.
 */
struct cJSON *mtg_bench_novelty(const char *digits_path, uint64_t seed, struct mtg_err *err);

/*
 * `bench lifelong`: a new task (digit 7) warm-started from the nearest known
 * task versus from scratch, from the same known models, over several paired
 * runs: steps and server-clock seconds to the full quality target, and FD
 * versus steps (lifelong_bench.c). The known tasks are cfg's data.tasks
 * without 7 (none: 0, 1, 9). Runs under run_dir. Caller owns the JSON; NULL
 * with err filled on failure.
 */
struct cJSON *mtg_bench_lifelong(const struct mtg_cfg *cfg, const char *run_dir, struct mtg_err *err);

#endif
