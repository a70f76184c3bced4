/*
 * nn.h - multilayer perceptrons on OpenBLAS: dense layers (y = x W + b
 * through cblas_sgemm) each followed by an activation. Tensors are float32,
 * row-major [batch, features]. Parameters of a whole network live in one
 * contiguous array (and gradients in another) so that Adam, deltas and
 * aggregation are single loops; activations live in an arena sized for
 * max_batch at creation, so forward/backward allocate nothing.
 *
 *     struct mtg_mlp_spec s = { .in_dim = 64, .n_layers = 3,
 *         .width = {256, 128, 1},
 *         .act = {MTG_ACT_LEAKY_RELU, MTG_ACT_LEAKY_RELU, MTG_ACT_NONE},
 *         .leaky_slope = 0.2f };
 *     struct mtg_mlp *d = mtg_mlp_new(&s, 128, &err);
 *     mtg_mlp_init_params(d, &rng);
 *     const float *logits = mtg_mlp_forward(d, x, 128);
 *     mtg_mlp_zero_grad(d);
 *     mtg_mlp_backward(d, dlogits, 128, MTG_MLP_PARAM_GRAD);
 *
 * Parameter layout, per layer i in order: W_i [in_i, out_i] row-major, then
 * b_i [out_i]. Not thread-safe: one caller per mlp at a time.
 */
#ifndef MTG_CORE_NN_H
#define MTG_CORE_NN_H

#include <stddef.h>

#include "core/net.h" /* enum mtg_act, struct mtg_mlp_spec */

struct mtg_err;
struct mtg_rng;
struct mtg_mlp;

#define MTG_MLP_MAX_WIDTH 65536

/* A read-only view of one dense layer's parameters inside the flat array. */
struct mtg_mlp_layer {
    int in;
    int out;
    enum mtg_act act;
    float *w; /* [in, out] */
    float *b; /* [out] */
    size_t w_offset; /* index of w[0] in mtg_mlp_params() */
    size_t b_offset;
};

enum mtg_mlp_backward_flags {
    MTG_MLP_PARAM_GRAD = 1u << 0, /* accumulate dL/dW, dL/db into mtg_mlp_grads() */
    MTG_MLP_INPUT_GRAD = 1u << 1, /* compute and return dL/dx */
};

/* Checks a spec (layer count, widths, activations); 0 or MTG_EINVAL naming the field. */
int mtg_mlp_spec_validate(const struct mtg_mlp_spec *spec, struct mtg_err *err);
size_t mtg_mlp_spec_param_count(const struct mtg_mlp_spec *spec);

/*
 * Creates an mlp whose forward/backward accept up to max_batch rows.
 * Parameters are zero until mtg_mlp_init_params() or a load. Caller frees
 * with mtg_mlp_free(). NULL + err on bad spec or out of memory.
 */
struct mtg_mlp *mtg_mlp_new(const struct mtg_mlp_spec *spec, int max_batch, struct mtg_err *err);
void mtg_mlp_free(struct mtg_mlp *m);
/* Deep copy: same spec, max_batch and parameters (gradients zeroed). */
struct mtg_mlp *mtg_mlp_clone(const struct mtg_mlp *m, struct mtg_err *err);

/* He-uniform init for ReLU-family layers, Xavier-uniform otherwise; biases zero. */
void mtg_mlp_init_params(struct mtg_mlp *m, struct mtg_rng *rng);

/*
 * Forward pass on x [batch, in_dim]; returns the output [batch, out_dim],
 * owned by m and valid until the next forward. batch <= max_batch.
 * x must stay valid until the matching backward (it is not copied).
 */
const float *mtg_mlp_forward(struct mtg_mlp *m, const float *x, int batch);

/*
 * Backward pass for the last forward, given dL/dy [batch, out_dim].
 * Returns dL/dx (owned by m) when MTG_MLP_INPUT_GRAD is set, else NULL.
 * Parameter gradients are accumulated (call mtg_mlp_zero_grad first).
 */
const float *mtg_mlp_backward(struct mtg_mlp *m, const float *dy, int batch, unsigned flags);

void mtg_mlp_zero_grad(struct mtg_mlp *m);

/* Post-activation output of layer i from the last forward ([batch, width[i]]). */
const float *mtg_mlp_activation(const struct mtg_mlp *m, int layer);

const struct mtg_mlp_spec *mtg_mlp_get_spec(const struct mtg_mlp *m);
int mtg_mlp_in_dim(const struct mtg_mlp *m);
int mtg_mlp_out_dim(const struct mtg_mlp *m);
int mtg_mlp_max_batch(const struct mtg_mlp *m);
int mtg_mlp_n_layers(const struct mtg_mlp *m);
void mtg_mlp_get_layer(const struct mtg_mlp *m, int i, struct mtg_mlp_layer *out);
size_t mtg_mlp_param_count(const struct mtg_mlp *m);
float *mtg_mlp_params(struct mtg_mlp *m);
const float *mtg_mlp_params_const(const struct mtg_mlp *m);
float *mtg_mlp_grads(struct mtg_mlp *m);
/* Bytes held by m (params, grads, workspace): for memory accounting. */
size_t mtg_mlp_bytes(const struct mtg_mlp *m);

/* Forward in chunks of max_batch over n rows of x into out [n, out_dim]. */
void mtg_mlp_predict(struct mtg_mlp *m, const float *x, int n, float *out);

#endif
