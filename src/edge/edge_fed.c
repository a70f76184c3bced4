/*
 * edge_fed.c - the edge side of protocol mtgan: assignment -> pull stale
 * models -> local steps -> push deltas. Tasks are ordered by the edge
 * policy: round-robin rotates the starting task every round; loss-weighted
 * trains the task whose generator loss is highest first.
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
    struct mtg_mlp *g = mtg_gan_generator(t->gan), *d = mtg_gan_discriminator(t->gan);
    memcpy(mtg_mlp_params(g), t->start_g, mtg_mlp_param_count(g) * sizeof(float));
    memcpy(mtg_mlp_params(d), t->start_d, mtg_mlp_param_count(d) * sizeof(float));
}

/* Brings the local G/D to the server's current globals, downloading only when stale. */
static int pull(struct mtg_edge *e, struct edge_task *t, uint64_t version, struct mtg_err *err)
{
    if (t->have == version) {
        restore_start(t);
        return MTG_OK;
    }
    enum mtg_dtype dtype;
    unsigned flags;
    edge_wire_choice(e, &dtype, &flags);
    char path[256], inm[96];
    snprintf(path, sizeof path, "/v1/tasks/%s/models/gan?dtype=%s&zlib=%d", t->id,
             dtype == MTG_DTYPE_F16 ? "f16" : "f32", flags ? 1 : 0);
    snprintf(inm, sizeof inm, "If-None-Match: \"gan-v%llu\"", (unsigned long long)t->have);
    const char *hdrs[] = {inm, NULL};
    struct mtg_client_resp r;
    int rc = mtg_client_request(e->client, "GET", path, NULL, 0, NULL, t->have == UINT64_MAX ? NULL : hdrs, &r, err);
    if (rc == MTG_OK && r.status == 304) {
        restore_start(t);
        mtg_client_resp_deinit(&r);
        return MTG_OK;
    }
    struct mtg_blob *b = NULL;
    if (rc == MTG_OK)
        rc = mtg_blob_decode(r.body, r.len, NULL, &b, err);
    if (rc == MTG_OK) {
        struct mtg_mlp *g = mtg_gan_generator(t->gan), *d = mtg_gan_discriminator(t->gan);
        const struct mtg_blob_tensor *tg = mtg_blob_find(b, "g"), *td = mtg_blob_find(b, "d");
        if (!tg || !td || tg->n != mtg_mlp_param_count(g) || td->n != mtg_mlp_param_count(d)) {
            rc = mtg_err_set(err, MTG_EFORMAT, "task %s: server model does not match the local network", t->id);
        } else {
            memcpy(t->start_g, tg->data, tg->n * sizeof(float));
            memcpy(t->start_d, td->data, td->n * sizeof(float));
            restore_start(t);
            unsigned long long v = 0;
            t->have = sscanf(r.etag, "\"gan-v%llu\"", &v) == 1 ? (uint64_t)v : version;
        }
    }
    mtg_blob_free(b);
    mtg_client_resp_deinit(&r);
    return rc;
}

static void train(struct mtg_edge *e, struct edge_task *t, int steps, double *compute_s)
{
    struct mtg_gan_stats st = {0};
    double c0 = edge_thread_cpu_s();
    for (int s = 0; s < steps && !atomic_load(e->stop); s++) {
        double a = edge_thread_cpu_s();
        mtg_data_batch(t->pool, t->pool_n, e->dim, e->batch, &e->rng, e->real);
        mtg_gan_step(t->gan, e->real, &st);
        edge_emulate(e, edge_thread_cpu_s() - a);
    }
    double c = edge_thread_cpu_s() - c0;
    /* The scheduler plans with the emulated device's time, which is what a slow edge really costs. */
    *compute_s = c * (e->speed > 1.0 ? e->speed : 1.0);
    e->st.compute_s += c;
    e->st.steps += (uint64_t)steps;
    t->last_loss_d = st.d_loss;
    t->last_loss_g = st.g_loss;
}

static int push(struct mtg_edge *e, struct edge_task *t, uint64_t round, int steps, double compute_s,
                double transfer_s, struct mtg_err *err)
{
    struct mtg_mlp *g = mtg_gan_generator(t->gan), *d = mtg_gan_discriminator(t->gan);
    size_t ng = mtg_mlp_param_count(g), nd = mtg_mlp_param_count(d);
    const float *pg = mtg_mlp_params(g), *pd = mtg_mlp_params(d);
    for (size_t i = 0; i < ng; i++)
        t->delta_g[i] = pg[i] - t->start_g[i];
    for (size_t i = 0; i < nd; i++)
        t->delta_d[i] = pd[i] - t->start_d[i];
    enum mtg_dtype dtype;
    unsigned flags;
    edge_wire_choice(e, &dtype, &flags);
    struct mtg_blob *b = mtg_blob_new(err);
    uint32_t dg = (uint32_t)ng, dd = (uint32_t)nd;
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = b ? mtg_blob_add_ref(b, "g", 1, &dg, t->delta_g, dtype, err) : MTG_ENOMEM;
    if (rc == MTG_OK)
        rc = mtg_blob_add_ref(b, "d", 1, &dd, t->delta_d, dtype, err);
    if (rc == MTG_OK)
        rc = mtg_blob_encode(b, flags, &bytes, &len, err);
    mtg_blob_free(b);
    if (rc != MTG_OK)
        return rc;
    char path[384];
    snprintf(path, sizeof path,
             "/v1/edges/%s/updates/%s?round=%llu&steps=%d&compute_s=%.6f&transfer_s=%.6f&loss_d=%.5f&loss_g=%.5f",
             e->id, t->id, (unsigned long long)round, steps, compute_s, transfer_s, (double)t->last_loss_d,
             (double)t->last_loss_g);
    struct mtg_client_resp r;
    rc = mtg_client_request(e->client, "POST", path, bytes, len, "application/x-mtgan-blob", NULL, &r, err);
    mtg_client_resp_deinit(&r);
    free(bytes);
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

int edge_run_fed(struct mtg_edge *e, struct mtg_err *err)
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
        for (int i = 0; i < n && !atomic_load(e->stop); i++) {
            double w0 = wall_s();
            rc = pull(e, items[i].t, items[i].version, err);
            double pulled = wall_s() - w0;
            if (rc == MTG_ENOTFOUND)
                return rc;
            if (rc != MTG_OK) {
                mtg_log(MTG_LOG_WARN, "edge", "%s: pull %s: %s", e->id, items[i].t->id, err->msg);
                continue;
            }
            double compute_s;
            train(e, items[i].t, items[i].steps, &compute_s);
            if (atomic_load(e->stop))
                break; /* abandon the step: an unfinished update is worth nothing to the round */
            double w1 = wall_s();
            rc = push(e, items[i].t, round, items[i].steps, compute_s, pulled, err);
            if (rc == MTG_ENOTFOUND)
                return rc;
            if (rc != MTG_OK && rc != MTG_ESTOPPED)
                mtg_log(MTG_LOG_WARN, "edge", "%s: push %s: %s", e->id, items[i].t->id, err->msg);
            (void)w1;
        }
    }
    return MTG_ESTOPPED;
}
