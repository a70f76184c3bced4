/*
 * net.h - the one network type (DESIGN §4): up to 16 layers (dense, conv2d,
 * conv-transpose2d, batch norm, activation, reshape, minibatch-stddev) over
 * float32 NCHW tensors; dense and conv run as sgemm over many samples at once
 * (conv via im2col/col2im). Parameters, batch-norm running statistics
 * included, live in one flat array; every buffer is carved from an arena at
 * creation, so forward/backward allocate nothing. A plain dense stack (the
 * 8x8 digits' MLPs) is described by struct mtg_mlp_spec and converted with
 * mtg_net_spec_from_mlp(). Not thread-safe: one caller per net at a time.
 *
 *     struct mtg_net_spec s;
 *     mtg_net_spec_dcgan28_d(&s, 64, 0);                 // or fill the struct
 *     struct mtg_net *d = mtg_net_new(&s, 128, &err);
 *     mtg_net_init_dcgan(d, &rng);
 *     const float *logits = mtg_net_forward(d, images, 128); // [128, 1*28*28]
 *     mtg_net_zero_grad(d);
 *     mtg_net_backward(d, dlogits, 128, MTG_NET_PARAM_GRAD);
 */
#ifndef MTG_CORE_NET_H
#define MTG_CORE_NET_H

#include <stddef.h>

#include "core/act.h"

struct mtg_err;
struct mtg_rng;
struct mtg_net;

/* Op ids appear in configs and blobs: only ever append. */
enum mtg_op {
    MTG_OP_DENSE = 0,     /* y = x W + b over the flattened input; W [in, out] */
    MTG_OP_CONV2D = 1,    /* PyTorch Conv2d; W [out_c, in_c, k, k] */
    MTG_OP_CONVT2D = 2,   /* PyTorch ConvTranspose2d (output_padding 0); W [in_c, out_c, k, k] */
    MTG_OP_BATCHNORM = 3, /* per channel (per feature for a flat input) */
    MTG_OP_ACT = 4,       /* standalone activation `act` */
    MTG_OP_RESHAPE = 5,   /* view as shape[]; C*H*W must match */
    MTG_OP_MBSTD = 6,     /* minibatch stddev (Karras et al. 2018): appends one channel */
};

#define MTG_NET_MAX_LAYERS 16
#define MTG_NET_MAX_DIM 65536          /* any one of C, H, W, dense width */
#define MTG_NET_MAX_FEATURES (1 << 24) /* C*H*W of any layer's input or output */
#define MTG_NET_MAX_KERNEL 64          /* also bounds stride */

struct mtg_layer_spec {
    enum mtg_op op;
    int out;               /* dense width / conv output channels */
    int kernel, stride, pad;
    int shape[3];          /* reshape target C,H,W */
    enum mtg_act act;      /* applied after the op (fused); MTG_ACT_NONE by default */
    int group;             /* mbstd group size (0 = whole batch; never 1) */
};

/*
 * A plain struct callers fill. Zero leaky_slope / bn_momentum / bn_eps mean
 * the defaults 0.2 / 0.1 / 1e-5 (PyTorch's BatchNorm convention: running =
 * (1 - momentum) * running + momentum * batch_stat); a net stores them
 * resolved, so mtg_net_get_spec() shows the values in use.
 */
struct mtg_net_spec {
    int in_shape[3];      /* C,H,W; a flat input of d features is {d,1,1} */
    int n_layers;
    struct mtg_layer_spec layer[MTG_NET_MAX_LAYERS];
    float leaky_slope;
    float bn_momentum;
    float bn_eps;
};

/*
 * A dense stack, the handy way to write an MLP (configs, the digits
 * defaults): n_layers dense layers, layer i of width[i] followed by act[i].
 * mtg_net_spec_from_mlp() turns it into the equivalent net spec.
 */
#define MTG_MLP_MAX_LAYERS 8

struct mtg_mlp_spec {
    int in_dim;
    int n_layers;
    int width[MTG_MLP_MAX_LAYERS];      /* output width of each dense layer */
    enum mtg_act act[MTG_MLP_MAX_LAYERS];
    float leaky_slope;                   /* for MTG_ACT_LEAKY_RELU; 0 = 0.2 */
};

/* One parameter tensor inside the flat array, for blobs and inspection. */
struct mtg_net_tensor {
    int layer;            /* index into spec.layer */
    const char *name;     /* static: "w", "b", "gamma", "beta", "rmean", "rvar" */
    int rank;
    int dims[4];          /* dense w [in, out]; conv w [out_c, in_c, k, k]; convT w [in_c, out_c, k, k] */
    size_t offset;        /* index of the first element in mtg_net_params() */
    size_t count;
    int trainable;        /* 0 for running statistics: their gradient is always zero */
};

enum mtg_net_backward_flags {
    MTG_NET_PARAM_GRAD = 1u << 0, /* accumulate parameter gradients into mtg_net_grads() */
    MTG_NET_INPUT_GRAD = 1u << 1, /* compute and return dL/dx */
};

/*
 * Checks that the layers chain: 0 or MTG_EINVAL / MTG_ERANGE with a message
 * naming the layer, its op and both shapes, e.g.
 * "net: layer 2 (reshape): 6272 features cannot become 64x7x7 (3136)".
 * Strides must divide exactly ((H + 2p - k) % s == 0): a remainder means
 * input rows no output sees, almost always a config mistake.
 */
int mtg_net_spec_validate(const struct mtg_net_spec *spec, struct mtg_err *err);
/* Parameter count (running statistics included); 0 for an invalid spec. */
size_t mtg_net_spec_param_count(const struct mtg_net_spec *spec);
/* Output shape C,H,W of the last layer: MTG_OK, or MTG_EINVAL for an invalid spec. */
int mtg_net_spec_out_shape(const struct mtg_net_spec *spec, int out[3]);
/*
 * The dense net of an mlp spec: layer i is dense width[i] with act[i] fused.
 * Parameter layout per layer: W_i [in_i, out_i] row-major, then b_i
 * [out_i] - the layout (and the arithmetic, bit for bit) of the mtg_mlp
 * type this replaced, so its blobs and checkpoints stay readable.
 * MTG_OK, or MTG_EINVAL when the mlp spec's layer count is out of range.
 */
int mtg_net_spec_from_mlp(const struct mtg_mlp_spec *mlp, struct mtg_net_spec *out);
/*
 * The reverse, for a spec that is a plain dense stack (only dense layers
 * on a flat input, at most MTG_MLP_MAX_LAYERS): MTG_OK, else MTG_EINVAL
 * and *out untouched. The leaky slope comes out resolved (0 -> 0.2).
 */
int mtg_net_spec_to_mlp(const struct mtg_net_spec *spec, struct mtg_mlp_spec *out);
/*
 * 1 when a and b describe the same network: the same input shape and
 * layers (each op compared on the fields it reads) and, resolved, the same
 * leaky slope (when a layer uses leaky_relu) and batch-norm momentum and
 * eps (when there is a batch norm); else 0.
 */
int mtg_net_spec_equal(const struct mtg_net_spec *a, const struct mtg_net_spec *b);
/* 1 when a forward mixes the samples of a batch (batch norm, minibatch stddev). */
int mtg_net_spec_mixes_batch(const struct mtg_net_spec *spec);
/*
 * Writes the input shape, then one line per layer with its output shape and
 * parameter count (" 5 convt2d k4 s2 p1 +tanh  -> 1x28x28  params 1025"),
 * into buf (always NUL-terminated when cap > 0); stops at the first layer that
 * does not chain and says why. Returns the length the full text needs, like snprintf.
 */
size_t mtg_net_spec_describe(const struct mtg_net_spec *spec, char *buf, size_t cap);

/*
 * DCGAN for 28x28 images (DESIGN §4), width 64 is the reference:
 * G: z(latent) -> dense 2*width*7*7 -> reshape 2w x7x7 -> BN relu -> convT 4/2 p1
 *    -> w x14x14 -> BN relu -> convT 4/2 p1 -> 1x28x28 tanh.
 * D: 1x28x28 -> conv 4/2 p1 -> w x14x14 leaky(0.2) -> conv 4/2 p1 -> 2w x7x7 leaky
 *    -> [mbstd] -> dense 1.
 * mbstd: 0 = no minibatch-stddev layer, g >= 2 = one with group size g (4 in
 * Karras et al.), -1 = one over the whole batch. Bad sizes are reported by
 * mtg_net_spec_validate() / mtg_net_new().
 */
void mtg_net_spec_dcgan28_g(struct mtg_net_spec *spec, int latent, int width);
void mtg_net_spec_dcgan28_d(struct mtg_net_spec *spec, int width, int mbstd);

/*
 * Creates a net whose forward/backward accept up to max_batch samples, in
 * training mode. Parameters are zero until an init or a load. Caller frees
 * with mtg_net_free(). NULL + err on a bad spec or out of memory.
 */
struct mtg_net *mtg_net_new(const struct mtg_net_spec *spec, int max_batch, struct mtg_err *err);
void mtg_net_free(struct mtg_net *net);
/* Deep copy: same spec, max_batch, mode and parameters (gradients zeroed). */
struct mtg_net *mtg_net_clone(const struct mtg_net *net, struct mtg_err *err);

/*
 * PyTorch's default init: dense/conv w and b ~ U(+-1/sqrt(fan_in)), fan_in as
 * PyTorch computes it (in; in_c*k*k; for convT out_c*k*k); BN gamma 1, beta 0,
 * rmean 0, rvar 1. Draws layer by layer, w then b, from rng.
 */
void mtg_net_init_params(struct mtg_net *net, struct mtg_rng *rng);
/* DCGAN's init (Radford et al. 2016): dense/conv w ~ N(0, 0.02), b = 0, BN gamma ~ N(1, 0.02). */
void mtg_net_init_dcgan(struct mtg_net *net, struct mtg_rng *rng);

/*
 * Training mode (1, the default) normalises with batch statistics and
 * updates the running ones on every forward; eval mode (0) uses the running
 * statistics. Only batch norm reads it.
 */
void mtg_net_set_train(struct mtg_net *net, int train);
int mtg_net_train(const struct mtg_net *net);
/*
 * With frozen set (0 by default), training-mode forwards still normalise
 * with the batch's statistics but leave the running statistics as they
 * are: sampling a generator for evaluation or serving changes nothing.
 */
void mtg_net_set_stats_frozen(struct mtg_net *net, int frozen);
int mtg_net_stats_frozen(const struct mtg_net *net);

/*
 * Forward pass on x [batch, in_dim] (NCHW per sample); returns the output
 * [batch, out_dim], owned by net and valid until the next forward.
 * 1 <= batch <= max_batch. x must stay valid until the matching backward
 * (it is not copied). Minibatch-stddev and training-mode batch norm mix the
 * samples of one call, as in PyTorch.
 */
const float *mtg_net_forward(struct mtg_net *net, const float *x, int batch);
/*
 * Backward pass for the last forward, given dL/dy [batch, out_dim].
 * Returns dL/dx (owned by net) when MTG_NET_INPUT_GRAD is set, else NULL.
 * Parameter gradients are accumulated (call mtg_net_zero_grad first).
 */
const float *mtg_net_backward(struct mtg_net *net, const float *dy, int batch, unsigned flags);
void mtg_net_zero_grad(struct mtg_net *net);

/* Output of layer i (after its fused activation) from the last forward: [batch, layer_dim(i)]. */
const float *mtg_net_activation(const struct mtg_net *net, int layer);
/* Output shape C,H,W of layer i. */
void mtg_net_layer_shape(const struct mtg_net *net, int layer, int out[3]);

const struct mtg_net_spec *mtg_net_get_spec(const struct mtg_net *net);
int mtg_net_in_dim(const struct mtg_net *net);  /* C*H*W of the input */
int mtg_net_out_dim(const struct mtg_net *net); /* C*H*W of the output */
int mtg_net_max_batch(const struct mtg_net *net);
int mtg_net_n_layers(const struct mtg_net *net);
size_t mtg_net_param_count(const struct mtg_net *net);
float *mtg_net_params(struct mtg_net *net);
const float *mtg_net_params_const(const struct mtg_net *net);
float *mtg_net_grads(struct mtg_net *net);
/* Parameter tensors in layout order; tensor k fills *out (k in [0, n_tensors)). */
int mtg_net_n_tensors(const struct mtg_net *net);
void mtg_net_tensor(const struct mtg_net *net, int k, struct mtg_net_tensor *out);
/* Bytes held by net (params, grads, activations, workspace): for memory accounting. */
size_t mtg_net_bytes(const struct mtg_net *net);

/* Forward in chunks of max_batch over n samples of x into out [n, out_dim], in the current mode. */
void mtg_net_predict(struct mtg_net *net, const float *x, int n, float *out);

#endif
