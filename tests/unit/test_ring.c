/* Tests for the 8-Gaussian ring: the sampler (src/data/ring) and its metrics (src/quality/ring). */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"
#include "data/ring.h"
#include "quality/ring.h"

Test(ring, centres_on_a_circle_of_radius_2)
{
    for (int k = 0; k < MTG_DATA_RING_MODES; k++) {
        float c[2];
        mtg_data_ring_centre(k, c);
        cr_assert_float_eq(hypotf(c[0], c[1]), 2.0f, 1e-6f);
        float a = atan2f(c[1], c[0]);
        float want = (float)(2.0 * M_PI * k / 8.0);
        if (want > (float)M_PI)
            want -= (float)(2.0 * M_PI);
        cr_assert_float_eq(a, want, 1e-5f, "mode %d angle %f", k, (double)a);
    }
}

Test(ring, samples_match_the_mixture)
{
    enum { N = 8000 };
    static float pts[2 * N], again[2 * N];
    static int modes[N];
    struct mtg_rng rng, rng2;
    mtg_rng_seed(&rng, 1);
    mtg_rng_seed(&rng2, 1);
    mtg_data_ring_sample_modes(&rng, N, pts, modes);
    mtg_data_ring_sample(&rng2, N, again);
    cr_assert_eq(memcmp(pts, again, sizeof pts), 0, "not deterministic for a seed");
    int count[8] = {0};
    double sx[8] = {0}, sxx[8] = {0};
    for (int i = 0; i < N; i++) {
        float c[2];
        mtg_data_ring_centre(modes[i], c);
        double dx = pts[2 * i] - c[0], dy = pts[2 * i + 1] - c[1];
        count[modes[i]]++;
        sx[modes[i]] += dx + dy;
        sxx[modes[i]] += dx * dx + dy * dy;
    }
    for (int k = 0; k < 8; k++) {
        cr_assert(count[k] > 850 && count[k] < 1150, "mode %d: %d samples", k, count[k]);
        double sd = sqrt(sxx[k] / (2.0 * count[k]));
        cr_assert_float_eq(sd, 0.02, 0.002, "mode %d sd %f", k, sd);
        cr_assert_float_eq(sx[k] / (2.0 * count[k]), 0.0, 0.003);
    }
}

Test(ring, real_samples_cover_all_modes_with_high_quality)
{
    enum { N = 2500 };
    static float pts[2 * N];
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 2);
    mtg_data_ring_sample(&rng, N, pts);
    struct mtg_quality_ring r;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_quality_ring_eval(pts, N, 0, &r, &err), MTG_OK);
    cr_assert_eq(r.modes_covered, 8);
    /* P(chi2 with 2 dof <= 9) = 1 - exp(-4.5) = 0.9889. */
    cr_assert_float_eq(r.high_quality, 0.9889, 0.01, "hq %f", r.high_quality);
    int sum = 0;
    for (int k = 0; k < 8; k++)
        sum += r.per_mode[k];
    cr_assert_eq(sum, (int)lround(r.high_quality * N));
}

Test(ring, collapsed_and_off_manifold_samples)
{
    enum { N = 1000 };
    static float pts[2 * N];
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 3);
    /* Collapse onto modes 2 and 5, except 3 stray hits on mode 0 (below min_count 10). */
    float c2[2], c5[2], c0[2];
    mtg_data_ring_centre(2, c2);
    mtg_data_ring_centre(5, c5);
    mtg_data_ring_centre(0, c0);
    for (int i = 0; i < N; i++) {
        const float *c = i < 3 ? c0 : i % 2 ? c2 : c5;
        pts[2 * i] = c[0] + 0.01f * mtg_rng_normal(&rng);
        pts[2 * i + 1] = c[1] + 0.01f * mtg_rng_normal(&rng);
    }
    struct mtg_quality_ring r;
    struct mtg_err err = {0};
    cr_assert_eq(mtg_quality_ring_eval(pts, N, 0, &r, &err), MTG_OK);
    cr_assert_eq(r.modes_covered, 2);
    cr_assert_gt(r.high_quality, 0.99);
    cr_assert_eq(mtg_quality_ring_eval(pts, N, 1, &r, &err), MTG_OK);
    cr_assert_eq(r.modes_covered, 3);
    /* Points at the origin and NaN are nowhere near a mode. */
    for (int i = 0; i < N; i++)
        pts[2 * i] = pts[2 * i + 1] = i == 0 ? NAN : 0.0f;
    cr_assert_eq(mtg_quality_ring_eval(pts, N, 0, &r, &err), MTG_OK);
    cr_assert_eq(r.modes_covered, 0);
    cr_assert_eq(r.high_quality, 0.0);
    cr_assert_eq(mtg_quality_ring_eval(pts, 0, 0, &r, &err), MTG_EINVAL);
}
