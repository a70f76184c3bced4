/*
 * Convolution ops of struct mtg_net, lowered to sgemm over many samples at
 * once (Chellapilla et al. 2006's unrolling):
 *
 *   conv2d   forward   col = im2col(x)            [C*k*k, N*P]
 *                      Y'  = W col                [OC, N*P] -> NCHW + bias
 *            backward  dW += dY' col^T,  dcol = W^T dY' -> col2im -> dx
 *   convT2d  forward   cols = W^T x'              [OC*k*k, N*Q] -> col2im -> y
 *            backward  dcols = im2col(dy),  dW += x' dcols^T,  dx' = W dcols
 *
 * where ' marks a tensor transposed from NCHW to [C, N*HW] (a block copy of
 * H*W runs). ConvTranspose2d is exactly conv2d's input gradient, so both ops
 * share one im2col/col2im pair whose "image" is the large side (conv2d's
 * input, convT's output) and whose "grid" is the small side. Weight layouts
 * are PyTorch's: Conv2d [OC, IC, k, k], ConvTranspose2d [IC, OC, k, k]; both
 * are already the row-major matrices the products need, so nothing is copied.
 *
 * N is a chunk of the batch sized so col and the transposed side fit in
 * CONV_CHUNK_BYTES (2 MB, cache-resident), not the whole batch: at DCGAN-28
 * sizes (batch 64-128) that measured 5-8% faster per GAN step than one
 * whole-batch sgemm, whose 13-26 MB col buffer round-trips through memory,
 * and the net's shared scratch drops from ~29 MB to ~2 MB. Each chunk is
 * still one sgemm per product with N*P >= ~200 columns. im2col is
 * recomputed in backward instead of kept, for the same memory reason (the
 * sgda server holds a generator per in-flight batch).
 */
#include "core/net_internal.h"
#include "core/status.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

#define CONV_CHUNK_BYTES ((size_t)2 << 20)

struct geom {
    int C, H, W;   /* image side */
    int k, s, p;
    int OH, OW;    /* grid side */
};

/* Rows and columns of a plane with its zero border of p on every side. */
static int padded_h(const struct geom *g) { return g->H + 2 * g->p; }
static int padded_w(const struct geom *g) { return g->W + 2 * g->p; }

/* src [H][W] -> pad [H+2p][W+2p] with a zero border, so im2col needs no bounds tests. */
static void pad_plane(const float *src, const struct geom *g, float *pad)
{
    const int p = g->p, Wp = padded_w(g);
    memset(pad, 0, (size_t)p * Wp * sizeof(float));
    for (int ih = 0; ih < g->H; ih++) {
        float *row = pad + (size_t)(ih + p) * Wp;
        const float *srow = src + (size_t)ih * g->W;
        for (int j = 0; j < p; j++)
            row[j] = row[p + g->W + j] = 0.0f;
        for (int j = 0; j < g->W; j++)
            row[p + j] = srow[j];
    }
    memset(pad + (size_t)(p + g->H) * Wp, 0, (size_t)p * Wp * sizeof(float));
}

/*
 * img [N][C][H][W] -> col [C*k*k][N*OH*OW], row (c*k + ki)*k + kj. Per
 * channel, the N image planes are padded once into pad (N padded planes,
 * small enough for L1/L2), then each of the k*k rows is written front to
 * back as one sequential stream. Every read is in bounds because the shape
 * check made (OH - 1)*s + k == H + 2p.
 */
static void im2col(const float *img, int N, const struct geom *g, float *col, float *pad)
{
    const int k = g->k, s = g->s, OH = g->OH, OW = g->OW, Wp = padded_w(g);
    const size_t P = (size_t)OH * OW, NP = (size_t)N * P, plane = (size_t)g->H * g->W;
    const size_t pplane = (size_t)padded_h(g) * Wp;
    for (int c = 0; c < g->C; c++) {
        for (int n = 0; n < N; n++)
            pad_plane(img + ((size_t)n * g->C + c) * plane, g, pad + (size_t)n * pplane);
        for (int ki = 0; ki < k; ki++) {
            for (int kj = 0; kj < k; kj++) {
                float *d = col + ((size_t)(c * k + ki) * k + kj) * NP;
                for (int n = 0; n < N; n++) {
                    const float *src = pad + (size_t)n * pplane + (size_t)ki * Wp + kj;
                    for (int oh = 0; oh < OH; oh++, d += OW) {
                        const float *srow = src + (size_t)oh * s * Wp;
                        for (int ow = 0; ow < OW; ow++)
                            d[ow] = srow[ow * s];
                    }
                }
            }
        }
    }
}

/*
 * The adjoint of im2col, overwriting: img = col2im(col) + bias[c] (bias may
 * be NULL). Per channel, the k*k rows are read front to back and summed
 * into N zeroed padded planes, whose borders (outside the image) are then
 * dropped.
 */
static void col2im(const float *col, int N, const struct geom *g, const float *bias, float *img, float *pad)
{
    const int k = g->k, s = g->s, p = g->p, OH = g->OH, OW = g->OW, Wp = padded_w(g);
    const size_t P = (size_t)OH * OW, NP = (size_t)N * P, plane = (size_t)g->H * g->W;
    const size_t pplane = (size_t)padded_h(g) * Wp;
    for (int c = 0; c < g->C; c++) {
        memset(pad, 0, (size_t)N * pplane * sizeof(float));
        for (int ki = 0; ki < k; ki++) {
            for (int kj = 0; kj < k; kj++) {
                const float *src = col + ((size_t)(c * k + ki) * k + kj) * NP;
                for (int n = 0; n < N; n++) {
                    float *dst = pad + (size_t)n * pplane + (size_t)ki * Wp + kj;
                    for (int oh = 0; oh < OH; oh++, src += OW) {
                        float *drow = dst + (size_t)oh * s * Wp;
                        for (int ow = 0; ow < OW; ow++)
                            drow[ow * s] += src[ow];
                    }
                }
            }
        }
        const float b = bias ? bias[c] : 0.0f;
        for (int n = 0; n < N; n++) {
            const float *pp = pad + (size_t)n * pplane;
            float *dst = img + ((size_t)n * g->C + c) * plane;
            for (int ih = 0; ih < g->H; ih++) {
                const float *prow = pp + (size_t)(ih + p) * Wp + p;
                float *drow = dst + (size_t)ih * g->W;
                for (int iw = 0; iw < g->W; iw++)
                    drow[iw] = prow[iw] + b;
            }
        }
    }
}

/* [N][C][P] -> [C][N*P]: N*C block copies of P floats. */
static void to_cnp(const float *x, int N, int C, size_t P, float *xt)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            memcpy(xt + ((size_t)c * N + n) * P, x + ((size_t)n * C + c) * P, P * sizeof(float));
}

/* [C][N*P] -> [N][C][P], adding bias[c] when bias is not NULL. */
static void from_cnp(const float *xt, int N, int C, size_t P, const float *bias, float *x)
{
    for (int n = 0; n < N; n++) {
        for (int c = 0; c < C; c++) {
            const float *src = xt + ((size_t)c * N + n) * P;
            float *dst = x + ((size_t)n * C + c) * P;
            if (!bias) {
                memcpy(dst, src, P * sizeof(float));
                continue;
            }
            float b = bias[c];
            for (size_t i = 0; i < P; i++)
                dst[i] = src[i] + b;
        }
    }
}

static int check_kernel(const struct mtg_layer_spec *l, char *why, size_t cap)
{
    if (l->kernel < 1 || l->kernel > MTG_NET_MAX_KERNEL || l->stride < 1 || l->stride > MTG_NET_MAX_KERNEL ||
        l->pad < 0 || l->pad >= l->kernel) {
        snprintf(why, cap, "kernel %d, stride %d, pad %d: need 1 <= k, s <= %d and 0 <= p < k", l->kernel,
                 l->stride, l->pad, MTG_NET_MAX_KERNEL);
        return MTG_EINVAL;
    }
    if (l->out < 1 || l->out > MTG_NET_MAX_DIM) {
        snprintf(why, cap, "%d output channels outside [1, %d]", l->out, MTG_NET_MAX_DIM);
        return MTG_EINVAL;
    }
    return MTG_OK;
}

static int conv_shape(const struct mtg_layer_spec *l, const int in[3], int out[3], char *why, size_t cap)
{
    if (check_kernel(l, why, cap) != MTG_OK)
        return MTG_EINVAL;
    const int k = l->kernel, s = l->stride, p = l->pad;
    for (int d = 1; d <= 2; d++) {
        int span = in[d] + 2 * p - k;
        if (span < 0 || span % s != 0) {
            snprintf(why, cap,
                     "input %dx%dx%d gives a non-integer/empty output ((%d + 2*%d - %d)/%d + 1 is not a "
                     "whole number >= 1)",
                     in[0], in[1], in[2], in[d], p, k, s);
            return MTG_EINVAL;
        }
        out[d] = span / s + 1;
    }
    out[0] = l->out;
    return MTG_OK;
}

static int convt_shape(const struct mtg_layer_spec *l, const int in[3], int out[3], char *why, size_t cap)
{
    if (check_kernel(l, why, cap) != MTG_OK)
        return MTG_EINVAL;
    const int k = l->kernel, s = l->stride, p = l->pad;
    for (int d = 1; d <= 2; d++) {
        long long o = (long long)(in[d] - 1) * s - 2LL * p + k;
        if (o < 1 || o > MTG_NET_MAX_DIM) {
            snprintf(why, cap, "input %dx%dx%d gives output size (%d - 1)*%d - 2*%d + %d = %lld outside [1, %d]",
                     in[0], in[1], in[2], in[d], s, p, k, o, MTG_NET_MAX_DIM);
            return MTG_EINVAL;
        }
        out[d] = (int)o;
    }
    out[0] = l->out;
    return MTG_OK;
}

static int conv_tensors(const struct mtg_layer_spec *l, const int in[3], const int out[3],
                        struct mtg_net_tensor t[NET_MAX_TENSORS])
{
    /* Conv2d [OC, IC, k, k]; ConvTranspose2d [IC, OC, k, k], as PyTorch stores them. */
    int d0 = l->op == MTG_OP_CONV2D ? out[0] : in[0], d1 = l->op == MTG_OP_CONV2D ? in[0] : out[0];
    int k = l->kernel;
    t[0] = (struct mtg_net_tensor){.name = "w", .rank = 4, .dims = {d0, d1, k, k},
                                   .count = (size_t)d0 * (size_t)d1 * (size_t)k * (size_t)k, .trainable = 1};
    t[1] = (struct mtg_net_tensor){.name = "b", .rank = 1, .dims = {out[0]}, .count = (size_t)out[0],
                                   .trainable = 1};
    return 2;
}

static void conv2d_geom(const struct net_layer *L, struct geom *g)
{
    *g = (struct geom){.C = L->in[0], .H = L->in[1], .W = L->in[2], .k = L->s.kernel, .s = L->s.stride,
                       .p = L->s.pad, .OH = L->out[1], .OW = L->out[2]};
}

static void convt2d_geom(const struct net_layer *L, struct geom *g)
{
    *g = (struct geom){.C = L->out[0], .H = L->out[1], .W = L->out[2], .k = L->s.kernel, .s = L->s.stride,
                       .p = L->s.pad, .OH = L->in[1], .OW = L->in[2]};
}

/* Bytes of scratch per sample: col (image channels * k*k rows over the grid) plus the small side transposed. */
static size_t conv_sample_bytes(const struct net_layer *L, struct geom *g)
{
    int small_c;
    if (L->s.op == MTG_OP_CONV2D) {
        conv2d_geom(L, g);
        small_c = L->out[0];
    } else {
        convt2d_geom(L, g);
        small_c = L->in[0];
    }
    return ((size_t)g->C * g->k * g->k + (size_t)small_c) * (size_t)g->OH * (size_t)g->OW * sizeof(float);
}

/* Samples per chunk for a batch: as many as fit CONV_CHUNK_BYTES, at least one. */
static int conv_chunk(const struct net_layer *L, int batch)
{
    struct geom g;
    size_t per = conv_sample_bytes(L, &g), b = CONV_CHUNK_BYTES / per;
    return b < 1 ? 1 : b > (size_t)batch ? batch : (int)b;
}

static size_t conv_scratch(const struct net_layer *L, int max_batch)
{
    struct geom g;
    size_t per = conv_sample_bytes(L, &g);
    size_t chunk = (size_t)conv_chunk(L, max_batch);
    return (per / sizeof(float) + (size_t)padded_h(&g) * (size_t)padded_w(&g)) * chunk;
}

static size_t conv_state(const struct net_layer *L)
{
    (void)L;
    return 0;
}

static void conv_init(const struct net_layer *L, float *params, struct mtg_rng *rng, int dcgan)
{
    size_t k2 = (size_t)L->s.kernel * (size_t)L->s.kernel;
    size_t nw = (size_t)L->in[0] * (size_t)L->out[0] * k2;
    /* PyTorch takes fan_in from weight dim 1: in_c for Conv2d, out_c for ConvTranspose2d. */
    int fan_in = (int)(k2 * (size_t)(L->s.op == MTG_OP_CONV2D ? L->in[0] : L->out[0]));
    net_init_affine(params + L->p_off[0], nw, params + L->p_off[1], (size_t)L->out[0], fan_in, rng, dcgan);
}

static void conv2d_forward(struct net_layer *L, const struct net_ctx *c, const float *x, float *y, int batch)
{
    struct geom g;
    conv2d_geom(L, &g);
    const int OC = L->out[0], K = g.C * g.k * g.k, chunk = conv_chunk(L, batch);
    const size_t P = (size_t)g.OH * g.OW;
    float *col = c->scratch, *yt = col + (size_t)K * P * chunk, *pad = yt + (size_t)OC * P * chunk;
    for (int n0 = 0; n0 < batch; n0 += chunk) {
        const int b = batch - n0 < chunk ? batch - n0 : chunk, NP = (int)((size_t)b * P);
        im2col(x + (size_t)n0 * L->in_feat, b, &g, col, pad);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, NP, K, 1.0f, c->params + L->p_off[0], K, col,
                    NP, 0.0f, yt, NP);
        from_cnp(yt, b, OC, P, c->params + L->p_off[1], y + (size_t)n0 * L->out_feat);
    }
}

static const float *conv2d_backward(struct net_layer *L, const struct net_ctx *c, const float *x,
                                    const float *dz, float *dx, int batch, unsigned flags)
{
    struct geom g;
    conv2d_geom(L, &g);
    const int OC = L->out[0], K = g.C * g.k * g.k, chunk = conv_chunk(L, batch);
    const size_t P = (size_t)g.OH * g.OW;
    float *col = c->scratch, *dyt = col + (size_t)K * P * chunk, *pad = dyt + (size_t)OC * P * chunk;
    for (int n0 = 0; n0 < batch; n0 += chunk) {
        const int b = batch - n0 < chunk ? batch - n0 : chunk, NP = (int)((size_t)b * P);
        to_cnp(dz + (size_t)n0 * L->out_feat, b, OC, P, dyt);
        if (flags & MTG_NET_PARAM_GRAD) {
            im2col(x + (size_t)n0 * L->in_feat, b, &g, col, pad);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, K, NP, 1.0f, dyt, NP, col, NP, 1.0f,
                        c->grads + L->p_off[0], K);
            float *db = c->grads + L->p_off[1];
            for (int oc = 0; oc < OC; oc++) {
                const float *row = dyt + (size_t)oc * NP;
                float s = 0.0f;
                for (int i = 0; i < NP; i++)
                    s += row[i];
                db[oc] += s;
            }
        }
        if (!dx)
            continue;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, NP, OC, 1.0f, c->params + L->p_off[0], K, dyt, NP,
                    0.0f, col, NP);
        col2im(col, b, &g, NULL, dx + (size_t)n0 * L->in_feat, pad);
    }
    return dx;
}

static void convt2d_forward(struct net_layer *L, const struct net_ctx *c, const float *x, float *y, int batch)
{
    struct geom g;
    convt2d_geom(L, &g);
    const int IC = L->in[0], Kc = g.C * g.k * g.k, chunk = conv_chunk(L, batch);
    const size_t Q = (size_t)g.OH * g.OW;
    float *xt = c->scratch, *cols = xt + (size_t)IC * Q * chunk, *pad = cols + (size_t)Kc * Q * chunk;
    for (int n0 = 0; n0 < batch; n0 += chunk) {
        const int b = batch - n0 < chunk ? batch - n0 : chunk, NQ = (int)((size_t)b * Q);
        to_cnp(x + (size_t)n0 * L->in_feat, b, IC, Q, xt);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Kc, NQ, IC, 1.0f, c->params + L->p_off[0], Kc, xt,
                    NQ, 0.0f, cols, NQ);
        col2im(cols, b, &g, c->params + L->p_off[1], y + (size_t)n0 * L->out_feat, pad);
    }
}

static const float *convt2d_backward(struct net_layer *L, const struct net_ctx *c, const float *x,
                                     const float *dz, float *dx, int batch, unsigned flags)
{
    struct geom g;
    convt2d_geom(L, &g);
    const int IC = L->in[0], Kc = g.C * g.k * g.k, chunk = conv_chunk(L, batch);
    const size_t Q = (size_t)g.OH * g.OW, plane = (size_t)g.H * g.W;
    float *xt = c->scratch, *dcols = xt + (size_t)IC * Q * chunk, *pad = dcols + (size_t)Kc * Q * chunk;
    for (int n0 = 0; n0 < batch; n0 += chunk) {
        const int b = batch - n0 < chunk ? batch - n0 : chunk, NQ = (int)((size_t)b * Q);
        const float *dzc = dz + (size_t)n0 * L->out_feat;
        im2col(dzc, b, &g, dcols, pad);
        if (flags & MTG_NET_PARAM_GRAD) {
            to_cnp(x + (size_t)n0 * L->in_feat, b, IC, Q, xt);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, IC, Kc, NQ, 1.0f, xt, NQ, dcols, NQ, 1.0f,
                        c->grads + L->p_off[0], Kc);
            float *db = c->grads + L->p_off[1];
            for (int n = 0; n < b; n++) {
                for (int oc = 0; oc < g.C; oc++) {
                    const float *src = dzc + ((size_t)n * g.C + oc) * plane;
                    float s = 0.0f;
                    for (size_t i = 0; i < plane; i++)
                        s += src[i];
                    db[oc] += s;
                }
            }
        }
        if (!dx)
            continue;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, IC, NQ, Kc, 1.0f, c->params + L->p_off[0], Kc, dcols,
                    NQ, 0.0f, xt, NQ);
        from_cnp(xt, b, IC, Q, NULL, dx + (size_t)n0 * L->in_feat);
    }
    return dx;
}

const struct net_op_ops net_op_conv2d = {
    .name = "conv2d",
    .shape = conv_shape,
    .tensors = conv_tensors,
    .scratch = conv_scratch,
    .state = conv_state,
    .init = conv_init,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
};

const struct net_op_ops net_op_convt2d = {
    .name = "convt2d",
    .shape = convt_shape,
    .tensors = conv_tensors,
    .scratch = conv_scratch,
    .state = conv_state,
    .init = conv_init,
    .forward = convt2d_forward,
    .backward = convt2d_backward,
};
