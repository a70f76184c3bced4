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

#include "core/nn.h"
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
    int pack;          /* PacGAN (Lin et al. 2018): D judges `pack` samples at once, d.in_dim = pack x data; 1 = off */
};

struct mtg_gan_cfg {
    struct mtg_mlp_spec g;   /* g.in_dim is the latent dimension */
    struct mtg_mlp_spec d;   /* d.in_dim must equal G's output width x recipe.pack; D outputs 1 logit */
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

/* DESIGN §4 networks for data of data_dim features in [0,1]: z(32) -> 128 -> 256 -> data_dim. */
void mtg_gan_cfg_default(struct mtg_gan_cfg *cfg, int data_dim);
/* Multiplies every hidden width by mult (bench width sweep). */
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
 * with the updated D. Roles FULL, D.
 */
void mtg_gan_d_feedback(struct mtg_gan *gan, const float *real, const float *fake, float *dfake,
                        struct mtg_gan_stats *stats);

/*
 * Backpropagates dfake [n, data_dim] (n as in the last g_forward) through G
 * and takes one Adam step. scale multiplies dfake first (1/E to average the
 * feedback of E edges). Roles FULL, G.
 */
void mtg_gan_g_apply(struct mtg_gan *gan, const float *dfake, int n, float scale);

/*
 * n samples from G in chunks (does not disturb training state). out [n, data_dim].
 * With recipe.ema the EMA generator draws them.
 */
void mtg_gan_sample(struct mtg_gan *gan, float *out, int n, uint64_t seed);

/*
 * D's logit for each of n rows of x [n, data_dim] into out [n] (roles FULL, D).
 * A packed D (recipe.pack > 1) judges each row repeated pack times.
 * Reuses the training workspaces: call between steps, not inside one.
 */
void mtg_gan_d_score(struct mtg_gan *gan, const float *x, int n, float *out);

const struct mtg_gan_cfg *mtg_gan_get_cfg(const struct mtg_gan *gan);
enum mtg_gan_role mtg_gan_get_role(const struct mtg_gan *gan);
struct mtg_mlp *mtg_gan_generator(struct mtg_gan *gan);     /* NULL for role D */
struct mtg_mlp *mtg_gan_discriminator(struct mtg_gan *gan); /* NULL for role G */
/* The EMA of G's weights (same layout as G), NULL when recipe.ema is 0 or the role has no G. */
struct mtg_mlp *mtg_gan_generator_ema(struct mtg_gan *gan);
/* Restarts the EMA at G's current weights (after G was overwritten: a pull, a load). */
void mtg_gan_ema_reset(struct mtg_gan *gan);
struct mtg_adam *mtg_gan_g_opt(struct mtg_gan *gan);
struct mtg_adam *mtg_gan_d_opt(struct mtg_gan *gan);
int mtg_gan_data_dim(const struct mtg_gan *gan);
uint64_t mtg_gan_steps(const struct mtg_gan *gan);
/* Bytes held (models, optimiser state, workspaces): for memory accounting. */
size_t mtg_gan_bytes(const struct mtg_gan *gan);

#endif
