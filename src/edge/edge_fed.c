/*
 * edge_fed.c - the edge side of protocol mtgan: assignment -> pull stale
 * models -> local steps -> push deltas. Tasks are ordered by the edge
 * policy: round-robin rotates the starting task every round; loss-weighted
 * trains the task whose generator loss is highest first. With
 * scheduler.edge.overlap, transfers run on the uploader thread (uploader.h)
 * while the next task trains.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/status.h"
#include "data/batch.h"
#include "edge/edge_internal.h"
#include "edge/uploader.h"
#include "wire/blob.h"

#define MAX_ITEMS 32

struct item {
    struct edge_task *t;
    int steps;
    uint64_t version;
};

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void edge_wire_choice(const struct mtg_edge *e, enum mtg_dtype *dtype, unsigned *flags)
{
    int f16, zlib;
    mtg_cfg_codec(e->cfg, &f16, &zlib);
    *dtype = f16 ? MTG_DTYPE_F16 : MTG_DTYPE_F32;
    *flags = zlib ? MTG_BLOB_ZLIB : 0;
}

static void restore_start(struct edge_task *t)
{
    struct mtg_net *g = mtg_gan_generator(t->gan), *d = mtg_gan_discriminator(t->gan);
    memcpy(mtg_net_params(g), t->start_g, mtg_net_param_count(g) * sizeof(float));
    memcpy(mtg_net_params(d), t->start_d, mtg_net_param_count(d) * sizeof(float));
}

/* The GET (and If-None-Match header, "" = none) that fetches t's globals unless cached. */
static void pull_request(const struct mtg_edge *e, const struct edge_task *t, char *path, size_t np, char *inm,
                         size_t ni)
{
    enum mtg_dtype dtype;
    unsigned flags;
    edge_wire_choice(e, &dtype, &flags);
    snprintf(path, np, "/v1/tasks/%s/models/gan?dtype=%s&zlib=%d", t->id, dtype == MTG_DTYPE_F16 ? "f16" : "f32",
             flags ? 1 : 0);
    inm[0] = '\0';
    if (t->have != UINT64_MAX)
        snprintf(inm, ni, "If-None-Match: \"gan-v%llu\"", (unsigned long long)t->have);
}

/*
 * Installs the reply to pull_request (rc and r as the client returned them;
 * r is released here) as t's start point and local G/D. t must be resident.
 */
static int pull_apply(struct edge_task *t, uint64_t version, int rc, struct mtg_client_resp *r, struct mtg_err *err)
{
    if (rc == MTG_OK && r->status == 304) {
        /* A 304 is only asked for when start_* hold that version (pull_request sends no header otherwise). */
        if (t->have == UINT64_MAX)
            rc = mtg_err_set(err, MTG_EFORMAT, "task %s: 304 for a model this edge does not hold", t->id);
        else
            restore_start(t);
        mtg_client_resp_deinit(r);
        return rc;
    }
    struct mtg_blob *b = NULL;
    if (rc == MTG_OK)
        rc = mtg_blob_decode(r->body, r->len, NULL, &b, err);
    if (rc == MTG_OK) {
        struct mtg_net *g = mtg_gan_generator(t->gan), *d = mtg_gan_discriminator(t->gan);
        const struct mtg_blob_tensor *tg = mtg_blob_find(b, "g"), *td = mtg_blob_find(b, "d");
        if (!tg || !td || tg->n != mtg_net_param_count(g) || td->n != mtg_net_param_count(d)) {
            rc = mtg_err_set(err, MTG_EFORMAT, "task %s: server model does not match the local network", t->id);
        } else {
            memcpy(t->start_g, tg->data, tg->n * sizeof(float));
            memcpy(t->start_d, td->data, td->n * sizeof(float));
            restore_start(t);
            unsigned long long v = 0;
            t->have = sscanf(r->etag, "\"gan-v%llu\"", &v) == 1 ? (uint64_t)v : version;
        }
    }
    mtg_blob_free(b);
    mtg_client_resp_deinit(r);
    return rc;
}

/* Brings the local G/D to the server's current globals, downloading only when stale. */
static int pull(struct mtg_edge *e, struct edge_task *t, uint64_t version, struct mtg_err *err)
{
    int rc = edge_task_make_resident(e, t, err);
    if (rc != MTG_OK)
        return rc;
    if (t->have == version) {
        restore_start(t);
        return MTG_OK;
    }
    char path[256], inm[96];
    pull_request(e, t, path, sizeof path, inm, sizeof inm);
    const char *hdrs[] = {inm, NULL};
    struct mtg_client_resp r;
    rc = mtg_client_request(e->client, "GET", path, NULL, 0, NULL, inm[0] ? hdrs : NULL, &r, err);
    return pull_apply(t, version, rc, &r, err);
}

static void train(struct mtg_edge *e, struct edge_task *t, int steps, uint64_t round, double *compute_s)
{
    struct mtg_gan_stats st = {0};
    edge_reseed(e, t, round);
    double c0 = edge_thread_cpu_s();
    for (int s = 0; s < steps && !atomic_load(e->stop); s++) {
        double a = edge_thread_cpu_s();
        mtg_data_batch(t->pool, t->pool_n, e->dim, e->batch, &e->rng, e->real);
        if (e->fedd) /* Ren et al. 2021: a local D step on real data and fakes of the round's G */
            mtg_gan_d_feedback(t->gan, e->real, mtg_gan_g_forward(t->gan, e->batch), NULL, &st);
        else
            mtg_gan_step(t->gan, e->real, &st);
        edge_emulate(e, edge_thread_cpu_s() - a);
    }
    double c = edge_thread_cpu_s() - c0;
    /*
     * The scheduler plans with the emulated device's time, which is what a slow
     * edge really costs; deterministic mode reports the declared cost instead
     * (steps x speed factor), so the plan never depends on machine load.
     */
    *compute_s = e->det ? steps * 1e-3 * (e->speed > 1.0 ? e->speed : 1.0) : c * (e->speed > 1.0 ? e->speed : 1.0);
    e->st.compute_s += c;
    e->st.steps += (uint64_t)steps;
    t->last_loss_d = st.d_loss;
    t->last_loss_g = st.g_loss;
}

/* Encodes t's delta from its start point into *bytes (malloc'd, owned by the caller) and the update's path. */
static int encode_update(struct mtg_edge *e, struct edge_task *t, uint64_t round, int steps, double compute_s,
                         double transfer_s, char *path, size_t np, uint8_t **bytes, size_t *len, struct mtg_err *err)
{
    struct mtg_net *g = mtg_gan_generator(t->gan), *d = mtg_gan_discriminator(t->gan);
    size_t ng = mtg_net_param_count(g), nd = mtg_net_param_count(d);
    const float *pg = mtg_net_params(g), *pd = mtg_net_params(d);
    for (size_t i = 0; i < ng; i++)
        t->delta_g[i] = pg[i] - t->start_g[i];
    for (size_t i = 0; i < nd; i++)
        t->delta_d[i] = pd[i] - t->start_d[i];
    enum mtg_dtype dtype;
    unsigned flags;
    edge_wire_choice(e, &dtype, &flags);
    struct mtg_blob *b = mtg_blob_new(err);
    uint32_t dg = (uint32_t)ng, dd = (uint32_t)nd;
    *bytes = NULL;
    *len = 0;
    int rc = !b ? MTG_ENOMEM : e->fedd ? MTG_OK : mtg_blob_add_ref(b, "g", 1, &dg, t->delta_g, dtype, err);
    if (rc == MTG_OK)
        rc = mtg_blob_add_ref(b, "d", 1, &dd, t->delta_d, dtype, err);
    if (rc == MTG_OK)
        rc = mtg_blob_encode(b, flags, bytes, len, err);
    mtg_blob_free(b);
    snprintf(path, np,
             "/v1/edges/%s/updates/%s?round=%llu&steps=%d&compute_s=%.6f&transfer_s=%.6f&loss_d=%.5f&loss_g=%.5f",
             e->id, t->id, (unsigned long long)round, steps, compute_s, transfer_s, (double)t->last_loss_d,
             (double)t->last_loss_g);
    return rc;
}

static int by_loss_desc(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    return (x->t->last_loss_g < y->t->last_loss_g) - (x->t->last_loss_g > y->t->last_loss_g);
}

/* Parses an assignment reply into items; returns 1 when the server says training is done. */
static int parse_assignment(struct mtg_edge *e, const struct mtg_client_resp *r, struct item *items, int *n,
                            uint64_t *round)
{
    *n = 0;
    cJSON *o = cJSON_ParseWithLength((const char *)r->body, r->len);
    if (!o)
        return 0;
    int done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "done"));
    *round = (uint64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "round"));
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "items");
    for (cJSON *it = cJSON_IsArray(arr) ? arr->child : NULL; it && *n < MAX_ITEMS; it = it->next) {
        cJSON *task = cJSON_GetObjectItemCaseSensitive(it, "task");
        double steps = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "steps"));
        double version = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "version"));
        struct edge_task *t = cJSON_IsString(task) ? edge_find_task(e, task->valuestring) : NULL;
        if (!t || !(steps >= 1 && steps <= 1e7) || !(version >= 0))
            continue;
        items[*n] = (struct item){t, (int)steps, (uint64_t)version};
        (*n)++;
    }
    cJSON_Delete(o);
    return done;
}

/* Queues the download of it->t's model on the uploader when it is stale; returns the job id or -1. */
static int prefetch(struct mtg_edge *e, struct edge_xfer *x, const struct item *it)
{
    if (it->t->gan && it->t->have == it->version)
        return -1; /* cached: pull() restores it without the network */
    char path[256], inm[96], tag[96];
    pull_request(e, it->t, path, sizeof path, inm, sizeof inm);
    snprintf(tag, sizeof tag, "pull %s", it->t->id);
    int id = edge_xfer_submit(x, "GET", path, inm[0] ? inm : NULL, NULL, 0, tag);
    return id >= 0 ? id : -1;
}

/* Collects push job id: the outcome the synchronous push would have returned. */
static int collect_push(struct mtg_edge *e, struct edge_xfer *x, int id, const char *task)
{
    struct edge_xfer_result res;
    edge_xfer_wait(x, id, &res);
    e->up_blocked_s += res.blocked_s;
    mtg_client_resp_deinit(&res.resp);
    if (res.rc != MTG_OK && res.rc != MTG_ESTOPPED && res.rc != MTG_ENOTFOUND)
        mtg_log(MTG_LOG_WARN, "edge", "%s: push %s: %s", e->id, task, res.err.msg);
    return res.rc;
}

/*
 * Trains one assignment's items in order. Without an uploader every
 * transfer runs inline. With one (scheduler.edge.overlap), item i+1's model
 * is prefetched while item i trains and item i's delta is pushed while
 * item i+1 trains; all of them are collected before returning, so the
 * next assignment is asked for only once the server has every update of
 * this one, exactly as without overlap. Returns MTG_ENOTFOUND when the
 * server no longer knows this edge, else MTG_OK.
 */
static int run_items(struct mtg_edge *e, struct edge_xfer *x, struct item *items, int n, uint64_t round,
                     struct mtg_err *err)
{
    int pre = -1; /* uploader job fetching items[i]'s model, -1 = none */
    int push[MAX_ITEMS], push_item[MAX_ITEMS], n_push = 0;
    int lost = 0; /* the server answered 404 for this edge */
    for (int i = 0; i < n && !lost && !atomic_load(e->stop); i++) {
        struct edge_task *t = items[i].t;
        double w0 = wall_s();
        int rc;
        if (pre >= 0) {
            struct edge_xfer_result res;
            edge_xfer_wait(x, pre, &res);
            e->up_blocked_s += res.blocked_s;
            pre = -1;
            if (res.rc != MTG_OK)
                *err = res.err;
            rc = edge_task_make_resident(e, t, err);
            if (rc == MTG_OK)
                rc = pull_apply(t, items[i].version, res.rc, &res.resp, err);
            else
                mtg_client_resp_deinit(&res.resp);
        } else {
            rc = pull(e, t, items[i].version, err);
        }
        /* What this task's model cost the training thread: hidden prefetch time is not a cost. */
        double pulled = wall_s() - w0;
        if (rc == MTG_ENOTFOUND) {
            lost = 1;
            break;
        }
        if (rc != MTG_OK) {
            mtg_log(MTG_LOG_WARN, "edge", "%s: pull %s: %s", e->id, t->id, err->msg);
            continue;
        }
        if (x && i + 1 < n)
            pre = prefetch(e, x, &items[i + 1]);
        double compute_s;
        mtg_log(MTG_LOG_DEBUG, "edge", "%s: train %s begin", e->id, t->id);
        train(e, t, items[i].steps, round, &compute_s);
        mtg_log(MTG_LOG_DEBUG, "edge", "%s: train %s end", e->id, t->id);
        if (atomic_load(e->stop))
            break; /* abandon the step: an unfinished update is worth nothing to the round */
        char path[384], tag[96];
        uint8_t *bytes;
        size_t len;
        rc = encode_update(e, t, round, items[i].steps, compute_s, e->det ? 0.0 : pulled, path, sizeof path, &bytes,
                           &len, err);
        if (rc != MTG_OK) {
            free(bytes);
            mtg_log(MTG_LOG_WARN, "edge", "%s: push %s: %s", e->id, t->id, err->msg);
            continue;
        }
        snprintf(tag, sizeof tag, "push %s round %llu", t->id, (unsigned long long)round);
        int id = x ? edge_xfer_submit(x, "POST", path, NULL, bytes, len, tag) : -1;
        if (id >= 0) {
            push[n_push] = id;
            push_item[n_push++] = i;
            continue;
        }
        /* Inline: overlap off, or (never with MAX_ITEMS items) the uploader's queue is full. */
        struct mtg_client_resp r;
        mtg_log(MTG_LOG_DEBUG, "edge", "%s: %s begin", e->id, tag);
        rc = mtg_client_request(e->client, "POST", path, bytes, len, "application/x-mtgan-blob", NULL, &r, err);
        mtg_log(MTG_LOG_DEBUG, "edge", "%s: %s end (rc %d)", e->id, tag, rc);
        mtg_client_resp_deinit(&r);
        free(bytes);
        if (rc == MTG_ENOTFOUND)
            lost = 1;
        else if (rc != MTG_OK && rc != MTG_ESTOPPED)
            mtg_log(MTG_LOG_WARN, "edge", "%s: push %s: %s", e->id, t->id, err->msg);
    }
    if (pre >= 0) {
        struct edge_xfer_result res;
        edge_xfer_wait(x, pre, &res);
        e->up_blocked_s += res.blocked_s;
        mtg_client_resp_deinit(&res.resp);
    }
    for (int k = 0; k < n_push; k++)
        lost |= collect_push(e, x, push[k], items[push_item[k]].t->id) == MTG_ENOTFOUND;
    return lost ? MTG_ENOTFOUND : MTG_OK;
}

static int fed_loop(struct mtg_edge *e, struct edge_xfer *x, struct mtg_err *err)
{
    char path[192];
    snprintf(path, sizeof path, "/v1/edges/%s/assignment?wait_ms=10000", e->id);
    struct item items[MAX_ITEMS];
    while (!atomic_load(e->stop)) {
        /* A candidate an operator accepted: register again with its task (ENOTFOUND re-registers). */
        if (e->cand_task[0] && edge_adopt_candidate(e, err) > 0)
            return MTG_ENOTFOUND;
        struct mtg_client_resp r;
        int rc = mtg_client_request(e->client, "GET", path, NULL, 0, NULL, NULL, &r, err);
        if (rc == MTG_ENOTFOUND || rc == MTG_ESTOPPED) {
            mtg_client_resp_deinit(&r);
            return rc;
        }
        if (rc != MTG_OK) {
            mtg_log(MTG_LOG_WARN, "edge", "%s: assignment: %s", e->id, err->msg);
            mtg_client_resp_deinit(&r);
            struct timespec ts = {0, 500000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        int n;
        uint64_t round;
        int done = parse_assignment(e, &r, items, &n, &round);
        mtg_client_resp_deinit(&r);
        if (done) {
            mtg_log(MTG_LOG_INFO, "edge", "%s: server reports training complete", e->id);
            return MTG_OK;
        }
        if (n == 0)
            continue;
        if (e->cfg->scheduler.edge.policy == MTG_CFG_EPOL_LOSS_WEIGHTED) {
            qsort(items, (size_t)n, sizeof items[0], by_loss_desc);
        } else {
            int k = (int)(round % (uint64_t)n); /* round-robin: rotate which task goes first */
            struct item tmp[MAX_ITEMS];
            for (int i = 0; i < n; i++)
                tmp[i] = items[(i + k) % n];
            memcpy(items, tmp, (size_t)n * sizeof items[0]);
        }
        e->st.rounds++;
        if (run_items(e, x, items, n, round, err) == MTG_ENOTFOUND)
            return MTG_ENOTFOUND;
    }
    return MTG_ESTOPPED;
}

int edge_run_fed(struct mtg_edge *e, struct mtg_err *err)
{
    struct edge_xfer *x = NULL;
    if (e->up_client && e->cfg->scheduler.edge.overlap) {
        int rc = edge_xfer_new(e->up_client, e->id, &x, err);
        if (rc != MTG_OK)
            return rc;
    }
    int rc = fed_loop(e, x, err);
    edge_xfer_free(x); /* every job was collected by run_items: this only joins the thread */
    return rc;
}
