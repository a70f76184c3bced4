/*
 * optim.h - Adam (Kingma & Ba 2015, Algorithm 1) over one flat parameter
 * array. State (m, v, step) is exposed for checkpoints.
 *
 *     struct mtg_adam *opt = mtg_adam_new(mtg_net_param_count(g), &cfg, &err);
 *     mtg_adam_step(opt, mtg_net_params(g), mtg_net_grads(g));
 */
#ifndef MTG_CORE_OPTIM_H
#define MTG_CORE_OPTIM_H

#include <stddef.h>
#include <stdint.h>

struct mtg_err;
struct mtg_adam;

struct mtg_adam_cfg {
    float lr;     /* 2e-4 for GANs (DESIGN §4) */
    float beta1;  /* 0.5 */
    float beta2;  /* 0.999 */
    float eps;    /* 1e-8 */
};

void mtg_adam_cfg_default(struct mtg_adam_cfg *cfg);
int mtg_adam_cfg_validate(const struct mtg_adam_cfg *cfg, struct mtg_err *err);

/* Caller frees with mtg_adam_free(). */
struct mtg_adam *mtg_adam_new(size_t n, const struct mtg_adam_cfg *cfg, struct mtg_err *err);
void mtg_adam_free(struct mtg_adam *opt);
/* params -= lr * mhat / (sqrt(vhat) + eps), over n elements. */
void mtg_adam_step(struct mtg_adam *opt, float *params, const float *grads);
void mtg_adam_set_cfg(struct mtg_adam *opt, const struct mtg_adam_cfg *cfg);
const struct mtg_adam_cfg *mtg_adam_get_cfg(const struct mtg_adam *opt);
size_t mtg_adam_size(const struct mtg_adam *opt);
/* Moment arrays (n floats each), owned by opt: read for checkpoints, write to restore. */
float *mtg_adam_m(struct mtg_adam *opt);
float *mtg_adam_v(struct mtg_adam *opt);
uint64_t mtg_adam_steps(const struct mtg_adam *opt);
void mtg_adam_set_steps(struct mtg_adam *opt, uint64_t t);
void mtg_adam_reset(struct mtg_adam *opt);

#endif
