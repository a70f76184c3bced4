/* Tests for src/quality: classifier, fidelity, Fréchet distance, precision/recall/coverage, ceiling. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/net.h"
#include "core/rng.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/digits.h"
#include "quality/classifier.h"
#include "quality/frechet.h"
#include "quality/prec_recall.h"
#include "quality/quality.h"

static void digits_path(char *buf, size_t n)
{
    const char *dir = getenv("MTGAN_DATA_DIR");
    snprintf(buf, n, "%s/%s", dir ? dir : "data", MTG_DATA_DIGITS_FILE);
}

/* The evaluator plus the train / held-out splits it was built from. */
static struct mtg_quality *q;
static struct mtg_dataset *train, *held;

static void setup(void)
{
    char path[4096];
    digits_path(path, sizeof path);
    struct mtg_err err = {0};
    struct mtg_dataset *all;
    cr_assert_eq(mtg_data_digits_load(path, &all, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_data_split(all, MTG_DATA_HELDOUT_EVERY, &train, &held, &err), MTG_OK);
    mtg_data_free(all);
    cr_assert_eq(mtg_quality_new_digits(path, NULL, NULL, &q, &err), MTG_OK, "%s", err.msg);
}

static void teardown(void)
{
    mtg_quality_free(q);
    mtg_data_free(train);
    mtg_data_free(held);
}

static struct mtg_quality_task eval_class(const struct mtg_dataset *ds, int data_class,
                                          int task_class)
{
    struct mtg_dataset *sub;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_data_class_subset(ds, data_class, &sub, &err), MTG_OK);
    struct mtg_quality_task r;
    int rc = mtg_quality_eval_task(q, task_class, mtg_data_x(sub), mtg_data_n(sub), &r, &err);
    cr_assert_eq(rc, MTG_OK, "%s", err.msg);
    mtg_data_free(sub);
    return r;
}

TestSuite(quality, .init = setup, .fini = teardown);

Test(quality, classifier_heldout_accuracy_at_least_95_percent)
{
    double acc = mtg_quality_ref_accuracy(q);
    cr_log_info("held-out accuracy %.4f", acc);
    cr_assert_geq(acc, 0.95, "held-out accuracy %.4f", acc);
    cr_assert_eq(mtg_quality_n_classes(q), 10);
    cr_assert_eq(mtg_quality_in_dim(q), 64);
    cr_assert_eq(mtg_quality_feature_dim(q), 128);
    size_t n;
    const float *p = mtg_quality_classifier_params(q, &n);
    cr_assert_not_null(p);
    cr_assert_eq(n, (size_t)(64 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10));
    for (int c = 0; c < 10; c++)
        cr_assert_eq(mtg_quality_ref_count(q, c), mtg_data_class_count(held, c));
}

Test(quality, real_heldout_fidelity_at_least_0_9)
{
    for (int c = 0; c < 10; c++) {
        struct mtg_quality_task r = eval_class(held, c, c);
        cr_assert_geq(r.fidelity, 0.9, "class %d fidelity %.3f", c, r.fidelity);
        cr_assert_eq(r.label, c);
        /* Another class's digits are not this class's. */
        struct mtg_quality_task o = eval_class(held, (c + 1) % 10, c);
        cr_assert_leq(o.fidelity, 0.1, "class %d scored as %d: %.3f", (c + 1) % 10, c, o.fidelity);
    }
}

Test(quality, fd_same_class_small_other_class_large)
{
    for (int c = 0; c < 10; c++) {
        struct mtg_quality_task self = eval_class(held, c, c);
        struct mtg_quality_task same = eval_class(train, c, c);
        struct mtg_quality_task other = eval_class(train, (c + 3) % 10, c);
        cr_log_info("class %d: fd self %.3g, train %.3f, other class %.3f", c, self.fd, same.fd,
                    other.fd);
        /* FD(x, x) = 0 up to rounding: the features' trace is O(100). */
        cr_assert_lt(self.fd, 1e-6, "class %d FD(x, x) = %g", c, self.fd);
        cr_assert_gt(same.fd, 0.0);
        cr_assert_gt(other.fd, 5.0 * same.fd, "class %d: other %.3f vs same %.3f", c, other.fd,
                     same.fd);
    }
}

Test(quality, precision_recall_real_high_noise_low)
{
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 11);
    float *noise = malloc(300 * 64 * sizeof *noise);
    cr_assert_not_null(noise);
    mtg_rng_fill_uniform(&rng, noise, 300 * 64, 0.0f, 1.0f);
    double sum_p = 0.0, sum_r = 0.0;
    for (int c = 0; c < 10; c++) {
        struct mtg_quality_task r = eval_class(train, c, c);
        cr_log_info("class %d real: P %.3f R %.3f", c, r.precision, r.recall);
        cr_assert_geq(r.precision, 0.7, "class %d precision %.3f", c, r.precision);
        cr_assert_geq(r.recall, 0.7, "class %d recall %.3f", c, r.recall);
        struct mtg_quality_task n;
        struct mtg_err err = {0};
        cr_assert_eq(mtg_quality_eval_task(q, c, noise, 300, &n, &err), MTG_OK, "%s", err.msg);
        cr_log_info("class %d noise: P %.3f R %.3f fid %.3f fd %.1f", c, n.precision, n.recall,
                    n.fidelity, n.fd);
        /*
         * An MLP never saw noise: uniform noise lands in a corner of feature
         * space near its "4" and "7" (there P, R ~ 0.2-0.4 and even fidelity
         * ~0.4-0.6). So the per-class bound is loose and the mean tight. FD
         * is never fooled.
         */
        cr_assert_leq(n.precision, 0.5, "class %d noise precision %.3f", c, n.precision);
        cr_assert_leq(n.recall, 0.5, "class %d noise recall %.3f", c, n.recall);
        cr_assert_gt(n.fd, 10.0 * r.fd);
        sum_p += n.precision;
        sum_r += n.recall;
    }
    cr_assert_leq(sum_p / 10, 0.15, "mean noise precision %.3f", sum_p / 10);
    cr_assert_leq(sum_r / 10, 0.15, "mean noise recall %.3f", sum_r / 10);
    free(noise);
}

Test(quality, mode_collapse_keeps_fidelity_but_loses_recall)
{
    /* A generator that emits (almost) one image of class 4: fidelity cannot tell, recall can. */
    struct mtg_dataset *four;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_data_class_subset(train, 4, &four, &err), MTG_OK);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 5);
    float *x = malloc(200 * 64 * sizeof *x);
    cr_assert_not_null(x);
    for (int i = 0; i < 200; i++)
        for (int j = 0; j < 64; j++) {
            float v = mtg_data_row(four, 0)[j] + 0.01f * mtg_rng_normal(&rng);
            x[i * 64 + j] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        }
    struct mtg_quality_task r;
    cr_assert_eq(mtg_quality_eval_task(q, 4, x, 200, &r, &err), MTG_OK, "%s", err.msg);
    struct mtg_quality_task good = eval_class(train, 4, 4);
    cr_log_info("collapsed: fid %.3f P %.3f R %.3f C %.3f fd %.2f (real fd %.2f C %.3f)", r.fidelity,
                r.precision, r.recall, r.coverage, r.fd, good.fd, good.coverage);
    cr_assert_geq(r.fidelity, 0.9);
    cr_assert_leq(r.recall, 0.2, "recall %.3f", r.recall);
    cr_assert_leq(r.coverage, 0.25, "coverage %.3f", r.coverage);
    cr_assert_gt(r.fd, 2.0 * good.fd);
    free(x);
    mtg_data_free(four);
}

/*
 * The real-vs-real ceiling: each class's train images scored against its
 * held-out reference. Real data must look like real data on every metric,
 * or no generator could be judged against it.
 */
Test(quality, ceiling_of_real_digits_is_high)
{
    for (int c = 0; c < 10; c++) {
        const struct mtg_quality_task *ce = mtg_quality_ceiling(q, c);
        cr_assert_not_null(ce, "class %d has no ceiling", c);
        cr_log_info("class %d ceiling (n %d): fidelity %.3f fd %.2f P %.3f R %.3f C %.3f", c, ce->n,
                    ce->fidelity, ce->fd, ce->precision, ce->recall, ce->coverage);
        cr_assert_eq(ce->label, c);
        cr_assert_eq(ce->n, mtg_data_class_count(train, c));
        cr_assert_geq(ce->fidelity, 0.9, "class %d", c);
        cr_assert_geq(ce->precision, 0.7, "class %d", c);
        cr_assert_geq(ce->recall, 0.7, "class %d ceiling recall %.3f", c, ce->recall);
        cr_assert_geq(ce->coverage, 0.7, "class %d ceiling coverage %.3f", c, ce->coverage);
        /* The cached numbers are what scoring the same images gives. */
        struct mtg_quality_task again = eval_class(train, c, c);
        cr_assert_eq(again.coverage, ce->coverage);
        cr_assert_float_eq(again.fd, ce->fd, 1e-9 * ce->fd);
    }
    cr_assert_null(mtg_quality_ceiling(q, 10));
    cr_assert_null(mtg_quality_ceiling(q, -1));
}

/*
 * A generator collapsed onto one real image (every sample a copy of it):
 * fidelity and precision stay high, since that image is a fine digit, but
 * its samples sit in the k-NN balls of that image's few neighbours only,
 * so coverage drops far below the ceiling.
 */
Test(quality, collapse_onto_one_real_image_keeps_precision_loses_coverage)
{
    enum { N = 300 };
    float *x = malloc((size_t)N * 64 * sizeof *x);
    cr_assert_not_null(x);
    double sum_p = 0;
    for (int c = 0; c < 10; c++) {
        struct mtg_dataset *sub;
        struct mtg_err err = {0};
        cr_assert_eq(mtg_data_class_subset(train, c, &sub, &err), MTG_OK);
        for (int i = 0; i < N; i++)
            memcpy(x + (size_t)i * 64, mtg_data_row(sub, 0), 64 * sizeof *x);
        mtg_data_free(sub);
        struct mtg_quality_task r;
        cr_assert_eq(mtg_quality_eval_task(q, c, x, N, &r, &err), MTG_OK, "%s", err.msg);
        const struct mtg_quality_task *ce = mtg_quality_ceiling(q, c);
        cr_log_info("class %d one-image generator: fid %.3f P %.3f R %.3f C %.3f (ceiling C %.3f)", c,
                    r.fidelity, r.precision, r.recall, r.coverage, ce->coverage);
        cr_assert_geq(r.fidelity, 0.9, "class %d", c);
        cr_assert_leq(r.coverage, 0.3 * ce->coverage, "class %d coverage %.3f vs ceiling %.3f", c,
                      r.coverage, ce->coverage);
        cr_assert_leq(r.recall, 0.3 * ce->recall, "class %d recall %.3f vs ceiling %.3f", c, r.recall,
                      ce->recall);
        sum_p += r.precision;
    }
    /* All samples are one point, so per class precision is 0 or 1: the image is, or is not, inside
     * some held-out image's ball. Most real images are. */
    cr_assert_geq(sum_p / 10, 0.8, "mean precision %.3f", sum_p / 10);
    free(x);
}

Test(quality, eval_rejects_bad_input)
{
    struct mtg_err err = {0};
    struct mtg_quality_task r;
    float x[10 * 64] = {0};
    cr_assert_eq(mtg_quality_eval_task(q, 10, x, 10, &r, &err), MTG_ERANGE);
    cr_assert_eq(mtg_quality_eval_task(q, -1, x, 10, &r, &err), MTG_ERANGE);
    cr_assert_eq(mtg_quality_eval_task(q, 1, x, 3, &r, &err), MTG_EINVAL);
    x[5 * 64 + 7] = NAN;
    cr_assert_eq(mtg_quality_eval_task(q, 1, x, 10, &r, &err), MTG_ENOTFINITE);
    cr_assert(strstr(err.msg, "sample 5") != NULL, "%s", err.msg);
}

/* Diagonal Gaussians: FD = ||mu1 - mu2||² + Σ (sqrt a_i - sqrt b_i)². */
Test(frechet, diagonal_closed_form)
{
    enum { D = 16 };
    double mu1[D], mu2[D], c1[D * D] = {0}, c2[D * D] = {0}, want = 0.0, fd;
    for (int i = 0; i < D; i++) {
        mu1[i] = 0.1 * i;
        mu2[i] = 0.3 - 0.05 * i;
        double a = 0.5 + 0.25 * i, b = 2.0 / (1.0 + i);
        c1[i * D + i] = a;
        c2[i * D + i] = b;
        want += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]) + (sqrt(a) - sqrt(b)) * (sqrt(a) - sqrt(b));
    }
    struct mtg_err err = {0};
    cr_assert_eq(mtg_quality_frechet(mu1, c1, mu2, c2, D, &fd, &err), MTG_OK, "%s", err.msg);
    cr_assert_float_eq(fd, want, 1e-9 * want, "fd %.12g want %.12g", fd, want);
    /* Symmetric in its arguments. */
    double fd2;
    cr_assert_eq(mtg_quality_frechet(mu2, c2, mu1, c1, D, &fd2, &err), MTG_OK);
    cr_assert_float_eq(fd2, want, 1e-9 * want);
}

/*
 * Non-commuting 2x2 covariances. For a 2x2 matrix A with non-negative
 * eigenvalues, Tr sqrt(A) = sqrt(Tr A + 2 sqrt(det A)), with A = S1 S2.
 */
Test(frechet, non_commuting_2x2_closed_form)
{
    double s1[4] = {2.0, 0.6, 0.6, 1.0};
    double s2[4] = {0.5, -0.3, -0.3, 1.5};
    double mu1[2] = {1.0, -1.0}, mu2[2] = {0.5, 0.25};
    double a[4] = {s1[0] * s2[0] + s1[1] * s2[2], s1[0] * s2[1] + s1[1] * s2[3],
                   s1[2] * s2[0] + s1[3] * s2[2], s1[2] * s2[1] + s1[3] * s2[3]};
    double tr_a = a[0] + a[3], det_a = a[0] * a[3] - a[1] * a[2];
    double tr_sqrt = sqrt(tr_a + 2.0 * sqrt(det_a));
    double want = 0.25 + 1.5625 + (s1[0] + s1[3]) + (s2[0] + s2[3]) - 2.0 * tr_sqrt;
    double fd;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_quality_frechet(mu1, s1, mu2, s2, 2, &fd, &err), MTG_OK, "%s", err.msg);
    cr_assert_float_eq(fd, want, 1e-12, "fd %.15g want %.15g", fd, want);
}

Test(frechet, sample_fit_of_identical_sets_is_zero)
{
    enum { N = 200, D = 8 };
    float x[N * D];
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 3);
    mtg_rng_fill_normal(&rng, x, N * D, 1.0f, 2.0f);
    double mu[D], cov[D * D], fd;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_quality_gauss_fit(x, N, D, mu, cov, &err), MTG_OK);
    cr_assert_float_eq(mu[0], 1.0, 0.5);
    cr_assert_float_eq(cov[0], 4.0, 1.5);
    cr_assert_eq(mtg_quality_frechet(mu, cov, mu, cov, D, &fd, &err), MTG_OK);
    cr_assert_lt(fd, 1e-9, "fd %g", fd);
    cr_assert_eq(mtg_quality_gauss_fit(x, 1, D, mu, cov, &err), MTG_EINVAL);
    x[3] = INFINITY;
    cr_assert_eq(mtg_quality_gauss_fit(x, N, D, mu, cov, &err), MTG_ENOTFINITE);
}

Test(prec_recall, disjoint_and_identical_sets)
{
    enum { N = 50, D = 4 };
    float a[N * D], b[N * D];
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 9);
    mtg_rng_fill_normal(&rng, a, N * D, 0.0f, 1.0f);
    for (int i = 0; i < N * D; i++)
        b[i] = a[i] + 100.0f;
    double p, r;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_quality_precision_recall(a, N, a, N, D, 3, &p, &r, &err), MTG_OK);
    cr_assert_eq(p, 1.0);
    cr_assert_eq(r, 1.0);
    cr_assert_eq(mtg_quality_precision_recall(a, N, b, N, D, 3, &p, &r, &err), MTG_OK);
    cr_assert_eq(p, 0.0);
    cr_assert_eq(r, 0.0);
    /* Fakes on half of the real support: precise, but only about half the recall. */
    float half[N * D];
    int h = 0;
    for (int i = 0; i < N; i++)
        if (a[i * D] > 0.0f)
            memcpy(half + (h++) * D, a + i * D, D * sizeof(float));
    cr_assert_eq(mtg_quality_precision_recall(a, N, half, h, D, 3, &p, &r, &err), MTG_OK);
    cr_assert_eq(p, 1.0);
    cr_assert_lt(r, 0.85, "recall %.3f", r);
    cr_assert_eq(mtg_quality_precision_recall(a, 3, a, N, D, 3, &p, &r, &err), MTG_EINVAL);
}

/* Coverage on constructed sets (Naeem et al. 2020): real balls holding a generated point. */
Test(prec_recall, coverage_identical_collapsed_disjoint)
{
    enum { N = 60, D = 4 };
    float a[N * D], far[N * D], one[N * D];
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 21);
    mtg_rng_fill_normal(&rng, a, N * D, 0.0f, 1.0f);
    for (int i = 0; i < N * D; i++)
        far[i] = a[i] + 100.0f;
    for (int i = 0; i < N; i++)
        memcpy(one + i * D, a + 7 * D, D * sizeof(float));
    struct mtg_quality_prc m;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_quality_prc(a, NULL, N, a, N, D, 3, &m, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(m.coverage, 1.0);
    cr_assert_eq(m.precision, 1.0);
    cr_assert_eq(m.recall, 1.0);
    cr_assert_eq(mtg_quality_prc(a, NULL, N, far, N, D, 3, &m, &err), MTG_OK);
    cr_assert_eq(m.coverage, 0.0);
    cr_assert_eq(m.precision, 0.0);
    /* Every fake on real point 7: only balls reaching point 7 are covered - its own, and those of
     * the few points that have it among their 3 nearest neighbours. */
    cr_assert_eq(mtg_quality_prc(a, NULL, N, one, N, D, 3, &m, &err), MTG_OK);
    int want = 0;
    double r2[N];
    cr_assert_eq(mtg_quality_knn_radii(a, N, D, 3, r2, &err), MTG_OK);
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int j = 0; j < D; j++)
            s += ((double)a[i * D + j] - a[7 * D + j]) * ((double)a[i * D + j] - a[7 * D + j]);
        want += s <= r2[i] * (1 + 1e-9);
    }
    cr_log_info("collapsed onto one real point: P %.3f R %.3f C %.3f (%d balls)", m.precision, m.recall,
                m.coverage, want);
    cr_assert_eq(m.precision, 1.0, "a real point is inside its own ball");
    cr_assert_float_eq(m.coverage, (double)want / N, 1e-12);
    cr_assert_geq(want, 1);
    cr_assert_leq(m.coverage, 0.15, "coverage %.3f", m.coverage);
    /* Precomputed real radii give the same numbers. */
    struct mtg_quality_prc m2;
    cr_assert_eq(mtg_quality_prc(a, r2, N, one, N, D, 3, &m2, &err), MTG_OK);
    cr_assert_eq(m2.coverage, m.coverage);
    cr_assert_eq(m2.precision, m.precision);
    cr_assert_eq(m2.recall, m.recall);
    /* Denser fakes from the same distribution cover nearly every real ball (Lemma 2: 1 - 1/2^k at
     * equal sizes, toward 1 as fakes outnumber reals). */
    enum { M = 600 };
    float *b = malloc(M * D * sizeof *b);
    cr_assert_not_null(b);
    mtg_rng_fill_normal(&rng, b, M * D, 0.0f, 1.0f);
    cr_assert_eq(mtg_quality_prc(a, NULL, N, b, M, D, 3, &m, &err), MTG_OK);
    cr_log_info("same distribution, %d vs %d: P %.3f R %.3f C %.3f", N, M, m.precision, m.recall,
                m.coverage);
    cr_assert_geq(m.coverage, 0.9);
    free(b);
    cr_assert_eq(mtg_quality_prc(a, NULL, 3, a, N, D, 3, &m, &err), MTG_EINVAL);
    cr_assert_eq(mtg_quality_knn_radii(a, 3, D, 3, r2, &err), MTG_EINVAL);
    one[5] = NAN;
    cr_assert_eq(mtg_quality_prc(a, NULL, N, one, N, D, 3, &m, &err), MTG_ENOTFINITE);
}

/* Row blocks: a set larger than one distance block scores as the exact pairwise definition. */
Test(prec_recall, blocked_distances_match_brute_force)
{
    enum { NR = 1100, NF = 1300, D = 3, K = 3 };
    float *r = malloc(NR * D * sizeof *r), *f = malloc(NF * D * sizeof *f);
    cr_assert(r && f);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 4);
    mtg_rng_fill_normal(&rng, r, NR * D, 0.0f, 1.0f);
    mtg_rng_fill_normal(&rng, f, NF * D, 0.3f, 0.8f);
    struct mtg_quality_prc m;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_quality_prc(r, NULL, NR, f, NF, D, K, &m, &err), MTG_OK, "%s", err.msg);
    /* Brute force, in the same double arithmetic the definition states. */
    double *rr = malloc(NR * sizeof *rr), *rf = malloc(NF * sizeof *rf);
    cr_assert(rr && rf);
    for (int pass = 0; pass < 2; pass++) {
        const float *x = pass ? f : r;
        int n = pass ? NF : NR;
        double *out = pass ? rf : rr;
        for (int i = 0; i < n; i++) {
            double best[K] = {INFINITY, INFINITY, INFINITY};
            for (int j = 0; j < n; j++) {
                if (j == i)
                    continue;
                double s = 0;
                for (int t = 0; t < D; t++)
                    s += ((double)x[i * D + t] - x[j * D + t]) * ((double)x[i * D + t] - x[j * D + t]);
                for (int p = 0; p < K; p++)
                    if (s < best[p]) {
                        for (int u = K - 1; u > p; u--)
                            best[u] = best[u - 1];
                        best[p] = s;
                        break;
                    }
            }
            out[i] = best[K - 1];
        }
    }
    long prec = 0, rec = 0, cov = 0;
    for (int a = 0; a < NF; a++)
        for (int i = 0; i < NR; i++) {
            double s = 0;
            for (int t = 0; t < D; t++)
                s += ((double)f[a * D + t] - r[i * D + t]) * ((double)f[a * D + t] - r[i * D + t]);
            if (s <= rr[i]) {
                prec++;
                break;
            }
        }
    for (int i = 0; i < NR; i++) {
        int in_rec = 0, in_cov = 0;
        for (int a = 0; a < NF; a++) {
            double s = 0;
            for (int t = 0; t < D; t++)
                s += ((double)f[a * D + t] - r[i * D + t]) * ((double)f[a * D + t] - r[i * D + t]);
            in_rec |= s <= rf[a];
            in_cov |= s <= rr[i];
        }
        rec += in_rec;
        cov += in_cov;
    }
    cr_log_info("blocked P %.4f R %.4f C %.4f; brute %.4f %.4f %.4f", m.precision, m.recall, m.coverage,
                (double)prec / NF, (double)rec / NR, (double)cov / NR);
    /* Rounding may flip a point lying exactly on a ball's edge; random data has none. */
    cr_assert_eq(m.precision, (double)prec / NF);
    cr_assert_eq(m.recall, (double)rec / NR);
    cr_assert_eq(m.coverage, (double)cov / NR);
    free(rr);
    free(rf);
    free(r);
    free(f);
}

/* The blob cache: written on first use, reused when the key matches, replaced when not. */
Test(classifier, cache_roundtrip_and_invalidation)
{
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/mtgan-test-clf-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/clf.mtgb", dir);
    char dpath[4096];
    digits_path(dpath, sizeof dpath);
    struct mtg_err err = {0};
    struct mtg_dataset *all, *tr, *ho;
    cr_assert_eq(mtg_data_digits_load(dpath, &all, &err), MTG_OK);
    cr_assert_eq(mtg_data_split(all, MTG_DATA_HELDOUT_EVERY, &tr, &ho, &err), MTG_OK);
    struct mtg_quality_cfg cfg;
    mtg_quality_cfg_default(&cfg);
    cfg.epochs = 2;

    struct mtg_net *a, *b, *c;
    cr_assert_eq(mtg_quality_classifier_load_or_train(path, tr, &cfg, &a, &err), MTG_OK, "%s",
                 err.msg);
    cr_assert_eq(access(path, R_OK), 0, "cache not written");
    cr_assert_eq(mtg_quality_classifier_load_or_train(path, tr, &cfg, &b, &err), MTG_OK);
    size_t n = mtg_net_param_count(a);
    cr_assert_eq(memcmp(mtg_net_params(a), mtg_net_params(b), n * sizeof(float)), 0);
    /* Training is deterministic for a seed, so a direct train gives the same weights. */
    cr_assert_eq(mtg_quality_classifier_train(tr, &cfg, &c, &err), MTG_OK);
    cr_assert_eq(memcmp(mtg_net_params(a), mtg_net_params(c), n * sizeof(float)), 0);
    mtg_net_free(c);

    /* Another seed: the stored key does not match, so load refuses and load_or_train retrains. */
    struct mtg_quality_cfg cfg2 = cfg;
    cfg2.seed = 2;
    cr_assert_eq(mtg_quality_classifier_load(b, mtg_quality_classifier_key(tr, &cfg2), path, &err),
                 MTG_ECONFLICT);
    cr_assert_eq(mtg_quality_classifier_load_or_train(path, tr, &cfg2, &c, &err), MTG_OK);
    cr_assert_neq(memcmp(mtg_net_params(a), mtg_net_params(c), n * sizeof(float)), 0);
    mtg_net_free(c);

    /* A corrupt cache is replaced, not trusted. */
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    fseek(f, 40, SEEK_SET);
    fputc(0x55, f);
    fclose(f);
    cr_assert_eq(mtg_quality_classifier_load_or_train(path, tr, &cfg, &c, &err), MTG_OK);
    cr_assert_eq(memcmp(mtg_net_params(a), mtg_net_params(c), n * sizeof(float)), 0);
    mtg_net_free(c);

    mtg_net_free(a);
    mtg_net_free(b);
    mtg_data_free(all);
    mtg_data_free(tr);
    mtg_data_free(ho);
    unlink(path);
    rmdir(dir);
}

/* ---- the evaluator of each dataset kind (evaluator.h) ---- */

#include "data/fashion.h"
#include "quality/cnn_judge.h"
#include "quality/evaluator.h"

TestSuite(evaluator);

Test(evaluator, ring_has_none_digits_matches_the_digits_evaluator)
{
    struct mtg_quality *ev = NULL;
    struct mtg_err err = {0};
    cr_expect_eq(mtg_quality_new_for_dataset(MTG_DATA_KIND_RING, NULL, 0, NULL, &ev, &err), MTG_EINVAL);
    cr_expect_not_null(strstr(err.msg, "ring"), "%s", err.msg);
    cr_expect_null(ev);
    const char *dir = getenv("MTGAN_DATA_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "data", MTG_DATA_DIGITS_FILE);
    cr_assert_eq(mtg_quality_new_for_dataset(MTG_DATA_KIND_DIGITS, path, 5, NULL, &ev, &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(mtg_quality_in_dim(ev), 64);
    cr_expect_geq(mtg_quality_ref_accuracy(ev), 0.95, "digits ignore the limit: the whole train split");
    mtg_quality_free(ev);
}

/* Fashion-MNIST: the conv judge (trained once per machine, cnn_judge.h); real images of a class pass, others fail. */
Test(evaluator, fashion_real_images_pass_other_classes_fail, .timeout = 300)
{
    if (access(MTG_DATA_FASHION_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0)
        cr_skip_test("package " MTG_DATA_FASHION_PACKAGE " not installed (" MTG_DATA_FASHION_DIR ")");
    char state[] = "/tmp/mtgan-eval-XXXXXX";
    cr_assert_not_null(mkdtemp(state));
    struct mtg_quality *ev = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_quality_new_for_dataset(MTG_DATA_KIND_FASHION, NULL, 100, state, &ev, &err), MTG_OK, "%s",
                 err.msg);
    cr_expect_eq(mtg_quality_in_dim(ev), 784);
    cr_expect_eq(mtg_quality_n_classes(ev), 10);
    cr_expect_eq(mtg_quality_ref_count(ev, 3), 1000, "the reference is the whole test split");
    cr_expect_geq(mtg_quality_ref_accuracy(ev), 0.90, "test accuracy %.3f", mtg_quality_ref_accuracy(ev));
    /* Trousers (1) are easy: the ceiling (train slice vs test) is near perfect. */
    const struct mtg_quality_task *ce = mtg_quality_ceiling(ev, 1);
    cr_assert_not_null(ce);
    cr_expect_eq(ce->n, 100);
    cr_expect_geq(ce->fidelity, 0.9, "ceiling fidelity %.3f", ce->fidelity);
    cr_expect_geq(ce->recall, 0.5, "ceiling recall %.3f", ce->recall);

    /* Real test sneakers (7) scored as sneakers and as trousers. */
    struct mtg_dataset *test = NULL, *seven = NULL;
    cr_assert_eq(mtg_data_fashion_load(NULL, MTG_DATA_TEST, 200, &test, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_data_class_subset(test, 7, &seven, &err), MTG_OK);
    struct mtg_quality_task as7, as1;
    cr_assert_eq(mtg_quality_eval_task(ev, 7, mtg_data_x(seven), mtg_data_n(seven), &as7, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_quality_eval_task(ev, 1, mtg_data_x(seven), mtg_data_n(seven), &as1, &err), MTG_OK);
    cr_expect_geq(as7.fidelity, 0.8, "sneakers as sneakers: %.3f", as7.fidelity);
    cr_expect_leq(as1.fidelity, 0.05, "sneakers as trousers: %.3f", as1.fidelity);
    cr_expect_lt(as7.fd * 3, as1.fd, "FD own class %.2f vs other %.2f", as7.fd, as1.fd);
    mtg_data_free(seven);
    mtg_data_free(test);
    mtg_quality_free(ev);

    /* The conv judge was cached once for the machine (cnn_judge.h), and a second build reuses it. */
    char cache[1100];
    cr_assert_eq(mtg_cnn_judge_cache_path(state, cache, sizeof cache, &err), MTG_OK, "%s", err.msg);
    cr_expect_eq(access(cache, R_OK), 0, "no cache at %s", cache);
    cr_assert_eq(mtg_quality_new_for_dataset(MTG_DATA_KIND_FASHION, "", 100, state, &ev, &err), MTG_OK, "%s", err.msg);
    mtg_quality_free(ev);
    if (strncmp(cache, state, strlen(state)) == 0)
        unlink(cache); /* fell back to the state dir: nothing outlives the test */
    rmdir(state);
}
