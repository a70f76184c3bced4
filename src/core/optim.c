#include "core/optim.h"
#include "core/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct mtg_adam {
    struct mtg_adam_cfg cfg;
    size_t n;
    uint64_t t;
    float *m;
    float *v;
};

void mtg_adam_cfg_default(struct mtg_adam_cfg *cfg)
{
    cfg->lr = 2e-4f;
    cfg->beta1 = 0.5f;
    cfg->beta2 = 0.999f;
    cfg->eps = 1e-8f;
}

int mtg_adam_cfg_validate(const struct mtg_adam_cfg *cfg, struct mtg_err *err)
{
    if (!(cfg->lr > 0.0f && cfg->lr <= 1.0f))
        return mtg_err_set(err, MTG_EINVAL, "adam: lr %g outside (0, 1]", (double)cfg->lr);
    if (!(cfg->beta1 >= 0.0f && cfg->beta1 < 1.0f) || !(cfg->beta2 >= 0.0f && cfg->beta2 < 1.0f))
        return mtg_err_set(err, MTG_EINVAL, "adam: betas (%g, %g) must be in [0, 1)",
                           (double)cfg->beta1, (double)cfg->beta2);
    if (!(cfg->eps > 0.0f))
        return mtg_err_set(err, MTG_EINVAL, "adam: eps must be > 0");
    return MTG_OK;
}

struct mtg_adam *mtg_adam_new(size_t n, const struct mtg_adam_cfg *cfg, struct mtg_err *err)
{
    if (mtg_adam_cfg_validate(cfg, err) != MTG_OK)
        return NULL;
    struct mtg_adam *o = calloc(1, sizeof *o);
    if (!o)
        goto fail;
    o->cfg = *cfg;
    o->n = n;
    o->m = calloc(n ? n : 1, sizeof(float));
    o->v = calloc(n ? n : 1, sizeof(float));
    if (!o->m || !o->v)
        goto fail;
    return o;
fail:
    mtg_adam_free(o);
    mtg_err_set(err, MTG_ENOMEM, "adam: cannot allocate state for %zu parameters", n);
    return NULL;
}

void mtg_adam_free(struct mtg_adam *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    free(o);
}

void mtg_adam_step(struct mtg_adam *o, float *restrict params, const float *restrict grads)
{
    o->t++;
    const float b1 = o->cfg.beta1, b2 = o->cfg.beta2;
    /* Fold both bias corrections into the step size (Kingma & Ba 2015, end of §2). */
    const double bc1 = 1.0 - pow((double)b1, (double)o->t);
    const double bc2 = 1.0 - pow((double)b2, (double)o->t);
    const float alpha = (float)((double)o->cfg.lr * sqrt(bc2) / bc1);
    const float eps = o->cfg.eps * (float)sqrt(bc2);
    float *restrict m = o->m;
    float *restrict v = o->v;
    const size_t n = o->n;
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        params[i] -= alpha * m[i] / (sqrtf(v[i]) + eps);
    }
}

void mtg_adam_set_cfg(struct mtg_adam *o, const struct mtg_adam_cfg *cfg) { o->cfg = *cfg; }
const struct mtg_adam_cfg *mtg_adam_get_cfg(const struct mtg_adam *o) { return &o->cfg; }
size_t mtg_adam_size(const struct mtg_adam *o) { return o->n; }
float *mtg_adam_m(struct mtg_adam *o) { return o->m; }
float *mtg_adam_v(struct mtg_adam *o) { return o->v; }
uint64_t mtg_adam_steps(const struct mtg_adam *o) { return o->t; }
void mtg_adam_set_steps(struct mtg_adam *o, uint64_t t) { o->t = t; }

void mtg_adam_reset(struct mtg_adam *o)
{
    o->t = 0;
    memset(o->m, 0, o->n * sizeof(float));
    memset(o->v, 0, o->n * sizeof(float));
}
