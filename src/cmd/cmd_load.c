/*
 * mtgan bench load [--load-edges N] [--load-seconds S] [--load-replay R] [--load-page 0|1]
 * [config flags] - the bounded load test of issue 8 (src/launch/load.h):
 * N simulated edges (default 200) post heartbeats and updates for S
 * seconds (default 60) against a real mtgan-server on loopback while a
 * prober times /healthz. Prints requests/s, /healthz p50/p99, server RSS and
 * the update books; writes bench/results/<date>-load.json (and --json FILE).
 * --load-page 1 adds a simulated dashboard viewer (launch/page_viewer.h).
 * Exits 1 when an applied update is missing from the server's books or a
 * replay was not recognised as a duplicate, so it can gate CI.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cmd/cmd_flags.h"
#include "cmd/cmds.h"
#include "config/config.h"
#include "core/log.h"
#include "core/status.h"
#include "launch/load.h"

/* The --load-* flags (config parsing would reject them); 0, or 2 on a missing or bad value. */
static int take_flags(int *argc, char **argv, struct mtg_load_opts *o)
{
    static const char *const names[] = {"load-edges", "load-seconds", "load-replay", "load-page"};
    const char *v[4] = {NULL, NULL, NULL, NULL};
    const char **slots[] = {&v[0], &v[1], &v[2], &v[3]};
    int n_rest;
    if (mtg_cmd_take_flags("mtgan bench load", *argc, argv, names, slots, 4, argv, &n_rest) != 0)
        return 2;
    *argc = n_rest;
    argv[n_rest] = NULL;
    double x[4] = {o->n_edges, o->seconds, o->replay_rate, o->page};
    for (int k = 0; k < 4; k++) {
        char *end = NULL;
        if (v[k] && (x[k] = strtod(v[k], &end), end == v[k] || *end)) {
            fprintf(stderr, "mtgan bench load: --%s needs a number, got \"%s\"\n", names[k], v[k]);
            return 2;
        }
    }
    o->n_edges = (int)x[0];
    o->seconds = x[1];
    o->replay_rate = x[2];
    o->page = x[3] != 0;
    return 0;
}

static void write_json(const char *path, const cJSON *j)
{
    char *text = cJSON_Print(j);
    FILE *f = text ? fopen(path, "w") : NULL;
    if (f) {
        fputs(text, f);
        fputc('\n', f);
        fclose(f);
        printf("results: %s\n", path);
    }
    free(text);
}

int mtg_cmd_bench_load(int argc, char **argv)
{
    struct mtg_load_opts o = MTG_LOAD_DEFAULTS;
    if (take_flags(&argc, argv, &o) != 0)
        return 2;
    struct mtg_cfg *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return 1;
    mtg_cfg_defaults(cfg);
    cfg->log_level = MTG_LOG_WARN;
    struct mtg_cfg_args extra;
    int code = mtg_cfg_cli(cfg, MTG_CFG_BIN_BENCH, argc, argv, &extra, 0);
    if (code >= 0) {
        if (extra.help)
            printf("\nload flags: --load-edges N (200) --load-seconds S (60) --load-replay R (0.05) --load-page 0|1 (0: "
                   "1 adds a simulated dashboard viewer)\n");
        free(cfg);
        return code;
    }
    if (cfg->data.dataset != MTG_CFG_DATA_DIGITS) {
        /* Its simulated edges send digits-shaped deltas for digit-N tasks (launch/load.c). */
        fprintf(stderr, "mtgan bench load: simulates digits edges only; drop --dataset (data.dataset)\n");
        free(cfg);
        return 2;
    }
    time_t now = time(NULL);
    struct tm tm;
    char stamp[32], dir[128], path[160];
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H%M%SZ", &tm);
    mkdir("bench", 0755);
    mkdir("bench/results", 0755);
    mkdir("bench/runs", 0755);
    snprintf(dir, sizeof dir, "bench/runs/%s-load", stamp);
    mkdir(dir, 0755);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("mtgan bench load: %d simulated edges for %.0f s against mtgan-server on loopback (runs in %s/)\n",
           o.n_edges, o.seconds, dir);
    struct mtg_load_result r;
    struct mtg_err err = {0};
    int rc = mtg_load_run(cfg, dir, &o, &r, &err);
    char json_out[sizeof cfg->json_out];
    memcpy(json_out, cfg->json_out, sizeof json_out);
    free(cfg);
    if (rc != MTG_OK) {
        fprintf(stderr, "mtgan bench load: %s\n", err.msg);
        return 1;
    }
    printf("  requests        %llu in %.1f s = %.0f req/s (%llu errors; %llu heartbeats, %llu assignment polls)\n",
           (unsigned long long)r.requests, r.seconds, r.req_per_s, (unsigned long long)r.request_errors,
           (unsigned long long)r.heartbeats, (unsigned long long)r.assignments);
    printf("  /healthz        p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%d probes, %d failed)\n", r.healthz_p50_ms,
           r.healthz_p99_ms, r.healthz_max_ms, r.healthz_n, r.healthz_failed);
    if (o.page)
        printf("  dashboard page  %llu polls, %llu requests (%llu sample grids, %.1f MB), %llu errors\n",
               (unsigned long long)r.page.polls, (unsigned long long)r.page.requests,
               (unsigned long long)r.page.grids, (double)r.page.bytes / 1e6, (unsigned long long)r.page.errors);
    printf("  server RSS      %.1f MiB after registration, %.1f MiB at the end, peak %.1f MiB\n",
           (double)r.server_rss_start / 1048576.0, (double)r.server_rss_end / 1048576.0,
           (double)r.server_peak_rss / 1048576.0);
    if (r.n_rss >= 4)
        printf("  RSS over time   %.1f / %.1f / %.1f / %.1f MiB at 25 / 50 / 75 / 100 %% of the run\n",
               (double)r.rss[r.n_rss / 4] / 1048576.0, (double)r.rss[r.n_rss / 2] / 1048576.0,
               (double)r.rss[3 * r.n_rss / 4] / 1048576.0, (double)r.rss[r.n_rss - 1] / 1048576.0);
    printf("  updates         sent %llu, applied %llu, late %llu, failed %llu; server accepted %llu; lost %lld\n",
           (unsigned long long)r.updates_sent, (unsigned long long)r.updates_applied,
           (unsigned long long)r.updates_late, (unsigned long long)r.updates_failed,
           (unsigned long long)r.server_accepted, r.lost);
    printf("  replays         sent %llu, answered duplicate %llu; server duplicate counter %llu; rounds %llu\n",
           (unsigned long long)r.replays_sent, (unsigned long long)r.replays_duplicate,
           (unsigned long long)r.server_duplicate, (unsigned long long)r.rounds);
    cJSON *j = mtg_load_json(&o, &r);
    cJSON_AddStringToObject(j, "date", stamp);
    snprintf(path, sizeof path, "bench/results/%s-load.json", stamp);
    write_json(path, j);
    if (json_out[0])
        write_json(json_out, j);
    cJSON_Delete(j);
    int balanced = r.lost == 0 && r.replays_duplicate == r.replays_sent;
    if (!balanced)
        fprintf(stderr, "mtgan bench load: the books do not balance (lost %lld, replays %llu, duplicates %llu)\n",
                r.lost, (unsigned long long)r.replays_sent, (unsigned long long)r.replays_duplicate);
    return balanced ? 0 : 1;
}
