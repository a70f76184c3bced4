/*
 * load.h - `mtgan bench load` (issue 8, item 8): a bounded load test on
 * loopback. A real mtgan-server process (protocol mtgan, sync rounds, the
 * digits tasks, one task per simulated edge) is driven by n_edges threads,
 * each a simulated edge with its own HTTP connection: heartbeat, assignment
 * long-poll, and a zero-delta update per assigned task (the server still
 * decodes, validates and folds every one), some of them sent twice as an
 * edge retrying after a lost answer would. A prober thread times GET
 * /healthz all along. At the end the server's books are compared with what
 * the edges were told: every update answered "applied" must be in the
 * accepted counter and in the task step counts, every replay must have
 * been answered "duplicate".
 *
 *     struct mtg_load_opts o = MTG_LOAD_DEFAULTS;   // 200 edges, 60 s
 *     struct mtg_load_result r;
 *     if (mtg_load_run(&cfg, "bench/runs/x/load", &o, &r, &err) == MTG_OK)
 *         printf("%.0f req/s, /healthz p99 %.1f ms, lost %lld\n", r.req_per_s, r.healthz_p99_ms, r.lost);
 *
 * Timing targets (p99 under 100 ms) are judged by the caller, not here: the
 * integration test runs a short version and asserts only the books.
 */
#ifndef MTG_LAUNCH_LOAD_H
#define MTG_LAUNCH_LOAD_H

#include <stdint.h>

#include "config/config.h"
#include "launch/page_viewer.h"

struct mtg_err;
struct cJSON;

#define MTG_LOAD_MAX_EDGES 1000
#define MTG_LOAD_MAX_RSS 3600

struct mtg_load_opts {
    int n_edges;         /* simulated edges, one thread and one connection each */
    double seconds;      /* how long they post */
    double replay_rate;  /* share of updates posted a second time (must come back "duplicate") */
    int probe_ms;        /* /healthz probe period */
    int page;            /* 1: a simulated dashboard viewer polls all along (page_viewer.h) */
};

#define MTG_LOAD_DEFAULTS {.n_edges = 200, .seconds = 60, .replay_rate = 0.05, .probe_ms = 20}

struct mtg_load_result {
    int n_edges;
    double seconds;            /* measured, first post to last answer */
    uint64_t requests;         /* every HTTP exchange, prober included */
    uint64_t request_errors;   /* no answer, or a 5xx */
    double req_per_s;
    uint64_t heartbeats;
    uint64_t assignments;
    uint64_t updates_sent;     /* distinct updates (edge, task, round) */
    uint64_t updates_applied;  /* answered "applied" */
    uint64_t updates_late;     /* answered 409: the round closed first (refused, not lost) */
    uint64_t updates_failed;   /* no answer or another error */
    uint64_t replays_sent;
    uint64_t replays_duplicate;   /* replays answered "duplicate" */
    uint64_t server_accepted;  /* mtgan_updates_total{outcome=...} at the end */
    uint64_t server_duplicate;
    uint64_t server_rejected;
    double steps_applied;      /* sum of steps of the applied updates */
    double steps_server;       /* sum over tasks of the server's step counts */
    long long lost;            /* applied but missing from the server's books; must be 0 */
    uint64_t rounds;
    int healthz_n;
    int healthz_failed;
    double healthz_p50_ms;
    double healthz_p99_ms;
    double healthz_max_ms;
    long server_rss_start;     /* bytes, after every edge registered */
    long server_rss_end;
    long server_peak_rss;      /* VmHWM */
    int n_rss;
    long rss[MTG_LOAD_MAX_RSS];   /* server VmRSS sampled once a second during the run */
    struct mtg_page_viewer_stats page; /* with opts.page: what the viewer asked and got */
};

/*
 * Runs the load test in run_dir (must exist) against a server started from
 * cfg (its data and model settings; protocol, scheduler, budgets and
 * checkpoints are set here). MTG_OK when the run completed, whatever the
 * figures; an error when the server could not be started or driven.
 */
int mtg_load_run(const struct mtg_cfg *cfg, const char *run_dir, const struct mtg_load_opts *o,
                 struct mtg_load_result *out, struct mtg_err *err);

/* The result as JSON (for bench/results/). Caller owns the object. */
struct cJSON *mtg_load_json(const struct mtg_load_opts *o, const struct mtg_load_result *r);

#endif
