/*
 * gan.h - one GAN (generator G, discriminator D, their Adam states) and its
 * training step, built from parts that the two protocols share:
 *
 *   mtg_gan_step() = mtg_gan_g_forward()  -> fake = G(z)
 *                  + mtg_gan_d_feedback() -> D step on real+fake, returns dL_G/dfake
 *                  + mtg_gan_g_apply()    -> backprop dfake through G, Adam step
 *
 * In protocol mtgan an edge calls mtg_gan_step(); in sgda the server calls
 * g_forward/g_apply (role MTG_GAN_G) and edges call d_feedback (role
 * MTG_GAN_D). Same math, same networks: the fairness rule of DESIGN §4.
 * Loss: non-saturating GAN (Goodfellow et al. 2014, §3): D minimises
 * BCE(D(x),1) + BCE(D(G(z)),0); G minimises BCE(D(G(z)),1).
 *
 * G and D are struct mtg_net (core/net.h) of any architecture: the dense
 * stacks of the 8x8 digits, or convolutional ones with batch norm.
 * Batch norm and sampling: nets train in training mode (batch statistics,
 * running ones updated). Whatever samples a generator for evaluation or
 * serving goes through mtg_gan_generate(), which decides the mode once for
 * every caller: training mode, i.e. batch statistics of the sampled batch
 * (the DCGAN practice; PyTorch's DCGAN example never switches G to eval),
 * with the running statistics left untouched, so sampling never changes a
 * model. Not the running statistics: they travel with the weights (the EMA,
 * deltas and FedAvg average them too), so the served EMA generator would
 * normalise with an average of G's past statistics rather than those of
 * its own weights (the mismatch BigGAN's "standing statistics" recompute);
 * not measured here. Because a sample then depends on its batch, a generator whose
 * forward mixes samples (batch norm, minibatch stddev) is always run on
 * whole groups of MTG_GAN_SAMPLE_GROUP latents, the last one filled up
 * with latents that are drawn and dropped: sample i of a seed is the same
 * whatever n and chunk size ask for it, and one requested sample is not
 * normalised by itself. A dense generator has no such layer; its samples
 * are drawn exactly as before, chunk by chunk.
 *
 *     struct mtg_gan_cfg cfg;
 *     mtg_gan_cfg_default(&cfg, 64);
 *     struct mtg_gan *gan = mtg_gan_new(&cfg, MTG_GAN_FULL, seed, &err);
 *     for (...) mtg_gan_step(gan, real_batch, &stats);
 *     mtg_gan_sample(gan, out, 100);
 *     mtg_gan_free(gan);
 */
#ifndef MTG_CORE_GAN_H
#define MTG_CORE_GAN_H

#include <stdint.h>

#include "core/net.h"
#include "core/optim.h"

struct mtg_err;
struct mtg_gan;

enum mtg_gan_role {
    MTG_GAN_FULL = 0, /* G and D */
    MTG_GAN_G = 1,    /* generator only (sgda server) */
    MTG_GAN_D = 2,    /* discriminator only (sgda edge) */
};

/* Loss ids appear in configs: only ever append. */
enum mtg_gan_loss {
    MTG_GAN_LOSS_NS = 0,    /* non-saturating BCE (Goodfellow et al. 2014) */
    MTG_GAN_LOSS_HINGE = 1, /* D: relu(1 - D(x)) + relu(1 + D(G(z))); G: -D(G(z)) (Lim & Ye 2017) */
};

/*
 * Training recipe beyond the nets (DESIGN §4, issue 13): the same for every
 * protocol, so sgda, fedd and mtgan train the same GAN.
 */
struct mtg_gan_recipe {
    enum mtg_gan_loss loss;
    float ema;         /* per-G-step decay of an EMA of G's weights, what is sampled and served; 0 = off */
    float noise;       /* std of Gaussian instance noise on D's inputs, real and fake (Sønderby et al. 2017) */
    float real_label;  /* NS loss: target of real rows (one-sided label smoothing, Salimans et al. 2016); 1 = off */
    int pack;          /* PacGAN (Lin et al. 2018): D judges `pack` samples at once, D input = pack x data; 1 = off */
};

struct mtg_gan_cfg {
    struct mtg_net_spec g;   /* its input features are the latent dimension (a flat {z,1,1} input) */
    struct mtg_net_spec d;   /* input features = G's output features x recipe.pack; D outputs 1 logit */
    struct mtg_adam_cfg g_opt;
    struct mtg_adam_cfg d_opt;
    int batch;               /* real batch size per step */
    int g_max_batch;         /* rows G forward may take at once (>= batch); 0 = batch */
    struct mtg_gan_recipe recipe;
};

struct mtg_gan_stats {
    float d_loss;    /* BCE(D(x),1) + BCE(D(G(z)),0) before the D update */
    float g_loss;    /* BCE(D(G(z)),1) after the D update */
    float d_real;    /* mean sigmoid(D(x)) */
    float d_fake;    /* mean sigmoid(D(G(z))) */
};

/* Rows a batch-mixing generator is sampled in (see the top of this file); DCGAN's batch size. */
#define MTG_GAN_SAMPLE_GROUP 64

/*
 * DESIGN §4 networks for data of data_dim features in [0,1], as dense nets
 * (mtg_net_spec_from_mlp): G z(32) -> 128 relu -> 256 relu -> data_dim
 * sigmoid; D data_dim -> 256 leaky -> 128 leaky -> 1.
 */
void mtg_gan_cfg_default(struct mtg_gan_cfg *cfg, int data_dim);
/*
 * Multiplies the width of every dense/conv layer but each net's last one
 * (dense units, conv channels) by mult, re-targeting reshapes so the shapes
 * still chain (bench width sweep).
 */
void mtg_gan_cfg_scale_width(struct mtg_gan_cfg *cfg, int mult);
int mtg_gan_cfg_validate(const struct mtg_gan_cfg *cfg, struct mtg_err *err);

/* Caller frees with mtg_gan_free(). Parameters initialised from seed. */
struct mtg_gan *mtg_gan_new(const struct mtg_gan_cfg *cfg, enum mtg_gan_role role, uint64_t seed,
                            struct mtg_err *err);
void mtg_gan_free(struct mtg_gan *gan);

/* Restarts the stream that draws latents (and noise) from seed; weights and optimiser state stay. */
void mtg_gan_reseed(struct mtg_gan *gan, uint64_t seed);

/* One D update and one G update on real [batch, data_dim] (role FULL). */
void mtg_gan_step(struct mtg_gan *gan, const float *real, struct mtg_gan_stats *stats);

/*
 * Samples z, runs G on n <= g_max_batch rows and keeps the activations for
 * g_apply. Returns fake [n, data_dim], owned by gan, valid until the next
 * g_forward. Roles FULL, G.
 */
const float *mtg_gan_g_forward(struct mtg_gan *gan, int n);

/*
 * D update on real and fake [batch, data_dim] each, then writes
 * dfake [batch, data_dim] = d BCE(D(fake),1) / d fake, averaged over the batch,
 * with the updated D. Roles FULL, D. dfake NULL: the D update alone
 * (fedd's edges, which send D, not feedback); stats->g_loss is then 0.
 */
void mtg_gan_d_feedback(struct mtg_gan *gan, const float *real, const float *fake, float *dfake,
                        struct mtg_gan_stats *stats);

/*
 * One G update against D as it is (D unchanged): G forward on batch latents,
 * dL_G/dfake through D into dfake [batch, data_dim] (workspace), backprop
 * and Adam step. Returns G's loss. Role FULL (fedd's server, which holds
 * D but no data).
 */
float mtg_gan_g_step(struct mtg_gan *gan, float *dfake);

/*
 * Backpropagates dfake [n, data_dim] (n as in the last g_forward) through G
 * and takes one Adam step. scale multiplies dfake first (1/E to average the
 * feedback of E edges). Roles FULL, G.
 */
void mtg_gan_g_apply(struct mtg_gan *gan, const float *dfake, int n, float scale);

/*
 * n samples from G (mtg_gan_generate; does not disturb training state). out [n, data_dim].
 * With recipe.ema the EMA generator draws them.
 */
void mtg_gan_sample(struct mtg_gan *gan, float *out, int n, uint64_t seed);

/*
 * The one way a generator is sampled (mtg_gan_sample, the server's samples
 * and evaluations, `mtgan sample`): z ~ N(0, 1) from seed, row after row,
 * forward in training mode with frozen running statistics (see the top of
 * this file); g's mode and parameters are as before afterwards. out [n,
 * out_dim]. A dense g runs in chunks of its max_batch; a batch-mixing one
 * in groups of MTG_GAN_SAMPLE_GROUP, which its max_batch must hold. z is
 * workspace for max_batch x in_dim floats.
 */
void mtg_gan_generate(struct mtg_net *g, uint64_t seed, float *z, float *out, int n);

/*
 * 1 when generator spec g ends in tanh (DCGAN). Such a GAN trains in [-1, 1]:
 * real rows (given in [0, 1], like every dataset) are mapped to 2x - 1 before
 * D sees them, fakes and feedback stay in G's range on the wire (sgda), and
 * mtg_gan_generate maps samples back to (y + 1) / 2, so what leaves the GAN
 * (PNGs, evaluations, `mtgan sample`) is in [0, 1] either way.
 */
int mtg_gan_spec_tanh_out(const struct mtg_net_spec *g);

/*
 * D's logit for each of n rows of x [n, data_dim] into out [n] (roles FULL, D).
 * A packed D (recipe.pack > 1) judges each row repeated pack times.
 * Reuses the training workspaces: call between steps, not inside one.
 */
void mtg_gan_d_score(struct mtg_gan *gan, const float *x, int n, float *out);

const struct mtg_gan_cfg *mtg_gan_get_cfg(const struct mtg_gan *gan);
enum mtg_gan_role mtg_gan_get_role(const struct mtg_gan *gan);
struct mtg_net *mtg_gan_generator(struct mtg_gan *gan);     /* NULL for role D */
struct mtg_net *mtg_gan_discriminator(struct mtg_gan *gan); /* NULL for role G */
/* The EMA of G's weights (same layout as G), NULL when recipe.ema is 0 or the role has no G. */
struct mtg_net *mtg_gan_generator_ema(struct mtg_gan *gan);
/* Restarts the EMA at G's current weights (after G was overwritten: a pull, a load). */
void mtg_gan_ema_reset(struct mtg_gan *gan);
struct mtg_adam *mtg_gan_g_opt(struct mtg_gan *gan);
struct mtg_adam *mtg_gan_d_opt(struct mtg_gan *gan);
int mtg_gan_data_dim(const struct mtg_gan *gan);
uint64_t mtg_gan_steps(const struct mtg_gan *gan);
/* Bytes held (models, optimiser state, workspaces): for memory accounting. */
size_t mtg_gan_bytes(const struct mtg_gan *gan);

#endif
