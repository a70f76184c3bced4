/*
 * novelty.c - unknown-task detection: per-task acceptance tests (the D test
 * calibrated on the task's own generator samples, the mean test on the
 * task's data profile) and the batch decision (novelty.h).
 */
#include "edge/novelty.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/gan.h"
#include "core/net.h"
#include "core/status.h"

struct mtg_novelty_task {
    enum mtg_novelty_method method;
    int dim;
    float *mean;   /* [dim]; NULL for method D */
    double radius;
    double d_min;  /* accept when D(x) >= d_min; NAN for method MEAN */
};

void mtg_novelty_opts_default(struct mtg_novelty_opts *o)
{
    *o = (struct mtg_novelty_opts){
        .method = MTG_NOVELTY_MEAN, /* measured best (mtgan bench novelty), as lifelong.detector */
        .n_cal = 256,
        .quantile = 0.95,
        .min_new = 0.5,
        .seed = 7,
    };
}

const char *mtg_novelty_method_name(enum mtg_novelty_method m)
{
    switch (m) {
    case MTG_NOVELTY_D:
        return "d";
    case MTG_NOVELTY_MEAN:
        return "mean";
    case MTG_NOVELTY_D_AND_MEAN:
        return "d+mean";
    }
    return "?";
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

double mtg_novelty_quantile(float *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_float);
    int i = (int)floor(q * (double)(n - 1));
    return v[i < 0 ? 0 : i > n - 1 ? n - 1 : i];
}

static double dist(const float *a, const float *b, int dim)
{
    double d = 0;
    for (int j = 0; j < dim; j++)
        d += ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
    return sqrt(d);
}

int mtg_novelty_profile(const float *x, int n, int dim, double q, float *mean, double *radius)
{
    if (n < 1 || dim < 1 || !(q >= 0 && q <= 1))
        return MTG_EINVAL;
    float *d = malloc((size_t)n * sizeof(float));
    if (!d)
        return MTG_ENOMEM;
    for (int j = 0; j < dim; j++) {
        double m = 0;
        for (int i = 0; i < n; i++)
            m += x[(size_t)i * dim + j];
        mean[j] = (float)(m / n);
    }
    for (int i = 0; i < n; i++)
        d[i] = (float)dist(x + (size_t)i * dim, mean, dim);
    *radius = mtg_novelty_quantile(d, n, q);
    free(d);
    return MTG_OK;
}

int mtg_novelty_task_new(struct mtg_gan *gan, const float *mean, double radius, int dim,
                         const struct mtg_novelty_opts *o, struct mtg_novelty_task **out, struct mtg_err *err)
{
    *out = NULL;
    int need_d = o->method != MTG_NOVELTY_MEAN, need_mean = o->method != MTG_NOVELTY_D;
    if ((unsigned)o->method > MTG_NOVELTY_D_AND_MEAN || o->n_cal < 1 || o->n_cal > MTG_NOVELTY_MAX_CAL ||
        !(o->quantile > 0 && o->quantile <= 1) || !(o->min_new > 0 && o->min_new <= 1) || dim < 1)
        return mtg_err_set(err, MTG_EINVAL, "novelty: options out of range (n_cal %d, quantile %g, min_new %g)",
                           o->n_cal, o->quantile, o->min_new);
    if (need_d && (!gan || mtg_gan_get_role(gan) != MTG_GAN_FULL || mtg_gan_data_dim(gan) != dim))
        return mtg_err_set(err, MTG_EINVAL, "novelty: method %s needs the task's G and D for %d-wide data",
                           mtg_novelty_method_name(o->method), dim);
    if (need_mean && (!mean || !(radius >= 0) || !isfinite(radius)))
        return mtg_err_set(err, MTG_EINVAL, "novelty: method %s needs the task's data profile",
                           mtg_novelty_method_name(o->method));
    struct mtg_novelty_task *t = calloc(1, sizeof *t);
    float *cal = need_d ? malloc((size_t)o->n_cal * dim * sizeof(float)) : NULL;
    float *score = need_d ? malloc((size_t)o->n_cal * sizeof(float)) : NULL;
    if (t && need_mean)
        t->mean = malloc((size_t)dim * sizeof(float));
    if (!t || (need_d && (!cal || !score)) || (need_mean && !t->mean)) {
        free(cal), free(score);
        mtg_novelty_task_free(t);
        return mtg_err_set(err, MTG_ENOMEM, "novelty: out of memory");
    }
    t->method = o->method;
    t->dim = dim;
    t->radius = radius;
    t->d_min = NAN;
    if (need_mean)
        memcpy(t->mean, mean, (size_t)dim * sizeof(float));
    if (need_d) {
        /* A share `quantile` of the task's own (generated) samples passes the D test. */
        mtg_gan_sample(gan, cal, o->n_cal, o->seed);
        mtg_gan_d_score(gan, cal, o->n_cal, score);
        t->d_min = mtg_novelty_quantile(score, o->n_cal, 1.0 - o->quantile);
    }
    free(cal);
    free(score);
    *out = t;
    return MTG_OK;
}

void mtg_novelty_task_free(struct mtg_novelty_task *t)
{
    if (!t)
        return;
    free(t->mean);
    free(t);
}

double mtg_novelty_task_d_min(const struct mtg_novelty_task *t) { return t->d_min; }

int mtg_novelty_task_accept(struct mtg_novelty_task *t, struct mtg_gan *gan, const float *x, int n,
                            unsigned char *accept)
{
    if (n <= 0)
        return MTG_OK;
    float *d = NULL;
    if (t->method != MTG_NOVELTY_MEAN) {
        if (!(d = malloc((size_t)n * sizeof(float))))
            return MTG_ENOMEM;
        mtg_gan_d_score(gan, x, n, d);
    }
    for (int i = 0; i < n; i++) {
        int ok = 1;
        if (d)
            ok = isfinite(d[i]) && d[i] >= t->d_min;
        if (ok && t->mean)
            ok = dist(x + (size_t)i * t->dim, t->mean, t->dim) <= t->radius;
        accept[i] = (unsigned char)ok;
    }
    free(d);
    return MTG_OK;
}

void mtg_novelty_decide(const unsigned char *accept, int n_tasks, int n, double min_new,
                        struct mtg_novelty_verdict *out, unsigned char *unclaimed)
{
    *out = (struct mtg_novelty_verdict){.best_task = -1};
    if (n <= 0)
        return;
    for (int i = 0; i < n; i++) {
        int claimed = 0;
        for (int t = 0; t < n_tasks && !claimed; t++)
            claimed = accept[(size_t)t * n + i] != 0;
        out->n_unclaimed += !claimed;
        if (unclaimed)
            unclaimed[i] = (unsigned char)!claimed;
    }
    for (int t = 0; t < n_tasks; t++) {
        int c = 0;
        for (int i = 0; i < n; i++)
            c += accept[(size_t)t * n + i] != 0;
        if (c > 0 && (double)c / n > out->best_frac) {
            out->best_frac = (double)c / n;
            out->best_task = t;
        }
    }
    out->new_frac = (double)out->n_unclaimed / n;
    out->is_new = out->new_frac >= min_new;
}
