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
    const float *p = srv_task_g(s, t, &np);
    memcpy(mtg_mlp_params(mtg_gan_generator(g)), p, np * sizeof(float));
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
    size_t n = strlen(id);
    if (n == 0 || n > 63 || !((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z') ||
                              (id[0] >= '0' && id[0] <= '9')))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
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
            memset(&s->q[t], 0, sizeof s->q[t]);
            s->q[t].reached_s = -1;
            mtg_log(MTG_LOG_INFO, "server", "new task %s warm-started from %s (mean distance %.3f)", id,
                    srv_task_id(s, best), sqrt(best_d));
        }
        return t;
    }
    mtg_cfg_task_for(s->cfg, id, &tc);
    int t = srv_add_task(s, &tc, err);
    if (t >= 0)
        mtg_log(MTG_LOG_INFO, "server", "new task %s created from scratch", id);
    return t;
}
