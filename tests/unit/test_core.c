/* Losses (with gradient checks), Adam, rng and arena. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/gan.h"
#include "core/loss.h"
#include "core/net.h"
#include "core/optim.h"
#include "core/rng.h"
#include "core/status.h"

Test(loss, bce_is_stable_and_correct)
{
    float x[] = {0.0f, 100.0f, -100.0f, 2.0f};
    float g[4];
    float l = mtg_loss_bce_logits(x, 4, 1.0f, g, 1.0f);
    double want = (log(2.0) + 0.0 + 100.0 + log1p(exp(-2.0))) / 4.0;
    cr_assert(isfinite(l));
    cr_assert_float_eq(l, (float)want, 1e-4);
    cr_assert_float_eq(g[0], (0.5f - 1.0f) / 4, 1e-6);
    cr_assert_float_eq(g[2], (0.0f - 1.0f) / 4, 1e-6);
}

Test(loss, bce_gradcheck)
{
    float x[] = {-3.0f, -0.5f, 0.1f, 1.7f, 4.0f};
    float g[5];
    for (int t = 0; t <= 1; t++) {
        mtg_loss_bce_logits(x, 5, (float)t, g, 1.0f);
        for (int i = 0; i < 5; i++) {
            float keep = x[i], h = 1e-3f;
            x[i] = keep + h;
            float lp = mtg_loss_bce_logits(x, 5, (float)t, NULL, 1.0f);
            x[i] = keep - h;
            float lm = mtg_loss_bce_logits(x, 5, (float)t, NULL, 1.0f);
            x[i] = keep;
            cr_assert_float_eq((lp - lm) / (2 * h), g[i], 2e-3, "target %d i %d", t, i);
        }
    }
}

Test(loss, softmax_xent_gradcheck)
{
    float x[] = {1.0f, -2.0f, 0.5f, 3.0f, 0.0f, -1.0f};
    int labels[] = {2, 0};
    float g[6];
    mtg_loss_softmax_xent(x, labels, 2, 3, g);
    for (int i = 0; i < 6; i++) {
        float keep = x[i], h = 1e-3f;
        x[i] = keep + h;
        float lp = mtg_loss_softmax_xent(x, labels, 2, 3, NULL);
        x[i] = keep - h;
        float lm = mtg_loss_softmax_xent(x, labels, 2, 3, NULL);
        x[i] = keep;
        cr_assert_float_eq((lp - lm) / (2 * h), g[i], 2e-3, "i %d", i);
    }
    float p[6];
    mtg_softmax(x, 2, 3, p);
    cr_assert_float_eq(p[0] + p[1] + p[2], 1.0f, 1e-6);
}

Test(optim, adam_first_step_is_lr_times_sign)
{
    /* At t=1, mhat = g and vhat = g^2, so each parameter moves by lr * sign(g). */
    struct mtg_adam_cfg cfg;
    mtg_adam_cfg_default(&cfg);
    cfg.lr = 0.1f;
    struct mtg_adam *o = mtg_adam_new(3, &cfg, NULL);
    float p[] = {1.0f, 1.0f, 1.0f}, g[] = {2.0f, -0.5f, 0.0f};
    mtg_adam_step(o, p, g);
    cr_assert_float_eq(p[0], 0.9f, 1e-5);
    cr_assert_float_eq(p[1], 1.1f, 1e-5);
    cr_assert_float_eq(p[2], 1.0f, 1e-5);
    cr_assert_eq(mtg_adam_steps(o), 1);
    mtg_adam_free(o);
}

Test(optim, adam_minimises_quadratic)
{
    struct mtg_adam_cfg cfg = {.lr = 0.05f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    struct mtg_adam *o = mtg_adam_new(2, &cfg, NULL);
    float p[] = {3.0f, -2.0f}, g[2];
    for (int i = 0; i < 2000; i++) {
        g[0] = 2 * (p[0] - 1.0f);
        g[1] = 2 * (p[1] + 0.5f);
        mtg_adam_step(o, p, g);
    }
    cr_assert_float_eq(p[0], 1.0f, 1e-2);
    cr_assert_float_eq(p[1], -0.5f, 1e-2);
    mtg_adam_free(o);
}

Test(optim, adam_rejects_bad_cfg)
{
    struct mtg_err err = {0};
    struct mtg_adam_cfg cfg = {.lr = 0.001f, .beta1 = 1.0f, .beta2 = 0.9f, .eps = 1e-8f};
    cr_assert_null(mtg_adam_new(3, &cfg, &err));
    cr_assert(strstr(err.msg, "betas"), "%s", err.msg);
}

Test(rng, reproducible_and_forks_differ)
{
    struct mtg_rng a, b, c;
    mtg_rng_seed(&a, 123);
    mtg_rng_seed(&b, 123);
    for (int i = 0; i < 100; i++)
        cr_assert_eq(mtg_rng_u64(&a), mtg_rng_u64(&b));
    mtg_rng_fork(&a, 1, &b);
    mtg_rng_fork(&a, 2, &c);
    cr_assert_neq(mtg_rng_u64(&b), mtg_rng_u64(&c));
}

Test(rng, normal_moments)
{
    struct mtg_rng r;
    mtg_rng_seed(&r, 5);
    static float v[100001];
    mtg_rng_fill_normal(&r, v, 100001, 0.0f, 1.0f);
    double s = 0, s2 = 0;
    for (int i = 0; i < 100001; i++) {
        s += v[i];
        s2 += (double)v[i] * v[i];
    }
    cr_assert(fabs(s / 100001) < 0.02);
    cr_assert(fabs(s2 / 100001 - 1.0) < 0.03);
    for (int i = 0; i < 1000; i++)
        cr_assert_lt(mtg_rng_below(&r, 7), 7u);
}

Test(arena, aligned_bounded_zeroed)
{
    struct mtg_arena *a = mtg_arena_new(256, NULL);
    unsigned char *p = mtg_arena_alloc(a, 10);
    unsigned char *q = mtg_arena_alloc(a, 100);
    cr_assert_eq((uintptr_t)p % MTG_ARENA_ALIGN, 0);
    cr_assert_eq((uintptr_t)q % MTG_ARENA_ALIGN, 0);
    cr_assert_eq(q - p, 64);
    cr_assert_eq(p[5], 0);
    cr_assert_null(mtg_arena_alloc(a, 200), "over capacity must fail, not overrun");
    cr_assert_eq(mtg_arena_used(a), 192);
    mtg_arena_free(a);
}

Test(gan, step_is_deterministic_for_a_seed)
{
    struct mtg_gan_cfg cfg;
    mtg_gan_cfg_default(&cfg, 8);
    cfg.batch = 16;
    cfg.g_max_batch = 16;
    struct mtg_gan *a = mtg_gan_new(&cfg, MTG_GAN_FULL, 9, NULL);
    struct mtg_gan *b = mtg_gan_new(&cfg, MTG_GAN_FULL, 9, NULL);
    float real[16 * 8];
    for (int i = 0; i < 16 * 8; i++)
        real[i] = (float)(i % 8) / 8.0f;
    struct mtg_gan_stats sa, sb;
    for (int s = 0; s < 5; s++) {
        mtg_gan_step(a, real, &sa);
        mtg_gan_step(b, real, &sb);
    }
    cr_assert_eq(sa.d_loss, sb.d_loss);
    struct mtg_net *ga = mtg_gan_generator(a), *gb = mtg_gan_generator(b);
    cr_assert_eq(memcmp(mtg_net_params(ga), mtg_net_params(gb), mtg_net_param_count(ga) * 4), 0);
    cr_assert_eq(mtg_gan_steps(a), 5);
    mtg_gan_free(a);
    mtg_gan_free(b);
}

/* sgda's split (G on one side, D on the other) must equal the fused step exactly. */
Test(gan, split_roles_equal_full_step)
{
    struct mtg_gan_cfg cfg;
    mtg_gan_cfg_default(&cfg, 8);
    cfg.batch = 8;
    cfg.g_max_batch = 8;
    struct mtg_gan *full = mtg_gan_new(&cfg, MTG_GAN_FULL, 3, NULL);
    struct mtg_gan *g = mtg_gan_new(&cfg, MTG_GAN_G, 3, NULL);
    struct mtg_gan *d = mtg_gan_new(&cfg, MTG_GAN_D, 3, NULL);
    float real[64], dfake[64];
    for (int i = 0; i < 64; i++)
        real[i] = 0.25f + 0.5f * (float)((i * 7) % 5) / 5.0f;
    for (int s = 0; s < 3; s++) {
        mtg_gan_step(full, real, NULL);
        const float *fake = mtg_gan_g_forward(g, 8);
        mtg_gan_d_feedback(d, real, fake, dfake, NULL);
        mtg_gan_g_apply(g, dfake, 8, 1.0f);
    }
    struct mtg_net *a = mtg_gan_generator(full), *b = mtg_gan_generator(g);
    for (size_t i = 0; i < mtg_net_param_count(a); i++)
        cr_assert_float_eq(mtg_net_params(a)[i], mtg_net_params(b)[i], 1e-6, "param %zu", i);
    mtg_gan_free(full);
    mtg_gan_free(g);
    mtg_gan_free(d);
}

/*
 * fedd's halves: an edge's D-only step (no dfake) moves D exactly as the
 * sgda edge's step does, and the server's g_step moves G as g_apply would
 * with the same D's feedback, leaving D alone.
 */
Test(gan, fedd_halves_equal_the_split_roles)
{
    struct mtg_gan_cfg cfg;
    mtg_gan_cfg_default(&cfg, 8);
    cfg.batch = 8;
    cfg.g_max_batch = 8;
    struct mtg_gan *a = mtg_gan_new(&cfg, MTG_GAN_FULL, 4, NULL), *b = mtg_gan_new(&cfg, MTG_GAN_FULL, 4, NULL);
    float real[64], dfake[64], fake[64];
    for (int i = 0; i < 64; i++)
        real[i] = 0.25f + 0.5f * (float)((i * 3) % 7) / 7.0f;
    memcpy(fake, mtg_gan_g_forward(a, 8), sizeof fake);
    mtg_gan_d_feedback(a, real, fake, NULL, NULL);
    mtg_gan_d_feedback(b, real, fake, dfake, NULL);
    struct mtg_net *da = mtg_gan_discriminator(a), *db = mtg_gan_discriminator(b);
    size_t nd = mtg_net_param_count(da), ng = mtg_net_param_count(mtg_gan_generator(a));
    cr_assert_eq(memcmp(mtg_net_params(da), mtg_net_params(db), nd * sizeof(float)), 0, "D-only step differs");
    float *d_before = malloc(nd * sizeof(float)), *g_before = malloc(ng * sizeof(float));
    memcpy(d_before, mtg_net_params(da), nd * sizeof(float));
    memcpy(g_before, mtg_net_params(mtg_gan_generator(a)), ng * sizeof(float));
    mtg_gan_reseed(a, 77);
    float gl = mtg_gan_g_step(a, dfake);
    cr_assert(gl > 0.0f, "G loss %f", (double)gl);
    cr_assert_eq(memcmp(d_before, mtg_net_params(da), nd * sizeof(float)), 0, "g_step changed D");
    cr_assert_neq(memcmp(g_before, mtg_net_params(mtg_gan_generator(a)), ng * sizeof(float)), 0, "g_step left G");
    free(d_before);
    free(g_before);
    mtg_gan_free(a);
    mtg_gan_free(b);
}

Test(gan, validate_rejects_mismatch)
{
    struct mtg_gan_cfg cfg;
    struct mtg_err err = {0};
    mtg_gan_cfg_default(&cfg, 64);
    cfg.d.in_shape[0] = 10;
    cr_assert_null(mtg_gan_new(&cfg, MTG_GAN_FULL, 1, &err));
    cr_assert(strstr(err.msg, "discriminator input 10"), "%s", err.msg);
}

Test(loss, hinge_values_and_gradcheck)
{
    float x[] = {-2.0f, -0.3f, 0.4f, 1.5f, 3.0f};
    float g[5];
    for (int k = 0; k < 2; k++) {
        float sign = k ? -1.0f : 1.0f;
        float l = mtg_loss_hinge(x, 5, sign, g, 1.0f);
        double want = 0;
        for (int i = 0; i < 5; i++)
            want += fmax(0.0, 1.0 - sign * x[i]) / 5.0;
        cr_assert_float_eq(l, (float)want, 1e-6, "sign %g", (double)sign);
        for (int i = 0; i < 5; i++) {
            float keep = x[i], h = 1e-3f;
            x[i] = keep + h;
            float lp = mtg_loss_hinge(x, 5, sign, NULL, 1.0f);
            x[i] = keep - h;
            float lm = mtg_loss_hinge(x, 5, sign, NULL, 1.0f);
            x[i] = keep;
            cr_assert_float_eq((lp - lm) / (2 * h), g[i], 2e-3, "sign %g i %d", (double)sign, i);
        }
    }
}

/* The EMA follows G step by step (e <- a e + (1 - a) w) and is what mtg_gan_sample draws from. */
Test(gan, ema_tracks_g_and_samples)
{
    struct mtg_gan_cfg cfg;
    mtg_gan_cfg_default(&cfg, 8);
    cfg.batch = cfg.g_max_batch = 8;
    cfg.recipe.ema = 0.5f;
    struct mtg_gan *gan = mtg_gan_new(&cfg, MTG_GAN_FULL, 4, NULL);
    cr_assert_not_null(mtg_gan_generator_ema(gan));
    size_t n = mtg_net_param_count(mtg_gan_generator(gan));
    float *w0 = malloc(n * sizeof(float));
    memcpy(w0, mtg_net_params(mtg_gan_generator(gan)), n * sizeof(float));
    float real[64];
    for (int i = 0; i < 64; i++)
        real[i] = (float)(i % 8) / 8.0f;
    mtg_gan_step(gan, real, NULL);
    const float *w1 = mtg_net_params(mtg_gan_generator(gan)), *e = mtg_net_params(mtg_gan_generator_ema(gan));
    int moved = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_float_eq(e[i], 0.5f * w0[i] + 0.5f * w1[i], 1e-6, "param %zu", i);
        moved += w1[i] != w0[i];
    }
    cr_assert_gt(moved, 0, "one step must move G");
    /* Samples come from the EMA: the same latents through the EMA net by hand give the same rows. */
    float x[16], z[16 * 32], y[16];
    mtg_gan_sample(gan, x, 2, 77);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 77);
    mtg_rng_fill_normal(&rng, z, 2 * 32, 0.0f, 1.0f);
    mtg_net_predict(mtg_gan_generator_ema(gan), z, 2, y);
    cr_assert_eq(memcmp(x, y, 16 * sizeof(float)), 0);
    free(w0);
    mtg_gan_free(gan);
}

/* PacGAN: D sees pack samples per row; a single row is scored as itself repeated pack times. */
Test(gan, pack_scores_repeated_rows)
{
    struct mtg_gan_cfg cfg;
    mtg_gan_cfg_default(&cfg, 8);
    cfg.batch = cfg.g_max_batch = 8;
    cfg.recipe.pack = 2;
    struct mtg_err err = {0};
    cr_assert_null(mtg_gan_new(&cfg, MTG_GAN_FULL, 1, &err), "d.in_dim 8 must be refused with pack 2");
    cr_assert(strstr(err.msg, "pack 2"), "%s", err.msg);
    cfg.d.in_shape[0] = 16;
    struct mtg_gan *gan = mtg_gan_new(&cfg, MTG_GAN_FULL, 1, &err);
    cr_assert_not_null(gan, "%s", err.msg);
    cr_assert_eq(mtg_gan_data_dim(gan), 8);
    float real[64], row[8], two[16], s1, s2;
    for (int i = 0; i < 64; i++)
        real[i] = (float)(i % 5) / 5.0f;
    struct mtg_gan_stats st;
    mtg_gan_step(gan, real, &st);
    cr_assert(isfinite(st.d_loss) && isfinite(st.g_loss));
    for (int i = 0; i < 8; i++)
        row[i] = two[i] = two[8 + i] = 0.1f * (float)i;
    mtg_gan_d_score(gan, row, 1, &s1);
    mtg_net_predict(mtg_gan_discriminator(gan), two, 1, &s2);
    cr_assert_float_eq(s1, s2, 1e-6);
    mtg_gan_free(gan);
    cfg.batch = 7;
    cfg.g_max_batch = 7;
    cr_assert_null(mtg_gan_new(&cfg, MTG_GAN_FULL, 1, &err));
    cr_assert(strstr(err.msg, "multiple of pack"), "%s", err.msg);
}

Test(gan, recipe_is_validated)
{
    struct mtg_gan_cfg cfg;
    struct mtg_err err = {0};
    mtg_gan_cfg_default(&cfg, 8);
    cfg.recipe.ema = 1.0f;
    cr_assert_neq(mtg_gan_cfg_validate(&cfg, &err), MTG_OK);
    cr_assert(strstr(err.msg, "ema"), "%s", err.msg);
    mtg_gan_cfg_default(&cfg, 8);
    cfg.recipe.real_label = 0.4f;
    cr_assert_neq(mtg_gan_cfg_validate(&cfg, &err), MTG_OK);
    cr_assert(strstr(err.msg, "real_label"), "%s", err.msg);
}

Test(gan, scale_width_widens_hidden_layers_and_keeps_shapes_chaining)
{
    struct mtg_gan_cfg cfg;
    struct mtg_err err = {0};
    mtg_gan_cfg_default(&cfg, 64);
    mtg_gan_cfg_scale_width(&cfg, 4);
    cr_assert(cfg.g.layer[0].out == 512 && cfg.g.layer[1].out == 1024 && cfg.g.layer[2].out == 64);
    cr_assert(cfg.d.layer[0].out == 1024 && cfg.d.layer[1].out == 512 && cfg.d.layer[2].out == 1);
    cr_assert_eq(mtg_gan_cfg_validate(&cfg, &err), MTG_OK, "%s", err.msg);

    /* Conv nets: channels double, the reshape follows the dense layer, the outputs stay. */
    mtg_net_spec_dcgan28_g(&cfg.g, 16, 8);
    mtg_net_spec_dcgan28_d(&cfg.d, 8, 4);
    cr_assert_eq(mtg_gan_cfg_validate(&cfg, &err), MTG_OK, "%s", err.msg);
    mtg_gan_cfg_scale_width(&cfg, 2);
    cr_assert_eq(mtg_gan_cfg_validate(&cfg, &err), MTG_OK, "%s", err.msg);
    struct mtg_net_spec g16, d16;
    mtg_net_spec_dcgan28_g(&g16, 16, 16);
    mtg_net_spec_dcgan28_d(&d16, 16, 4);
    cr_assert(mtg_net_spec_equal(&cfg.g, &g16), "G x2 is the width-16 preset");
    cr_assert(mtg_net_spec_equal(&cfg.d, &d16), "D x2 is the width-16 preset");
}

/* A DCGAN pair small enough for a unit test: G z(8) -> 4*7*7 -> ... -> 1x28x28, D with minibatch stddev. */
static void small_dcgan(struct mtg_gan_cfg *cfg, int g_max_batch)
{
    mtg_gan_cfg_default(cfg, 784);
    mtg_net_spec_dcgan28_g(&cfg->g, 8, 2);
    mtg_net_spec_dcgan28_d(&cfg->d, 2, 4);
    cfg->batch = 8;
    cfg->g_max_batch = g_max_batch;
}

Test(gan, batchnorm_generator_samples_in_fixed_groups_without_changing_the_model)
{
    struct mtg_gan_cfg cfg;
    struct mtg_err err = {0};
    small_dcgan(&cfg, 8);
    struct mtg_gan *gan = mtg_gan_new(&cfg, MTG_GAN_FULL, 3, &err);
    cr_assert_not_null(gan, "%s", err.msg);
    float *real = malloc(8 * 784 * sizeof(float));
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 1);
    mtg_rng_fill_uniform(&rng, real, 8 * 784, 0.0f, 1.0f);
    for (int i = 0; i < 3; i++)
        mtg_gan_step(gan, real, NULL);

    /* Sampling leaves every parameter (running statistics included) and the mode as they were. */
    struct mtg_net *ge = mtg_gan_generator_ema(gan);
    size_t np = mtg_net_param_count(ge);
    float *before = malloc(np * sizeof(float));
    memcpy(before, mtg_net_params(ge), np * sizeof(float));
    float *many = malloc(70 * 784 * sizeof(float)), one[784];
    mtg_gan_sample(gan, many, 70, 42);
    cr_assert_eq(memcmp(before, mtg_net_params(ge), np * sizeof(float)), 0);
    cr_assert_eq(mtg_net_train(ge), 1);
    cr_assert_eq(mtg_net_stats_frozen(ge), 0);

    /* Sample 0 of a seed does not depend on how many were asked for, nor is it normalised alone. */
    mtg_gan_sample(gan, one, 1, 42);
    cr_assert_eq(memcmp(one, many, sizeof one), 0);
    float spread = 0.0f;
    for (int i = 1; i < 784; i++)
        spread = fmaxf(spread, fabsf(one[i] - one[0]));
    cr_assert_gt(spread, 1e-3f, "one sample from a batch of one would be all beta");

    /* A private generator with the same parameters and a smaller g_max_batch draws the same samples. */
    struct mtg_gan_cfg pc = cfg;
    pc.g_max_batch = pc.batch = 4;
    pc.recipe.ema = 0.0f;
    struct mtg_gan *p = mtg_gan_new(&pc, MTG_GAN_G, 0, &err);
    cr_assert_not_null(p, "%s", err.msg);
    memcpy(mtg_net_params(mtg_gan_generator(p)), mtg_net_params(ge), np * sizeof(float));
    float *again = malloc(70 * 784 * sizeof(float));
    mtg_gan_sample(p, again, 70, 42);
    cr_assert_eq(memcmp(again, many, 70 * 784 * sizeof(float)), 0);
    for (int i = 0; i < 70 * 784; i++)
        cr_assert(many[i] >= -1.0f && many[i] <= 1.0f, "tanh output");
    mtg_gan_free(p);
    mtg_gan_free(gan);
    free(real);
    free(before);
    free(many);
    free(again);
}
