#include "launch/bench.h"
#include "core/log.h"
#include "core/status.h"
#include "edge/client.h"
#include "launch/launch.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 500

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* mkdir -p for our own run directories. */
static int make_dirs(const char *path, struct mtg_err *err)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return mtg_err_set(err, MTG_EIO, "bench: mkdir %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return mtg_err_set(err, MTG_EIO, "bench: mkdir %s: %s", buf, strerror(errno));
    return MTG_OK;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Updates r from one /v1/status document; returns 1 when the server reports done. */
static int observe(struct mtg_bench_run *r, const cJSON *st, double t)
{
    const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(st, "tasks");
    int n = 0, reached = 0, evaluated = 0;
    double fd = 0, last_reach = 0;
    r->sum.n_tasks = 0;
    for (const cJSON *tj = tasks ? tasks->child : NULL; tj; tj = tj->next) {
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(tj, "quality");
        const cJSON *rs = cJSON_GetObjectItemCaseSensitive(tj, "reached_s");
        struct mtg_summary_task row = {.reached_s = cJSON_IsNumber(rs) ? rs->valuedouble : -1,
                                       .steps = (uint64_t)num(tj, "steps")};
        snprintf(row.id, sizeof row.id, "%s", tj->string);
        const cJSON *ce = cJSON_GetObjectItemCaseSensitive(tj, "ceiling");
        if (cJSON_IsObject(ce))
            row.ceiling = (struct mtg_quality_task){.n = (int)num(ce, "n"), .fidelity = num(ce, "fidelity"), .fd = num(ce, "fd"),
                                                    .precision = num(ce, "precision"), .recall = num(ce, "recall"),
                                                    .coverage = num(ce, "coverage")};
        if (q) {
            row.fidelity = num(q, "fidelity");
            row.fd = num(q, "fd");
            row.precision = num(q, "precision");
            row.recall = num(q, "recall");
            row.coverage = num(q, "coverage");
            evaluated++;
            fd += row.fd;
        }
        if (row.reached_s >= 0) {
            reached++;
            if (row.reached_s > last_reach)
                last_reach = row.reached_s;
        }
        mtg_summary_add(&r->sum, &row);
        n++;
    }
    r->n_tasks = n;
    r->n_reached = reached;
    r->to_target_s = last_reach;
    r->bytes_in = (uint64_t)num(st, "bytes_in");
    r->bytes_out = (uint64_t)num(st, "bytes_out");
    r->model_bytes = (size_t)num(st, "model_bytes");
    if (r->trace_n < MTG_BENCH_MAX_TRACE && evaluated > 0) {
        r->trace_t[r->trace_n] = (float)t;
        r->trace_fd[r->trace_n] = (float)(fd / evaluated);
        r->trace_done[r->trace_n] = (float)reached;
        r->trace_n++;
    }
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "done"));
}

/*
 * Virtual clock: the busiest edge's compute x speed factor plus the link
 * time it waited for (edge.h: link_s). Also sums the bytes the edges
 * report, the same body bytes the server counts, without the bench's own
 * status polls.
 */
static double virtual_makespan(const char *run_dir, int n_edges, uint64_t *sent, uint64_t *recv)
{
    double worst = 0;
    *sent = *recv = 0;
    for (int i = 0; i < n_edges; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/edge-%d.json", run_dir, i);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        char buf[1024];
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        cJSON *o = cJSON_ParseWithLength(buf, len);
        double busy = num(o, "compute_s") + num(o, "emulated_s") + num(o, "link_s");
        *sent += (uint64_t)num(o, "bytes_sent");
        *recv += (uint64_t)num(o, "bytes_received");
        if (busy > worst)
            worst = busy;
        cJSON_Delete(o);
    }
    return worst;
}

int mtg_bench_run(const struct mtg_cfg *base, const char *run_dir, const char *name, struct mtg_bench_run *r,
                  struct mtg_err *err)
{
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->protocol, sizeof r->protocol, "%s", mtg_cfg_protocol_name(base->protocol));
    snprintf(r->sum.protocol, sizeof r->sum.protocol, "%s", r->protocol);
    r->server_peak_rss = -1;
    struct mtg_cfg *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return mtg_err_set(err, MTG_ENOMEM, "bench: out of memory");
    *cfg = *base;
    int rc = make_dirs(run_dir, err);
    snprintf(cfg->state_dir, sizeof cfg->state_dir, "%s/state", run_dir);
    if (rc == MTG_OK)
        rc = make_dirs(cfg->state_dir, err);
    mtg_launch_clear_checkpoints(cfg->state_dir);
    struct mtg_launch *l = NULL;
    struct mtg_client *c = NULL;
    unsigned port = 0;
    if (rc == MTG_OK)
        rc = mtg_launch_new(cfg, run_dir, &l, err);
    if (rc == MTG_OK)
        rc = mtg_launch_server_client(l, NULL, &port, &c, err);
    double t0 = now_s();
    if (rc == MTG_OK)
        rc = mtg_launch_edges(l, port, err);
    mtg_log(MTG_LOG_INFO, "bench", "%s: started on port %u with %d edges", name, port, cfg->n_edges);
    double next_print = 10;
    while (rc == MTG_OK) {
        sleep_ms(POLL_MS);
        double t = now_s() - t0;
        cJSON *st = mtg_client_get_json(c, "/v1/status", NULL, NULL);
        if (!st) {
            rc = mtg_err_set(err, MTG_EIO, "bench %s: server stopped answering (see %s/server.log)", name, run_dir);
            break;
        }
        int done = observe(r, st, t);
        cJSON_Delete(st);
        if (t >= next_print) {
            mtg_log(MTG_LOG_INFO, "bench", "%s: %.0f s, %d/%d tasks at target", name, t, r->n_reached, r->n_tasks);
            next_print += 10;
        }
        if (done || (cfg->train.max_wall_s > 0 && t > cfg->train.max_wall_s))
            break;
        if (mtg_launch_edges_alive(l) == 0) {
            rc = mtg_err_set(err, MTG_EIO, "bench %s: every edge exited (see %s/edge-*.log)", name, run_dir);
            break;
        }
    }
    r->wall_s = now_s() - t0;
    if (r->n_reached < r->n_tasks)
        r->to_target_s = r->wall_s; /* not reached: the budget is a lower bound */
    if (l) {
        r->server_peak_rss = mtg_launch_server_peak_rss(l);
        mtg_launch_stop(l, 5000); /* edges write their stats files on SIGTERM */
        uint64_t sent, recv;
        r->virtual_s = virtual_makespan(run_dir, cfg->n_edges, &sent, &recv);
        if (sent > 0) {
            r->bytes_in = sent;
            r->bytes_out = recv;
        }
    }
    r->sum.wall_s = r->wall_s;
    r->sum.server_peak_rss_bytes = r->server_peak_rss;
    r->sum.bytes_sent = r->bytes_in;
    r->sum.bytes_received = r->bytes_out;
    mtg_client_free(c);
    mtg_launch_free(l);
    free(cfg);
    return rc;
}

cJSON *mtg_bench_run_json(const struct mtg_bench_run *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddStringToObject(o, "protocol", r->protocol);
    cJSON_AddNumberToObject(o, "tasks", r->n_tasks);
    cJSON_AddNumberToObject(o, "tasks_at_target", r->n_reached);
    cJSON_AddNumberToObject(o, "time_to_target_s", r->to_target_s);
    cJSON_AddNumberToObject(o, "wall_s", r->wall_s);
    cJSON_AddNumberToObject(o, "virtual_makespan_s", r->virtual_s);
    cJSON_AddNumberToObject(o, "server_peak_rss_bytes", (double)r->server_peak_rss);
    cJSON_AddNumberToObject(o, "server_model_bytes", (double)r->model_bytes);
    cJSON_AddNumberToObject(o, "bytes_sent", (double)r->bytes_in);
    cJSON_AddNumberToObject(o, "bytes_received", (double)r->bytes_out);
    cJSON *tasks = cJSON_AddObjectToObject(o, "per_task");
    for (int i = 0; i < r->sum.n_tasks; i++) {
        const struct mtg_summary_task *t = &r->sum.tasks[i];
        cJSON *tj = cJSON_AddObjectToObject(tasks, t->id);
        cJSON_AddNumberToObject(tj, "fidelity", t->fidelity);
        cJSON_AddNumberToObject(tj, "fd", t->fd);
        cJSON_AddNumberToObject(tj, "recall", t->recall);
        cJSON_AddNumberToObject(tj, "coverage", t->coverage);
        cJSON_AddNumberToObject(tj, "steps", (double)t->steps);
        cJSON_AddNumberToObject(tj, "reached_s", t->reached_s);
        if (t->ceiling.n > 0)
            mtg_summary_ceiling_json(tj, &t->ceiling);
    }
    cJSON *trace = cJSON_AddArrayToObject(o, "trace");
    for (int i = 0; i < r->trace_n; i++) {
        cJSON *p = cJSON_CreateArray();
        cJSON_AddItemToArray(p, cJSON_CreateNumber((double)r->trace_t[i]));
        cJSON_AddItemToArray(p, cJSON_CreateNumber((double)r->trace_fd[i]));
        cJSON_AddItemToArray(p, cJSON_CreateNumber((double)r->trace_done[i]));
        cJSON_AddItemToArray(trace, p);
    }
    return o;
}
