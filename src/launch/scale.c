/*
 * scale.c - scale mode of the bench: n simulated edges, driven
 * sequentially from one thread over real HTTP against a real server
 * process, each holding one task. mtgan edges push zero deltas (the server
 * still decodes, validates and folds every one); sgda edges return zero
 * feedback for their fake rows. Shows how server memory and round time
 * grow with the number of edges.
 */
#include "core/status.h"
#include "edge/client.h"
#include "launch/bench.h"
#include "launch/launch.h"
#include "wire/blob.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int post_json(struct mtg_client *c, const char *path, const char *body, struct mtg_err *err)
{
    struct mtg_client_resp r;
    int rc = mtg_client_request(c, "POST", path, body, strlen(body), "application/json", NULL, &r, err);
    mtg_client_resp_deinit(&r);
    return rc;
}

/* Zero-filled blob with the given rank-1 (g, d) or rank-2 (dfake) tensors, f16 + zlib like the real edges. */
static int zero_blob(const char *n1, size_t len1, const char *n2, size_t len2, uint8_t **out, size_t *out_len,
                     struct mtg_err *err)
{
    struct mtg_blob *b = mtg_blob_new(err);
    float *z = calloc(len1 > len2 ? len1 : len2, sizeof(float));
    int rc = b && z ? MTG_OK : MTG_ENOMEM;
    uint32_t d1 = (uint32_t)len1, d2 = (uint32_t)len2;
    if (rc == MTG_OK)
        rc = mtg_blob_add(b, n1, 1, &d1, z, MTG_DTYPE_F16, err);
    if (rc == MTG_OK && n2)
        rc = mtg_blob_add(b, n2, 1, &d2, z, MTG_DTYPE_F16, err);
    if (rc == MTG_OK)
        rc = mtg_blob_encode(b, MTG_BLOB_ZLIB, out, out_len, err);
    mtg_blob_free(b);
    free(z);
    return rc;
}

static double status_round(struct mtg_client *c, size_t *model_bytes)
{
    double round = -1;
    cJSON *o = mtg_client_get_json(c, "/v1/status", NULL, NULL);
    if (o) {
        round = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "round"));
        *model_bytes = (size_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "model_bytes"));
        cJSON_Delete(o);
    }
    return round;
}

static int drive_mtgan(struct mtg_client *c, int n, int rounds, size_t ng, size_t nd, struct mtg_err *err)
{
    uint8_t *delta = NULL;
    size_t dlen = 0;
    int rc = zero_blob("g", ng, "d", nd, &delta, &dlen, err);
    for (int r = 0; rc == MTG_OK && r < rounds; r++) {
        for (int e = 0; rc == MTG_OK && e < n; e++) {
            char path[160];
            snprintf(path, sizeof path, "/v1/edges/sim-%d/assignment?wait_ms=5000", e);
            struct mtg_client_resp resp;
            rc = mtg_client_request(c, "GET", path, NULL, 0, NULL, NULL, &resp, err);
            cJSON *o = rc == MTG_OK ? cJSON_ParseWithLength((const char *)resp.body, resp.len) : NULL;
            mtg_client_resp_deinit(&resp);
            double round = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "round"));
            cJSON *items = cJSON_GetObjectItemCaseSensitive(o, "items");
            for (cJSON *it = cJSON_IsArray(items) ? items->child : NULL; rc == MTG_OK && it; it = it->next) {
                cJSON *task = cJSON_GetObjectItemCaseSensitive(it, "task");
                snprintf(path, sizeof path, "/v1/edges/sim-%d/updates/%s?round=%.0f&steps=1", e,
                         cJSON_IsString(task) ? task->valuestring : "?", round);
                rc = mtg_client_request(c, "POST", path, delta, dlen, "application/x-mtgan-blob", NULL, &resp, err);
                mtg_client_resp_deinit(&resp);
            }
            cJSON_Delete(o);
        }
    }
    free(delta);
    return rc;
}

static int drive_sgda(struct mtg_client *c, int n, int passes, size_t rows, struct mtg_err *err)
{
    uint8_t *fb = NULL;
    size_t len = 0;
    /* dfake is rank 2 on the wire; build it by hand. */
    struct mtg_blob *b = mtg_blob_new(err);
    float *z = calloc(rows * 64, sizeof(float));
    uint32_t dims[2] = {(uint32_t)rows, 64};
    int rc = b && z ? mtg_blob_add(b, "dfake", 2, dims, z, MTG_DTYPE_F16, err) : MTG_ENOMEM;
    if (rc == MTG_OK)
        rc = mtg_blob_encode(b, MTG_BLOB_ZLIB, &fb, &len, err);
    mtg_blob_free(b);
    free(z);
    for (int p = 0; rc == MTG_OK && p < passes; p++) {
        for (int e = 0; rc == MTG_OK && e < n; e++) {
            char path[160];
            snprintf(path, sizeof path, "/v1/edges/sim-%d/fakes?wait_ms=0", e);
            struct mtg_client_resp resp;
            rc = mtg_client_request(c, "GET", path, NULL, 0, NULL, NULL, &resp, err);
            const char *task = mtg_client_resp_header(&resp, "X-Mtgan-Task");
            const char *step = mtg_client_resp_header(&resp, "X-Mtgan-Step");
            if (rc == MTG_OK && resp.status == 200 && task && step) {
                snprintf(path, sizeof path, "/v1/edges/sim-%d/feedback/%s?step=%s", e, task, step);
                struct mtg_client_resp r2;
                rc = mtg_client_request(c, "POST", path, fb, len, "application/x-mtgan-blob", NULL, &r2, err);
                mtg_client_resp_deinit(&r2);
            }
            mtg_client_resp_deinit(&resp);
        }
    }
    free(fb);
    return rc;
}

int mtg_bench_scale(const struct mtg_cfg *base, const char *run_dir, int n_edges, int rounds,
                    struct mtg_bench_scale *out, struct mtg_err *err)
{
    memset(out, 0, sizeof *out);
    out->n_edges = n_edges;
    out->server_peak_rss = -1;
    int sgda = base->protocol == MTG_CFG_PROTO_SGDA;
    snprintf(out->protocol, sizeof out->protocol, "%s", sgda ? "sgda" : "mtgan");
    struct mtg_cfg *cfg = malloc(sizeof *cfg);
    if (!cfg)
        return mtg_err_set(err, MTG_ENOMEM, "scale: out of memory");
    *cfg = *base;
    snprintf(cfg->state_dir, sizeof cfg->state_dir, "%.400s/state", run_dir);
    cfg->checkpoint_every = 0;
    cfg->train.eval_every = 0; /* memory of the protocol alone, no evaluator */
    cfg->train.reference[0] = '\0';
    cfg->scheduler.server.policy = MTG_CFG_SPOL_FIXED;
    cfg->scheduler.server.round_deadline_ms = 600000;
    cfg->limits.edge_expiry_ms = 600000;
    struct mtg_launch *l = NULL;
    struct mtg_client *c = NULL;
    unsigned port = 0;
    const struct mtg_client_opts co = {.max_attempts = 3, .timeout_ms = 600000};
    int rc = mtg_launch_new(cfg, run_dir, &l, err);
    if (rc == MTG_OK)
        rc = mtg_launch_server_client(l, &co, &port, &c, err);
    int n_tasks = cfg->data.tasks.n ? cfg->data.tasks.n : 10;
    for (int e = 0; rc == MTG_OK && e < n_edges; e++) {
        char body[256];
        int label = cfg->data.tasks.n ? cfg->data.tasks.id[e % n_tasks] : e % n_tasks;
        snprintf(body, sizeof body, "{\"id\":\"sim-%d\",\"tasks\":[{\"id\":\"digit-%d\",\"samples\":100}]}", e, label);
        rc = post_json(c, "/v1/edges", body, err);
    }
    /* Parameter counts of the task networks, from one model download. */
    size_t ng = 0, nd = 0;
    if (rc == MTG_OK && !sgda) {
        struct mtg_client_resp resp;
        char path[128];
        snprintf(path, sizeof path, "/v1/tasks/digit-%d/models/gan", cfg->data.tasks.n ? cfg->data.tasks.id[0] : 0);
        rc = mtg_client_request(c, "GET", path, NULL, 0, NULL, NULL, &resp, err);
        struct mtg_blob *b = NULL;
        if (rc == MTG_OK && (rc = mtg_blob_decode(resp.body, resp.len, NULL, &b, err)) == MTG_OK) {
            ng = mtg_blob_find(b, "g")->n;
            nd = mtg_blob_find(b, "d")->n;
        }
        mtg_blob_free(b);
        mtg_client_resp_deinit(&resp);
    }
    double r0 = rc == MTG_OK ? status_round(c, &out->model_bytes) : 0, t0 = now_s();
    if (rc == MTG_OK)
        rc = sgda ? drive_sgda(c, n_edges, rounds, (size_t)cfg->model.batch, err)
                  : drive_mtgan(c, n_edges, rounds, ng, nd, err);
    double r1 = rc == MTG_OK ? status_round(c, &out->model_bytes) : 0;
    if (rc == MTG_OK && r1 > r0)
        out->round_s = (now_s() - t0) / (r1 - r0);
    if (l)
        out->server_peak_rss = mtg_launch_server_peak_rss(l);
    mtg_client_free(c);
    mtg_launch_free(l);
    free(cfg);
    return rc;
}
