/*
 * edge_unknown.c - unknown-task detection on an edge (issue 6 item 3). The
 * edge scores its unlabelled rows (data.unlabelled) against every task the
 * server knows, with the test of lifelong.detector (novelty.h): the task's
 * data profile from GET /v1/tasks/{task}/profile and/or its global D from
 * the model route. When enough rows fit no task it reports them as a
 * candidate (POST /v1/candidates) and, once the server has created the task
 * (at once under auto, after an operator's PUT under ask), trains on them.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/status.h"
#include "edge/edge_internal.h"
#include "edge/novelty.h"
#include "wire/blob.h"

_Static_assert((int)MTG_CFG_DETECT_D == (int)MTG_NOVELTY_D && (int)MTG_CFG_DETECT_MEAN == (int)MTG_NOVELTY_MEAN &&
                   (int)MTG_CFG_DETECT_D_AND_MEAN == (int)MTG_NOVELTY_D_AND_MEAN,
               "lifelong.detector values must follow enum mtg_novelty_method");

#define MAX_KNOWN 256

/* Task id's global G and D in a fresh GAN built from the registration reply's networks, or NULL. */
static struct mtg_gan *known_gan(struct mtg_edge *e, const struct mtg_cfg *nets, const char *id, struct mtg_err *err)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/tasks/%s/models/gan?dtype=f32&zlib=1", id);
    struct mtg_client_resp r;
    struct mtg_gan_cfg gc;
    struct mtg_blob *b = NULL;
    struct mtg_gan *g = NULL;
    int rc = mtg_client_request(e->client, "GET", path, NULL, 0, NULL, NULL, &r, err);
    if (rc == MTG_OK)
        rc = mtg_blob_decode(r.body, r.len, NULL, &b, err);
    if (rc == MTG_OK)
        rc = mtg_cfg_gan(nets, id, e->dim, &gc, err);
    gc.recipe.ema = 0.0f; /* the blob's G is used as it is */
    if (rc == MTG_OK)
        g = mtg_gan_new(&gc, MTG_GAN_FULL, 1, err);
    const struct mtg_blob_tensor *tg = b ? mtg_blob_find(b, "g") : NULL, *td = b ? mtg_blob_find(b, "d") : NULL;
    if (g && tg && td && tg->n == mtg_net_param_count(mtg_gan_generator(g)) &&
        td->n == mtg_net_param_count(mtg_gan_discriminator(g))) {
        memcpy(mtg_net_params(mtg_gan_generator(g)), tg->data, tg->n * sizeof(float));
        memcpy(mtg_net_params(mtg_gan_discriminator(g)), td->data, td->n * sizeof(float));
    } else {
        mtg_gan_free(g);
        g = NULL;
    }
    mtg_blob_free(b);
    mtg_client_resp_deinit(&r);
    return g;
}

/* Fills accept [n_unlabelled] for known task id; 0 when the task cannot judge (no profile or model). */
static int score_task(struct mtg_edge *e, const struct mtg_cfg *nets, const struct mtg_novelty_opts *o, const char *id,
                      unsigned char *accept, struct mtg_err *err)
{
    float mean[64];
    double radius = 0;
    struct mtg_gan *g = NULL;
    if (o->method != MTG_NOVELTY_D) {
        char path[160];
        long status;
        snprintf(path, sizeof path, "/v1/tasks/%s/profile", id);
        cJSON *p = mtg_client_get_json(e->client, path, &status, err);
        cJSON *m = cJSON_GetObjectItemCaseSensitive(p, "mean");
        int ok = cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(p, "radius")) && cJSON_IsArray(m) &&
                 cJSON_GetArraySize(m) == e->dim && e->dim <= 64;
        int j = 0;
        for (cJSON *v = ok ? m->child : NULL; v; v = v->next)
            mean[j++] = (float)v->valuedouble;
        radius = ok ? cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(p, "radius")) : 0;
        cJSON_Delete(p);
        if (!ok)
            return 0;
    }
    if (o->method != MTG_NOVELTY_MEAN && !(g = known_gan(e, nets, id, err)))
        return 0;
    struct mtg_novelty_task *d = NULL;
    int rc = mtg_novelty_task_new(g, mean, radius, e->dim, o, &d, err);
    if (rc == MTG_OK)
        rc = mtg_novelty_task_accept(d, g, e->unlabelled, e->n_unlabelled, accept);
    mtg_novelty_task_free(d);
    mtg_gan_free(g);
    return rc == MTG_OK;
}

/* POST /v1/candidates with the unclaimed rows' profile; fills task and created. */
static int report(struct mtg_edge *e, double new_frac, char *task, size_t task_n, int *created, struct mtg_err *err)
{
    float mean[64];
    double radius;
    int rc = mtg_novelty_profile(e->cand_rows, e->cand_n, e->dim, 0.95, mean, &radius);
    if (rc != MTG_OK)
        return mtg_err_set(err, rc, "edge: cannot profile the candidate rows");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "edge", e->id);
    cJSON_AddNumberToObject(o, "samples", e->cand_n);
    cJSON_AddNumberToObject(o, "new_frac", new_frac);
    cJSON_AddNumberToObject(o, "radius", radius);
    cJSON *arr = cJSON_AddArrayToObject(o, "mean");
    for (int j = 0; j < e->dim; j++)
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(mean[j]));
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!body)
        return mtg_err_set(err, MTG_ENOMEM, "edge: out of memory");
    struct mtg_client_resp r;
    rc = mtg_client_request(e->client, "POST", "/v1/candidates", body, strlen(body), "application/json", NULL, &r, err);
    free(body);
    cJSON *reply = rc == MTG_OK ? cJSON_ParseWithLength((const char *)r.body, r.len) : NULL;
    mtg_client_resp_deinit(&r);
    cJSON *c = cJSON_GetObjectItemCaseSensitive(reply, "candidate");
    cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "task"), *st = cJSON_GetObjectItemCaseSensitive(c, "status");
    if (rc == MTG_OK && (!cJSON_IsString(t) || !cJSON_IsString(st) || strlen(t->valuestring) >= task_n))
        rc = mtg_err_set(err, MTG_EFORMAT, "edge: malformed candidate reply");
    if (rc == MTG_OK) {
        snprintf(task, task_n, "%s", t->valuestring);
        *created = strcmp(st->valuestring, "created") == 0;
    }
    cJSON_Delete(reply);
    return rc;
}

int edge_scan_unlabelled(struct mtg_edge *e, struct mtg_err *err)
{
    if (e->n_unlabelled == 0 || e->scanned || !e->nets_json)
        return 0;
    e->scanned = 1;
    long status;
    cJSON *list = mtg_client_get_json(e->client, "/v1/tasks", &status, err);
    cJSON *tasks = cJSON_GetObjectItemCaseSensitive(list, "tasks");
    int n = e->n_unlabelled, n_known = 0, rc = MTG_OK;
    const char *ids[MAX_KNOWN];
    for (cJSON *t = cJSON_IsArray(tasks) ? tasks->child : NULL; t && n_known < MAX_KNOWN; t = t->next) {
        cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
        if (cJSON_IsString(id))
            ids[n_known++] = id->valuestring;
    }
    struct mtg_cfg *nets = malloc(sizeof *nets);
    unsigned char *accept = malloc((size_t)(n_known > 0 ? n_known : 1) * n), *unclaimed = malloc((size_t)n);
    if (!list || !nets || !accept || !unclaimed) {
        rc = list ? mtg_err_set(err, MTG_ENOMEM, "edge: out of memory") : mtg_err_set(err, MTG_EIO, "GET /v1/tasks failed");
        goto done;
    }
    *nets = *e->cfg;
    nets->n_tasks = 0;
    if ((rc = mtg_cfg_load_string(nets, e->nets_json, "server registration reply", err)) != MTG_OK)
        goto done;
    struct mtg_novelty_opts o;
    mtg_novelty_opts_default(&o);
    o.method = (enum mtg_novelty_method)e->cfg->lifelong.detector;
    o.min_new = e->cfg->lifelong.min_new;
    int judges = 0;
    const char *judge_id[MAX_KNOWN];
    for (int t = 0; t < n_known; t++) {
        int ok = score_task(e, nets, &o, ids[t], accept + (size_t)judges * n, err);
        if (ok)
            judge_id[judges++] = ids[t];
        else
            mtg_log(MTG_LOG_WARN, "edge", "%s: task %s cannot judge unlabelled data (no profile or model)", e->id,
                    ids[t]);
    }
    struct mtg_novelty_verdict v;
    mtg_novelty_decide(accept, judges, n, o.min_new, &v, unclaimed);
    mtg_log(MTG_LOG_INFO, "edge", "%s: %d unlabelled rows vs %d known tasks (%s): %.0f%% fit no task -> %s", e->id, n,
            judges, mtg_novelty_method_name(o.method), 100 * v.new_frac, v.is_new ? "candidate new task" : "known");
    if (!v.is_new) {
        if (v.best_task >= 0)
            mtg_log(MTG_LOG_INFO, "edge", "%s: most unlabelled rows fit task %s (%.0f%%)", e->id,
                    judge_id[v.best_task], 100 * v.best_frac);
        goto done;
    }
    free(e->cand_rows);
    if (!(e->cand_rows = malloc((size_t)v.n_unclaimed * e->dim * sizeof(float)))) {
        rc = mtg_err_set(err, MTG_ENOMEM, "edge: out of memory");
        goto done;
    }
    e->cand_n = 0;
    for (int i = 0; i < n; i++)
        if (unclaimed[i])
            memcpy(e->cand_rows + (size_t)e->cand_n++ * e->dim, e->unlabelled + (size_t)i * e->dim,
                   (size_t)e->dim * sizeof(float));
    int created = 0;
    rc = report(e, v.new_frac, e->cand_task, sizeof e->cand_task, &created, err);
    if (rc == MTG_ECONFLICT) {
        mtg_log(MTG_LOG_INFO, "edge", "%s: server does not take candidate tasks: %s", e->id, err->msg);
        rc = MTG_OK;
        e->cand_task[0] = '\0';
    } else if (rc == MTG_OK && created) {
        rc = edge_adopt_candidate(e, err);
    } else if (rc == MTG_OK) {
        mtg_log(MTG_LOG_INFO, "edge", "%s: candidate task %s waits for an operator", e->id, e->cand_task);
    }
done:
    cJSON_Delete(list);
    free(nets);
    free(accept);
    free(unclaimed);
    return rc < 0 ? rc : rc == 1;
}

int edge_adopt_candidate(struct mtg_edge *e, struct mtg_err *err)
{
    if (!e->cand_task[0] || !e->cand_rows)
        return 0;
    char path[128];
    snprintf(path, sizeof path, "/v1/tasks/%s", e->cand_task);
    long status = 0;
    cJSON *o = mtg_client_get_json(e->client, path, &status, err);
    cJSON_Delete(o);
    if (status != 200)
        return 0;
    int rc = edge_add_task(e, e->cand_task, -1, e->cand_rows, e->cand_n, err);
    if (rc != MTG_OK)
        return rc;
    mtg_log(MTG_LOG_INFO, "edge", "%s: training new task %s on %d formerly unlabelled rows", e->id, e->cand_task,
            e->cand_n);
    e->cand_task[0] = '\0';
    free(e->cand_rows);
    e->cand_rows = NULL;
    e->cand_n = 0;
    return 1;
}
