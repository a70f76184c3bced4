/*
 * lifelong.c - tasks that arrive while training runs (Sedna's lifelong
 * learning). A new task's globals warm-start from the known task whose
 * generator's mean output is nearest (L2) to the new data's mean sample,
 * which the registering edge sends: cheap, needs no data on the server, and
 * for digits picks a visually similar class. Old tasks' globals are never
 * touched, so nothing learned earlier is forgotten.
 */
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "server/server_internal.h"

#define MEAN_SAMPLES 256

int srv_json_vector(const cJSON *arr, float *out, int n)
{
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != n)
        return 0;
    int i = 0;
    for (const cJSON *v = arr->child; v; v = v->next, i++) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
            return 0;
        out[i] = (float)v->valuedouble;
    }
    return 1;
}

/* Mean of MEAN_SAMPLES generator outputs of task t; 0 on success. */
static int generator_mean(struct mtg_srv *s, int t, float *mean)
{
    struct mtg_gan_cfg gc = *srv_task_cfg(s, t);
    gc.g_max_batch = MEAN_SAMPLES;
    gc.recipe.ema = 0.0f; /* the copied parameters already are the served generator */
    if (gc.batch > MEAN_SAMPLES)
        gc.batch = MEAN_SAMPLES;
    struct mtg_gan *g = mtg_gan_new(&gc, MTG_GAN_G, 0, NULL);
    float *x = malloc((size_t)MEAN_SAMPLES * s->data_dim * sizeof(float));
    if (!g || !x) {
        mtg_gan_free(g);
        free(x);
        return MTG_ENOMEM;
    }
    size_t np;
    const float *p = srv_task_g_served(s, t, &np, NULL);
    if (!p) {
        mtg_gan_free(g);
        free(x);
        return MTG_EUNAVAIL;
    }
    memcpy(mtg_net_params(mtg_gan_generator(g)), p, np * sizeof(float));
    mtg_gan_sample(g, x, MEAN_SAMPLES, 99);
    for (int j = 0; j < s->data_dim; j++) {
        double m = 0;
        for (int r = 0; r < MEAN_SAMPLES; r++)
            m += x[(size_t)r * s->data_dim + j];
        mean[j] = (float)(m / MEAN_SAMPLES);
    }
    mtg_gan_free(g);
    free(x);
    return MTG_OK;
}

int srv_valid_id(const char *id)
{
    return mtg_cfg_id_valid(id);
}

int srv_new_task(struct mtg_srv *s, const char *id, const float *data_mean, struct mtg_err *err)
{
    if (!srv_valid_id(id))
        return mtg_err_set(err, MTG_EINVAL, "task id \"%.80s\" must match [A-Za-z0-9][A-Za-z0-9._-]{0,62}", id);
    int best = -1;
    double best_d = INFINITY;
    float *m = data_mean && !s->sgda ? malloc((size_t)s->data_dim * sizeof(float)) : NULL;
    for (int t = 0; m && t < srv_n_tasks(s); t++) {
        if (s->deleted[t] || generator_mean(s, t, m) != MTG_OK)
            continue;
        double d = 0;
        for (int j = 0; j < s->data_dim; j++)
            d += ((double)m[j] - data_mean[j]) * ((double)m[j] - data_mean[j]);
        if (d < best_d)
            best_d = d, best = t;
    }
    free(m);
    struct mtg_cfg_task tc;
    if (best >= 0) {
        /* Same networks as the source, so its weights fit. */
        const struct mtg_cfg_task *src = mtg_cfg_find_task(s->cfg, srv_task_id(s, best));
        if (src)
            tc = *src;
        else
            mtg_cfg_task_for(s->cfg, srv_task_id(s, best), &tc);
        snprintf(tc.id, sizeof tc.id, "%s", id);
        if (!mtg_cfg_find_task(s->cfg, id) && s->cfg->n_tasks < MTG_CFG_MAX_TASKS)
            s->cfg->tasks[s->cfg->n_tasks++] = tc;
        int t = mtg_fed_add_task_from(s->fed, id, best, err);
        if (t >= 0) {
            srv_task_reset_quality(s, t);
            mtg_log(MTG_LOG_INFO, "server", "new task %s warm-started from %s (mean distance %.3f)", id,
                    srv_task_id(s, best), sqrt(best_d));
            srv_dash_event(s, "task_added", "task %s added, warm-started from %s", id, srv_task_id(s, best));
        }
        return t;
    }
    mtg_cfg_task_for(s->cfg, id, &tc);
    int t = srv_add_task(s, &tc, err);
    if (t >= 0)
        mtg_log(MTG_LOG_INFO, "server", "new task %s created from scratch", id);
    return t;
}

/* Bytes of every live task's models, and of the largest one (what a new task is assumed to cost). */
static size_t live_model_bytes(const struct mtg_srv *s, size_t *largest)
{
    size_t sum = 0;
    *largest = 0;
    for (int t = 0; t < srv_n_tasks(s); t++) {
        if (s->deleted[t])
            continue;
        const struct mtg_gan_cfg *c = srv_task_cfg(s, t);
        size_t b = (mtg_net_spec_param_count(&c->g) * (c->recipe.ema > 0.0f ? 2 : 1) +
                    mtg_net_spec_param_count(&c->d)) * sizeof(float);
        sum += b;
        if (b > *largest)
            *largest = b;
    }
    return sum;
}

/* Edges' tasks are capped by memory (lifelong.max_task_mb), operators' are not. */
static int task_room(struct mtg_srv *s, const char *id, struct mtg_err *err)
{
    size_t largest, live = live_model_bytes(s, &largest);
    size_t cap = (size_t)s->cfg->lifelong.max_task_mb << 20;
    if (live + largest > cap)
        return mtg_err_set(err, MTG_ETOOBIG,
                           "task \"%.64s\": the task models (%zu MiB) would pass lifelong.max_task_mb (%d MiB)", id,
                           (live + largest) >> 20, s->cfg->lifelong.max_task_mb);
    return MTG_OK;
}

int srv_edge_may_create_task(struct mtg_srv *s, const char *id, struct mtg_err *err)
{
    if (!s->cfg->lifelong.edges_may_create_tasks)
        return mtg_err_set(err, MTG_ENOTFOUND,
                           "unknown task \"%.64s\": edges may not create tasks (lifelong.edges_may_create_tasks); "
                           "an operator creates it with PUT /v1/tasks/%.64s", id, id);
    return task_room(s, id, err);
}

/*
 * Unknown-task detection, server side (issue 6 item 3). Edges holding
 * labelled data report each task's data profile; an edge whose unlabelled
 * data no task accepts reports a candidate, which becomes a task at once
 * (auto) or waits for an operator (ask).
 */
struct srv_profile {
    int samples; /* 0 = none reported */
    double radius;
    float *mean; /* [data_dim] */
};

struct srv_lifelong {
    struct srv_profile prof[SRV_MAX_TASKS];
    int n_cand;
    struct srv_candidate cand[SRV_MAX_CANDIDATES];
};

static struct srv_lifelong *ll_get(struct mtg_srv *s)
{
    if (!s->ll)
        s->ll = calloc(1, sizeof *s->ll);
    return s->ll;
}

void srv_ll_free(struct srv_lifelong *ll)
{
    if (!ll)
        return;
    for (int t = 0; t < SRV_MAX_TASKS; t++)
        free(ll->prof[t].mean);
    free(ll);
}

int srv_ll_note_profile(struct mtg_srv *s, int t, const float *mean, double radius, int samples)
{
    struct srv_lifelong *ll = ll_get(s);
    if (t < 0 || t >= SRV_MAX_TASKS || samples < 1 || !(radius >= 0) || !isfinite(radius))
        return MTG_EINVAL;
    if (!ll)
        return MTG_ENOMEM;
    struct srv_profile *p = &ll->prof[t];
    if (!p->mean && !(p->mean = malloc((size_t)s->data_dim * sizeof(float))))
        return MTG_ENOMEM;
    /* Sample-weighted mean over edges; the widest radius, so no edge's data reads as unknown. */
    double w = (double)samples / ((double)p->samples + samples);
    for (int j = 0; j < s->data_dim; j++)
        p->mean[j] = (float)((1 - w) * p->mean[j] + w * mean[j]);
    if (radius > p->radius)
        p->radius = radius;
    p->samples = p->samples + samples < 1000000000 ? p->samples + samples : 1000000000;
    return MTG_OK;
}

int srv_ll_profile(struct mtg_srv *s, int t, float *mean, double *radius, int *samples)
{
    if (!s->ll || t < 0 || t >= SRV_MAX_TASKS || s->ll->prof[t].samples == 0)
        return 0;
    memcpy(mean, s->ll->prof[t].mean, (size_t)s->data_dim * sizeof(float));
    *radius = s->ll->prof[t].radius;
    *samples = s->ll->prof[t].samples;
    return 1;
}

int srv_ll_report(struct mtg_srv *s, const char *edge, int samples, double new_frac, const float *mean, double radius,
                  struct srv_candidate *out, int *fresh, struct mtg_err *err)
{
    struct srv_lifelong *ll = ll_get(s);
    *fresh = 0;
    if (!ll)
        return mtg_err_set(err, MTG_ENOMEM, "out of memory");
    if (s->cfg->lifelong.unknown_tasks == MTG_CFG_UNKNOWN_OFF)
        return mtg_err_set(err, MTG_ECONFLICT, "unknown-task detection is off (lifelong.unknown_tasks)");
    /* One candidate per edge: the edge's retries and restarts must not mint tasks. */
    for (int i = 0; i < ll->n_cand; i++) {
        if (strcmp(ll->cand[i].edge, edge) == 0) {
            *out = ll->cand[i];
            return MTG_OK;
        }
    }
    if (ll->n_cand >= SRV_MAX_CANDIDATES)
        return mtg_err_set(err, MTG_ERANGE, "candidate limit %d reached", SRV_MAX_CANDIDATES);
    struct srv_candidate c = {.id = ll->n_cand + 1, .samples = samples, .new_frac = new_frac};
    snprintf(c.edge, sizeof c.edge, "%s", edge);
    /* Skip ids an operator already used, so a candidate never lands on someone else's task. */
    for (int k = c.id;; k++) {
        snprintf(c.task, sizeof c.task, "new-%d", k);
        int taken = 0;
        for (int t = 0; t < srv_n_tasks(s) && !taken; t++)
            taken = strcmp(srv_task_id(s, t), c.task) == 0;
        if (!taken)
            break;
    }
    if (s->cfg->lifelong.unknown_tasks == MTG_CFG_UNKNOWN_AUTO) {
        int t = task_room(s, c.task, err);
        if (t == MTG_OK)
            t = srv_new_task(s, c.task, mean, err);
        if (t < 0)
            return t;
        srv_ll_note_profile(s, t, mean, radius, samples);
        c.status = SRV_CAND_CREATED;
    }
    ll->cand[ll->n_cand++] = c;
    *out = c;
    *fresh = 1;
    mtg_log(MTG_LOG_INFO, "server", "candidate new task %s from edge %s (%d rows, %.0f%% unclaimed): %s", c.task, edge,
            samples, 100 * new_frac, c.status == SRV_CAND_CREATED ? "created" : "waiting for an operator");
    srv_dash_event(s, "unknown_data", "edge %s reported %d rows no task accepts (%.0f%%): candidate %s %s", edge,
                   samples, 100 * new_frac, c.task, c.status == SRV_CAND_CREATED ? "created" : "waits for an operator");
    return MTG_OK;
}

int srv_ll_candidates(struct mtg_srv *s, struct srv_candidate *out, int max)
{
    int n = 0;
    for (int i = 0; s->ll && i < s->ll->n_cand && n < max; i++) {
        out[n] = s->ll->cand[i];
        if (out[n].status == SRV_CAND_PENDING && srv_find_task(s, out[n].task) >= 0)
            out[n].status = SRV_CAND_CREATED;
        n++;
    }
    return n;
}

cJSON *srv_candidate_json(const struct srv_candidate *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", c->id);
    cJSON_AddStringToObject(o, "edge", c->edge);
    cJSON_AddStringToObject(o, "task", c->task);
    cJSON_AddNumberToObject(o, "samples", c->samples);
    cJSON_AddNumberToObject(o, "new_frac", c->new_frac);
    cJSON_AddStringToObject(o, "status", c->status == SRV_CAND_CREATED ? "created" : "pending");
    return o;
}

cJSON *srv_ll_checkpoint_json(struct mtg_srv *s)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && s->ll && i < s->ll->n_cand; i++)
        cJSON_AddItemToArray(arr, srv_candidate_json(&s->ll->cand[i]));
    return arr;
}

int srv_ll_restore(struct mtg_srv *s, const cJSON *arr, struct mtg_err *err)
{
    if (!arr)
        return MTG_OK; /* a checkpoint from before candidates were kept */
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > SRV_MAX_CANDIDATES)
        return mtg_err_set(err, MTG_EFORMAT, "checkpoint: candidates must be an array of at most %d",
                           SRV_MAX_CANDIDATES);
    struct srv_lifelong *ll = ll_get(s);
    if (!ll)
        return mtg_err_set(err, MTG_ENOMEM, "out of memory");
    int n = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, arr)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id"), *edge = cJSON_GetObjectItemCaseSensitive(o, "edge"),
                    *task = cJSON_GetObjectItemCaseSensitive(o, "task"),
                    *samples = cJSON_GetObjectItemCaseSensitive(o, "samples"),
                    *frac = cJSON_GetObjectItemCaseSensitive(o, "new_frac"),
                    *status = cJSON_GetObjectItemCaseSensitive(o, "status");
        if (!cJSON_IsNumber(id) || !cJSON_IsString(edge) || !srv_valid_id(edge->valuestring) ||
            !cJSON_IsString(task) || !srv_valid_id(task->valuestring) || !cJSON_IsNumber(samples) ||
            !cJSON_IsNumber(frac) || !cJSON_IsString(status))
            return mtg_err_set(err, MTG_EFORMAT, "checkpoint: candidate %d is malformed", n);
        struct srv_candidate *c = &ll->cand[n++];
        memset(c, 0, sizeof *c);
        c->id = id->valueint;
        snprintf(c->edge, sizeof c->edge, "%s", edge->valuestring);
        snprintf(c->task, sizeof c->task, "%s", task->valuestring);
        c->samples = samples->valueint;
        c->new_frac = frac->valuedouble;
        c->status = strcmp(status->valuestring, "created") == 0 ? SRV_CAND_CREATED : SRV_CAND_PENDING;
    }
    ll->n_cand = n;
    return MTG_OK;
}

void srv_ll_forget_candidates(struct mtg_srv *s)
{
    if (s->ll)
        s->ll->n_cand = 0;
}
