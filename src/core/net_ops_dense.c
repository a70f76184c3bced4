/*
 * Dense layer of struct mtg_net: y = x W + b over the flattened input, W
 * [in, out] row-major. The arithmetic is that of the mtg_mlp type this
 * replaced, call for call (bias seeded rows, then one sgemm with beta = 1),
 * so the digits' dense nets train bit for bit as they did (test_net checks
 * it against that sequence of calls).
 */
#include "core/net_internal.h"
#include "core/status.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

static int dense_shape(const struct mtg_layer_spec *l, const int in[3], int out[3], char *why, size_t cap)
{
    (void)in;
    if (l->out < 1 || l->out > MTG_NET_MAX_DIM) {
        snprintf(why, cap, "width %d outside [1, %d]", l->out, MTG_NET_MAX_DIM);
        return MTG_EINVAL;
    }
    out[0] = l->out;
    out[1] = out[2] = 1;
    return MTG_OK;
}

static int dense_tensors(const struct mtg_layer_spec *l, const int in[3], const int out[3],
                         struct mtg_net_tensor t[NET_MAX_TENSORS])
{
    (void)out;
    int fin = in[0] * in[1] * in[2];
    t[0] = (struct mtg_net_tensor){.name = "w", .rank = 2, .dims = {fin, l->out},
                                   .count = (size_t)fin * (size_t)l->out, .trainable = 1};
    t[1] = (struct mtg_net_tensor){.name = "b", .rank = 1, .dims = {l->out}, .count = (size_t)l->out,
                                   .trainable = 1};
    return 2;
}

static size_t dense_scratch(const struct net_layer *L, int max_batch)
{
    (void)L, (void)max_batch;
    return 0;
}

static size_t dense_state(const struct net_layer *L)
{
    (void)L;
    return 0;
}

static void dense_init(const struct net_layer *L, float *params, struct mtg_rng *rng, int dcgan)
{
    size_t in = L->in_feat, out = L->out_feat;
    net_init_affine(params + L->p_off[0], in * out, params + L->p_off[1], out, (int)in, rng, dcgan);
}

static void dense_forward(struct net_layer *L, const struct net_ctx *c, const float *x, float *y, int batch)
{
    int k = (int)L->in_feat, n = (int)L->out_feat;
    const float *w = c->params + L->p_off[0], *b = c->params + L->p_off[1];
    /* Seed every row with the bias, then y += x W in one sgemm (beta = 1). */
    for (int r = 0; r < batch; r++)
        memcpy(y + (size_t)r * n, b, (size_t)n * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, n, k, 1.0f, x, k, w, n, 1.0f, y, n);
}

static const float *dense_backward(struct net_layer *L, const struct net_ctx *c, const float *x,
                                   const float *dz, float *dx, int batch, unsigned flags)
{
    int k = (int)L->in_feat, n = (int)L->out_feat;
    if (flags & MTG_NET_PARAM_GRAD) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, batch, 1.0f, x, k, dz, n, 1.0f,
                    c->grads + L->p_off[0], n);
        float *db = c->grads + L->p_off[1];
        for (int r = 0; r < batch; r++) {
            const float *row = dz + (size_t)r * n;
            for (int j = 0; j < n; j++)
                db[j] += row[j];
        }
    }
    if (!dx)
        return NULL;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, k, n, 1.0f, dz, n, c->params + L->p_off[0], n,
                0.0f, dx, k);
    return dx;
}

const struct net_op_ops net_op_dense = {
    .name = "dense",
    .shape = dense_shape,
    .tensors = dense_tensors,
    .scratch = dense_scratch,
    .state = dense_state,
    .init = dense_init,
    .forward = dense_forward,
    .backward = dense_backward,
};
