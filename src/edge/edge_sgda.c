/*
 * edge_sgda.c - the edge side of the sgda baseline: take this edge's fake
 * rows of an open step, take one D step on real + fake, return
 * dL_G/dfake. Same D network, batch, compute emulation and link emulation
 * as protocol mtgan.
 *
 * Lock-step (scheduler.sgda.pipeline off): one loop, one connection,
 * GET fakes -> D step -> POST feedback. Pipelined: one lane (thread and
 * connection) per task, so every task's step is on the wire at once; the
 * feedback POST long-polls for the task's next rows, so a step costs one
 * round trip. The lanes share one compute lock: the edge still trains one
 * batch at a time, on one core, like an mtgan edge (whose second
 * connection only transfers), and a slow device stays slow.
 */
#include <cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/status.h"
#include "data/batch.h"
#include "edge/edge_internal.h"
#include "wire/blob.h"

#define WAIT_MS 10000

static int is_done(const struct mtg_client_resp *r)
{
    if (strncmp(r->content_type, "application/json", 16) != 0)
        return 0;
    cJSON *o = cJSON_ParseWithLength((const char *)r->body, r->len);
    int done = o && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "done"));
    cJSON_Delete(o);
    return done;
}

static int is_blob(const struct mtg_client_resp *r)
{
    return strncmp(r->content_type, "application/x-mtgan-blob", 24) == 0;
}

/*
 * Judges the fake batch in r (a blob with X-Mtgan-Task/-Step headers): one D
 * step, under the compute lock when there are lanes. On MTG_OK, *body (len)
 * is the encoded feedback (the caller frees it) and path the URL to POST it
 * to, without the wait. `only` (may be NULL) is the task the batch must be for.
 */
static int judge(struct mtg_edge *e, const struct mtg_client_resp *r, const struct edge_task *only, uint8_t **body,
                 size_t *len, char *path, size_t path_n, struct mtg_err *err)
{
    const char *task = mtg_client_resp_header(r, "X-Mtgan-Task");
    const char *step = mtg_client_resp_header(r, "X-Mtgan-Step");
    struct edge_task *t = task ? edge_find_task(e, task) : NULL;
    struct mtg_blob *b = NULL;
    int rc = t && step && (!only || t == only) ? mtg_blob_decode(r->body, r->len, NULL, &b, err)
                                               : mtg_err_set(err, MTG_EFORMAT, "fake batch without a known task or step");
    const struct mtg_blob_tensor *fake = b ? mtg_blob_find(b, "fake") : NULL;
    if (rc == MTG_OK && (!fake || fake->n != (size_t)e->batch * (size_t)e->dim))
        rc = mtg_err_set(err, MTG_EFORMAT, "fake batch has the wrong shape");
    if (rc != MTG_OK) {
        mtg_blob_free(b);
        return rc;
    }
    if (e->lanes)
        pthread_mutex_lock(&e->compute_mu);
    struct mtg_gan_stats st;
    double c0 = edge_thread_cpu_s();
    edge_reseed(e, t, strtoull(step, NULL, 10));
    mtg_data_batch(t->pool, t->pool_n, e->dim, e->batch, &e->rng, e->real);
    mtg_gan_d_feedback(t->gan, e->real, fake->data, e->dfake, &st);
    double c = edge_thread_cpu_s() - c0;
    edge_emulate(e, c);
    e->st.compute_s += c;
    e->st.steps++;
    e->st.rounds++;
    enum mtg_dtype dtype;
    unsigned flags;
    edge_wire_choice(e, &dtype, &flags);
    struct mtg_blob *out = mtg_blob_new(err);
    uint32_t dims[2] = {(uint32_t)e->batch, (uint32_t)e->dim};
    rc = out ? mtg_blob_add(out, "dfake", 2, dims, e->dfake, dtype, err) : MTG_ENOMEM;
    if (rc == MTG_OK)
        rc = mtg_blob_encode(out, flags, body, len, err);
    if (e->lanes)
        pthread_mutex_unlock(&e->compute_mu);
    mtg_blob_free(out);
    snprintf(path, path_n, "/v1/edges/%s/feedback/%s?step=%s&loss_d=%.5f&loss_g=%.5f&compute_s=%.6f", e->id, t->id,
             step, (double)st.d_loss, (double)st.g_loss, c * (e->speed > 1 ? e->speed : 1));
    mtg_blob_free(b);
    return rc;
}

static int run_lockstep(struct mtg_edge *e, struct mtg_err *err)
{
    char path[192];
    snprintf(path, sizeof path, "/v1/edges/%s/fakes?wait_ms=%d", e->id, WAIT_MS);
    while (!atomic_load(e->stop)) {
        struct mtg_client_resp r;
        int rc = mtg_client_request(e->client, "GET", path, NULL, 0, NULL, NULL, &r, err);
        if (rc == MTG_ENOTFOUND || rc == MTG_ESTOPPED) {
            mtg_client_resp_deinit(&r);
            return rc;
        }
        if (rc != MTG_OK || r.status == 204) {
            if (rc != MTG_OK)
                mtg_log(MTG_LOG_WARN, "edge", "%s: fakes: %s", e->id, err->msg);
            mtg_client_resp_deinit(&r);
            continue;
        }
        if (is_done(&r)) {
            mtg_client_resp_deinit(&r);
            mtg_log(MTG_LOG_INFO, "edge", "%s: server reports training complete", e->id);
            return MTG_OK;
        }
        uint8_t *body = NULL;
        size_t len = 0;
        char fpath[320];
        rc = judge(e, &r, NULL, &body, &len, fpath, sizeof fpath, err);
        mtg_client_resp_deinit(&r);
        if (rc == MTG_OK)
            rc = mtg_client_request(e->client, "POST", fpath, body, len, "application/x-mtgan-blob", NULL, &r, err);
        mtg_client_resp_deinit(&r);
        free(body);
        if (rc == MTG_ENOTFOUND)
            return rc;
        if (rc != MTG_OK && rc != MTG_ESTOPPED)
            mtg_log(MTG_LOG_WARN, "edge", "%s: %s", e->id, err->msg);
    }
    return MTG_ESTOPPED;
}

struct lane {
    struct mtg_edge *e;
    struct edge_task *t;
    struct mtg_client *c;
    pthread_t th;
    int rc;
    struct mtg_err err;
};

/* One task's steps, one after another: GET its first rows, then each feedback reply carries the next. */
static void *lane_main(void *arg)
{
    struct lane *l = arg;
    struct mtg_edge *e = l->e;
    char get_path[256];
    snprintf(get_path, sizeof get_path, "/v1/edges/%s/fakes/%s?wait_ms=%d", e->id, l->t->id, WAIT_MS);
    struct mtg_client_resp r = {0};
    int have = 0, rc = MTG_ESTOPPED;
    while (!atomic_load(e->stop)) {
        if (!have) {
            rc = mtg_client_request(l->c, "GET", get_path, NULL, 0, NULL, NULL, &r, &l->err);
            if (rc == MTG_ENOTFOUND || rc == MTG_ESTOPPED)
                break;
            if (rc != MTG_OK || r.status == 204) {
                if (rc != MTG_OK)
                    mtg_log(MTG_LOG_WARN, "edge", "%s: fakes %s: %s", e->id, l->t->id, l->err.msg);
                mtg_client_resp_deinit(&r);
                continue;
            }
        }
        have = 0;
        if (is_done(&r)) {
            rc = MTG_OK;
            break;
        }
        if (!is_blob(&r)) { /* a feedback reply without the next rows: ask for them */
            mtg_client_resp_deinit(&r);
            continue;
        }
        uint8_t *body = NULL;
        size_t len = 0;
        char path[352];
        rc = judge(e, &r, l->t, &body, &len, path, sizeof path - 32, &l->err);
        mtg_client_resp_deinit(&r);
        if (rc == MTG_OK) {
            size_t n = strlen(path);
            snprintf(path + n, sizeof path - n, "&wait_ms=%d", WAIT_MS);
            rc = mtg_client_request(l->c, "POST", path, body, len, "application/x-mtgan-blob", NULL, &r, &l->err);
        }
        free(body);
        if (rc == MTG_ENOTFOUND || rc == MTG_ESTOPPED)
            break;
        if (rc == MTG_OK) {
            have = 1;
            continue;
        }
        mtg_log(MTG_LOG_WARN, "edge", "%s: %s", e->id, l->err.msg);
        mtg_client_resp_deinit(&r);
    }
    mtg_client_resp_deinit(&r);
    l->rc = rc;
    return NULL;
}

static int run_pipelined(struct mtg_edge *e, struct mtg_err *err)
{
    struct lane lanes[EDGE_MAX_TASKS];
    int n = 0, rc = MTG_OK;
    if (pthread_mutex_init(&e->compute_mu, NULL) != 0)
        return mtg_err_set(err, MTG_ENOMEM, "edge: cannot create the compute lock");
    e->lanes = 1;
    for (int i = 0; i < e->n_tasks && rc == MTG_OK; i++) {
        /* Lane clients outlive the run: their byte and link counters are the edge's stats. */
        if (!e->lane_client[i]) {
            struct mtg_client_opts co = e->client_opts;
            co.seed ^= 0xbf58476d1ce4e5b9ULL * (uint64_t)(i + 1);
            co.stop = e->stop;
            rc = mtg_client_new(&co, &e->lane_client[i], err);
            if (rc != MTG_OK)
                break;
            e->n_lane_clients = i + 1;
        }
        lanes[n] = (struct lane){.e = e, .t = &e->task[i], .c = e->lane_client[i]};
        if (pthread_create(&lanes[n].th, NULL, lane_main, &lanes[n]) != 0) {
            rc = mtg_err_set(err, MTG_ENOMEM, "edge: cannot start a lane thread");
            break;
        }
        n++;
    }
    if (rc != MTG_OK)
        mtg_log(MTG_LOG_ERROR, "edge", "%s: %s", e->id, err->msg);
    int lost = 0, done = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(lanes[i].th, NULL);
        lost |= lanes[i].rc == MTG_ENOTFOUND;
        done += lanes[i].rc == MTG_OK;
        if (lanes[i].rc == MTG_ENOTFOUND)
            *err = lanes[i].err;
    }
    e->lanes = 0;
    pthread_mutex_destroy(&e->compute_mu);
    if (rc != MTG_OK)
        return rc;
    if (lost)
        return MTG_ENOTFOUND; /* the server lost us: register again */
    if (done == n) {
        mtg_log(MTG_LOG_INFO, "edge", "%s: server reports training complete", e->id);
        return MTG_OK;
    }
    return MTG_ESTOPPED;
}

int edge_run_sgda(struct mtg_edge *e, struct mtg_err *err)
{
    return e->pipeline && e->n_tasks > 0 ? run_pipelined(e, err) : run_lockstep(e, err);
}
