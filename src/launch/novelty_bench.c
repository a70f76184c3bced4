/*
 * novelty_bench.c - `mtgan bench novelty`: how well unknown-task detection
 * (src/edge/novelty.h) separates a digit class no task was trained on from
 * the classes that have tasks. One GAN per digit is trained in-process on
 * the train split (as train-local does); each task's data profile (mean,
 * radius) comes from its train rows, as a labelled edge would compute it;
 * the data scored is the held-out split, which no GAN or profile saw.
 * Two settings:
 *   - pair: known tasks {0, 3} (the integration test's), every other class new;
 *   - leave-one-out: for each class c, known = the other nine, c new.
 * A batch is BATCH held-out rows of one class. Detection rate = share of
 * new-class batches flagged new; false-new rate = share of known-class
 * batches flagged new. Reported for each method and two training lengths.
 */
#include "launch/bench.h"
#include "core/gan.h"
#include "core/rng.h"
#include "core/status.h"
#include "data/batch.h"
#include "data/dataset.h"
#include "data/digits.h"
#include "edge/novelty.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLASSES MTG_DATA_DIGITS_CLASSES
#define DIM MTG_DATA_DIGITS_DIM
#define BATCH 16
#define DRAWS 25

struct nb_class {
    float mean[DIM]; /* profile from the train split */
    double radius;
    float *held; /* held-out rows of the class [n, DIM] */
    int n;
    unsigned char *acc[CLASSES]; /* per known task t: acceptance of each held-out row [n] */
};

static int train_gan(const struct mtg_dataset *train, int label, int steps, uint64_t seed, struct mtg_gan **out,
                     struct mtg_err *err)
{
    struct mtg_dataset *sub = NULL;
    struct mtg_gan_cfg gc;
    mtg_gan_cfg_default(&gc, DIM);
    float *real = malloc((size_t)gc.batch * DIM * sizeof(float));
    int rc = real ? mtg_data_class_subset(train, label, &sub, err) : MTG_ENOMEM;
    struct mtg_gan *g = rc == MTG_OK ? mtg_gan_new(&gc, MTG_GAN_FULL, seed + (uint64_t)label, err) : NULL;
    if (rc == MTG_OK && !g)
        rc = err->code;
    struct mtg_rng rng;
    mtg_rng_seed(&rng, seed * 31 + (uint64_t)label);
    struct mtg_gan_stats st;
    for (int s = 0; rc == MTG_OK && s < steps; s++) {
        mtg_data_batch(mtg_data_x(sub), mtg_data_n(sub), DIM, gc.batch, &rng, real);
        mtg_gan_step(g, real, &st);
    }
    free(real);
    mtg_data_free(sub);
    if (rc != MTG_OK) {
        mtg_gan_free(g);
        return rc;
    }
    *out = g;
    return MTG_OK;
}

/* Share of DRAWS random batches of class c flagged new when the tasks in `known` (mask) are known. */
static double new_rate(struct nb_class *cl, int c, const int *known, double min_new, struct mtg_rng *rng)
{
    unsigned char accept[CLASSES * BATCH];
    int flagged = 0;
    for (int d = 0; d < DRAWS; d++) {
        int rows[BATCH], nt = 0;
        for (int i = 0; i < BATCH; i++)
            rows[i] = (int)mtg_rng_below(rng, (uint64_t)cl[c].n);
        for (int t = 0; t < CLASSES; t++) {
            if (!known[t])
                continue;
            for (int i = 0; i < BATCH; i++)
                accept[nt * BATCH + i] = cl[c].acc[t][rows[i]];
            nt++;
        }
        struct mtg_novelty_verdict v;
        mtg_novelty_decide(accept, nt, BATCH, min_new, &v, NULL);
        flagged += v.is_new;
    }
    return (double)flagged / DRAWS;
}

/* Detection and false-new rates of one method on the classes' acceptance tables. */
static cJSON *rates(struct nb_class *cl, double min_new, uint64_t seed, const char *label)
{
    struct mtg_rng rng;
    mtg_rng_seed(&rng, seed);
    cJSON *o = cJSON_CreateObject();
    /* pair: known {0, 3} */
    int known[CLASSES] = {0};
    known[0] = known[3] = 1;
    double det = 0, fnew = 0;
    for (int c = 0; c < CLASSES; c++) {
        double r = new_rate(cl, c, known, min_new, &rng);
        if (known[c])
            fnew += r / 2;
        else
            det += r / (CLASSES - 2);
    }
    cJSON_AddNumberToObject(o, "pair_detection", det);
    cJSON_AddNumberToObject(o, "pair_false_new", fnew);
    /* leave-one-out */
    double ldet = 0, lfnew = 0;
    cJSON *per = cJSON_AddObjectToObject(o, "loo_detection_per_class");
    for (int c = 0; c < CLASSES; c++) {
        for (int t = 0; t < CLASSES; t++)
            known[t] = t != c;
        double r = new_rate(cl, c, known, min_new, &rng), f = 0;
        for (int k = 0; k < CLASSES; k++)
            if (k != c)
                f += new_rate(cl, k, known, min_new, &rng) / (CLASSES - 1);
        char key[8];
        snprintf(key, sizeof key, "%d", c);
        cJSON_AddNumberToObject(per, key, r);
        ldet += r / CLASSES;
        lfnew += f / CLASSES;
    }
    cJSON_AddNumberToObject(o, "loo_detection", ldet);
    cJSON_AddNumberToObject(o, "loo_false_new", lfnew);
    printf("  %-22s pair{0,3}: detection %.3f false-new %.3f   leave-one-out: detection %.3f false-new %.3f\n", label,
           det, fnew, ldet, lfnew);
    return o;
}

/* Per-row acceptance of class c's held-out rows by its own task (should be ~quantile) and by others. */
static void row_rates(struct nb_class *cl, cJSON *o)
{
    double own = 0, other = 0;
    for (int c = 0; c < CLASSES; c++) {
        for (int t = 0; t < CLASSES; t++) {
            int a = 0;
            for (int i = 0; i < cl[c].n; i++)
                a += cl[c].acc[t][i];
            if (t == c)
                own += (double)a / cl[c].n / CLASSES;
            else
                other += (double)a / cl[c].n / (CLASSES * (CLASSES - 1));
        }
    }
    cJSON_AddNumberToObject(o, "row_accept_own_task", own);
    cJSON_AddNumberToObject(o, "row_accept_other_task", other);
    printf("  %-22s rows accepted by their own task %.3f, by another task %.3f\n", "", own, other);
}

cJSON *mtg_bench_novelty(const char *digits_path, uint64_t seed, struct mtg_err *err)
{
    static const int steps_list[] = {300, 2000};
    struct mtg_dataset *all = NULL, *train = NULL, *held = NULL;
    struct nb_class cl[CLASSES];
    struct mtg_gan *gan[CLASSES] = {0};
    memset(cl, 0, sizeof cl);
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "batch", BATCH);
    cJSON_AddNumberToObject(out, "draws_per_class", DRAWS);
    int rc = mtg_data_digits_load(digits_path, &all, err);
    if (rc == MTG_OK)
        rc = mtg_data_split(all, MTG_DATA_HELDOUT_EVERY, &train, &held, err);
    for (int c = 0; rc == MTG_OK && c < CLASSES; c++) {
        struct mtg_dataset *sub = NULL;
        rc = mtg_data_class_subset(train, c, &sub, err);
        if (rc == MTG_OK)
            rc = mtg_novelty_profile(mtg_data_x(sub), mtg_data_n(sub), DIM, 0.95, cl[c].mean, &cl[c].radius);
        mtg_data_free(sub);
        sub = NULL;
        if (rc == MTG_OK)
            rc = mtg_data_class_subset(held, c, &sub, err);
        if (rc != MTG_OK)
            break;
        cl[c].n = mtg_data_n(sub);
        cl[c].held = malloc((size_t)cl[c].n * DIM * sizeof(float));
        for (int t = 0; t < CLASSES; t++)
            cl[c].acc[t] = malloc((size_t)cl[c].n);
        if (cl[c].held)
            memcpy(cl[c].held, mtg_data_x(sub), (size_t)cl[c].n * DIM * sizeof(float));
        mtg_data_free(sub);
        for (int t = 0; t < CLASSES; t++)
            if (!cl[c].acc[t] || !cl[c].held)
                rc = mtg_err_set(err, MTG_ENOMEM, "bench novelty: out of memory");
    }
    struct mtg_novelty_opts o;
    mtg_novelty_opts_default(&o);
    o.seed = seed;
    printf("  n_cal %d, quantile %.2f, min_new %.2f; batches of %d held-out rows\n", o.n_cal, o.quantile, o.min_new,
           BATCH);
    for (size_t si = 0; rc == MTG_OK && si < sizeof steps_list / sizeof steps_list[0]; si++) {
        int steps = steps_list[si];
        for (int c = 0; rc == MTG_OK && c < CLASSES; c++) {
            mtg_gan_free(gan[c]);
            gan[c] = NULL;
            rc = train_gan(train, c, steps, seed, &gan[c], err);
        }
        char key[32];
        snprintf(key, sizeof key, "steps_%d", steps);
        cJSON *so = cJSON_AddObjectToObject(out, key);
        printf("  GANs trained %d steps per digit:\n", steps);
        for (int m = MTG_NOVELTY_D; rc == MTG_OK && m <= MTG_NOVELTY_D_AND_MEAN; m++) {
            o.method = (enum mtg_novelty_method)m;
            for (int t = 0; rc == MTG_OK && t < CLASSES; t++) {
                struct mtg_novelty_task *d = NULL;
                rc = mtg_novelty_task_new(gan[t], cl[t].mean, cl[t].radius, DIM, &o, &d, err);
                for (int c = 0; rc == MTG_OK && c < CLASSES; c++)
                    rc = mtg_novelty_task_accept(d, gan[t], cl[c].held, cl[c].n, cl[c].acc[t]);
                mtg_novelty_task_free(d);
            }
            if (rc != MTG_OK)
                break;
            char label[48];
            snprintf(label, sizeof label, "method %s", mtg_novelty_method_name(o.method));
            cJSON *mo = rates(cl, o.min_new, seed, label);
            row_rates(cl, mo);
            cJSON_AddItemToObject(so, mtg_novelty_method_name(o.method), mo);
        }
    }
    for (int c = 0; c < CLASSES; c++) {
        mtg_gan_free(gan[c]);
        free(cl[c].held);
        for (int t = 0; t < CLASSES; t++)
            free(cl[c].acc[t]);
    }
    mtg_data_free(all);
    mtg_data_free(train);
    mtg_data_free(held);
    if (rc != MTG_OK) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}
