/* test_novelty.c - unknown-task detection's tests and batch decision (src/edge/novelty.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "core/gan.h"
#include "core/status.h"
#include "edge/novelty.h"

Test(novelty, quantile_is_the_lower_nearest_rank)
{
    float v[] = {5, 1, 4, 2, 3};
    cr_assert_float_eq(mtg_novelty_quantile(v, 5, 0.0), 1, 1e-6);
    cr_assert_float_eq(mtg_novelty_quantile(v, 5, 0.5), 3, 1e-6);
    cr_assert_float_eq(mtg_novelty_quantile(v, 5, 0.95), 4, 1e-6);
    cr_assert_float_eq(mtg_novelty_quantile(v, 5, 1.0), 5, 1e-6);
}

Test(novelty, profile_is_the_mean_and_a_distance_quantile)
{
    /* Four 2-D points at distance 1 from (1, 1) and one at distance 3. */
    const float x[] = {0, 1, 2, 1, 1, 0, 1, 2, 1, 4};
    float mean[2];
    double r;
    cr_assert_eq(mtg_novelty_profile(x, 4, 2, 1.0, mean, &r), MTG_OK);
    cr_assert_float_eq(mean[0], 1, 1e-6);
    cr_assert_float_eq(mean[1], 1, 1e-6);
    cr_assert_float_eq(r, 1, 1e-6);
    cr_assert_eq(mtg_novelty_profile(x, 0, 2, 0.5, mean, &r), MTG_EINVAL);
    cr_assert_eq(mtg_novelty_profile(x, 4, 2, 1.5, mean, &r), MTG_EINVAL);
}

Test(novelty, decide_counts_rows_no_task_claims)
{
    /* 2 tasks x 4 rows: task 0 claims rows 0-1, task 1 claims row 1. Rows 2-3 are unclaimed. */
    const unsigned char acc[] = {1, 1, 0, 0, 0, 1, 0, 0};
    struct mtg_novelty_verdict v;
    unsigned char un[4];
    mtg_novelty_decide(acc, 2, 4, 0.5, &v, un);
    cr_assert_eq(v.n_unclaimed, 2);
    cr_assert_float_eq(v.new_frac, 0.5, 1e-9);
    cr_assert_eq(v.is_new, 1, "half unclaimed reaches min_new 0.5");
    cr_assert_eq(v.best_task, 0);
    cr_assert_float_eq(v.best_frac, 0.5, 1e-9);
    cr_assert(un[0] == 0 && un[1] == 0 && un[2] == 1 && un[3] == 1);
    mtg_novelty_decide(acc, 2, 4, 0.75, &v, NULL);
    cr_assert_eq(v.is_new, 0, "below min_new is known");
}

Test(novelty, a_mix_of_known_tasks_is_not_new)
{
    /* Each task claims half the rows: together they claim all, so nothing is new. */
    const unsigned char acc[] = {1, 1, 0, 0, 0, 0, 1, 1};
    struct mtg_novelty_verdict v;
    mtg_novelty_decide(acc, 2, 4, 0.5, &v, NULL);
    cr_assert_eq(v.is_new, 0);
    cr_assert_eq(v.n_unclaimed, 0);
}

Test(novelty, no_known_tasks_makes_everything_new_and_no_rows_nothing)
{
    struct mtg_novelty_verdict v;
    mtg_novelty_decide(NULL, 0, 3, 0.5, &v, NULL);
    cr_assert_eq(v.is_new, 1);
    cr_assert_eq(v.best_task, -1);
    mtg_novelty_decide(NULL, 0, 0, 0.5, &v, NULL);
    cr_assert_eq(v.is_new, 0);
}

Test(novelty, mean_test_accepts_inside_the_radius_only)
{
    struct mtg_novelty_opts o;
    mtg_novelty_opts_default(&o);
    o.method = MTG_NOVELTY_MEAN;
    const float mean[2] = {0, 0};
    struct mtg_novelty_task *t = NULL;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_novelty_task_new(NULL, mean, 1.0, 2, &o, &t, &err), MTG_OK, "%s", err.msg);
    const float x[] = {0.5f, 0.5f, 1, 0, 2, 0, -0.1f, 3};
    unsigned char acc[4];
    cr_assert_eq(mtg_novelty_task_accept(t, NULL, x, 4, acc), MTG_OK);
    cr_assert(acc[0] == 1 && acc[1] == 1 && acc[2] == 0 && acc[3] == 0);
    cr_assert(isnan(mtg_novelty_task_d_min(t)));
    mtg_novelty_task_free(t);
    mtg_novelty_task_free(NULL);
}

Test(novelty, bad_arguments_are_refused)
{
    struct mtg_novelty_opts o;
    mtg_novelty_opts_default(&o);
    struct mtg_novelty_task *t = NULL;
    struct mtg_err err = {0};
    const float mean[2] = {0, 0};
    o.method = MTG_NOVELTY_D;
    cr_assert_eq(mtg_novelty_task_new(NULL, mean, 1.0, 2, &o, &t, &err), MTG_EINVAL, "D needs a GAN");
    o.method = MTG_NOVELTY_MEAN;
    cr_assert_eq(mtg_novelty_task_new(NULL, NULL, 1.0, 2, &o, &t, &err), MTG_EINVAL, "mean needs a profile");
    cr_assert_eq(mtg_novelty_task_new(NULL, mean, NAN, 2, &o, &t, &err), MTG_EINVAL);
    o.quantile = 0;
    cr_assert_eq(mtg_novelty_task_new(NULL, mean, 1.0, 2, &o, &t, &err), MTG_EINVAL);
    cr_assert_null(t);
}

Test(novelty, d_test_accepts_the_calibration_share_of_its_own_samples)
{
    struct mtg_gan_cfg gc;
    mtg_gan_cfg_default(&gc, 4);
    struct mtg_err err = {0};
    struct mtg_gan *g = mtg_gan_new(&gc, MTG_GAN_FULL, 3, &err);
    cr_assert_not_null(g, "%s", err.msg);
    struct mtg_novelty_opts o;
    mtg_novelty_opts_default(&o);
    o.method = MTG_NOVELTY_D;
    o.n_cal = 200;
    o.quantile = 0.9;
    struct mtg_novelty_task *t = NULL;
    cr_assert_eq(mtg_novelty_task_new(g, NULL, 0, 4, &o, &t, &err), MTG_OK, "%s", err.msg);
    cr_assert(isfinite(mtg_novelty_task_d_min(t)));
    /* The same samples it was calibrated on: at least the quantile's share passes. */
    float x[200 * 4];
    unsigned char acc[200];
    mtg_gan_sample(g, x, 200, o.seed);
    cr_assert_eq(mtg_novelty_task_accept(t, g, x, 200, acc), MTG_OK);
    int n = 0;
    for (int i = 0; i < 200; i++)
        n += acc[i];
    cr_assert(n >= 180 && n <= 200, "accepted %d of 200, want >= 90%%", n);
    mtg_novelty_task_free(t);
    mtg_gan_free(g);
}
