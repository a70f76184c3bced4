/*
 * Ops of struct mtg_net that read statistics across the batch: batch norm
 * (Ioffe & Szegedy 2015) and minibatch standard deviation (Karras et al.
 * 2018, "Progressive Growing of GANs", section 3).
 */
#include "core/net_internal.h"
#include "core/rng.h"
#include "core/status.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- batch norm ----------------------------------------------------------
 * Per channel c over the batch and H*W (per feature for a flat {d,1,1}
 * input). Tensors: gamma, beta (trained), rmean, rvar (running statistics,
 * stored with the weights so they travel in blobs and are averaged like
 * them; their gradient is always zero). State: batch mean and 1/sqrt(var +
 * eps) from the last training forward; x-hat is recomputed from x in
 * backward rather than stored.
 */

static int bn_shape(const struct mtg_layer_spec *l, const int in[3], int out[3], char *why, size_t cap)
{
    (void)l, (void)why, (void)cap;
    memcpy(out, in, 3 * sizeof(int));
    return MTG_OK;
}

static int bn_tensors(const struct mtg_layer_spec *l, const int in[3], const int out[3],
                      struct mtg_net_tensor t[NET_MAX_TENSORS])
{
    (void)l, (void)out;
    static const char *const names[] = {"gamma", "beta", "rmean", "rvar"};
    for (int k = 0; k < 4; k++)
        t[k] = (struct mtg_net_tensor){.name = names[k], .rank = 1, .dims = {in[0]}, .count = (size_t)in[0],
                                       .trainable = k < 2};
    return 4;
}

/* Two double accumulators per channel (float partial sums over H*W, double across them). */
static size_t bn_scratch(const struct net_layer *L, int max_batch)
{
    (void)max_batch;
    return 4 * (size_t)L->in[0];
}

static size_t bn_state(const struct net_layer *L) { return 2 * (size_t)L->in[0]; }

static void bn_init(const struct net_layer *L, float *params, struct mtg_rng *rng, int dcgan)
{
    size_t C = (size_t)L->in[0];
    float *gamma = params + L->p_off[0], *beta = params + L->p_off[1];
    float *rmean = params + L->p_off[2], *rvar = params + L->p_off[3];
    if (dcgan) {
        mtg_rng_fill_normal(rng, gamma, C, 1.0f, 0.02f);
    } else {
        for (size_t i = 0; i < C; i++)
            gamma[i] = 1.0f;
    }
    memset(beta, 0, C * sizeof(float));
    memset(rmean, 0, C * sizeof(float));
    for (size_t i = 0; i < C; i++)
        rvar[i] = 1.0f;
}

static float plane_sum(const float *x, size_t n)
{
    float s = 0.0f;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s;
}

static void bn_forward(struct net_layer *L, const struct net_ctx *c, const float *x, float *y, int batch)
{
    const int C = L->in[0];
    const size_t HW = (size_t)L->in[1] * L->in[2];
    const float *gamma = c->params + L->p_off[0], *beta = c->params + L->p_off[1];
    float *rmean = c->params + L->p_off[2], *rvar = c->params + L->p_off[3];
    float *mean = L->state, *invstd = L->state + C;
    L->fwd_train = c->train;
    if (c->train) {
        /* Two passes (mean, then centred squares): stable where E[x^2] - E[x]^2 cancels. */
        double *acc = c->scratch;
        const double M = (double)batch * (double)HW;
        memset(acc, 0, (size_t)C * sizeof(double));
        for (int n = 0; n < batch; n++)
            for (int ch = 0; ch < C; ch++)
                acc[ch] += plane_sum(x + ((size_t)n * C + ch) * HW, HW);
        for (int ch = 0; ch < C; ch++) {
            mean[ch] = (float)(acc[ch] / M);
            acc[ch] = 0.0;
        }
        for (int n = 0; n < batch; n++) {
            for (int ch = 0; ch < C; ch++) {
                const float *xp = x + ((size_t)n * C + ch) * HW;
                float m = mean[ch], s = 0.0f;
                for (size_t i = 0; i < HW; i++)
                    s += (xp[i] - m) * (xp[i] - m);
                acc[ch] += s;
            }
        }
        const float mom = c->bn_momentum;
        for (int ch = 0; ch < C; ch++) {
            double var = acc[ch] / M;
            invstd[ch] = (float)(1.0 / sqrt(var + (double)c->bn_eps));
            /* PyTorch keeps the unbiased variance in the running estimate. */
            double unbiased = M > 1.0 ? var * M / (M - 1.0) : var;
            if (c->update_stats) {
                rmean[ch] = (1.0f - mom) * rmean[ch] + mom * mean[ch];
                rvar[ch] = (1.0f - mom) * rvar[ch] + mom * (float)unbiased;
            }
        }
    } else {
        for (int ch = 0; ch < C; ch++) {
            mean[ch] = rmean[ch];
            invstd[ch] = 1.0f / sqrtf(rvar[ch] + c->bn_eps);
        }
    }
    /* y = gamma * (x - mean) * invstd + beta, folded into one scale and shift per channel. */
    for (int n = 0; n < batch; n++) {
        for (int ch = 0; ch < C; ch++) {
            const float *xp = x + ((size_t)n * C + ch) * HW;
            float *yp = y + ((size_t)n * C + ch) * HW;
            float scale = gamma[ch] * invstd[ch], shift = beta[ch] - mean[ch] * scale;
            for (size_t i = 0; i < HW; i++)
                yp[i] = xp[i] * scale + shift;
        }
    }
}

/*
 * Training mode: with x-hat = (x - mean) * invstd over M = batch*H*W values,
 *   dgamma = sum dz * x-hat,  dbeta = sum dz,
 *   dx = gamma * invstd * (dz - dbeta / M - x-hat * dgamma / M)
 * (the batch statistics depend on x). Eval mode: dx = gamma * invstd * dz.
 */
static const float *bn_backward(struct net_layer *L, const struct net_ctx *c, const float *x,
                                const float *dz, float *dx, int batch, unsigned flags)
{
    const int C = L->in[0];
    const size_t HW = (size_t)L->in[1] * L->in[2];
    const float *gamma = c->params + L->p_off[0];
    const float *mean = L->state, *invstd = L->state + C;
    double *sdz = c->scratch, *sdzx = sdz + C;
    memset(sdz, 0, 2 * (size_t)C * sizeof(double));
    for (int n = 0; n < batch; n++) {
        for (int ch = 0; ch < C; ch++) {
            const float *xp = x + ((size_t)n * C + ch) * HW, *dp = dz + ((size_t)n * C + ch) * HW;
            float m = mean[ch], a = 0.0f, b = 0.0f;
            for (size_t i = 0; i < HW; i++) {
                a += dp[i];
                b += dp[i] * (xp[i] - m);
            }
            sdz[ch] += a;
            sdzx[ch] += b;
        }
    }
    for (int ch = 0; ch < C; ch++)
        sdzx[ch] *= invstd[ch]; /* sum dz * x-hat */
    if (flags & MTG_NET_PARAM_GRAD) {
        float *dgamma = c->grads + L->p_off[0], *dbeta = c->grads + L->p_off[1];
        for (int ch = 0; ch < C; ch++) {
            dgamma[ch] += (float)sdzx[ch];
            dbeta[ch] += (float)sdz[ch];
        }
    }
    if (!dx)
        return NULL;
    const double M = (double)batch * (double)HW;
    for (int n = 0; n < batch; n++) {
        for (int ch = 0; ch < C; ch++) {
            const float *xp = x + ((size_t)n * C + ch) * HW, *dp = dz + ((size_t)n * C + ch) * HW;
            float *out = dx + ((size_t)n * C + ch) * HW;
            float g = gamma[ch] * invstd[ch];
            if (!L->fwd_train) {
                for (size_t i = 0; i < HW; i++)
                    out[i] = g * dp[i];
                continue;
            }
            float m = mean[ch], is = invstd[ch];
            float mdz = (float)(sdz[ch] / M), mdzx = (float)(sdzx[ch] / M);
            for (size_t i = 0; i < HW; i++)
                out[i] = g * (dp[i] - mdz - (xp[i] - m) * is * mdzx);
        }
    }
    return dx;
}

const struct net_op_ops net_op_batchnorm = {
    .name = "batchnorm",
    .shape = bn_shape,
    .tensors = bn_tensors,
    .scratch = bn_scratch,
    .state = bn_state,
    .init = bn_init,
    .forward = bn_forward,
    .backward = bn_backward,
};

/* ---- minibatch standard deviation ---------------------------------------
 * Per group of G consecutive samples: sigma_f = sqrt(var_f + 1e-8) over the
 * group for each of the F = C*H*W features (biased variance), s = mean_f
 * sigma_f, and every sample of the group gets one extra channel filled with
 * s. G = group, or the whole batch when group is 0 or exceeds the batch; a
 * batch that G does not divide ends with one smaller group. Backward:
 *   dx[n,f] = dz[n,f] + (dS / F) * (x[n,f] - mu_f) / (G * sigma_f),
 * dS = the sum of the group's extra-channel gradients (the mean term of the
 * variance's derivative sums to zero over the group).
 */
#define MBSTD_EPS 1e-8f

static int mbstd_shape(const struct mtg_layer_spec *l, const int in[3], int out[3], char *why, size_t cap)
{
    if (l->group < 0 || l->group == 1) {
        snprintf(why, cap, "group %d: need 0 (whole batch) or >= 2 (a group of one has no spread)", l->group);
        return MTG_EINVAL;
    }
    if (in[0] + 1 > MTG_NET_MAX_DIM) {
        snprintf(why, cap, "input %dx%dx%d: %d channels exceed %d", in[0], in[1], in[2], in[0] + 1,
                 MTG_NET_MAX_DIM);
        return MTG_EINVAL;
    }
    out[0] = in[0] + 1;
    out[1] = in[1];
    out[2] = in[2];
    return MTG_OK;
}

static size_t mbstd_scratch(const struct net_layer *L, int max_batch)
{
    (void)max_batch;
    return 2 * L->in_feat;
}

static size_t mbstd_state(const struct net_layer *L)
{
    (void)L;
    return 0;
}

static void mbstd_init(const struct net_layer *L, float *params, struct mtg_rng *rng, int dcgan)
{
    (void)L, (void)params, (void)rng, (void)dcgan;
}

static int mbstd_group(const struct net_layer *L, int batch)
{
    return L->s.group == 0 || L->s.group > batch ? batch : L->s.group;
}

/* mu[F] and sigma[F] of samples [n0, n0 + gs); returns mean_f sigma_f. */
static float group_stats(const float *x, size_t F, int n0, int gs, float *mu, float *sigma)
{
    memset(mu, 0, F * sizeof(float));
    memset(sigma, 0, F * sizeof(float));
    for (int n = n0; n < n0 + gs; n++) {
        const float *xp = x + (size_t)n * F;
        for (size_t f = 0; f < F; f++)
            mu[f] += xp[f];
    }
    float inv = 1.0f / (float)gs;
    for (size_t f = 0; f < F; f++)
        mu[f] *= inv;
    for (int n = n0; n < n0 + gs; n++) {
        const float *xp = x + (size_t)n * F;
        for (size_t f = 0; f < F; f++)
            sigma[f] += (xp[f] - mu[f]) * (xp[f] - mu[f]);
    }
    double s = 0.0;
    for (size_t f = 0; f < F; f++) {
        sigma[f] = sqrtf(sigma[f] * inv + MBSTD_EPS);
        s += sigma[f];
    }
    return (float)(s / (double)F);
}

static void mbstd_forward(struct net_layer *L, const struct net_ctx *c, const float *x, float *y, int batch)
{
    const size_t F = L->in_feat, HW = (size_t)L->in[1] * L->in[2], FO = L->out_feat;
    float *mu = c->scratch, *sigma = mu + F;
    const int G = mbstd_group(L, batch);
    for (int n0 = 0; n0 < batch; n0 += G) {
        int gs = batch - n0 < G ? batch - n0 : G;
        float s = group_stats(x, F, n0, gs, mu, sigma);
        for (int n = n0; n < n0 + gs; n++) {
            float *yp = y + (size_t)n * FO;
            memcpy(yp, x + (size_t)n * F, F * sizeof(float));
            for (size_t i = 0; i < HW; i++)
                yp[F + i] = s;
        }
    }
}

static const float *mbstd_backward(struct net_layer *L, const struct net_ctx *c, const float *x,
                                   const float *dz, float *dx, int batch, unsigned flags)
{
    (void)flags;
    if (!dx)
        return NULL;
    const size_t F = L->in_feat, HW = (size_t)L->in[1] * L->in[2], FO = L->out_feat;
    float *mu = c->scratch, *sigma = mu + F;
    const int G = mbstd_group(L, batch);
    for (int n0 = 0; n0 < batch; n0 += G) {
        int gs = batch - n0 < G ? batch - n0 : G;
        group_stats(x, F, n0, gs, mu, sigma);
        double ds = 0.0;
        for (int n = n0; n < n0 + gs; n++)
            ds += plane_sum(dz + (size_t)n * FO + F, HW);
        float coef = (float)(ds / ((double)F * (double)gs));
        for (size_t f = 0; f < F; f++)
            sigma[f] = coef / sigma[f];
        for (int n = n0; n < n0 + gs; n++) {
            const float *xp = x + (size_t)n * F, *dp = dz + (size_t)n * FO;
            float *out = dx + (size_t)n * F;
            for (size_t f = 0; f < F; f++)
                out[f] = dp[f] + (xp[f] - mu[f]) * sigma[f];
        }
    }
    return dx;
}

static int no_tensors(const struct mtg_layer_spec *l, const int in[3], const int out[3],
                      struct mtg_net_tensor t[NET_MAX_TENSORS])
{
    (void)l, (void)in, (void)out, (void)t;
    return 0;
}

const struct net_op_ops net_op_mbstd = {
    .name = "mbstd",
    .shape = mbstd_shape,
    .tensors = no_tensors,
    .scratch = mbstd_scratch,
    .state = mbstd_state,
    .init = mbstd_init,
    .forward = mbstd_forward,
    .backward = mbstd_backward,
};
