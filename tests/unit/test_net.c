/*
 * core/net: finite-difference gradient checks for every op (input gradient
 * and every trainable parameter), forward values against direct reference
 * loops, spec validation messages, dense stacks against the arithmetic of
 * the mlp type they replaced, spec conversion and comparison,
 * batch-norm modes and running statistics, clone.
 */
#include <cblas.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/net.h"
#include "core/rng.h"
#include "core/status.h"

/* L = sum_i y_i * r_i accumulated in double, so dL/dy = r exactly. */
static double probe_loss(struct mtg_net *n, const float *x, int batch, const float *r)
{
    const float *y = mtg_net_forward(n, x, batch);
    double s = 0;
    for (int i = 0; i < batch * mtg_net_out_dim(n); i++)
        s += (double)y[i] * r[i];
    return s;
}

static double central_diff(struct mtg_net *n, float *v, const float *x, int batch, const float *r, float h)
{
    float keep = *v;
    *v = keep + h;
    double lp = probe_loss(n, x, batch, r);
    *v = keep - h;
    double lm = probe_loss(n, x, batch, r);
    *v = keep;
    return (lp - lm) / (2.0 * (double)h);
}

static int close_enough(double num, double ana) { return fabs(num - ana) <= 4e-3 + 1e-2 * fabs(num); }

struct gc_opts {
    int batch;
    int train;          /* batch norm mode */
    double max_bad;     /* tolerated fraction of disagreeing entries (kinks of relu-family acts) */
    float param_scale;  /* multiplies the initialised parameters */
};

/*
 * Checks dL/dx and dL/dtheta for every trainable tensor against central
 * differences, and that non-trainable tensors get exactly zero gradient.
 */
static void gradcheck(const struct mtg_net_spec *spec, struct gc_opts o, const char *what)
{
    struct mtg_err err = {0};
    struct mtg_net *n = mtg_net_new(spec, o.batch, &err);
    cr_assert_not_null(n, "%s: %s", what, err.msg);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 11);
    mtg_net_init_params(n, &rng);
    mtg_net_set_train(n, o.train);
    float *p = mtg_net_params(n);
    if (o.param_scale != 0.0f) {
        for (int k = 0; k < mtg_net_n_tensors(n); k++) {
            struct mtg_net_tensor t;
            mtg_net_tensor(n, k, &t);
            for (size_t i = 0; i < t.count; i++)
                if (t.trainable && strcmp(t.name, "gamma") != 0)
                    p[t.offset + i] *= o.param_scale;
        }
    }
    if (!o.train) {
        /* Non-trivial running statistics, so eval mode is not the identity. */
        for (int k = 0; k < mtg_net_n_tensors(n); k++) {
            struct mtg_net_tensor t;
            mtg_net_tensor(n, k, &t);
            if (!strcmp(t.name, "rmean"))
                mtg_rng_fill_uniform(&rng, p + t.offset, t.count, -0.5f, 0.5f);
            if (!strcmp(t.name, "rvar"))
                mtg_rng_fill_uniform(&rng, p + t.offset, t.count, 0.5f, 2.0f);
        }
    }
    int nin = o.batch * mtg_net_in_dim(n), nout = o.batch * mtg_net_out_dim(n);
    float *x = malloc((size_t)nin * sizeof(float)), *r = malloc((size_t)nout * sizeof(float));
    float *dx = malloc((size_t)nin * sizeof(float));
    mtg_rng_fill_normal(&rng, x, (size_t)nin, 0.0f, 1.0f);
    mtg_rng_fill_normal(&rng, r, (size_t)nout, 0.0f, 1.0f);

    mtg_net_forward(n, x, o.batch);
    mtg_net_zero_grad(n);
    const float *g = mtg_net_backward(n, r, o.batch, MTG_NET_PARAM_GRAD | MTG_NET_INPUT_GRAD);
    cr_assert_not_null(g);
    memcpy(dx, g, (size_t)nin * sizeof(float));
    size_t np = mtg_net_param_count(n);
    float *grads = malloc((np ? np : 1) * sizeof(float));
    memcpy(grads, mtg_net_grads(n), np * sizeof(float));

    const float h = 1e-3f;
    int checked = 0, bad = 0;
    double diff2 = 0, norm2 = 0; /* over all checked entries: a systematic error cannot hide as "a few kinks" */
    for (int k = 0; k < mtg_net_n_tensors(n); k++) {
        struct mtg_net_tensor t;
        mtg_net_tensor(n, k, &t);
        for (size_t i = 0; i < t.count; i++) {
            size_t at = t.offset + i;
            if (!t.trainable) {
                cr_expect_eq(grads[at], 0.0f, "%s: layer %d %s[%zu] has gradient %g", what, t.layer, t.name,
                             i, (double)grads[at]);
                continue;
            }
            double num = central_diff(n, &p[at], x, o.batch, r, h);
            checked++;
            diff2 += (num - grads[at]) * (num - grads[at]);
            norm2 += num * num;
            if (!close_enough(num, grads[at])) {
                bad++;
                if (o.max_bad == 0.0 || getenv("GC_VERBOSE"))
                    cr_log_error("%s: layer %d %s[%zu]: numeric %g analytic %g", what, t.layer, t.name, i, num,
                                 (double)grads[at]);
            }
        }
    }
    for (int i = 0; i < nin; i++) {
        double num = central_diff(n, &x[i], x, o.batch, r, h);
        checked++;
        diff2 += (num - dx[i]) * (num - dx[i]);
        norm2 += num * num;
        if (!close_enough(num, dx[i])) {
            bad++;
            if (o.max_bad == 0.0 || getenv("GC_VERBOSE"))
                cr_log_error("%s: dx[%d]: numeric %g analytic %g", what, i, num, (double)dx[i]);
        }
    }
    cr_assert(bad <= (int)(o.max_bad * checked), "%s: %d of %d gradients disagree", what, bad, checked);
    cr_assert(sqrt(diff2) <= 0.05 * sqrt(norm2), "%s: |numeric - analytic| = %g of |numeric| = %g", what,
              sqrt(diff2), sqrt(norm2));
    free(x);
    free(r);
    free(dx);
    free(grads);
    mtg_net_free(n);
}

static const struct gc_opts smooth = {.batch = 3, .train = 1};

#define L_DENSE(o, a) ((struct mtg_layer_spec){.op = MTG_OP_DENSE, .out = (o), .act = (a)})
#define L_CONV(op_, o, k, s, p, a)                                                                                \
    ((struct mtg_layer_spec){.op = (op_), .out = (o), .kernel = (k), .stride = (s), .pad = (p), .act = (a)})

Test(net, gradcheck_dense)
{
    struct mtg_net_spec s = {.in_shape = {2, 3, 3}, .n_layers = 2,
                             .layer = {L_DENSE(5, MTG_ACT_TANH), L_DENSE(3, MTG_ACT_SIGMOID)}};
    gradcheck(&s, smooth, "dense");
}

Test(net, gradcheck_conv2d)
{
    struct mtg_net_spec s = {.in_shape = {3, 6, 6}, .n_layers = 1,
                             .layer = {L_CONV(MTG_OP_CONV2D, 4, 4, 2, 1, MTG_ACT_NONE)}};
    gradcheck(&s, smooth, "conv2d k4 s2 p1");
    s.in_shape[1] = 5;
    s.in_shape[2] = 7;
    s.layer[0] = L_CONV(MTG_OP_CONV2D, 2, 3, 1, 1, MTG_ACT_TANH);
    gradcheck(&s, smooth, "conv2d k3 s1 p1 on 5x7");
    s.layer[0] = L_CONV(MTG_OP_CONV2D, 2, 3, 2, 0, MTG_ACT_NONE);
    gradcheck(&s, smooth, "conv2d k3 s2 p0 on 5x7");
}

Test(net, gradcheck_convt2d)
{
    struct mtg_net_spec s = {.in_shape = {3, 3, 3}, .n_layers = 1,
                             .layer = {L_CONV(MTG_OP_CONVT2D, 2, 4, 2, 1, MTG_ACT_NONE)}};
    gradcheck(&s, smooth, "convt2d k4 s2 p1");
    s.in_shape[2] = 4;
    s.layer[0] = L_CONV(MTG_OP_CONVT2D, 3, 3, 1, 0, MTG_ACT_TANH);
    gradcheck(&s, smooth, "convt2d k3 s1 p0 on 3x4");
    s.layer[0] = L_CONV(MTG_OP_CONVT2D, 2, 3, 2, 2, MTG_ACT_NONE);
    gradcheck(&s, smooth, "convt2d k3 s2 p2 on 3x4");
}

Test(net, gradcheck_batchnorm_train)
{
    struct mtg_net_spec s = {.in_shape = {3, 2, 2}, .n_layers = 1,
                             .layer = {{.op = MTG_OP_BATCHNORM, .act = MTG_ACT_TANH}}};
    struct gc_opts o = {.batch = 4, .train = 1, .param_scale = 0.7f};
    gradcheck(&s, o, "batchnorm 3x2x2 train");
    /* Flat features (BatchNorm1d), behind a dense layer so gamma/beta are off their init. */
    struct mtg_net_spec f = {.in_shape = {4, 1, 1}, .n_layers = 3,
                             .layer = {L_DENSE(5, MTG_ACT_NONE), {.op = MTG_OP_BATCHNORM},
                                       L_DENSE(2, MTG_ACT_SIGMOID)}};
    o.batch = 5;
    gradcheck(&f, o, "batchnorm flat train");
}

Test(net, gradcheck_batchnorm_eval)
{
    struct mtg_net_spec s = {.in_shape = {3, 2, 2}, .n_layers = 2,
                             .layer = {{.op = MTG_OP_BATCHNORM}, L_DENSE(2, MTG_ACT_TANH)}};
    struct gc_opts o = {.batch = 3, .train = 0};
    gradcheck(&s, o, "batchnorm eval");
}

Test(net, gradcheck_mbstd)
{
    /* batch 6, group 4: one full group and a smaller last one. */
    struct mtg_net_spec s = {.in_shape = {2, 2, 3}, .n_layers = 2,
                             .layer = {{.op = MTG_OP_MBSTD, .group = 4}, L_DENSE(3, MTG_ACT_NONE)}};
    struct gc_opts o = {.batch = 6, .train = 1};
    gradcheck(&s, o, "mbstd g4");
    s.layer[0].group = 0;
    o.batch = 4;
    gradcheck(&s, o, "mbstd whole batch");
    struct mtg_net_spec f = {.in_shape = {5, 1, 1}, .n_layers = 2,
                             .layer = {{.op = MTG_OP_MBSTD, .group = 2}, L_DENSE(2, MTG_ACT_TANH)}};
    gradcheck(&f, o, "mbstd flat g2");
}

Test(net, gradcheck_act)
{
    static const enum mtg_act acts[] = {MTG_ACT_NONE, MTG_ACT_RELU, MTG_ACT_LEAKY_RELU, MTG_ACT_SIGMOID,
                                        MTG_ACT_TANH};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        struct mtg_net_spec s = {.in_shape = {2, 2, 2}, .n_layers = 3,
                                 .layer = {L_DENSE(6, MTG_ACT_NONE), {.op = MTG_OP_ACT, .act = acts[a]},
                                           L_DENSE(2, MTG_ACT_NONE)}};
        struct gc_opts o = {.batch = 3, .train = 1, .max_bad = 0.02};
        gradcheck(&s, o, mtg_act_name(acts[a]));
    }
}

Test(net, gradcheck_reshape)
{
    /* A pure view between dense and conv, and a reshape with its own activation. */
    struct mtg_net_spec s = {.in_shape = {3, 1, 1}, .n_layers = 4,
                             .layer = {L_DENSE(16, MTG_ACT_NONE), {.op = MTG_OP_RESHAPE, .shape = {4, 2, 2}},
                                       L_CONV(MTG_OP_CONVT2D, 2, 4, 2, 1, MTG_ACT_NONE),
                                       {.op = MTG_OP_RESHAPE, .shape = {32, 1, 1}, .act = MTG_ACT_TANH}}};
    gradcheck(&s, smooth, "reshape");
    /* A view as the very first layer aliases the caller's input. */
    struct mtg_net_spec v = {.in_shape = {8, 1, 1}, .n_layers = 2,
                             .layer = {{.op = MTG_OP_RESHAPE, .shape = {2, 2, 2}},
                                       L_CONV(MTG_OP_CONV2D, 2, 2, 1, 0, MTG_ACT_TANH)}};
    gradcheck(&v, smooth, "reshape first");
}

/*
 * The composed presets twice: with their own activations, where a central
 * difference that straddles a ReLU kink disagrees for a few entries (batch
 * norm moves every unit of a channel when one weight moves), so a small
 * fraction may differ while the whole gradient vector must still agree; and
 * with every ReLU-family activation swapped for tanh, where every entry must.
 */
static void smooth_twin(struct mtg_net_spec *s)
{
    for (int i = 0; i < s->n_layers; i++)
        if (s->layer[i].act == MTG_ACT_RELU || s->layer[i].act == MTG_ACT_LEAKY_RELU)
            s->layer[i].act = MTG_ACT_TANH;
}

Test(net, gradcheck_dcgan_g_small)
{
    struct mtg_net_spec s;
    mtg_net_spec_dcgan28_g(&s, 4, 2);
    struct gc_opts o = {.batch = 4, .train = 1, .max_bad = 0.03};
    gradcheck(&s, o, "dcgan G latent 4 width 2");
    smooth_twin(&s);
    o.max_bad = 0;
    gradcheck(&s, o, "dcgan G latent 4 width 2, tanh twin");
}

Test(net, gradcheck_dcgan_d_small)
{
    struct mtg_net_spec s;
    mtg_net_spec_dcgan28_d(&s, 2, 2);
    struct gc_opts o = {.batch = 4, .train = 1, .max_bad = 0.03};
    gradcheck(&s, o, "dcgan D width 2 mbstd 2");
    smooth_twin(&s);
    o.max_bad = 0;
    gradcheck(&s, o, "dcgan D width 2 mbstd 2, tanh twin");
}

/* ---- forward values against direct loops (PyTorch's definitions) ---- */

static void ref_conv2d(const float *x, int N, int C, int H, int W, const float *w, const float *b, int OC, int k,
                       int s, int p, float *y, int OH, int OW)
{
    for (int n = 0; n < N; n++)
        for (int oc = 0; oc < OC; oc++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double acc = b[oc];
                    for (int c = 0; c < C; c++)
                        for (int ki = 0; ki < k; ki++)
                            for (int kj = 0; kj < k; kj++) {
                                int ih = oh * s - p + ki, iw = ow * s - p + kj;
                                if (ih >= 0 && ih < H && iw >= 0 && iw < W)
                                    acc += (double)x[((n * C + c) * H + ih) * W + iw] *
                                           w[((oc * C + c) * k + ki) * k + kj];
                            }
                    y[((n * OC + oc) * OH + oh) * OW + ow] = (float)acc;
                }
}

/* ConvTranspose2d by its definition: every input pixel scatters w[c, oc] into the output. */
static void ref_convt2d(const float *x, int N, int C, int H, int W, const float *w, const float *b, int OC, int k,
                        int s, int p, float *y, int OH, int OW)
{
    for (int n = 0; n < N; n++)
        for (int oc = 0; oc < OC; oc++)
            for (int i = 0; i < OH * OW; i++)
                y[(n * OC + oc) * OH * OW + i] = b[oc];
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int ih = 0; ih < H; ih++)
                for (int iw = 0; iw < W; iw++)
                    for (int oc = 0; oc < OC; oc++)
                        for (int ki = 0; ki < k; ki++)
                            for (int kj = 0; kj < k; kj++) {
                                int oh = ih * s - p + ki, ow = iw * s - p + kj;
                                if (oh >= 0 && oh < OH && ow >= 0 && ow < OW)
                                    y[((n * OC + oc) * OH + oh) * OW + ow] +=
                                        x[((n * C + c) * H + ih) * W + iw] * w[((c * OC + oc) * k + ki) * k + kj];
                            }
}

static void check_conv_forward(enum mtg_op op, int N, int C, int H, int W, int OC, int k, int s, int p)
{
    struct mtg_net_spec spec = {.in_shape = {C, H, W}, .n_layers = 1, .layer = {L_CONV(op, OC, k, s, p, 0)}};
    struct mtg_err err = {0};
    struct mtg_net *n = mtg_net_new(&spec, N, &err);
    cr_assert_not_null(n, "%s", err.msg);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 5);
    mtg_net_init_params(n, &rng);
    int os[3];
    mtg_net_layer_shape(n, 0, os);
    float *x = malloc(sizeof(float) * N * C * H * W), *ref = malloc(sizeof(float) * N * OC * os[1] * os[2]);
    mtg_rng_fill_normal(&rng, x, (size_t)N * C * H * W, 0.0f, 1.0f);
    struct mtg_net_tensor tw, tb;
    mtg_net_tensor(n, 0, &tw);
    mtg_net_tensor(n, 1, &tb);
    const float *pw = mtg_net_params(n) + tw.offset, *pb = mtg_net_params(n) + tb.offset;
    if (op == MTG_OP_CONV2D)
        ref_conv2d(x, N, C, H, W, pw, pb, OC, k, s, p, ref, os[1], os[2]);
    else
        ref_convt2d(x, N, C, H, W, pw, pb, OC, k, s, p, ref, os[1], os[2]);
    const float *y = mtg_net_forward(n, x, N);
    for (int i = 0; i < N * OC * os[1] * os[2]; i++)
        cr_assert(fabsf(y[i] - ref[i]) <= 1e-4f * (1.0f + fabsf(ref[i])), "op %d y[%d] = %g, reference %g", op, i,
                  (double)y[i], (double)ref[i]);
    free(x);
    free(ref);
    mtg_net_free(n);
}

Test(net, conv_forward_matches_reference)
{
    check_conv_forward(MTG_OP_CONV2D, 3, 3, 8, 6, 5, 4, 2, 1);
    check_conv_forward(MTG_OP_CONV2D, 3, 2, 5, 5, 3, 3, 1, 1);
    check_conv_forward(MTG_OP_CONV2D, 3, 2, 7, 9, 3, 3, 2, 0);
    check_conv_forward(MTG_OP_CONVT2D, 3, 3, 4, 3, 5, 4, 2, 1);
    check_conv_forward(MTG_OP_CONVT2D, 3, 2, 3, 3, 2, 3, 1, 0);
    check_conv_forward(MTG_OP_CONVT2D, 3, 2, 3, 4, 3, 5, 3, 2);
    /* ~200 KB of im2col per sample: batch 23 runs as several chunks, the last one short. */
    check_conv_forward(MTG_OP_CONV2D, 23, 64, 14, 14, 8, 4, 2, 1);
    check_conv_forward(MTG_OP_CONVT2D, 23, 8, 7, 7, 64, 4, 2, 1);
}

/*
 * Convolutions treat samples independently, so a batch processed in chunks
 * must give each sample's single-sample output and input gradient, and the
 * sum of the single-sample parameter gradients.
 */
static void check_chunks_match_single(enum mtg_op op, int C, int HW, int OC)
{
    struct mtg_net_spec spec = {.in_shape = {C, HW, HW}, .n_layers = 1,
                                .layer = {L_CONV(op, OC, 4, 2, 1, MTG_ACT_TANH)}};
    const int N = 23;
    struct mtg_net *big = mtg_net_new(&spec, N, NULL), *one = mtg_net_new(&spec, 1, NULL);
    cr_assert(big && one);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 8);
    mtg_net_init_params(big, &rng);
    size_t np = mtg_net_param_count(big);
    memcpy(mtg_net_params(one), mtg_net_params(big), np * sizeof(float));
    int in = mtg_net_in_dim(big), out = mtg_net_out_dim(big);
    float *x = malloc(sizeof(float) * N * in), *dy = malloc(sizeof(float) * N * out);
    float *gsum = calloc(np, sizeof(float));
    mtg_rng_fill_normal(&rng, x, (size_t)N * in, 0.0f, 1.0f);
    mtg_rng_fill_normal(&rng, dy, (size_t)N * out, 0.0f, 1.0f);
    const float *y = mtg_net_forward(big, x, N);
    mtg_net_zero_grad(big);
    const float *dx = mtg_net_backward(big, dy, N, MTG_NET_PARAM_GRAD | MTG_NET_INPUT_GRAD);
    for (int n = 0; n < N; n++) {
        const float *y1 = mtg_net_forward(one, x + (size_t)n * in, 1);
        for (int i = 0; i < out; i++)
            cr_assert(fabsf(y1[i] - y[(size_t)n * out + i]) <= 1e-5f, "op %d sample %d y[%d]", op, n, i);
        mtg_net_zero_grad(one);
        const float *dx1 = mtg_net_backward(one, dy + (size_t)n * out, 1, MTG_NET_PARAM_GRAD | MTG_NET_INPUT_GRAD);
        for (int i = 0; i < in; i++)
            cr_assert(fabsf(dx1[i] - dx[(size_t)n * in + i]) <= 1e-4f * (1.0f + fabsf(dx1[i])),
                      "op %d sample %d dx[%d]", op, n, i);
        for (size_t i = 0; i < np; i++)
            gsum[i] += mtg_net_grads(one)[i];
    }
    for (size_t i = 0; i < np; i++)
        cr_assert(fabsf(gsum[i] - mtg_net_grads(big)[i]) <= 1e-3f * (1.0f + fabsf(gsum[i])),
                  "op %d grad[%zu] %g vs %g", op, i, (double)mtg_net_grads(big)[i], (double)gsum[i]);
    free(x);
    free(dy);
    free(gsum);
    mtg_net_free(big);
    mtg_net_free(one);
}

Test(net, conv_chunks_match_single_samples)
{
    check_chunks_match_single(MTG_OP_CONV2D, 64, 14, 8);
    check_chunks_match_single(MTG_OP_CONVT2D, 8, 7, 64);
}

Test(net, mbstd_forward_matches_reference)
{
    /* Two samples of two features: per-feature std over the pair is |a - b| / 2. */
    struct mtg_net_spec s = {.in_shape = {2, 1, 1}, .n_layers = 1, .layer = {{.op = MTG_OP_MBSTD}}};
    struct mtg_net *n = mtg_net_new(&s, 2, NULL);
    cr_assert_not_null(n);
    float x[] = {1, 2, 3, 6};
    const float *y = mtg_net_forward(n, x, 2);
    float sd = (sqrtf(1.0f + 1e-8f) + sqrtf(4.0f + 1e-8f)) / 2.0f;
    float want[] = {1, 2, sd, 3, 6, sd};
    for (int i = 0; i < 6; i++)
        cr_assert_float_eq(y[i], want[i], 1e-6, "y[%d] = %g", i, (double)y[i]);
    cr_assert_eq(mtg_net_out_dim(n), 3);
    mtg_net_free(n);
}

/* ---- spec validation and description ---- */

Test(net, validation_names_layer_and_shapes)
{
    struct mtg_err err = {0};
    struct mtg_net_spec s = {.in_shape = {64, 5, 5}, .n_layers = 4,
                             .layer = {{.op = MTG_OP_ACT}, {.op = MTG_OP_BATCHNORM}, {.op = MTG_OP_ACT},
                                       L_CONV(MTG_OP_CONV2D, 8, 4, 2, 1, MTG_ACT_NONE)}};
    cr_assert_eq(mtg_net_spec_validate(&s, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "net: layer 3 (conv2d k4 s2 p1): input 64x5x5 gives a non-integer/empty output"),
              "%s", err.msg);
    cr_assert_null(mtg_net_new(&s, 4, &err));

    struct mtg_net_spec r = {.in_shape = {8, 1, 1}, .n_layers = 2,
                             .layer = {L_DENSE(6272, MTG_ACT_NONE), {.op = MTG_OP_RESHAPE, .shape = {64, 7, 7}}}};
    cr_assert_eq(mtg_net_spec_validate(&r, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "layer 1 (reshape): 6272 features cannot become 64x7x7 (3136)"), "%s", err.msg);

    struct mtg_net_spec t = {.in_shape = {2, 2, 2}, .n_layers = 1,
                             .layer = {L_CONV(MTG_OP_CONVT2D, 1, 3, 1, 2, MTG_ACT_NONE)}};
    cr_assert_eq(mtg_net_spec_validate(&t, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "layer 0 (convt2d k3 s1 p2): input 2x2x2 gives output size"), "%s", err.msg);

    struct mtg_net_spec m = {.in_shape = {2, 2, 2}, .n_layers = 1, .layer = {{.op = MTG_OP_MBSTD, .group = 1}}};
    cr_assert_eq(mtg_net_spec_validate(&m, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "layer 0 (mbstd g1): group 1"), "%s", err.msg);

    struct mtg_net_spec u = {.in_shape = {2, 2, 2}, .n_layers = 1, .layer = {{.op = (enum mtg_op)42}}};
    cr_assert_eq(mtg_net_spec_validate(&u, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "layer 0 has unknown op 42"), "%s", err.msg);

    u.n_layers = 17;
    cr_assert_eq(mtg_net_spec_validate(&u, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "n_layers 17"), "%s", err.msg);

    struct mtg_net_spec k = {.in_shape = {2, 8, 8}, .n_layers = 1,
                             .layer = {L_CONV(MTG_OP_CONV2D, 3, 3, 1, 3, MTG_ACT_NONE)}};
    cr_assert_eq(mtg_net_spec_validate(&k, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "pad 3"), "%s", err.msg);

    struct mtg_net_spec a = {.in_shape = {2, 1, 1}, .n_layers = 1, .layer = {L_DENSE(3, (enum mtg_act)9)}};
    cr_assert_eq(mtg_net_spec_validate(&a, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "layer 0 (dense 3) has unknown activation 9"), "%s", err.msg);

    int out[3];
    cr_assert_eq(mtg_net_spec_out_shape(&a, out), MTG_EINVAL);
    cr_assert_eq(mtg_net_spec_param_count(&a), 0);
}

Test(net, describe_lists_shapes_and_stops_at_error)
{
    struct mtg_net_spec g;
    mtg_net_spec_dcgan28_g(&g, 64, 64);
    char buf[2048];
    size_t len = mtg_net_spec_describe(&g, buf, sizeof buf);
    cr_assert_eq(len, strlen(buf));
    cr_assert(strstr(buf, "input 64x1x1\n"), "%s", buf);
    cr_assert(strstr(buf, " 0 dense 6272"), "%s", buf);
    cr_assert(strstr(buf, "-> 128x7x7"), "%s", buf);
    cr_assert(strstr(buf, " 5 convt2d k4 s2 p1 +tanh"), "%s", buf);
    cr_assert(strstr(buf, "-> 1x28x28"), "%s", buf);
    g.layer[1].shape[0] = 64;
    mtg_net_spec_describe(&g, buf, sizeof buf);
    cr_assert(strstr(buf, "layer 1 (reshape): 6272 features cannot become 64x7x7 (3136)"), "%s", buf);
    cr_assert_null(strstr(buf, "convt2d"), "%s", buf);
    /* Truncation keeps a terminated prefix and still reports the full length. */
    char small[16];
    size_t need = mtg_net_spec_describe(&g, small, sizeof small);
    cr_assert_eq(strlen(small), sizeof small - 1);
    cr_assert_gt(need, sizeof small);
}

Test(net, presets_have_expected_shapes_and_params)
{
    struct mtg_net_spec g, d;
    int out[3];
    mtg_net_spec_dcgan28_g(&g, 64, 64);
    cr_assert_eq(mtg_net_spec_validate(&g, NULL), MTG_OK);
    cr_assert_eq(mtg_net_spec_out_shape(&g, out), MTG_OK);
    cr_assert(out[0] == 1 && out[1] == 28 && out[2] == 28);
    /* PyTorch's count (Linear, 2x BatchNorm2d incl. running stats, 2x ConvTranspose2d with bias). */
    size_t want_g = (64 * 6272 + 6272) + 4 * 128 + (128 * 64 * 16 + 64) + 4 * 64 + (64 * 16 + 1);
    cr_assert_eq(mtg_net_spec_param_count(&g), want_g);
    mtg_net_spec_dcgan28_d(&d, 64, 0);
    cr_assert_eq(d.n_layers, 3);
    cr_assert_eq(mtg_net_spec_out_shape(&d, out), MTG_OK);
    cr_assert(out[0] == 1 && out[1] == 1 && out[2] == 1);
    size_t want_d = (64 * 16 + 64) + (128 * 64 * 16 + 128) + (6272 + 1);
    cr_assert_eq(mtg_net_spec_param_count(&d), want_d);
    mtg_net_spec_dcgan28_d(&d, 64, 4);
    cr_assert_eq(d.n_layers, 4);
    cr_assert_eq(d.layer[2].op, MTG_OP_MBSTD);
    cr_assert_eq(d.layer[2].group, 4);
    cr_assert_eq(mtg_net_spec_param_count(&d), want_d + 49);
    mtg_net_spec_dcgan28_d(&d, 64, -1);
    cr_assert_eq(d.layer[2].group, 0);
}

Test(net, tensors_describe_the_flat_array)
{
    struct mtg_net_spec g;
    mtg_net_spec_dcgan28_g(&g, 8, 4);
    struct mtg_net *n = mtg_net_new(&g, 2, NULL);
    cr_assert_not_null(n);
    static const char *const names[] = {"w", "b", "gamma", "beta", "rmean", "rvar", "w", "b",
                                        "gamma", "beta", "rmean", "rvar", "w", "b"};
    static const int layers[] = {0, 0, 2, 2, 2, 2, 3, 3, 4, 4, 4, 4, 5, 5};
    cr_assert_eq(mtg_net_n_tensors(n), 14);
    size_t off = 0;
    for (int k = 0; k < 14; k++) {
        struct mtg_net_tensor t;
        mtg_net_tensor(n, k, &t);
        cr_assert_str_eq(t.name, names[k]);
        cr_assert_eq(t.layer, layers[k]);
        cr_assert_eq(t.offset, off);
        size_t c = 1;
        for (int d = 0; d < t.rank; d++)
            c *= (size_t)t.dims[d];
        cr_assert_eq(c, t.count);
        cr_assert_eq(t.trainable, strcmp(t.name, "rmean") && strcmp(t.name, "rvar"));
        off += t.count;
    }
    cr_assert_eq(off, mtg_net_param_count(n));
    struct mtg_net_tensor t;
    mtg_net_tensor(n, 0, &t); /* dense w [in, out] like mtg_mlp */
    cr_assert(t.rank == 2 && t.dims[0] == 8 && t.dims[1] == 392);
    mtg_net_tensor(n, 6, &t); /* ConvTranspose2d [in_c, out_c, k, k] */
    cr_assert(t.rank == 4 && t.dims[0] == 8 && t.dims[1] == 4 && t.dims[2] == 4 && t.dims[3] == 4);
    mtg_net_free(n);

    struct mtg_net_spec d;
    mtg_net_spec_dcgan28_d(&d, 4, 0);
    n = mtg_net_new(&d, 2, NULL);
    mtg_net_tensor(n, 2, &t); /* Conv2d [out_c, in_c, k, k] */
    cr_assert(t.rank == 4 && t.dims[0] == 8 && t.dims[1] == 4 && t.dims[2] == 4 && t.dims[3] == 4);
    mtg_net_free(n);
}

/* ---- dense stacks (the digits' networks) ---- */

/*
 * The arithmetic of the mtg_mlp type that struct mtg_net replaced, call for
 * call: bias-seeded rows plus one sgemm with beta = 1 forward; backward
 * through the activation output, dW = x^T dz, db = column sums, dx = dz W^T.
 * The net must match it bit for bit, so the digits' models train and load
 * exactly as before the migration.
 */
struct ref_mlp {
    const struct mtg_mlp_spec *s;
    const float *p;
    float act[4][9 * 8];
};

static int ref_in(const struct mtg_mlp_spec *s, int i) { return i == 0 ? s->in_dim : s->width[i - 1]; }

static void ref_act(enum mtg_act a, float *v, size_t n, float slope)
{
    for (size_t i = 0; i < n; i++) {
        switch (a) {
        case MTG_ACT_NONE:
            break;
        case MTG_ACT_RELU:
            v[i] = v[i] > 0.0f ? v[i] : 0.0f;
            break;
        case MTG_ACT_LEAKY_RELU:
            v[i] = v[i] > 0.0f ? v[i] : slope * v[i];
            break;
        case MTG_ACT_SIGMOID:
            v[i] = 1.0f / (1.0f + expf(-v[i]));
            break;
        case MTG_ACT_TANH:
            v[i] = tanhf(v[i]);
            break;
        }
    }
}

static float ref_dact(enum mtg_act act, float a, float dy, float slope)
{
    switch (act) {
    case MTG_ACT_RELU:
        return a > 0.0f ? dy : 0.0f;
    case MTG_ACT_LEAKY_RELU:
        return a > 0.0f ? dy : slope * dy;
    case MTG_ACT_SIGMOID:
        return dy * a * (1.0f - a);
    case MTG_ACT_TANH:
        return dy * (1.0f - a * a);
    default:
        return dy;
    }
}

static void ref_forward(struct ref_mlp *m, const float *x, int batch)
{
    const float *in = x, *p = m->p;
    for (int i = 0; i < m->s->n_layers; i++) {
        int k = ref_in(m->s, i), n = m->s->width[i];
        const float *w = p, *b = p + (size_t)k * n;
        for (int r = 0; r < batch; r++)
            memcpy(m->act[i] + (size_t)r * n, b, (size_t)n * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, n, k, 1.0f, in, k, w, n, 1.0f, m->act[i], n);
        ref_act(m->s->act[i], m->act[i], (size_t)batch * n, m->s->leaky_slope);
        in = m->act[i];
        p += (size_t)k * n + n;
    }
}

/* Accumulates parameter gradients into grads and writes dL/dx into dx. */
static void ref_backward(struct ref_mlp *m, const float *x, const float *dy, int batch, float *grads, float *dx)
{
    size_t off[4], o = 0;
    for (int i = 0; i < m->s->n_layers; i++) {
        off[i] = o;
        o += (size_t)ref_in(m->s, i) * m->s->width[i] + m->s->width[i];
    }
    float cur[9 * 8], dz[9 * 8];
    memcpy(cur, dy, (size_t)batch * m->s->width[m->s->n_layers - 1] * sizeof(float));
    for (int i = m->s->n_layers - 1; i >= 0; i--) {
        int k = ref_in(m->s, i), n = m->s->width[i];
        for (int j = 0; j < batch * n; j++)
            dz[j] = ref_dact(m->s->act[i], m->act[i][j], cur[j], m->s->leaky_slope);
        const float *in = i == 0 ? x : m->act[i - 1];
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, batch, 1.0f, in, k, dz, n, 1.0f, grads + off[i], n);
        float *db = grads + off[i] + (size_t)k * n;
        for (int r = 0; r < batch; r++)
            for (int j = 0; j < n; j++)
                db[j] += dz[(size_t)r * n + j];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, k, n, 1.0f, dz, n, m->p + off[i], n, 0.0f,
                    i == 0 ? dx : cur, k);
    }
}

Test(net, from_mlp_matches_the_mlp_arithmetic_exactly)
{
    struct mtg_mlp_spec ms = {.in_dim = 5, .n_layers = 4, .width = {7, 6, 4, 3},
                              .act = {MTG_ACT_LEAKY_RELU, MTG_ACT_RELU, MTG_ACT_TANH, MTG_ACT_SIGMOID},
                              .leaky_slope = 0.2f};
    struct mtg_net_spec ns;
    cr_assert_eq(mtg_net_spec_from_mlp(&ms, &ns), MTG_OK);
    struct mtg_err err = {0};
    struct mtg_net *n = mtg_net_new(&ns, 9, &err);
    cr_assert(n, "%s", err.msg);
    size_t np = 0;
    for (int i = 0; i < ms.n_layers; i++)
        np += (size_t)ref_in(&ms, i) * ms.width[i] + ms.width[i];
    cr_assert_eq(mtg_net_param_count(n), np);

    /* Init: per layer, U(+-1/sqrt(in)) for W then for b, from one stream. */
    struct mtg_rng r1, r2;
    mtg_rng_seed(&r1, 3);
    mtg_rng_seed(&r2, 3);
    mtg_net_init_params(n, &r2);
    float want[200];
    size_t o = 0;
    for (int i = 0; i < ms.n_layers; i++) {
        int k = ref_in(&ms, i), w = ms.width[i];
        float bound = 1.0f / sqrtf((float)k);
        mtg_rng_fill_uniform(&r1, want + o, (size_t)k * w, -bound, bound);
        mtg_rng_fill_uniform(&r1, want + o + (size_t)k * w, (size_t)w, -bound, bound);
        struct mtg_net_tensor tw, tb;
        mtg_net_tensor(n, 2 * i, &tw);
        mtg_net_tensor(n, 2 * i + 1, &tb);
        cr_assert(tw.offset == o && tb.offset == o + (size_t)k * w && tw.dims[0] == k && tw.dims[1] == w);
        cr_assert(!strcmp(tw.name, "w") && !strcmp(tb.name, "b") && tw.layer == i && tb.layer == i);
        o += (size_t)k * w + w;
    }
    cr_assert_eq(memcmp(want, mtg_net_params(n), np * sizeof(float)), 0, "same seed, same initial parameters");

    struct ref_mlp ref = {.s = &ms, .p = mtg_net_params(n)};
    float x[9 * 5], dy[9 * 3], rgrads[200], rdx[9 * 5];
    mtg_rng_fill_normal(&r1, x, 45, 0.0f, 1.0f);
    mtg_rng_fill_normal(&r1, dy, 27, 0.0f, 1.0f);
    for (int batch = 9; batch >= 1; batch -= 4) {
        const float *yn = mtg_net_forward(n, x, batch);
        ref_forward(&ref, x, batch);
        cr_assert_eq(memcmp(ref.act[3], yn, (size_t)batch * 3 * sizeof(float)), 0, "outputs differ at batch %d",
                     batch);
        for (int l = 0; l < 4; l++)
            cr_assert_eq(memcmp(ref.act[l], mtg_net_activation(n, l), (size_t)batch * (size_t)ms.width[l] * sizeof(float)),
                         0);
        mtg_net_zero_grad(n);
        memset(rgrads, 0, sizeof rgrads);
        const float *dn = mtg_net_backward(n, dy, batch, MTG_NET_PARAM_GRAD | MTG_NET_INPUT_GRAD);
        ref_backward(&ref, x, dy, batch, rgrads, rdx);
        cr_assert_eq(memcmp(rdx, dn, (size_t)batch * 5 * sizeof(float)), 0, "dx differs at batch %d", batch);
        cr_assert_eq(memcmp(rgrads, mtg_net_grads(n), np * sizeof(float)), 0,
                     "parameter gradients differ at batch %d", batch);
        cr_assert_null(mtg_net_backward(n, dy, batch, MTG_NET_PARAM_GRAD));
    }
    /* Predict in chunks of max_batch = the same rows one by one. */
    float pn[9 * 3];
    struct mtg_net *n2 = mtg_net_new(&ns, 4, NULL);
    memcpy(mtg_net_params(n2), mtg_net_params(n), np * sizeof(float));
    mtg_net_predict(n2, x, 9, pn);
    ref_forward(&ref, x, 9);
    cr_assert_eq(memcmp(pn, ref.act[3], sizeof pn), 0);
    mtg_net_free(n);
    mtg_net_free(n2);

    ms.n_layers = 0;
    cr_assert_eq(mtg_net_spec_from_mlp(&ms, &ns), MTG_EINVAL);
}

Test(net, dense_forward_matches_hand_values)
{
    struct mtg_mlp_spec ms = {.in_dim = 2, .n_layers = 1, .width = {2}, .act = {MTG_ACT_RELU}};
    struct mtg_net_spec ns;
    mtg_net_spec_from_mlp(&ms, &ns);
    struct mtg_net *n = mtg_net_new(&ns, 1, NULL);
    cr_assert_not_null(n);
    /* W = [[1, -2], [3, 4]] (in x out), b = [0.5, -100] */
    const float p[] = {1, -2, 3, 4, 0.5f, -100};
    memcpy(mtg_net_params(n), p, sizeof p);
    const float x[] = {1, 1};
    const float *y = mtg_net_forward(n, x, 1);
    cr_assert_float_eq(y[0], 4.5f, 1e-6);
    cr_assert_float_eq(y[1], 0.0f, 1e-6);
    mtg_net_free(n);
}

Test(net, gradcheck_dense_every_fused_act)
{
    for (int a = 0; a <= MTG_ACT_LAST; a++) {
        struct mtg_mlp_spec ms = {.in_dim = 5, .n_layers = 3, .width = {7, 6, 3},
                                  .act = {(enum mtg_act)a, (enum mtg_act)a, (enum mtg_act)a}};
        struct mtg_net_spec ns;
        mtg_net_spec_from_mlp(&ms, &ns);
        /* Scaled up so ReLU-family inputs sit away from the kink, where a few entries may still straddle it. */
        struct gc_opts o = {.batch = 4, .train = 1, .param_scale = 1.5f, .max_bad = 0.02};
        gradcheck(&ns, o, mtg_act_name((enum mtg_act)a));
    }
}

Test(net, act_names_round_trip)
{
    for (int a = 0; a <= MTG_ACT_LAST; a++) {
        enum mtg_act back;
        cr_assert_eq(mtg_act_parse(mtg_act_name((enum mtg_act)a), &back), MTG_OK);
        cr_assert_eq((int)back, a);
    }
    enum mtg_act x;
    cr_assert_eq(mtg_act_parse("gelu", &x), MTG_EINVAL);
    cr_assert_eq(mtg_act_parse(NULL, &x), MTG_EINVAL);
    cr_assert_str_eq(mtg_act_name((enum mtg_act)99), "unknown");
}

Test(net, to_mlp_equal_and_mixes_batch)
{
    struct mtg_mlp_spec ms = {.in_dim = 5, .n_layers = 3, .width = {7, 6, 3},
                              .act = {MTG_ACT_LEAKY_RELU, MTG_ACT_RELU, MTG_ACT_NONE}};
    struct mtg_net_spec ns, other;
    struct mtg_mlp_spec back;
    cr_assert_eq(mtg_net_spec_from_mlp(&ms, &ns), MTG_OK);
    cr_assert_eq(mtg_net_spec_to_mlp(&ns, &back), MTG_OK);
    cr_assert(back.in_dim == 5 && back.n_layers == 3 && back.width[1] == 6 && back.act[0] == MTG_ACT_LEAKY_RELU);
    cr_assert_float_eq(back.leaky_slope, 0.2f, 0, "slope 0 resolves to the default");
    cr_assert_eq(mtg_net_spec_mixes_batch(&ns), 0);

    /* Equality: resolved defaults are equal to explicit ones; every architectural field counts. */
    other = ns;
    other.leaky_slope = 0.2f;
    other.layer[0].kernel = 9; /* a dense layer does not read kernel */
    cr_assert(mtg_net_spec_equal(&ns, &other));
    other.layer[1].out = 8;
    cr_assert_not(mtg_net_spec_equal(&ns, &other));
    other = ns;
    other.layer[2].act = MTG_ACT_SIGMOID;
    cr_assert_not(mtg_net_spec_equal(&ns, &other));
    other = ns;
    other.leaky_slope = 0.1f;
    cr_assert_not(mtg_net_spec_equal(&ns, &other));
    other.layer[0].act = MTG_ACT_RELU;
    struct mtg_net_spec relu = ns;
    relu.layer[0].act = MTG_ACT_RELU;
    other.bn_eps = 1e-3f;
    cr_assert(mtg_net_spec_equal(&relu, &other), "settings no layer reads do not count");

    struct mtg_net_spec g, d;
    mtg_net_spec_dcgan28_g(&g, 16, 8);
    mtg_net_spec_dcgan28_d(&d, 8, 0);
    cr_assert_eq(mtg_net_spec_to_mlp(&g, &back), MTG_EINVAL);
    cr_assert_eq(mtg_net_spec_to_mlp(&d, &back), MTG_EINVAL);
    cr_assert(mtg_net_spec_mixes_batch(&g));
    cr_assert_not(mtg_net_spec_mixes_batch(&d));
    mtg_net_spec_dcgan28_d(&d, 8, 4);
    cr_assert(mtg_net_spec_mixes_batch(&d));
    cr_assert(mtg_net_spec_equal(&g, &g));
    other = g;
    other.layer[3].stride = 1;
    cr_assert_not(mtg_net_spec_equal(&g, &other));
    other = g;
    other.layer[1].shape[0] = 1;
    cr_assert_not(mtg_net_spec_equal(&g, &other));
    other = g;
    other.bn_momentum = 0.2f;
    cr_assert_not(mtg_net_spec_equal(&g, &other));
    cr_assert_not(mtg_net_spec_equal(&g, &d));
    /* A dense stack on an image input is not an mlp. */
    struct mtg_net_spec img = {.in_shape = {1, 2, 2}, .n_layers = 1, .layer = {{.op = MTG_OP_DENSE, .out = 3}}};
    cr_assert_eq(mtg_net_spec_to_mlp(&img, &back), MTG_EINVAL);
}

/* ---- batch norm modes ---- */

Test(net, batchnorm_running_stats_and_modes)
{
    struct mtg_net_spec s = {.in_shape = {2, 1, 1}, .n_layers = 1, .layer = {{.op = MTG_OP_BATCHNORM}}};
    struct mtg_net *n = mtg_net_new(&s, 4, NULL);
    cr_assert_not_null(n);
    cr_assert_eq(mtg_net_train(n), 1);
    cr_assert_float_eq(mtg_net_get_spec(n)->bn_momentum, 0.1f, 0);
    cr_assert_float_eq(mtg_net_get_spec(n)->bn_eps, 1e-5f, 0);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 1);
    mtg_net_init_params(n, &rng);
    const float *p = mtg_net_params(n); /* gamma[2] beta[2] rmean[2] rvar[2] */
    cr_assert(p[0] == 1 && p[1] == 1 && p[2] == 0 && p[3] == 0 && p[4] == 0 && p[5] == 0 && p[6] == 1 && p[7] == 1);
    /* Feature 0: 1,2,3,4 (mean 2.5, biased var 1.25, unbiased 5/3); feature 1: 10 each (var 0). */
    float x[] = {1, 10, 2, 10, 3, 10, 4, 10};
    const float *y = mtg_net_forward(n, x, 4);
    float is = 1.0f / sqrtf(1.25f + 1e-5f);
    for (int i = 0; i < 4; i++) {
        cr_assert_float_eq(y[2 * i], (x[2 * i] - 2.5f) * is, 1e-5);
        cr_assert_float_eq(y[2 * i + 1], 0.0f, 1e-6);
    }
    cr_assert_float_eq(p[4], 0.25f, 1e-6);
    cr_assert_float_eq(p[5], 1.0f, 1e-6);
    cr_assert_float_eq(p[6], 0.9f + 0.1f * (5.0f / 3.0f), 1e-6);
    cr_assert_float_eq(p[7], 0.9f, 1e-6);
    mtg_net_forward(n, x, 4);
    cr_assert_float_eq(p[4], 0.9f * 0.25f + 0.25f, 1e-6);

    /* Eval: running statistics, nothing updated, samples independent of each other. */
    mtg_net_set_train(n, 0);
    float before[8];
    memcpy(before, p, sizeof before);
    y = mtg_net_forward(n, x, 4);
    for (int i = 0; i < 4; i++)
        for (int f = 0; f < 2; f++)
            cr_assert_float_eq(y[2 * i + f], (x[2 * i + f] - p[4 + f]) / sqrtf(p[6 + f] + 1e-5f), 1e-5);
    cr_assert_eq(memcmp(before, p, sizeof before), 0);
    float y0 = y[0];
    y = mtg_net_forward(n, x, 1);
    cr_assert_float_eq(y[0], y0, 0);

    /* Clone keeps the mode and the statistics. */
    struct mtg_net *c = mtg_net_clone(n, NULL);
    cr_assert_eq(mtg_net_train(c), 0);
    cr_assert_float_eq(mtg_net_forward(c, x, 1)[0], y0, 0);
    mtg_net_free(c);

    /* Frozen statistics: batch statistics normalise, the running ones stay. */
    mtg_net_set_train(n, 1);
    mtg_net_set_stats_frozen(n, 1);
    cr_assert_eq(mtg_net_stats_frozen(n), 1);
    y = mtg_net_forward(n, x, 4);
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(y[2 * i], (x[2 * i] - 2.5f) * is, 1e-5);
    cr_assert_eq(memcmp(before, p, sizeof before), 0);
    c = mtg_net_clone(n, NULL);
    cr_assert_eq(mtg_net_stats_frozen(c), 1);
    mtg_net_free(c);
    mtg_net_set_stats_frozen(n, 0);
    mtg_net_forward(n, x, 4);
    cr_assert_neq(memcmp(before, p, sizeof before), 0);
    mtg_net_free(n);
}

Test(net, clone_is_deep_and_free_accepts_null)
{
    struct mtg_net_spec s;
    mtg_net_spec_dcgan28_d(&s, 4, 2);
    struct mtg_err err = {0};
    struct mtg_net *n = mtg_net_new(&s, 6, &err);
    cr_assert_not_null(n, "%s", err.msg);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 9);
    mtg_net_init_dcgan(n, &rng);
    float x[6 * 784];
    mtg_rng_fill_normal(&rng, x, 6 * 784, 0.0f, 1.0f);
    mtg_net_forward(n, x, 6);
    float dy[6] = {1, -1, 0.5f, 2, 0, 1};
    mtg_net_backward(n, dy, 6, MTG_NET_PARAM_GRAD);
    struct mtg_net *c = mtg_net_clone(n, &err);
    cr_assert_not_null(c, "%s", err.msg);
    cr_assert_eq(mtg_net_param_count(c), mtg_net_param_count(n));
    cr_assert_eq(mtg_net_max_batch(c), 6);
    cr_assert_eq(mtg_net_bytes(c), mtg_net_bytes(n));
    cr_assert_eq(memcmp(mtg_net_params(c), mtg_net_params(n), mtg_net_param_count(n) * sizeof(float)), 0);
    for (size_t i = 0; i < mtg_net_param_count(c); i++)
        cr_assert_eq(mtg_net_grads(c)[i], 0.0f);
    float yn[6], yc[6];
    memcpy(yn, mtg_net_forward(n, x, 6), sizeof yn);
    memcpy(yc, mtg_net_forward(c, x, 6), sizeof yc);
    cr_assert_eq(memcmp(yn, yc, sizeof yn), 0);
    mtg_net_params(c)[0] += 1.0f;
    cr_assert_neq(mtg_net_params(c)[0], mtg_net_params(n)[0]);
    cr_assert_eq(mtg_net_in_dim(c), 784);
    cr_assert_eq(mtg_net_out_dim(c), 1);
    cr_assert_eq(mtg_net_n_layers(c), 4);
    int sh[3];
    mtg_net_layer_shape(c, 2, sh);
    cr_assert(sh[0] == 9 && sh[1] == 7 && sh[2] == 7);
    mtg_net_free(c);
    mtg_net_free(n);
    mtg_net_free(NULL);
    cr_assert_null(mtg_net_new(&s, 0, &err));
    cr_assert(strstr(err.msg, "max_batch 0"), "%s", err.msg);
}

Test(net, dcgan_init_statistics)
{
    struct mtg_net_spec g;
    mtg_net_spec_dcgan28_g(&g, 64, 64);
    struct mtg_net *n = mtg_net_new(&g, 1, NULL);
    cr_assert_not_null(n);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 4);
    mtg_net_init_dcgan(n, &rng);
    for (int k = 0; k < mtg_net_n_tensors(n); k++) {
        struct mtg_net_tensor t;
        mtg_net_tensor(n, k, &t);
        const float *v = mtg_net_params(n) + t.offset;
        double mean = 0, sq = 0;
        for (size_t i = 0; i < t.count; i++) {
            mean += v[i];
            sq += (double)v[i] * v[i];
        }
        mean /= (double)t.count;
        double sd = sqrt(sq / (double)t.count - mean * mean);
        if (!strcmp(t.name, "w")) {
            cr_assert(fabs(mean) < 0.005 && fabs(sd - 0.02) < 0.004, "layer %d w mean %g sd %g", t.layer, mean, sd);
        } else if (!strcmp(t.name, "gamma")) {
            cr_assert(fabs(mean - 1.0) < 0.01 && sd > 0.005 && sd < 0.04, "gamma mean %g sd %g", mean, sd);
        } else {
            double want = !strcmp(t.name, "rvar") ? 1.0 : 0.0;
            cr_assert(mean == want && sd == 0.0, "layer %d %s", t.layer, t.name);
        }
    }
    mtg_net_free(n);
}
