/*
 * edge_sgda.c - the edge side of the sgda baseline: fetch this edge's fake
 * rows of the current step, take one D step on real + fake, return
 * dL_G/dfake. Same D network, batch, compute emulation and link emulation
 * as protocol mtgan.
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

static int send_feedback(struct mtg_edge *e, struct edge_task *t, const char *step, const struct mtg_gan_stats *st,
                         double compute_s, struct mtg_err *err)
{
    enum mtg_dtype dtype;
    unsigned flags;
    edge_wire_choice(e, &dtype, &flags);
    struct mtg_blob *b = mtg_blob_new(err);
    uint32_t dims[2] = {(uint32_t)e->batch, (uint32_t)e->dim};
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = b ? mtg_blob_add_ref(b, "dfake", 2, dims, e->dfake, dtype, err) : MTG_ENOMEM;
    if (rc == MTG_OK)
        rc = mtg_blob_encode(b, flags, &bytes, &len, err);
    mtg_blob_free(b);
    if (rc != MTG_OK)
        return rc;
    char path[320];
    snprintf(path, sizeof path, "/v1/edges/%s/feedback/%s?step=%s&loss_d=%.5f&loss_g=%.5f&compute_s=%.6f", e->id,
             t->id, step, (double)st->d_loss, (double)st->g_loss, compute_s);
    struct mtg_client_resp r;
    rc = mtg_client_request(e->client, "POST", path, bytes, len, "application/x-mtgan-blob", NULL, &r, err);
    mtg_client_resp_deinit(&r);
    free(bytes);
    return rc;
}

static int is_done(const struct mtg_client_resp *r)
{
    if (strncmp(r->content_type, "application/json", 16) != 0)
        return 0;
    cJSON *o = cJSON_ParseWithLength((const char *)r->body, r->len);
    int done = o && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "done"));
    cJSON_Delete(o);
    return done;
}

int edge_run_sgda(struct mtg_edge *e, struct mtg_err *err)
{
    char path[192];
    snprintf(path, sizeof path, "/v1/edges/%s/fakes?wait_ms=10000", e->id);
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
        const char *task = mtg_client_resp_header(&r, "X-Mtgan-Task");
        const char *step = mtg_client_resp_header(&r, "X-Mtgan-Step");
        struct edge_task *t = task ? edge_find_task(e, task) : NULL;
        struct mtg_blob *b = NULL;
        rc = t && step ? mtg_blob_decode(r.body, r.len, NULL, &b, err)
                       : mtg_err_set(err, MTG_EFORMAT, "fake batch without a known task or step");
        const struct mtg_blob_tensor *fake = b ? mtg_blob_find(b, "fake") : NULL;
        if (rc == MTG_OK && (!fake || fake->n != (size_t)e->batch * (size_t)e->dim))
            rc = mtg_err_set(err, MTG_EFORMAT, "fake batch has the wrong shape");
        if (rc == MTG_OK) {
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
            char step_copy[32];
            snprintf(step_copy, sizeof step_copy, "%s", step);
            mtg_blob_free(b);
            b = NULL;
            mtg_client_resp_deinit(&r);
            rc = send_feedback(e, t, step_copy, &st, c * (e->speed > 1 ? e->speed : 1), err);
            if (rc == MTG_ENOTFOUND)
                return rc;
            if (rc != MTG_OK && rc != MTG_ESTOPPED)
                mtg_log(MTG_LOG_WARN, "edge", "%s: feedback: %s", e->id, err->msg);
            continue;
        }
        mtg_log(MTG_LOG_WARN, "edge", "%s: %s", e->id, err->msg);
        mtg_blob_free(b);
        mtg_client_resp_deinit(&r);
    }
    return MTG_ESTOPPED;
}
