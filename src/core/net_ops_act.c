/*
 * Shape-preserving ops of struct mtg_net: the activation functions (fused
 * into every layer and standalone as MTG_OP_ACT) and reshape. Both ops are
 * the identity on data; net.c applies the layer's activation after them.
 */
#include "core/arena.h"
#include "core/net_internal.h"
#include "core/rng.h"
#include "core/status.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/*
 * Each derivative is written through the output a = f(z), so a layer keeps
 * one buffer (a, computed in place over z). With slope > 0, leaky ReLU's
 * sign(a) == sign(z), which is why the slope must be positive.
 */
int net_act_valid(enum mtg_act act) { return (int)act >= MTG_ACT_NONE && (int)act <= MTG_ACT_TANH; }

/*
 * The ReLU family is written as selects between already-computed values, the
 * one form gcc vectorises under -ftrapping-math (a multiply inside a branch
 * it may not speculate): signs of activations are random, and a branch per
 * element costs more than the arithmetic. Results are bit-identical to the
 * plain forms in nn.c, NaN included (leaky: s * NaN).
 */
void net_act_forward(enum mtg_act act, float *a, size_t n, float slope)
{
    switch (act) {
    case MTG_ACT_NONE:
        break;
    case MTG_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            a[i] = a[i] > 0.0f ? a[i] : 0.0f;
        break;
    case MTG_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) {
            float x = a[i], pos = x > 0.0f ? x : 0.0f, neg = x > 0.0f ? 0.0f : x;
            a[i] = pos + slope * neg;
        }
        break;
    case MTG_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            a[i] = 1.0f / (1.0f + expf(-a[i]));
        break;
    case MTG_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            a[i] = tanhf(a[i]);
        break;
    }
}

void net_act_backward(enum mtg_act act, const float *a, const float *dy, float *dz, size_t n, float slope)
{
    switch (act) {
    case MTG_ACT_NONE:
        if (dz != dy)
            memcpy(dz, dy, n * sizeof(float));
        break;
    case MTG_ACT_RELU:
        for (size_t i = 0; i < n; i++) {
            float d = dy[i];
            dz[i] = a[i] > 0.0f ? d : 0.0f;
        }
        break;
    case MTG_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) {
            float m = a[i] > 0.0f ? 1.0f : slope;
            dz[i] = dy[i] * m;
        }
        break;
    case MTG_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            dz[i] = dy[i] * a[i] * (1.0f - a[i]);
        break;
    case MTG_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            dz[i] = dy[i] * (1.0f - a[i] * a[i]);
        break;
    }
}

void net_init_affine(float *w, size_t nw, float *b, size_t nb, int fan_in, struct mtg_rng *rng, int dcgan)
{
    if (dcgan) {
        mtg_rng_fill_normal(rng, w, nw, 0.0f, 0.02f);
        memset(b, 0, nb * sizeof(float));
        return;
    }
    /* PyTorch's Linear/Conv default: kaiming_uniform(a = sqrt 5) gives exactly 1/sqrt(fan_in). */
    float bound = 1.0f / sqrtf((float)fan_in);
    mtg_rng_fill_uniform(rng, w, nw, -bound, bound);
    mtg_rng_fill_uniform(rng, b, nb, -bound, bound);
}

/* ---- identity-shaped ops ------------------------------------------------ */

static int same_shape(const struct mtg_layer_spec *l, const int in[3], int out[3], char *why, size_t cap)
{
    (void)l, (void)why, (void)cap;
    memcpy(out, in, 3 * sizeof(int));
    return MTG_OK;
}

static int no_tensors(const struct mtg_layer_spec *l, const int in[3], const int out[3],
                      struct mtg_net_tensor t[NET_MAX_TENSORS])
{
    (void)l, (void)in, (void)out, (void)t;
    return 0;
}

static size_t no_floats(const struct net_layer *L, int max_batch)
{
    (void)L, (void)max_batch;
    return 0;
}

static size_t no_state(const struct net_layer *L)
{
    (void)L;
    return 0;
}

static void no_init(const struct net_layer *L, float *params, struct mtg_rng *rng, int dcgan)
{
    (void)L, (void)params, (void)rng, (void)dcgan;
}

/* Runs only when the layer owns a buffer (its activation must not overwrite the input). */
static void copy_forward(struct net_layer *L, const struct net_ctx *c, const float *x, float *y, int batch)
{
    (void)c;
    memcpy(y, x, (size_t)batch * L->out_feat * sizeof(float));
}

/* The op is the identity, so dL/dx is dL/dz: hand the same buffer on. */
static const float *pass_backward(struct net_layer *L, const struct net_ctx *c, const float *x,
                                  const float *dz, float *dx, int batch, unsigned flags)
{
    (void)L, (void)c, (void)x, (void)dx, (void)batch, (void)flags;
    return dz;
}

const struct net_op_ops net_op_act = {
    .name = "act",
    .shape = same_shape,
    .tensors = no_tensors,
    .scratch = no_floats,
    .state = no_state,
    .init = no_init,
    .forward = copy_forward,
    .backward = pass_backward,
};

static int reshape_shape(const struct mtg_layer_spec *l, const int in[3], int out[3], char *why, size_t cap)
{
    long long fin = (long long)in[0] * in[1] * in[2];
    for (int k = 0; k < 3; k++) {
        if (l->shape[k] < 1 || l->shape[k] > MTG_NET_MAX_DIM) {
            snprintf(why, cap, "target %dx%dx%d has a dimension outside [1, %d]", l->shape[0], l->shape[1],
                     l->shape[2], MTG_NET_MAX_DIM);
            return MTG_EINVAL;
        }
    }
    long long fout = (long long)l->shape[0] * l->shape[1] * l->shape[2];
    if (fin != fout) {
        snprintf(why, cap, "%lld features cannot become %dx%dx%d (%lld)", fin, l->shape[0], l->shape[1],
                 l->shape[2], fout);
        return MTG_EINVAL;
    }
    memcpy(out, l->shape, 3 * sizeof(int));
    return MTG_OK;
}

/* A reshape without activation is a pure view: net.c gives it no buffer and never calls forward. */
const struct net_op_ops net_op_reshape = {
    .name = "reshape",
    .shape = reshape_shape,
    .tensors = no_tensors,
    .scratch = no_floats,
    .state = no_state,
    .init = no_init,
    .forward = copy_forward,
    .backward = pass_backward,
};
