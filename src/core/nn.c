#include "core/nn.h"
#include "core/arena.h"
#include "core/rng.h"
#include "core/status.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * Activations behind a read-only ops table. Each derivative is written in
 * terms of the activation's output a = f(z), so a layer keeps one buffer
 * (a, computed in place over z) instead of two.
 */
struct act_ops {
    const char *name;
    void (*forward)(float *a, size_t n, float slope);
    /* dz[i] = dy[i] * f'(z[i]) expressed through a[i]; dz may alias dy. */
    void (*backward)(const float *a, const float *dy, float *dz, size_t n, float slope);
};

static void none_fwd(float *a, size_t n, float slope) { (void)a, (void)n, (void)slope; }
static void none_bwd(const float *a, const float *dy, float *dz, size_t n, float slope)
{
    (void)a, (void)slope;
    if (dz != dy)
        memcpy(dz, dy, n * sizeof(float));
}

static void relu_fwd(float *a, size_t n, float slope)
{
    (void)slope;
    for (size_t i = 0; i < n; i++)
        a[i] = a[i] > 0.0f ? a[i] : 0.0f;
}
static void relu_bwd(const float *a, const float *dy, float *dz, size_t n, float slope)
{
    (void)slope;
    for (size_t i = 0; i < n; i++)
        dz[i] = a[i] > 0.0f ? dy[i] : 0.0f;
}

/* With slope > 0, sign(a) == sign(z), so the derivative is recoverable from a. */
static void leaky_fwd(float *a, size_t n, float slope)
{
    for (size_t i = 0; i < n; i++)
        a[i] = a[i] > 0.0f ? a[i] : slope * a[i];
}
static void leaky_bwd(const float *a, const float *dy, float *dz, size_t n, float slope)
{
    for (size_t i = 0; i < n; i++)
        dz[i] = a[i] > 0.0f ? dy[i] : slope * dy[i];
}

static void sigmoid_fwd(float *a, size_t n, float slope)
{
    (void)slope;
    for (size_t i = 0; i < n; i++)
        a[i] = 1.0f / (1.0f + expf(-a[i]));
}
static void sigmoid_bwd(const float *a, const float *dy, float *dz, size_t n, float slope)
{
    (void)slope;
    for (size_t i = 0; i < n; i++)
        dz[i] = dy[i] * a[i] * (1.0f - a[i]);
}

static void tanh_fwd(float *a, size_t n, float slope)
{
    (void)slope;
    for (size_t i = 0; i < n; i++)
        a[i] = tanhf(a[i]);
}
static void tanh_bwd(const float *a, const float *dy, float *dz, size_t n, float slope)
{
    (void)slope;
    for (size_t i = 0; i < n; i++)
        dz[i] = dy[i] * (1.0f - a[i] * a[i]);
}

static const struct act_ops act_table[] = {
    [MTG_ACT_NONE] = {"none", none_fwd, none_bwd},
    [MTG_ACT_RELU] = {"relu", relu_fwd, relu_bwd},
    [MTG_ACT_LEAKY_RELU] = {"leaky_relu", leaky_fwd, leaky_bwd},
    [MTG_ACT_SIGMOID] = {"sigmoid", sigmoid_fwd, sigmoid_bwd},
    [MTG_ACT_TANH] = {"tanh", tanh_fwd, tanh_bwd},
};
#define N_ACTS ((int)(sizeof act_table / sizeof act_table[0]))

struct mtg_mlp {
    struct mtg_mlp_spec spec;
    int max_batch;
    int max_width;
    size_t n_params;
    float *params;
    float *grads;
    size_t w_off[MTG_MLP_MAX_LAYERS];
    size_t b_off[MTG_MLP_MAX_LAYERS];
    struct mtg_arena *arena;
    float *act[MTG_MLP_MAX_LAYERS]; /* post-activation outputs [max_batch, width] */
    float *gbuf[2];                 /* ping-pong gradient buffers [max_batch, max_width] */
    const float *input;             /* x of the last forward (borrowed) */
    int last_batch;
};

static int layer_in(const struct mtg_mlp_spec *s, int i) { return i == 0 ? s->in_dim : s->width[i - 1]; }

int mtg_mlp_spec_validate(const struct mtg_mlp_spec *s, struct mtg_err *err)
{
    if (s->n_layers < 1 || s->n_layers > MTG_MLP_MAX_LAYERS)
        return mtg_err_set(err, MTG_EINVAL, "mlp: n_layers %d outside [1, %d]", s->n_layers,
                           MTG_MLP_MAX_LAYERS);
    if (s->in_dim < 1 || s->in_dim > MTG_MLP_MAX_WIDTH)
        return mtg_err_set(err, MTG_EINVAL, "mlp: in_dim %d outside [1, %d]", s->in_dim,
                           MTG_MLP_MAX_WIDTH);
    for (int i = 0; i < s->n_layers; i++) {
        if (s->width[i] < 1 || s->width[i] > MTG_MLP_MAX_WIDTH)
            return mtg_err_set(err, MTG_EINVAL, "mlp: layer %d width %d outside [1, %d]", i,
                               s->width[i], MTG_MLP_MAX_WIDTH);
        if ((int)s->act[i] < 0 || (int)s->act[i] >= N_ACTS)
            return mtg_err_set(err, MTG_EINVAL, "mlp: layer %d has unknown activation %d", i,
                               (int)s->act[i]);
        if (s->act[i] == MTG_ACT_LEAKY_RELU && !(s->leaky_slope > 0.0f && s->leaky_slope < 1.0f))
            return mtg_err_set(err, MTG_EINVAL, "mlp: leaky_slope %g outside (0, 1)",
                               (double)s->leaky_slope);
    }
    if (mtg_mlp_spec_param_count(s) > ((size_t)1 << 30))
        return mtg_err_set(err, MTG_ERANGE, "mlp: %zu parameters exceed the 2^30 limit",
                           mtg_mlp_spec_param_count(s));
    return MTG_OK;
}

size_t mtg_mlp_spec_param_count(const struct mtg_mlp_spec *s)
{
    size_t n = 0;
    for (int i = 0; i < s->n_layers; i++)
        n += (size_t)layer_in(s, i) * (size_t)s->width[i] + (size_t)s->width[i];
    return n;
}

struct mtg_mlp *mtg_mlp_new(const struct mtg_mlp_spec *spec, int max_batch, struct mtg_err *err)
{
    if (mtg_mlp_spec_validate(spec, err) != MTG_OK)
        return NULL;
    if (max_batch < 1 || max_batch > (1 << 20)) {
        mtg_err_set(err, MTG_EINVAL, "mlp: max_batch %d outside [1, 2^20]", max_batch);
        return NULL;
    }
    struct mtg_mlp *m = calloc(1, sizeof *m);
    if (!m)
        goto oom;
    m->spec = *spec;
    m->max_batch = max_batch;
    m->max_width = spec->in_dim;
    size_t off = 0, ws = 0;
    for (int i = 0; i < spec->n_layers; i++) {
        int in = layer_in(spec, i), out = spec->width[i];
        m->w_off[i] = off;
        off += (size_t)in * (size_t)out;
        m->b_off[i] = off;
        off += (size_t)out;
        if (out > m->max_width)
            m->max_width = out;
        ws += mtg_arena_round((size_t)max_batch * (size_t)out * sizeof(float));
    }
    m->n_params = off;
    ws += 2 * mtg_arena_round((size_t)max_batch * (size_t)m->max_width * sizeof(float));
    size_t pbytes = mtg_arena_round(off * sizeof(float));
    m->params = aligned_alloc(MTG_ARENA_ALIGN, pbytes);
    m->grads = aligned_alloc(MTG_ARENA_ALIGN, pbytes);
    if (!m->params || !m->grads)
        goto oom;
    memset(m->params, 0, pbytes);
    memset(m->grads, 0, pbytes);
    m->arena = mtg_arena_new(ws, err);
    if (!m->arena)
        goto fail;
    for (int i = 0; i < spec->n_layers; i++)
        m->act[i] = mtg_arena_alloc(m->arena, (size_t)max_batch * (size_t)spec->width[i] * sizeof(float));
    for (int k = 0; k < 2; k++)
        m->gbuf[k] = mtg_arena_alloc(m->arena, (size_t)max_batch * (size_t)m->max_width * sizeof(float));
    return m;
oom:
    mtg_err_set(err, MTG_ENOMEM, "mlp: out of memory for %zu parameters", mtg_mlp_spec_param_count(spec));
fail:
    mtg_mlp_free(m);
    return NULL;
}

void mtg_mlp_free(struct mtg_mlp *m)
{
    if (!m)
        return;
    free(m->params);
    free(m->grads);
    mtg_arena_free(m->arena);
    free(m);
}

struct mtg_mlp *mtg_mlp_clone(const struct mtg_mlp *m, struct mtg_err *err)
{
    struct mtg_mlp *c = mtg_mlp_new(&m->spec, m->max_batch, err);
    if (c)
        memcpy(c->params, m->params, m->n_params * sizeof(float));
    return c;
}

void mtg_mlp_init_params(struct mtg_mlp *m, struct mtg_rng *rng)
{
    /*
     * PyTorch's nn.Linear default (U(+-1/sqrt(fan_in)) for W and b), so the
     * C trainer and the PyTorch peer in bench/ start from the same
     * distribution and their step rates compare like for like.
     */
    for (int i = 0; i < m->spec.n_layers; i++) {
        int in = layer_in(&m->spec, i), out = m->spec.width[i];
        float bound = 1.0f / sqrtf((float)in);
        mtg_rng_fill_uniform(rng, m->params + m->w_off[i], (size_t)in * out, -bound, bound);
        mtg_rng_fill_uniform(rng, m->params + m->b_off[i], (size_t)out, -bound, bound);
    }
}

const float *mtg_mlp_forward(struct mtg_mlp *m, const float *x, int batch)
{
    assert(batch >= 1 && batch <= m->max_batch);
    const float *in = x;
    for (int i = 0; i < m->spec.n_layers; i++) {
        int k = layer_in(&m->spec, i), n = m->spec.width[i];
        float *y = m->act[i];
        const float *b = m->params + m->b_off[i];
        /* Seed every row with the bias, then y += x W in one sgemm (beta = 1). */
        for (int r = 0; r < batch; r++)
            memcpy(y + (size_t)r * n, b, (size_t)n * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, n, k, 1.0f, in, k,
                    m->params + m->w_off[i], n, 1.0f, y, n);
        act_table[m->spec.act[i]].forward(y, (size_t)batch * n, m->spec.leaky_slope);
        in = y;
    }
    m->input = x;
    m->last_batch = batch;
    return m->act[m->spec.n_layers - 1];
}

const float *mtg_mlp_backward(struct mtg_mlp *m, const float *dy, int batch, unsigned flags)
{
    assert(batch == m->last_batch && m->input);
    const float *cur = dy;
    for (int i = m->spec.n_layers - 1; i >= 0; i--) {
        int k = layer_in(&m->spec, i), n = m->spec.width[i];
        size_t len = (size_t)batch * n;
        /* The caller's dy is read-only; later layers' gradients live in a gbuf
         * that this mlp owns, so they are transformed in place. */
        float *dz = cur == dy ? m->gbuf[0] : (float *)cur;
        act_table[m->spec.act[i]].backward(m->act[i], cur, dz, len, m->spec.leaky_slope);
        const float *x = i == 0 ? m->input : m->act[i - 1];
        if (flags & MTG_MLP_PARAM_GRAD) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, batch, 1.0f, x, k, dz, n, 1.0f,
                        m->grads + m->w_off[i], n);
            float *db = m->grads + m->b_off[i];
            for (int r = 0; r < batch; r++) {
                const float *row = dz + (size_t)r * n;
                for (int j = 0; j < n; j++)
                    db[j] += row[j];
            }
        }
        if (i == 0 && !(flags & MTG_MLP_INPUT_GRAD))
            return NULL;
        float *dx = (dz == m->gbuf[0]) ? m->gbuf[1] : m->gbuf[0];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, k, n, 1.0f, dz, n,
                    m->params + m->w_off[i], n, 0.0f, dx, k);
        cur = dx;
    }
    return cur;
}

void mtg_mlp_zero_grad(struct mtg_mlp *m) { memset(m->grads, 0, m->n_params * sizeof(float)); }

const float *mtg_mlp_activation(const struct mtg_mlp *m, int layer)
{
    assert(layer >= 0 && layer < m->spec.n_layers);
    return m->act[layer];
}

const struct mtg_mlp_spec *mtg_mlp_get_spec(const struct mtg_mlp *m) { return &m->spec; }
int mtg_mlp_in_dim(const struct mtg_mlp *m) { return m->spec.in_dim; }
int mtg_mlp_out_dim(const struct mtg_mlp *m) { return m->spec.width[m->spec.n_layers - 1]; }
int mtg_mlp_max_batch(const struct mtg_mlp *m) { return m->max_batch; }
int mtg_mlp_n_layers(const struct mtg_mlp *m) { return m->spec.n_layers; }
size_t mtg_mlp_param_count(const struct mtg_mlp *m) { return m->n_params; }
float *mtg_mlp_params(struct mtg_mlp *m) { return m->params; }
const float *mtg_mlp_params_const(const struct mtg_mlp *m) { return m->params; }
float *mtg_mlp_grads(struct mtg_mlp *m) { return m->grads; }

void mtg_mlp_get_layer(const struct mtg_mlp *m, int i, struct mtg_mlp_layer *out)
{
    assert(i >= 0 && i < m->spec.n_layers);
    out->in = layer_in(&m->spec, i);
    out->out = m->spec.width[i];
    out->act = m->spec.act[i];
    out->w = m->params + m->w_off[i];
    out->b = m->params + m->b_off[i];
    out->w_offset = m->w_off[i];
    out->b_offset = m->b_off[i];
}

size_t mtg_mlp_bytes(const struct mtg_mlp *m)
{
    return sizeof *m + 2 * mtg_arena_round(m->n_params * sizeof(float)) + mtg_arena_capacity(m->arena);
}

void mtg_mlp_predict(struct mtg_mlp *m, const float *x, int n, float *out)
{
    int in = m->spec.in_dim, od = mtg_mlp_out_dim(m);
    for (int r = 0; r < n; r += m->max_batch) {
        int b = n - r < m->max_batch ? n - r : m->max_batch;
        const float *y = mtg_mlp_forward(m, x + (size_t)r * in, b);
        memcpy(out + (size_t)r * od, y, (size_t)b * od * sizeof(float));
    }
}
