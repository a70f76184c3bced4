/*
 * net_internal.h - what net.c shares with the op files (net_ops_*.c): the
 * per-op ops table and the per-layer record. Not a public header.
 *
 * Each op knows its output shape, its parameter tensors, how much shared
 * scratch and per-layer state it needs, and how to run forward/backward.
 * net.c owns the buffers and the layer loop, applies the fused activation
 * after forward and before backward, and never looks at op-specific fields.
 */
#ifndef MTG_CORE_NET_INTERNAL_H
#define MTG_CORE_NET_INTERNAL_H

#include <stddef.h>

#include "core/net.h"

struct mtg_err;
struct mtg_rng;

#define NET_MAX_TENSORS 4 /* per layer: batch norm has the most (gamma, beta, rmean, rvar) */

/* Everything an op reads or writes besides its own layer record. */
struct net_ctx {
    float *params;
    float *grads;
    void *scratch;   /* shared by all layers, 64-byte aligned; valid during one op call only */
    int train;       /* batch norm mode of this forward */
    int update_stats; /* training mode: also fold the batch statistics into the running ones */
    float bn_momentum;
    float bn_eps;
};

struct net_layer {
    const struct net_op_ops *ops;
    struct mtg_layer_spec s;
    int in[3], out[3];          /* C,H,W */
    size_t in_feat, out_feat;   /* C*H*W */
    int n_p;                    /* parameter tensors */
    size_t p_off[NET_MAX_TENSORS];
    float *y;                   /* output [max_batch, out_feat]; NULL for a pure view (reshape) */
    float *state;               /* floats kept from forward to backward */
    int fwd_train;              /* mode the last forward ran in */
};

struct net_op_ops {
    const char *name;
    /* Output shape for input in[], or MTG_EINVAL with the reason in why (no "layer i" prefix). */
    int (*shape)(const struct mtg_layer_spec *l, const int in[3], int out[3], char *why, size_t cap);
    /* Describes this layer's parameter tensors (layer/offset left to the caller); returns the count. */
    int (*tensors)(const struct mtg_layer_spec *l, const int in[3], const int out[3],
                   struct mtg_net_tensor t[NET_MAX_TENSORS]);
    size_t (*scratch)(const struct net_layer *L, int max_batch); /* floats */
    size_t (*state)(const struct net_layer *L);                  /* floats */
    /* dcgan selects mtg_net_init_dcgan()'s distributions instead of PyTorch's defaults. */
    void (*init)(const struct net_layer *L, float *params, struct mtg_rng *rng, int dcgan);
    /* y = op(x) before the fused activation; y never aliases x. */
    void (*forward)(struct net_layer *L, const struct net_ctx *c, const float *x, float *y, int batch);
    /*
     * dz = dL/d(op output). Accumulates parameter gradients when
     * MTG_NET_PARAM_GRAD is set; writes dL/dx into dx unless dx is NULL and
     * returns where dL/dx is (dx, or dz itself for ops that pass it through).
     */
    const float *(*backward)(struct net_layer *L, const struct net_ctx *c, const float *x,
                             const float *dz, float *dx, int batch, unsigned flags);
};

extern const struct net_op_ops net_op_dense;
extern const struct net_op_ops net_op_conv2d;
extern const struct net_op_ops net_op_convt2d;
extern const struct net_op_ops net_op_batchnorm;
extern const struct net_op_ops net_op_act;
extern const struct net_op_ops net_op_reshape;
extern const struct net_op_ops net_op_mbstd;

/* The table for op, or NULL for an unknown op id. */
const struct net_op_ops *net_op_lookup(enum mtg_op op);

/* Fused activations: derivatives written through the output a = f(z). */
int net_act_valid(enum mtg_act act);
void net_act_forward(enum mtg_act act, float *a, size_t n, float slope);
/* dz[i] = dy[i] * f'(z[i]) through a[i]; dz may alias dy. */
void net_act_backward(enum mtg_act act, const float *a, const float *dy, float *dz, size_t n, float slope);

/* Fills dense/conv weights: U(+-1/sqrt(fan_in)) for w and b, or N(0, 0.02) and 0 (dcgan). */
void net_init_affine(float *w, size_t nw, float *b, size_t nb, int fan_in, struct mtg_rng *rng, int dcgan);

/* Spec defaults and the shape walk shared by validation, describe and creation. */
void net_spec_resolve(const struct mtg_net_spec *in, struct mtg_net_spec *out);
/*
 * Walks a resolved spec: shapes[0] is the input, shapes[i + 1] layer i's
 * output (shapes has MTG_NET_MAX_LAYERS + 1 rows). Fills *n_params unless
 * NULL. MTG_OK or an error naming the layer, its op and the shapes.
 */
int net_spec_walk(const struct mtg_net_spec *s, int shapes[][3], size_t *n_params, struct mtg_err *err);
/* "conv2d k4 s2 p1" etc. for messages; returns buf. */
const char *net_layer_label(const struct mtg_layer_spec *l, char *buf, size_t cap);

#endif
