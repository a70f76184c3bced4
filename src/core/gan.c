#include "core/gan.h"
#include "core/loss.h"
#include "core/rng.h"
#include "core/status.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct mtg_gan {
    struct mtg_gan_cfg cfg;
    enum mtg_gan_role role;
    int data_dim;
    int latent;      /* G's input features */
    int z_rows;      /* rows of z: g_max_batch, or more for a generator that samples in fixed groups */
    struct mtg_net *g;
    struct mtg_net *g_ema;  /* recipe.ema > 0: the averaged generator that samples */
    struct mtg_net *d;
    struct mtg_adam *g_opt;
    struct mtg_adam *d_opt;
    struct mtg_rng rng;
    uint64_t steps;
    int g_rows;      /* rows of the last g_forward */
    int tanh_range;  /* G ends in tanh: D and G work in [-1, 1], data and samples live in [0, 1] */
    float *z;        /* [g_max_batch, latent] */
    float *xcat;     /* [2 batch, data_dim]: real rows then fake rows */
    float *dlogits;  /* [2 batch] */
    float *dfake;    /* [g_max_batch, data_dim]: feedback, or its scaled copy */
    float *noisy;    /* [batch, data_dim]: fake + instance noise for G's loss pass */
};

static int features(const int shape[3]) { return shape[0] * shape[1] * shape[2]; }

/* Whether a generator's output passes through tanh last (DCGAN), so that it lives in [-1, 1]. */
int mtg_gan_spec_tanh_out(const struct mtg_net_spec *g)
{
    if (g->n_layers < 1)
        return 0;
    const struct mtg_layer_spec *l = &g->layer[g->n_layers - 1];
    return l->act == MTG_ACT_TANH && l->op != MTG_OP_RESHAPE;
}

/* Data rows in [0, 1] into the GAN's range: x for sigmoid generators, 2x - 1 for tanh ones. */
static void to_gan_range(const struct mtg_gan *gan, float *dst, const float *src, size_t n)
{
    if (!gan->tanh_range) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = 2.0f * src[i] - 1.0f;
}

void mtg_gan_cfg_default(struct mtg_gan_cfg *cfg, int data_dim)
{
    memset(cfg, 0, sizeof *cfg);
    const struct mtg_mlp_spec g = {
        .in_dim = 32,
        .n_layers = 3,
        .width = {128, 256, data_dim},
        .act = {MTG_ACT_RELU, MTG_ACT_RELU, MTG_ACT_SIGMOID},
        .leaky_slope = 0.2f,
    };
    const struct mtg_mlp_spec d = {
        .in_dim = data_dim,
        .n_layers = 3,
        .width = {256, 128, 1},
        .act = {MTG_ACT_LEAKY_RELU, MTG_ACT_LEAKY_RELU, MTG_ACT_NONE},
        .leaky_slope = 0.2f,
    };
    /* Three layers are always in range: these cannot fail. */
    mtg_net_spec_from_mlp(&g, &cfg->g);
    mtg_net_spec_from_mlp(&d, &cfg->d);
    /*
     * The recipe measured on the 8x8 digits (README, "Training recipe"): with
     * DCGAN's lr 2e-4 and beta1 0.5 these small nets collapse (recall 0 at
     * 3000 steps); lr 2e-3, betas (0, 0.99) and an EMA of G at 0.99 reach
     * precision 1.00, recall 0.62, coverage 0.93 on all 10 classes.
     */
    mtg_adam_cfg_default(&cfg->g_opt);
    mtg_adam_cfg_default(&cfg->d_opt);
    cfg->g_opt.lr = cfg->d_opt.lr = 2e-3f;
    cfg->g_opt.beta1 = cfg->d_opt.beta1 = 0.0f;
    cfg->g_opt.beta2 = cfg->d_opt.beta2 = 0.99f;
    cfg->batch = 64;
    cfg->g_max_batch = 64;
    cfg->recipe = (struct mtg_gan_recipe){.loss = MTG_GAN_LOSS_NS, .ema = 0.99f, .noise = 0.0f, .real_label = 1.0f,
                                          .pack = 1};
}

/* n * mult, or -1 (which validation rejects) where it would overflow an int. */
static int scaled(int n, int mult)
{
    long long v = (long long)n * mult;
    return v <= INT_MAX && v >= INT_MIN ? (int)v : -1;
}

/*
 * Widens every dense/conv layer but the last one (which fixes the net's
 * output) by mult, and re-targets each reshape to the channels that now
 * reach it (its H and W stay), so the shapes keep chaining. A spec that
 * does not chain before is scaled as far as it does; validation reports it.
 */
static void scale_net(struct mtg_net_spec *s, int mult)
{
    if (s->n_layers < 1 || s->n_layers > MTG_NET_MAX_LAYERS)
        return;
    int last = -1;
    for (int i = 0; i < s->n_layers; i++)
        if (s->layer[i].op == MTG_OP_DENSE || s->layer[i].op == MTG_OP_CONV2D || s->layer[i].op == MTG_OP_CONVT2D)
            last = i;
    for (int i = 0; i < s->n_layers; i++) {
        struct mtg_layer_spec *l = &s->layer[i];
        if (l->op == MTG_OP_DENSE || l->op == MTG_OP_CONV2D || l->op == MTG_OP_CONVT2D) {
            if (i != last)
                l->out = scaled(l->out, mult);
        } else if (l->op == MTG_OP_RESHAPE && l->shape[1] > 0 && l->shape[2] > 0) {
            /* The scaled prefix decides how many features arrive here. */
            struct mtg_net_spec pre = *s;
            int in[3];
            pre.n_layers = i;
            if (i == 0)
                memcpy(in, s->in_shape, sizeof in);
            else if (mtg_net_spec_out_shape(&pre, in) != MTG_OK)
                return;
            long long hw = (long long)l->shape[1] * l->shape[2], f = (long long)in[0] * in[1] * in[2];
            if (f % hw == 0 && f / hw <= INT_MAX)
                l->shape[0] = (int)(f / hw);
        }
    }
}

void mtg_gan_cfg_scale_width(struct mtg_gan_cfg *cfg, int mult)
{
    scale_net(&cfg->g, mult);
    scale_net(&cfg->d, mult);
}

int mtg_gan_cfg_validate(const struct mtg_gan_cfg *cfg, struct mtg_err *err)
{
    int g_out[3], d_out[3];
    if (mtg_net_spec_validate(&cfg->g, err) != MTG_OK)
        return mtg_err_wrap(err, "generator");
    if (mtg_net_spec_validate(&cfg->d, err) != MTG_OK)
        return mtg_err_wrap(err, "discriminator");
    mtg_net_spec_out_shape(&cfg->g, g_out);
    mtg_net_spec_out_shape(&cfg->d, d_out);
    int out = features(g_out), d_in = features(cfg->d.in_shape), pack = cfg->recipe.pack;
    if (pack < 1 || pack > 16)
        return mtg_err_set(err, MTG_EINVAL, "gan: pack %d outside [1, 16]", pack);
    if ((long long)d_in != (long long)out * pack)
        return mtg_err_set(err, MTG_EINVAL, "gan: discriminator input %d != generator output %d x pack %d",
                           d_in, out, pack);
    if (cfg->batch % pack != 0)
        return mtg_err_set(err, MTG_EINVAL, "gan: batch %d is not a multiple of pack %d", cfg->batch, pack);
    if (features(d_out) != 1)
        return mtg_err_set(err, MTG_EINVAL, "gan: discriminator must end in 1 logit, not %dx%dx%d", d_out[0],
                           d_out[1], d_out[2]);
    if (cfg->batch < 1 || cfg->batch > 65536)
        return mtg_err_set(err, MTG_EINVAL, "gan: batch %d outside [1, 65536]", cfg->batch);
    if (cfg->g_max_batch != 0 && cfg->g_max_batch < cfg->batch)
        return mtg_err_set(err, MTG_EINVAL, "gan: g_max_batch %d < batch %d", cfg->g_max_batch,
                           cfg->batch);
    const struct mtg_gan_recipe *r = &cfg->recipe;
    if ((int)r->loss < 0 || (int)r->loss > MTG_GAN_LOSS_HINGE)
        return mtg_err_set(err, MTG_EINVAL, "gan: unknown loss %d", (int)r->loss);
    if (!(r->ema >= 0.0f && r->ema < 1.0f))
        return mtg_err_set(err, MTG_EINVAL, "gan: ema %g outside [0, 1)", (double)r->ema);
    if (!(r->noise >= 0.0f && r->noise <= 10.0f))
        return mtg_err_set(err, MTG_EINVAL, "gan: instance noise %g outside [0, 10]", (double)r->noise);
    if (!(r->real_label > 0.5f && r->real_label <= 1.0f))
        return mtg_err_set(err, MTG_EINVAL, "gan: real_label %g outside (0.5, 1]", (double)r->real_label);
    if (mtg_adam_cfg_validate(&cfg->g_opt, err) != MTG_OK)
        return mtg_err_wrap(err, "generator optimiser");
    if (mtg_adam_cfg_validate(&cfg->d_opt, err) != MTG_OK)
        return mtg_err_wrap(err, "discriminator optimiser");
    return MTG_OK;
}

struct mtg_gan *mtg_gan_new(const struct mtg_gan_cfg *cfg, enum mtg_gan_role role, uint64_t seed,
                            struct mtg_err *err)
{
    if (mtg_gan_cfg_validate(cfg, err) != MTG_OK)
        return NULL;
    struct mtg_gan *gan = calloc(1, sizeof *gan);
    if (!gan) {
        mtg_err_set(err, MTG_ENOMEM, "gan: out of memory");
        return NULL;
    }
    gan->cfg = *cfg;
    if (gan->cfg.g_max_batch == 0)
        gan->cfg.g_max_batch = cfg->batch;
    gan->role = role;
    gan->data_dim = features(cfg->d.in_shape) / cfg->recipe.pack;
    gan->tanh_range = mtg_gan_spec_tanh_out(&cfg->g);
    gan->latent = features(cfg->g.in_shape);
    gan->z_rows = gan->cfg.g_max_batch;
    if (mtg_net_spec_mixes_batch(&cfg->g) && gan->z_rows < MTG_GAN_SAMPLE_GROUP)
        gan->z_rows = MTG_GAN_SAMPLE_GROUP;
    mtg_rng_seed(&gan->rng, seed);
    /* Separate streams for G and D, so a role-G server and role-D edges
     * start from exactly the weights a role-FULL gan would have. */
    struct mtg_rng g_init, d_init;
    mtg_rng_fork(&gan->rng, 1, &g_init);
    mtg_rng_fork(&gan->rng, 2, &d_init);
    const int gmax = gan->cfg.g_max_batch, b = cfg->batch, dim = gan->data_dim;
    if (role != MTG_GAN_D) {
        gan->g = mtg_net_new(&cfg->g, gan->z_rows, err);
        gan->g_opt = gan->g ? mtg_adam_new(mtg_net_param_count(gan->g), &cfg->g_opt, err) : NULL;
        if (!gan->g_opt)
            goto fail;
        mtg_net_init_params(gan->g, &g_init);
        gan->z = calloc((size_t)gan->z_rows * gan->latent, sizeof(float));
        if (cfg->recipe.ema > 0.0f && !(gan->g_ema = mtg_net_clone(gan->g, err)))
            goto fail;
    }
    if (role != MTG_GAN_G) {
        gan->d = mtg_net_new(&cfg->d, 2 * b, err);
        gan->d_opt = gan->d ? mtg_adam_new(mtg_net_param_count(gan->d), &cfg->d_opt, err) : NULL;
        if (!gan->d_opt)
            goto fail;
        mtg_net_init_params(gan->d, &d_init);
        gan->xcat = calloc((size_t)2 * b * dim, sizeof(float));
        gan->dlogits = calloc((size_t)2 * b, sizeof(float));
        gan->noisy = calloc((size_t)b * dim, sizeof(float));
    }
    gan->dfake = calloc((size_t)(gmax > b ? gmax : b) * dim, sizeof(float));
    if ((role != MTG_GAN_D && !gan->z) || (role != MTG_GAN_G && (!gan->xcat || !gan->dlogits || !gan->noisy)) ||
        !gan->dfake) {
        mtg_err_set(err, MTG_ENOMEM, "gan: out of memory for workspaces");
        goto fail;
    }
    return gan;
fail:
    mtg_gan_free(gan);
    return NULL;
}

void mtg_gan_free(struct mtg_gan *gan)
{
    if (!gan)
        return;
    mtg_net_free(gan->g);
    mtg_net_free(gan->g_ema);
    mtg_net_free(gan->d);
    mtg_adam_free(gan->g_opt);
    mtg_adam_free(gan->d_opt);
    free(gan->z);
    free(gan->xcat);
    free(gan->dlogits);
    free(gan->dfake);
    free(gan->noisy);
    free(gan);
}

void mtg_gan_reseed(struct mtg_gan *gan, uint64_t seed) { mtg_rng_seed(&gan->rng, seed); }

const float *mtg_gan_g_forward(struct mtg_gan *gan, int n)
{
    assert(gan->g && n >= 1 && n <= gan->cfg.g_max_batch);
    mtg_rng_fill_normal(&gan->rng, gan->z, (size_t)n * gan->latent, 0.0f, 1.0f);
    gan->g_rows = n;
    return mtg_net_forward(gan->g, gan->z, n);
}

/* D's loss on logits [n] of real (sign +1) or fake (-1) rows, its gradient into grad. */
static float d_loss(const struct mtg_gan_recipe *r, const float *logits, int n, float sign, float *grad)
{
    if (r->loss == MTG_GAN_LOSS_HINGE)
        return mtg_loss_hinge(logits, n, sign, grad, 1.0f);
    return mtg_loss_bce_logits(logits, n, sign > 0 ? r->real_label : 0.0f, grad, 1.0f);
}

/* G's loss on D's logits of its fakes: non-saturating BCE(D(G(z)), 1), or hinge's -D(G(z)). */
static float g_loss(const struct mtg_gan_recipe *r, const float *logits, int n, float *grad)
{
    if (r->loss != MTG_GAN_LOSS_HINGE)
        return mtg_loss_bce_logits(logits, n, 1.0f, grad, 1.0f);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        sum -= logits[i];
        grad[i] = -1.0f / (float)n;
    }
    return (float)(sum / n);
}

/* G's loss through D as it is now, and dL_G/dfake into dfake [batch, dim]; D's parameters do not change. */
static float g_feedback(struct mtg_gan *gan, const float *fake, float *dfake)
{
    const struct mtg_gan_recipe *r = &gan->cfg.recipe;
    const size_t half = (size_t)gan->cfg.batch * gan->data_dim;
    const int pb = gan->cfg.batch / r->pack;
    /* Only dL/dx is needed. Additive noise passes dL/dx unchanged. */
    const float *gin = fake;
    if (r->noise > 0.0f) {
        for (size_t i = 0; i < half; i++)
            gan->noisy[i] = fake[i] + r->noise * mtg_rng_normal(&gan->rng);
        gin = gan->noisy;
    }
    const float *logits = mtg_net_forward(gan->d, gin, pb);
    float gl = g_loss(r, logits, pb, gan->dlogits);
    const float *dx = mtg_net_backward(gan->d, gan->dlogits, pb, MTG_NET_INPUT_GRAD);
    memcpy(dfake, dx, half * sizeof(float));
    return gl;
}

float mtg_gan_g_step(struct mtg_gan *gan, float *dfake)
{
    assert(gan->g && gan->d);
    const float *fake = mtg_gan_g_forward(gan, gan->cfg.batch);
    float gl = g_feedback(gan, fake, dfake);
    mtg_gan_g_apply(gan, dfake, gan->cfg.batch, 1.0f);
    return gl;
}

void mtg_gan_d_feedback(struct mtg_gan *gan, const float *real, const float *fake, float *dfake,
                        struct mtg_gan_stats *stats)
{
    assert(gan->d);
    const struct mtg_gan_recipe *r = &gan->cfg.recipe;
    const int b = gan->cfg.batch, dim = gan->data_dim;
    const size_t half = (size_t)b * dim;
    /* One sgemm over [real; fake] is cheaper than two half-size passes. */
    to_gan_range(gan, gan->xcat, real, half);
    memcpy(gan->xcat + half, fake, half * sizeof(float));
    if (r->noise > 0.0f) {
        /* Instance noise blurs both distributions alike, so their supports overlap and D's gradient stays informative. */
        for (size_t i = 0; i < 2 * half; i++)
            gan->xcat[i] += r->noise * mtg_rng_normal(&gan->rng);
    }
    /* Packing is a view: pack consecutive rows of [2b, dim] are one row of [2b / pack, pack dim]. */
    const int pb = b / r->pack;
    const float *logits = mtg_net_forward(gan->d, gan->xcat, 2 * pb);
    float d_real = 0.0f, d_fake = 0.0f;
    for (int i = 0; i < pb; i++) {
        d_real += mtg_sigmoid(logits[i]);
        d_fake += mtg_sigmoid(logits[pb + i]);
    }
    float loss = d_loss(r, logits, pb, 1.0f, gan->dlogits) + d_loss(r, logits + pb, pb, -1.0f, gan->dlogits + pb);
    mtg_net_zero_grad(gan->d);
    mtg_net_backward(gan->d, gan->dlogits, 2 * pb, MTG_NET_PARAM_GRAD);
    mtg_adam_step(gan->d_opt, mtg_net_params(gan->d), mtg_net_grads(gan->d));
    float gl = dfake ? g_feedback(gan, fake, dfake) : 0.0f;
    if (gan->role == MTG_GAN_D)
        gan->steps++;
    if (stats) {
        stats->d_loss = loss;
        stats->g_loss = gl;
        stats->d_real = d_real / (float)pb;
        stats->d_fake = d_fake / (float)pb;
    }
}

void mtg_gan_g_apply(struct mtg_gan *gan, const float *dfake, int n, float scale)
{
    assert(gan->g && n == gan->g_rows);
    const float *dy = dfake;
    if (scale != 1.0f) {
        size_t len = (size_t)n * gan->data_dim;
        for (size_t i = 0; i < len; i++)
            gan->dfake[i] = dfake[i] * scale;
        dy = gan->dfake;
    }
    mtg_net_zero_grad(gan->g);
    mtg_net_backward(gan->g, dy, n, MTG_NET_PARAM_GRAD);
    mtg_adam_step(gan->g_opt, mtg_net_params(gan->g), mtg_net_grads(gan->g));
    if (gan->g_ema) {
        const float a = gan->cfg.recipe.ema;
        const float *w = mtg_net_params(gan->g);
        float *e = mtg_net_params(gan->g_ema);
        for (size_t i = 0, np = mtg_net_param_count(gan->g); i < np; i++)
            e[i] = a * e[i] + (1.0f - a) * w[i];
    }
    gan->steps++;
}

void mtg_gan_ema_reset(struct mtg_gan *gan)
{
    if (gan->g_ema)
        memcpy(mtg_net_params(gan->g_ema), mtg_net_params(gan->g), mtg_net_param_count(gan->g) * sizeof(float));
}

void mtg_gan_step(struct mtg_gan *gan, const float *real, struct mtg_gan_stats *stats)
{
    assert(gan->role == MTG_GAN_FULL);
    const int b = gan->cfg.batch;
    const float *fake = mtg_gan_g_forward(gan, b);
    mtg_gan_d_feedback(gan, real, fake, gan->dfake, stats);
    mtg_gan_g_apply(gan, gan->dfake, b, 1.0f);
}

void mtg_gan_d_score(struct mtg_gan *gan, const float *x, int n, float *out)
{
    assert(gan->d);
    const int pack = gan->cfg.recipe.pack, dim = gan->data_dim, rows = 2 * gan->cfg.batch / pack;
    /* Scoring is not training: D's running statistics (if it has batch norm) stay as they are. */
    const int frozen = mtg_net_stats_frozen(gan->d);
    mtg_net_set_stats_frozen(gan->d, 1);
    for (int r = 0; r < n; r += rows) {
        int k = n - r < rows ? n - r : rows;
        for (int i = 0; i < k; i++)
            for (int p = 0; p < pack; p++)
                to_gan_range(gan, gan->xcat + ((size_t)i * pack + p) * dim, x + (size_t)(r + i) * dim, (size_t)dim);
        memcpy(out + r, mtg_net_forward(gan->d, gan->xcat, k), (size_t)k * sizeof(float));
    }
    mtg_net_set_stats_frozen(gan->d, frozen);
}

void mtg_gan_generate(struct mtg_net *g, uint64_t seed, float *z, float *out, int n)
{
    const int zd = mtg_net_in_dim(g), dim = mtg_net_out_dim(g), mix = mtg_net_spec_mixes_batch(mtg_net_get_spec(g));
    const int chunk = mix ? MTG_GAN_SAMPLE_GROUP : mtg_net_max_batch(g);
    assert(chunk <= mtg_net_max_batch(g));
    const int train = mtg_net_train(g), frozen = mtg_net_stats_frozen(g);
    const int tanh = mtg_gan_spec_tanh_out(mtg_net_get_spec(g));
    mtg_net_set_train(g, 1);
    mtg_net_set_stats_frozen(g, 1);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, seed);
    for (int r = 0; r < n; r += chunk) {
        int k = n - r < chunk ? n - r : chunk;
        /* A batch-mixing generator always sees a whole group: the surplus rows are drawn and dropped. */
        int rows = mix ? chunk : k;
        mtg_rng_fill_normal(&rng, z, (size_t)rows * zd, 0.0f, 1.0f);
        const float *y = mtg_net_forward(g, z, rows);
        float *o = out + (size_t)r * dim;
        memcpy(o, y, (size_t)k * dim * sizeof(float));
        /* Samples leave in the data's range, [0, 1], whatever G's output range. */
        for (size_t i = 0; tanh && i < (size_t)k * dim; i++)
            o[i] = 0.5f * (o[i] + 1.0f);
    }
    mtg_net_set_train(g, train);
    mtg_net_set_stats_frozen(g, frozen);
}

void mtg_gan_sample(struct mtg_gan *gan, float *out, int n, uint64_t seed)
{
    assert(gan->g);
    mtg_gan_generate(gan->g_ema ? gan->g_ema : gan->g, seed, gan->z, out, n);
    gan->g_rows = 0; /* the activations no longer match a pending g_apply */
}

const struct mtg_gan_cfg *mtg_gan_get_cfg(const struct mtg_gan *gan) { return &gan->cfg; }
enum mtg_gan_role mtg_gan_get_role(const struct mtg_gan *gan) { return gan->role; }
struct mtg_net *mtg_gan_generator(struct mtg_gan *gan) { return gan->g; }
struct mtg_net *mtg_gan_discriminator(struct mtg_gan *gan) { return gan->d; }
struct mtg_net *mtg_gan_generator_ema(struct mtg_gan *gan) { return gan->g_ema; }
struct mtg_adam *mtg_gan_g_opt(struct mtg_gan *gan) { return gan->g_opt; }
struct mtg_adam *mtg_gan_d_opt(struct mtg_gan *gan) { return gan->d_opt; }
int mtg_gan_data_dim(const struct mtg_gan *gan) { return gan->data_dim; }
uint64_t mtg_gan_steps(const struct mtg_gan *gan) { return gan->steps; }

size_t mtg_gan_bytes(const struct mtg_gan *gan)
{
    size_t n = sizeof *gan;
    const int gmax = gan->cfg.g_max_batch, b = gan->cfg.batch, dim = gan->data_dim;
    if (gan->g_ema)
        n += mtg_net_bytes(gan->g_ema);
    if (gan->g)
        n += mtg_net_bytes(gan->g) + 2 * mtg_net_param_count(gan->g) * sizeof(float) +
             (size_t)gan->z_rows * gan->latent * sizeof(float);
    if (gan->d)
        n += mtg_net_bytes(gan->d) + 2 * mtg_net_param_count(gan->d) * sizeof(float) +
             (size_t)(2 * b * dim + 2 * b) * sizeof(float);
    n += (size_t)(gmax > b ? gmax : b) * dim * sizeof(float);
    return n;
}
