/*
 * recipe_sweep.c - the measurement behind the default training recipe
 * (README "Training recipe"): one centralised GAN per 8x8 digit class with
 * the recipe given in the environment, then precision / recall / coverage
 * (k = 3) of 1000 samples against every real image of the class in pixel
 * space, the same metric as bench/judge.py, plus the mean 3-NN radius and
 * pixel std of fakes vs reals (a collapsed generator has both far smaller).
 *
 *   make out/bin/recipe-sweep
 *   OPENBLAS_NUM_THREADS=1 STEPS=6000 GLR=2e-3 DLR=2e-3 B1=0 B2=0.99 EMA=0.99 out/bin/recipe-sweep
 *
 * Knobs: STEPS, CLS0/NCLS (classes), BATCH, LATENT, GLR/DLR, B1/B2, HINGE=1,
 * EMA, NOISE (instance noise), REAL (real label), PACK, GW/DW (width
 * multipliers), SEED. Defaults are the pre-recipe settings (lr 2e-4,
 * betas 0.5/0.999, no EMA), not the library's defaults.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "core/gan.h"
#include "core/rng.h"
#include "core/status.h"
#include "data/batch.h"
#include "data/dataset.h"
#include "data/digits.h"
#include "quality/prec_recall.h"
static double envd(const char *n, double d) { const char *v = getenv(n); return v ? atof(v) : d; }
int main(int argc, char **argv)
{
    struct mtg_err err = {0};
    struct mtg_dataset *ds;
    char path[512];
    snprintf(path, sizeof path, "%s/digits.csv.gz", getenv("MTGAN_DATA_DIR") ? getenv("MTGAN_DATA_DIR") : "data");
    if (mtg_data_digits_load(path, &ds, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    int steps = (int)envd("STEPS", 5000), cls0 = (int)envd("CLS0", 0), ncls = (int)envd("NCLS", 10);
    double sp = 0, sr = 0, sc = 0;
    for (int c = cls0; c < cls0 + ncls; c++) {
        int n = mtg_data_class_count(ds, c);
        float *pool = malloc((size_t)n * 64 * sizeof(float));
        int k = 0;
        for (int i = 0; i < mtg_data_n(ds); i++)
            if (mtg_data_labels(ds)[i] == c) memcpy(pool + (size_t)k++ * 64, mtg_data_row(ds, i), 64 * sizeof(float));
        struct mtg_gan_cfg cfg;
        mtg_gan_cfg_default(&cfg, 64);
        cfg.batch = (int)envd("BATCH", 64); cfg.g_max_batch = 250 > cfg.batch ? 250 : cfg.batch;
        cfg.g.in_shape[0] = (int)envd("LATENT", 32);
        cfg.g_opt.lr = (float)envd("GLR", 2e-4); cfg.d_opt.lr = (float)envd("DLR", 2e-4);
        cfg.g_opt.beta1 = cfg.d_opt.beta1 = (float)envd("B1", 0.5);
        cfg.g_opt.beta2 = cfg.d_opt.beta2 = (float)envd("B2", 0.999);
        cfg.recipe.loss = (enum mtg_gan_loss)(int)envd("HINGE", 0);
        cfg.recipe.ema = (float)envd("EMA", 0); cfg.recipe.noise = (float)envd("NOISE", 0);
        cfg.recipe.real_label = (float)envd("REAL", 1);
        cfg.recipe.pack = (int)envd("PACK", 1); cfg.d.in_shape[0] = 64 * cfg.recipe.pack;
        int gw = (int)envd("GW", 1); cfg.g.layer[0].out *= gw; cfg.g.layer[1].out *= gw;
        int dw = (int)envd("DW", 1); cfg.d.layer[0].out *= dw; cfg.d.layer[1].out *= dw;
        struct mtg_gan *gan = mtg_gan_new(&cfg, MTG_GAN_FULL, 1000 + c + (uint64_t)envd("SEED", 0) * 7, &err);
        if (!gan) { fprintf(stderr, "%s\n", err.msg); return 1; }
        struct mtg_rng rng; mtg_rng_seed(&rng, 5 + c);
        float *real = malloc((size_t)cfg.batch * 64 * sizeof(float));
        for (int s = 0; s < steps; s++) {
            mtg_data_batch(pool, n, 64, cfg.batch, &rng, real);
            mtg_gan_step(gan, real, NULL);
        }
        float *x = malloc((size_t)1000 * 64 * sizeof(float));
        mtg_gan_sample(gan, x, 1000, 99);
        struct mtg_quality_prc m;
        mtg_quality_prc(pool, NULL, n, x, 1000, 64, 3, &m, &err);
        double *rf = malloc(1000 * sizeof(double)), *rr = malloc((size_t)n * sizeof(double));
        mtg_quality_knn_radii(x, 1000, 64, 3, rf, &err);
        mtg_quality_knn_radii(pool, n, 64, 3, rr, &err);
        double mf = 0, mr = 0; for (int i = 0; i < 1000; i++) mf += sqrt(rf[i]) / 1000; for (int i = 0; i < n; i++) mr += sqrt(rr[i]) / n;
        double pstd = 0; for (int j = 0; j < 64; j++) { double a = 0, b = 0; for (int i = 0; i < 1000; i++) { a += x[i*64+j]; b += x[i*64+j]*x[i*64+j]; } a /= 1000; pstd += sqrt(b/1000 - a*a) / 64; }
        double rstd = 0; for (int j = 0; j < 64; j++) { double a = 0, b = 0; for (int i = 0; i < n; i++) { a += pool[i*64+j]; b += pool[i*64+j]*pool[i*64+j]; } a /= n; rstd += sqrt(b/n - a*a) / 64; }
        printf("digit %d: P %.3f R %.3f C %.3f | 3nn radius fake %.3f real %.3f | pixel std fake %.3f real %.3f\n", c, m.precision, m.recall, m.coverage, mf, mr, pstd, rstd);
        free(rf); free(rr);
        sp += m.precision; sr += m.recall; sc += m.coverage;
        free(x); free(real); free(pool); mtg_gan_free(gan);
    }
    printf("MEAN P %.3f R %.3f C %.3f\n", sp / ncls, sr / ncls, sc / ncls);
    (void)argc; (void)argv;
    return 0;
}
