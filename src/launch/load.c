/*
 * load.c - `mtgan bench load`: n simulated edges (one thread and one
 * keep-alive connection each) and a /healthz prober against a real
 * mtgan-server process; see load.h.
 */
#include "launch/load.h"

#include <cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/process.h"
#include "core/status.h"
#include "edge/client.h"
#include "launch/launch.h"
#include "wire/blob.h"

#define LOAD_TASKS 10
#define LOAD_DEADLINE_MS 2000
#define LOAD_WAIT_MS 1000

struct load_ctx {
    const uint8_t *delta;   /* zero deltas shaped like every task's model (all digits tasks share one shape) */
    size_t delta_len;
    double t_end;
    double replay_rate;
    int probe_ms;
    pid_t server;
    atomic_int stop;
};

struct sim {
    struct load_ctx *ctx;
    struct mtg_client *c;
    int idx;
    uint64_t rng;
    uint64_t requests, errors, heartbeats, assignments, sent, applied, late, failed, replays, replay_dup;
    double steps_applied;
};

struct prober {
    struct load_ctx *ctx;
    struct mtg_client *c;
    double *ms;             /* latencies, grown as needed */
    int n, cap, failed;
    uint64_t requests;
    long *rss;              /* server VmRSS once a second: does it level off? */
    int n_rss;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double uniform(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (double)((z ^ (z >> 31)) >> 11) * (1.0 / 9007199254740992.0);
}

/* One request; counts it, and as an error when no answer came or the server failed (5xx). */
static int request(struct mtg_client *c, uint64_t *requests, uint64_t *errors, const char *method, const char *path,
                   const void *body, size_t len, const char *ctype, struct mtg_client_resp *r)
{
    struct mtg_err err = {0};
    int rc = mtg_client_request(c, method, path, body, len, ctype, NULL, r, &err);
    (*requests)++;
    if (r->status == 0 || r->status >= 500)
        (*errors)++;
    return rc;
}

/* Posts one update; returns 1 applied, 2 duplicate, 3 late (409), 0 otherwise. */
static int post_update(struct sim *s, const char *task, double round, int steps)
{
    char path[192];
    snprintf(path, sizeof path, "/v1/edges/load-%d/updates/%s?round=%.0f&steps=%d", s->idx, task, round, steps);
    struct mtg_client_resp r;
    int rc = request(s->c, &s->requests, &s->errors, "POST", path, s->ctx->delta, s->ctx->delta_len,
                     "application/x-mtgan-blob", &r);
    int out = 0;
    if (rc == MTG_OK && r.status == 200 && r.body)
        out = strstr((const char *)r.body, "\"applied\"") ? 1 : strstr((const char *)r.body, "\"duplicate\"") ? 2 : 0;
    else if (rc == MTG_ECONFLICT)
        out = 3;
    mtg_client_resp_deinit(&r);
    return out;
}

static void *sim_main(void *arg)
{
    struct sim *s = arg;
    char hb[96], asg[128];
    snprintf(hb, sizeof hb, "/v1/edges/load-%d/heartbeat", s->idx);
    snprintf(asg, sizeof asg, "/v1/edges/load-%d/assignment?wait_ms=%d", s->idx, LOAD_WAIT_MS);
    while (!atomic_load(&s->ctx->stop) && now_s() < s->ctx->t_end) {
        struct mtg_client_resp r;
        request(s->c, &s->requests, &s->errors, "POST", hb, "{}", 2, "application/json", &r);
        mtg_client_resp_deinit(&r);
        s->heartbeats++;
        int rc = request(s->c, &s->requests, &s->errors, "GET", asg, NULL, 0, NULL, &r);
        s->assignments++;
        cJSON *o = rc == MTG_OK ? cJSON_ParseWithLength((const char *)r.body, r.len) : NULL;
        mtg_client_resp_deinit(&r);
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "done"))) {
            cJSON_Delete(o);
            break;
        }
        double round = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "round"));
        cJSON *items = cJSON_GetObjectItemCaseSensitive(o, "items");
        for (cJSON *it = cJSON_IsArray(items) ? items->child : NULL; it && round >= 0; it = it->next) {
            cJSON *task = cJSON_GetObjectItemCaseSensitive(it, "task");
            double steps = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "steps"));
            if (!cJSON_IsString(task) || !(steps >= 1 && steps <= 1e6))
                continue;
            s->sent++;
            int res = post_update(s, task->valuestring, round, (int)steps);
            if (res == 1) {
                s->applied++;
                s->steps_applied += steps;
                /* A retry after a lost answer: the server must recognise it and change nothing. */
                if (uniform(&s->rng) < s->ctx->replay_rate) {
                    s->replays++;
                    s->replay_dup += post_update(s, task->valuestring, round, (int)steps) == 2;
                }
            } else if (res == 3) {
                s->late++;
            } else {
                s->failed++;
            }
        }
        cJSON_Delete(o);
    }
    return NULL;
}

static void *probe_main(void *arg)
{
    struct prober *p = arg;
    double next_rss = 0;
    while (!atomic_load(&p->ctx->stop)) {
        if (now_s() >= next_rss && p->n_rss < MTG_LOAD_MAX_RSS) {
            p->rss[p->n_rss++] = mtg_process_mem_bytes((int)p->ctx->server, "VmRSS");
            next_rss = now_s() + 1.0;
        }
        struct mtg_client_resp r;
        uint64_t errors = 0;
        double t0 = now_s();
        int rc = request(p->c, &p->requests, &errors, "GET", "/healthz", NULL, 0, NULL, &r);
        double ms = (now_s() - t0) * 1000.0;
        mtg_client_resp_deinit(&r);
        if (rc != MTG_OK) {
            p->failed++;
        } else {
            if (p->n == p->cap) {
                int cap = p->cap ? p->cap * 2 : 4096;
                double *m = realloc(p->ms, (size_t)cap * sizeof *m);
                if (!m)
                    break;
                p->ms = m;
                p->cap = cap;
            }
            p->ms[p->n++] = ms;
        }
        struct timespec ts = {0, (long)p->ctx->probe_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, int n, double q)
{
    if (n <= 0)
        return 0;
    int k = (int)ceil(q * n) - 1;
    return sorted[k < 0 ? 0 : k >= n ? n - 1 : k];
}

/* Zero g and d deltas, f16 + zlib as real edges send them, sized from one model download. */
static int make_delta(struct mtg_client *c, uint8_t **out, size_t *len, struct mtg_err *err)
{
    struct mtg_client_resp r;
    struct mtg_blob *m = NULL, *b = NULL;
    float *z = NULL;
    int rc = mtg_client_request(c, "GET", "/v1/tasks/digit-0/models/gan", NULL, 0, NULL, NULL, &r, err);
    if (rc == MTG_OK)
        rc = mtg_blob_decode(r.body, r.len, NULL, &m, err);
    mtg_client_resp_deinit(&r);
    const struct mtg_blob_tensor *g = m ? mtg_blob_find(m, "g") : NULL, *d = m ? mtg_blob_find(m, "d") : NULL;
    if (rc == MTG_OK && (!g || !d))
        rc = mtg_err_set(err, MTG_EFORMAT, "load: the model blob lacks g or d");
    if (rc == MTG_OK) {
        b = mtg_blob_new(err);
        z = calloc(g->n > d->n ? g->n : d->n, sizeof(float));
        if (!b || !z)
            rc = mtg_err_set(err, MTG_ENOMEM, "load: out of memory");
    }
    uint32_t dg = g ? (uint32_t)g->n : 0, dd = d ? (uint32_t)d->n : 0;
    if (rc == MTG_OK)
        rc = mtg_blob_add(b, "g", 1, &dg, z, MTG_DTYPE_F16, err);
    if (rc == MTG_OK)
        rc = mtg_blob_add(b, "d", 1, &dd, z, MTG_DTYPE_F16, err);
    if (rc == MTG_OK)
        rc = mtg_blob_encode(b, MTG_BLOB_ZLIB, out, len, err);
    free(z);
    mtg_blob_free(b);
    mtg_blob_free(m);
    return rc;
}

/* The server's counters and step totals once the last round has closed. */
static int read_books(struct mtg_client *c, struct mtg_load_result *out, struct mtg_err *err)
{
    struct mtg_client_resp r;
    int rc = mtg_client_request(c, "GET", "/metrics", NULL, 0, NULL, NULL, &r, err);
    for (const char *p = rc == MTG_OK ? (const char *)r.body : NULL; p && *p;) {
        unsigned long long v;
        if (sscanf(p, "mtgan_updates_total{outcome=\"accepted\"} %llu", &v) == 1)
            out->server_accepted = v;
        else if (sscanf(p, "mtgan_updates_total{outcome=\"duplicate\"} %llu", &v) == 1)
            out->server_duplicate = v;
        else if (sscanf(p, "mtgan_updates_total{outcome=\"rejected\"} %llu", &v) == 1)
            out->server_rejected = v;
        else if (sscanf(p, "mtgan_rounds_total{protocol=\"mtgan\"} %llu", &v) == 1)
            out->rounds = v;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    mtg_client_resp_deinit(&r);
    if (rc == MTG_OK)
        rc = mtg_client_request(c, "GET", "/v1/tasks", NULL, 0, NULL, NULL, &r, err);
    cJSON *o = rc == MTG_OK ? cJSON_ParseWithLength((const char *)r.body, r.len) : NULL;
    cJSON *tasks = cJSON_GetObjectItemCaseSensitive(o, "tasks");
    out->steps_server = 0;
    for (cJSON *t = cJSON_IsArray(tasks) ? tasks->child : NULL; t; t = t->next)
        out->steps_server += cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "steps"));
    cJSON_Delete(o);
    mtg_client_resp_deinit(&r);
    return rc;
}

int mtg_load_run(const struct mtg_cfg *base, const char *run_dir, const struct mtg_load_opts *o,
                 struct mtg_load_result *out, struct mtg_err *err)
{
    memset(out, 0, sizeof *out);
    out->n_edges = o->n_edges;
    out->server_peak_rss = out->server_rss_start = out->server_rss_end = -1;
    if (o->n_edges < 1 || o->n_edges > MTG_LOAD_MAX_EDGES || !(o->seconds > 0) || o->probe_ms < 1 ||
        !(o->replay_rate >= 0 && o->replay_rate <= 1))
        return mtg_err_set(err, MTG_EINVAL, "load: edges must be 1..%d, seconds > 0, replay rate in [0, 1]",
                           MTG_LOAD_MAX_EDGES);
    struct mtg_cfg *cfg = malloc(sizeof *cfg);
    struct sim *sims = calloc((size_t)o->n_edges, sizeof *sims);
    pthread_t *th = calloc((size_t)o->n_edges, sizeof *th);
    struct load_ctx ctx = {.replay_rate = o->replay_rate, .probe_ms = o->probe_ms};
    struct prober pr = {.ctx = &ctx};
    struct mtg_launch *l = NULL;
    struct mtg_client *admin = NULL;
    uint8_t *delta = NULL;
    int rc = cfg && sims && th ? MTG_OK : mtg_err_set(err, MTG_ENOMEM, "load: out of memory");
    if (rc != MTG_OK)
        goto out;
    /* Server settings that make the run about the protocol under load: no budget, checkpoints or evaluator. */
    *cfg = *base;
    cfg->protocol = MTG_CFG_PROTO_MTGAN;
    cfg->data.dataset = MTG_CFG_DATA_DIGITS;
    cfg->data.tasks.n = 0;
    snprintf(cfg->state_dir, sizeof cfg->state_dir, "%.400s/state", run_dir); /* only the final checkpoint */
    cfg->checkpoint_every = 0;
    cfg->train.eval_every = 0;
    cfg->train.reference[0] = '\0';
    cfg->train.max_steps = 1000000000;
    cfg->train.max_wall_s = 0;
    cfg->scheduler.server.policy = MTG_CFG_SPOL_FIXED;
    cfg->scheduler.server.local_steps = 1;
    cfg->scheduler.server.round_deadline_ms = LOAD_DEADLINE_MS;
    cfg->limits.edge_expiry_ms = 600000;
    cfg->n_edges = o->n_edges; /* the launch makes room for this many loopback clients */
    unsigned port = 0;
    rc = mtg_launch_new(cfg, run_dir, &l, err);
    if (rc == MTG_OK)
        rc = mtg_launch_server(l, &port, err);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    /* One attempt per request: a failure must show in the figures, not hide in a retry. */
    struct mtg_client_opts co = {.base_url = url, .max_attempts = 1, .timeout_ms = 30000};
    if (rc == MTG_OK)
        rc = mtg_client_new(&co, &admin, err);
    if (rc == MTG_OK)
        rc = mtg_client_new(&co, &pr.c, err);
    /* Clients are made here, not in the threads: curl_global_init is not thread-safe. */
    for (int i = 0; rc == MTG_OK && i < o->n_edges; i++) {
        sims[i] = (struct sim){.ctx = &ctx, .idx = i, .rng = 0x5EEDULL + (uint64_t)i};
        rc = mtg_client_new(&co, &sims[i].c, err);
        char body[160];
        snprintf(body, sizeof body, "{\"id\":\"load-%d\",\"tasks\":[{\"id\":\"digit-%d\",\"samples\":100}]}", i,
                 i % LOAD_TASKS);
        struct mtg_client_resp r;
        if (rc == MTG_OK)
            rc = mtg_client_request(sims[i].c, "POST", "/v1/edges", body, strlen(body), "application/json", NULL, &r,
                                    err);
        if (rc == MTG_OK)
            sims[i].requests++;
        mtg_client_resp_deinit(&r);
    }
    if (rc == MTG_OK)
        rc = make_delta(admin, &delta, &ctx.delta_len, err);
    if (rc != MTG_OK)
        goto out;
    ctx.delta = delta;
    pid_t spid = mtg_launch_server_pid(l);
    ctx.server = spid;
    pr.rss = out->rss;
    out->server_rss_start = mtg_process_mem_bytes((int)spid, "VmRSS");
    double t0 = now_s();
    ctx.t_end = t0 + o->seconds;
    struct mtg_page_viewer *viewer = NULL;
    if (o->page && (rc = mtg_page_viewer_start(url, &viewer, err)) != MTG_OK)
        goto out;
    pthread_t probe_th;
    int probing = pthread_create(&probe_th, NULL, probe_main, &pr) == 0;
    int started = 0;
    for (; started < o->n_edges; started++)
        if (pthread_create(&th[started], NULL, sim_main, &sims[started]) != 0)
            break;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    out->seconds = now_s() - t0;
    atomic_store(&ctx.stop, 1);
    if (probing)
        pthread_join(probe_th, NULL);
    mtg_page_viewer_stop(viewer, &out->page);
    if (started < o->n_edges)
        rc = mtg_err_set(err, MTG_ENOMEM, "load: started only %d of %d edge threads", started, o->n_edges);
    out->server_rss_end = mtg_process_mem_bytes((int)spid, "VmRSS");
    out->server_peak_rss = mtg_launch_server_peak_rss(l);

    /* The round open at the end closes at its deadline; only then are its updates in the step counts. */
    struct timespec ts = {(LOAD_DEADLINE_MS + 500) / 1000, ((LOAD_DEADLINE_MS + 500) % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    if (rc == MTG_OK)
        rc = read_books(admin, out, err);
    for (int i = 0; i < o->n_edges; i++) {
        const struct sim *s = &sims[i];
        out->requests += s->requests;
        out->request_errors += s->errors;
        out->heartbeats += s->heartbeats;
        out->assignments += s->assignments;
        out->updates_sent += s->sent;
        out->updates_applied += s->applied;
        out->updates_late += s->late;
        out->updates_failed += s->failed;
        out->replays_sent += s->replays;
        out->replays_duplicate += s->replay_dup;
        out->steps_applied += s->steps_applied;
    }
    out->requests += pr.requests + out->page.requests;
    out->request_errors += (uint64_t)pr.failed + out->page.errors;
    out->req_per_s = out->seconds > 0 ? (double)out->requests / out->seconds : 0;
    /*
     * Lost = told "applied" but missing from the books: from the accepted
     * counter, or from the step counts (local_steps is 1, so one step per
     * update). The server may hold more than the edges saw applied: an
     * update whose answer never arrived (counted as failed).
     */
    long long by_count = (long long)out->updates_applied - (long long)out->server_accepted;
    long long by_steps = (long long)llround(out->steps_applied - out->steps_server);
    out->lost = by_count > by_steps ? by_count : by_steps;
    if (out->lost < 0)
        out->lost = 0;
    qsort(pr.ms, (size_t)pr.n, sizeof *pr.ms, cmp_double);
    out->n_rss = pr.n_rss;
    out->healthz_n = pr.n;
    out->healthz_failed = pr.failed;
    out->healthz_p50_ms = percentile(pr.ms, pr.n, 0.50);
    out->healthz_p99_ms = percentile(pr.ms, pr.n, 0.99);
    out->healthz_max_ms = pr.n ? pr.ms[pr.n - 1] : 0;
out:
    for (int i = 0; sims && i < o->n_edges; i++)
        mtg_client_free(sims[i].c);
    mtg_client_free(pr.c);
    mtg_client_free(admin);
    mtg_launch_free(l);
    free(pr.ms);
    free(delta);
    free(th);
    free(sims);
    free(cfg);
    return rc;
}

cJSON *mtg_load_json(const struct mtg_load_opts *o, const struct mtg_load_result *r)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "edges", r->n_edges);
    cJSON_AddNumberToObject(j, "seconds_requested", o->seconds);
    cJSON_AddNumberToObject(j, "seconds", r->seconds);
    cJSON_AddNumberToObject(j, "replay_rate", o->replay_rate);
    cJSON_AddNumberToObject(j, "requests", (double)r->requests);
    cJSON_AddNumberToObject(j, "request_errors", (double)r->request_errors);
    cJSON_AddNumberToObject(j, "requests_per_s", r->req_per_s);
    cJSON_AddNumberToObject(j, "heartbeats", (double)r->heartbeats);
    cJSON_AddNumberToObject(j, "assignments", (double)r->assignments);
    cJSON_AddNumberToObject(j, "rounds", (double)r->rounds);
    cJSON *u = cJSON_AddObjectToObject(j, "updates");
    cJSON_AddNumberToObject(u, "sent", (double)r->updates_sent);
    cJSON_AddNumberToObject(u, "applied", (double)r->updates_applied);
    cJSON_AddNumberToObject(u, "late", (double)r->updates_late);
    cJSON_AddNumberToObject(u, "failed", (double)r->updates_failed);
    cJSON_AddNumberToObject(u, "replays_sent", (double)r->replays_sent);
    cJSON_AddNumberToObject(u, "replays_duplicate", (double)r->replays_duplicate);
    cJSON_AddNumberToObject(u, "server_accepted", (double)r->server_accepted);
    cJSON_AddNumberToObject(u, "server_duplicate", (double)r->server_duplicate);
    cJSON_AddNumberToObject(u, "server_rejected", (double)r->server_rejected);
    cJSON_AddNumberToObject(u, "steps_applied", r->steps_applied);
    cJSON_AddNumberToObject(u, "steps_server", r->steps_server);
    cJSON_AddNumberToObject(u, "lost", (double)r->lost);
    cJSON *h = cJSON_AddObjectToObject(j, "healthz");
    cJSON_AddNumberToObject(h, "probes", r->healthz_n);
    cJSON_AddNumberToObject(h, "failed", r->healthz_failed);
    cJSON_AddNumberToObject(h, "p50_ms", r->healthz_p50_ms);
    cJSON_AddNumberToObject(h, "p99_ms", r->healthz_p99_ms);
    cJSON_AddNumberToObject(h, "max_ms", r->healthz_max_ms);
    if (o->page) {
        cJSON *pg = cJSON_AddObjectToObject(j, "page");
        cJSON_AddNumberToObject(pg, "polls", (double)r->page.polls);
        cJSON_AddNumberToObject(pg, "requests", (double)r->page.requests);
        cJSON_AddNumberToObject(pg, "errors", (double)r->page.errors);
        cJSON_AddNumberToObject(pg, "sample_grids", (double)r->page.grids);
        cJSON_AddNumberToObject(pg, "bytes", (double)r->page.bytes);
    }
    cJSON *m = cJSON_AddObjectToObject(j, "server_rss_bytes");
    cJSON_AddNumberToObject(m, "start", (double)r->server_rss_start);
    cJSON_AddNumberToObject(m, "end", (double)r->server_rss_end);
    cJSON_AddNumberToObject(m, "peak", (double)r->server_peak_rss);
    cJSON *series = cJSON_AddArrayToObject(m, "every_second");
    for (int i = 0; i < r->n_rss; i++)
        cJSON_AddItemToArray(series, cJSON_CreateNumber((double)r->rss[i]));
    return j;
}
