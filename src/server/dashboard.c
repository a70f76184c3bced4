/*
 * dashboard.c - the live dashboard (GET /, its script and stylesheet) and
 * the read-only routes it polls beyond /v1/status and /v1/scheduler:
 * GET /v1/history (history.h) and GET /v1/edges. Also what feeds them: the
 * control loop's srv_dash_tick records one point per task at most every
 * HIST_INTERVAL_MS (and after every quality evaluation), the edge routes
 * report uploads, and the lifecycle reports events.
 *
 * Every route here is GET and changes nothing, so it needs no token; the
 * page itself is static, so it is served with a strict Content-Security-
 * Policy (no inline script or style, nothing from other origins).
 */
#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/registry.h"
#include "server/history.h"
#include "server/server_internal.h"

#define HIST_INTERVAL_MS 1000
/* The control loop spins every 5 ms; the dashboard's books need not take the server lock that often. */
#define TICK_MS 100
#define STEP_EWMA 0.3 /* weight of the newest update in an edge's step time */

static const char CSP[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                          "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/* What the edges table shows beyond the registry: uploads as the server received them. */
struct dash_edge {
    uint64_t bytes_up;
    uint64_t updates;
    int64_t last_update_ms; /* 0 = none yet */
    double step_ms;         /* EWMA of compute seconds per local step, x 1000 */
    int was_alive;          /* for the expired / back events */
};

struct dash_task {
    int64_t last_ms;
    uint64_t last_step;
    uint64_t last_q_step;
    int started;
};

/* A point the tick took under the server lock, recorded after it is released. */
struct dash_new {
    int task;
    char id[64];
    struct mtg_srv_hist_point p;
};

struct srv_dash {
    struct mtg_srv_history *hist;
    int64_t last_tick_ms;             /* control loop thread only, like task[] and fresh[] */
    struct dash_new fresh[SRV_MAX_TASKS];
    struct dash_edge edge[MTG_SCHED_MAX_EDGES];
    struct dash_task task[SRV_MAX_TASKS];
};

int srv_dash_new(struct mtg_srv *s, struct mtg_err *err)
{
    struct srv_dash *d = calloc(1, sizeof *d);
    if (!d)
        return mtg_err_set(err, MTG_ENOMEM, "dashboard: out of memory");
    d->hist = mtg_srv_history_new(s->cfg->server.history, err);
    if (!d->hist) {
        free(d);
        return mtg_err_wrap(err, "server.history");
    }
    s->dash = d;
    return MTG_OK;
}

void srv_dash_free(struct srv_dash *d)
{
    if (!d)
        return;
    mtg_srv_history_free(d->hist);
    free(d);
}

static double since_start_s(const struct mtg_srv *s) { return (double)(mtg_srv_now_ms() - s->start_ms) / 1000.0; }

void srv_dash_event(struct mtg_srv *s, const char *kind, const char *fmt, ...)
{
    if (!s->dash)
        return;
    char text[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    mtg_srv_history_event(s->dash->hist, since_start_s(s), kind, text);
}

void srv_dash_upload(struct mtg_srv *s, int edge, size_t bytes, int steps, double compute_s)
{
    if (!s->dash || edge < 0 || edge >= MTG_SCHED_MAX_EDGES)
        return;
    struct dash_edge *e = &s->dash->edge[edge];
    e->bytes_up += bytes;
    e->updates++;
    e->last_update_ms = mtg_srv_now_ms();
    if (steps > 0 && compute_s > 0) {
        double ms = 1000.0 * compute_s / steps;
        e->step_ms = e->step_ms > 0 ? (1 - STEP_EWMA) * e->step_ms + STEP_EWMA * ms : ms;
    }
}

static int n_edges(const struct mtg_srv *s) { return s->sgda ? mtg_sgda_n_edges(s->sgda_state) : mtg_fed_n_edges(s->fed); }

static const struct mtg_proto_edge *edge_at(const struct mtg_srv *s, int e)
{
    return s->sgda ? mtg_sgda_edge(s->sgda_state, e) : mtg_fed_edge(s->fed, e);
}

/* Edges that stopped or resumed heartbeating become events. Call with mu held. */
static void note_liveness(struct mtg_srv *s)
{
    int n = n_edges(s);
    for (int e = 0; e < n && e < MTG_SCHED_MAX_EDGES; e++) {
        const struct mtg_proto_edge *pe = edge_at(s, e);
        struct dash_edge *de = &s->dash->edge[e];
        if (pe->alive == de->was_alive)
            continue;
        if (pe->alive)
            srv_dash_event(s, "edge_joined", "edge %s joined with %d task%s", pe->id, pe->n_tasks,
                           pe->n_tasks == 1 ? "" : "s");
        else
            srv_dash_event(s, "edge_expired", "edge %s went silent for over %d ms: expired", pe->id,
                           s->cfg->limits.edge_expiry_ms);
        de->was_alive = pe->alive;
    }
}

void srv_dash_tick(struct mtg_srv *s, int64_t now)
{
    struct srv_dash *d = s->dash;
    if (!d || now - d->last_tick_ms < TICK_MS)
        return;
    d->last_tick_ms = now;
    double t_s = (double)(now - s->start_ms) / 1000.0;
    int n_new = 0;
    pthread_mutex_lock(&s->mu);
    note_liveness(s);
    int n = srv_n_tasks(s);
    for (int t = 0; t < n && t < SRV_MAX_TASKS; t++) {
        if (s->deleted[t])
            continue;
        struct dash_task *dt = &d->task[t];
        struct srv_task_view v;
        srv_task_view(s, t, &v);
        const struct srv_quality *q = &s->q[t];
        int fresh_q = q->evaluated && q->steps != dt->last_q_step;
        int moved = v.steps != dt->last_step && now - dt->last_ms >= HIST_INTERVAL_MS;
        if (dt->started && !fresh_q && !moved)
            continue;
        struct dash_new *nw = &d->fresh[n_new++];
        nw->task = t;
        snprintf(nw->id, sizeof nw->id, "%s", v.id);
        nw->p = (struct mtg_srv_hist_point){.t_s = t_s, .step = v.steps, .loss_d = v.loss_d, .loss_g = v.loss_g};
        if (q->evaluated) {
            /* A task evaluated at step 0 still has a measurement: q_step 0 means "none" on the wire. */
            nw->p.q_step = q->steps > 0 ? q->steps : 1;
            nw->p.fidelity = (float)q->fidelity;
            nw->p.fd = (float)q->fd;
            nw->p.precision = (float)q->precision;
            nw->p.recall = (float)q->recall;
            nw->p.coverage = (float)q->coverage;
        }
        dt->started = 1;
        dt->last_ms = now;
        dt->last_step = v.steps;
        dt->last_q_step = q->evaluated ? q->steps : 0;
    }
    pthread_mutex_unlock(&s->mu);
    /* Outside the server lock: a page reading the whole history must not hold up training. */
    for (int i = 0; i < n_new; i++)
        if (mtg_srv_history_record(d->hist, d->fresh[i].task, d->fresh[i].id, &d->fresh[i].p) != MTG_OK)
            d->task[d->fresh[i].task].started = 0; /* out of memory for a new series: retried next tick */
}

/* ---- routes ---- */

/* An FNV-1a tag of the file: the binary is the version, so a reload after an upgrade refetches. */
static void asset_etag(const struct srv_asset *a, char *etag, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < a->len; i++)
        h = (h ^ a->data[i]) * 1099511628211ULL;
    snprintf(etag, n, "\"%016llx\"", (unsigned long long)h);
}

static int serve_asset(const char *name, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct srv_asset a;
    if (!srv_dash_asset(name, &a))
        return mtg_http_resp_error(resp, 404, "not_found", "no dashboard file %s", name);
    char etag[24];
    asset_etag(&a, etag, sizeof etag);
    if (mtg_http_etag_matches(req, etag))
        return mtg_http_resp_not_modified(resp, etag);
    int rc = mtg_http_resp_bytes(resp, 200, a.ctype, (void *)a.data, a.len, 0);
    if (rc != MTG_OK)
        return rc;
    mtg_http_resp_header(resp, "ETag", etag);
    mtg_http_resp_header(resp, "Cache-Control", "no-cache");
    mtg_http_resp_header(resp, "Content-Security-Policy", CSP);
    mtg_http_resp_header(resp, "X-Content-Type-Options", "nosniff");
    mtg_http_resp_header(resp, "Referrer-Policy", "no-referrer");
    return MTG_OK;
}

int srv_h_page(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    (void)ctx;
    const char *path = mtg_http_path(req);
    return serve_asset(strcmp(path, "/") == 0 ? "index.html" : path + 1, req, resp);
}

/* GET /v1/history?since=SEQ&task=ID: the points and events after SEQ (0 = everything kept). */
int srv_h_history(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    double since;
    if (srv_query_double(req, "since", 0, 9007199254740992.0, 0, &since, resp) != MTG_OK)
        return MTG_EINVAL;
    const char *task = mtg_http_query(req, "task");
    if (task && !srv_valid_id(task))
        return mtg_http_resp_error(resp, 400, "invalid_argument", "query task: not a task id");
    cJSON *o = mtg_srv_history_json(s->dash->hist, (uint64_t)since, task);
    if (!o)
        return MTG_ENOMEM;
    return mtg_http_resp_json(resp, 200, o);
}

static cJSON *edge_json(struct mtg_srv *s, int e, int64_t now)
{
    const struct mtg_proto_edge *pe = edge_at(s, e);
    const struct dash_edge *de = &s->dash->edge[e];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", pe->id);
    cJSON_AddBoolToObject(o, "alive", pe->alive);
    cJSON_AddNumberToObject(o, "last_seen_s", (double)(now - pe->last_seen) / 1000.0);
    cJSON *tasks = cJSON_AddArrayToObject(o, "tasks");
    for (int k = 0; k < pe->n_tasks; k++)
        cJSON_AddItemToArray(tasks, cJSON_CreateString(srv_task_id(s, pe->task[k])));
    cJSON *asg = cJSON_AddArrayToObject(o, "assigned");
    const struct mtg_fed_assignment *a = s->sgda ? NULL : mtg_fed_edge_assignment(s->fed, e);
    for (int k = 0; a && pe->alive && a->round == mtg_fed_round(s->fed) && k < a->n_items; k++) {
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "task", srv_task_id(s, a->item[k].task));
        cJSON_AddNumberToObject(it, "steps", a->item[k].steps);
        cJSON_AddBoolToObject(it, "done", a->item[k].done);
        cJSON_AddItemToArray(asg, it);
    }
    cJSON_AddNumberToObject(o, "step_ms", de->step_ms);
    cJSON_AddNumberToObject(o, "last_update_s", de->last_update_ms ? (double)(now - de->last_update_ms) / 1000.0 : -1);
    cJSON_AddNumberToObject(o, "bytes_up", (double)de->bytes_up);
    cJSON_AddNumberToObject(o, "updates", (double)de->updates);
    return o;
}

/* GET /v1/edges: every registered edge, with what the scheduler and aggregation run on. */
int srv_h_edges(void *ctx, const struct mtg_http_req *req, struct mtg_http_resp *resp)
{
    struct mtg_srv *s = ctx;
    (void)req;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return MTG_ENOMEM;
    const struct mtg_cfg *c = s->cfg;
    int async = c->aggregation.mode == MTG_CFG_AGG_ASYNC || c->scheduler.server.policy == MTG_CFG_SPOL_ASYNC;
    cJSON_AddStringToObject(o, "protocol", s->sgda ? "sgda" : "mtgan");
    cJSON_AddStringToObject(o, "aggregation", s->sgda ? "lock-step" : async ? "async" : "sync");
    cJSON_AddNumberToObject(o, "staleness_bound", c->scheduler.server.staleness_bound);
    cJSON_AddNumberToObject(o, "edge_expiry_ms", c->limits.edge_expiry_ms);
    cJSON *arr = cJSON_AddArrayToObject(o, "edges");
    int64_t now = mtg_srv_now_ms();
    pthread_mutex_lock(&s->mu);
    cJSON_AddNumberToObject(o, "round", (double)(s->sgda ? mtg_sgda_step(s->sgda_state) : mtg_fed_round(s->fed)));
    int n = n_edges(s);
    for (int e = 0; e < n && e < MTG_SCHED_MAX_EDGES; e++)
        cJSON_AddItemToArray(arr, edge_json(s, e, now));
    pthread_mutex_unlock(&s->mu);
    return mtg_http_resp_json(resp, 200, o);
}
