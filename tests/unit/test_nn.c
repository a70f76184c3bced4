/* Finite-difference gradient checks for every layer and activation of core/nn. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/nn.h"
#include "core/rng.h"
#include "core/status.h"

/* L = sum_i y_i * r_i, so dL/dy = r exactly. */
static double probe_loss(struct mtg_mlp *m, const float *x, int batch, const float *r)
{
    const float *y = mtg_mlp_forward(m, x, batch);
    double s = 0;
    for (int i = 0; i < batch * mtg_mlp_out_dim(m); i++)
        s += (double)y[i] * r[i];
    return s;
}

static void gradcheck(enum mtg_act act)
{
    struct mtg_mlp_spec spec = {.in_dim = 5, .n_layers = 3, .width = {7, 6, 3},
                                .act = {act, act, act}, .leaky_slope = 0.2f};
    struct mtg_err err = {0};
    struct mtg_mlp *m = mtg_mlp_new(&spec, 4, &err);
    cr_assert_not_null(m, "%s", err.msg);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 7);
    mtg_mlp_init_params(m, &rng);
    const int batch = 4;
    float x[4 * 5], r[4 * 3];
    mtg_rng_fill_normal(&rng, x, 20, 0.0f, 1.0f);
    mtg_rng_fill_normal(&rng, r, 12, 0.0f, 1.0f);
    /* Keep ReLU-family inputs away from the kink where the derivative jumps. */
    for (size_t i = 0; i < mtg_mlp_param_count(m); i++)
        mtg_mlp_params(m)[i] *= 1.5f;

    mtg_mlp_forward(m, x, batch);
    mtg_mlp_zero_grad(m);
    const float *dx = mtg_mlp_backward(m, r, batch, MTG_MLP_PARAM_GRAD | MTG_MLP_INPUT_GRAD);
    float dxc[20];
    memcpy(dxc, dx, sizeof dxc);

    const float h = 1e-2f;
    int checked = 0, bad = 0;
    float *p = mtg_mlp_params(m);
    for (size_t i = 0; i < mtg_mlp_param_count(m); i++) {
        float keep = p[i];
        p[i] = keep + h;
        double lp = probe_loss(m, x, batch, r);
        p[i] = keep - h;
        double lm = probe_loss(m, x, batch, r);
        p[i] = keep;
        double num = (lp - lm) / (2.0 * h);
        double ana = mtg_mlp_grads(m)[i];
        checked++;
        if (fabs(num - ana) > 2e-2 * fmax(1.0, fabs(num)))
            bad++;
    }
    for (int i = 0; i < 20; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double lp = probe_loss(m, x, batch, r);
        x[i] = keep - h;
        double lm = probe_loss(m, x, batch, r);
        x[i] = keep;
        double num = (lp - lm) / (2.0 * h);
        cr_expect(fabs(num - dxc[i]) <= 2e-2 * fmax(1.0, fabs(num)), "%s dx[%d]: numeric %g analytic %g",
                  mtg_act_name(act), i, num, (double)dxc[i]);
    }
    /* Piecewise-linear activations may straddle a kink for a parameter or two. */
    cr_assert(bad <= checked / 100, "%s: %d of %d parameter gradients disagree", mtg_act_name(act), bad,
              checked);
    mtg_mlp_free(m);
}

Test(nn, gradcheck_none) { gradcheck(MTG_ACT_NONE); }
Test(nn, gradcheck_relu) { gradcheck(MTG_ACT_RELU); }
Test(nn, gradcheck_leaky_relu) { gradcheck(MTG_ACT_LEAKY_RELU); }
Test(nn, gradcheck_sigmoid) { gradcheck(MTG_ACT_SIGMOID); }
Test(nn, gradcheck_tanh) { gradcheck(MTG_ACT_TANH); }

Test(nn, forward_matches_reference)
{
    struct mtg_mlp_spec spec = {.in_dim = 2, .n_layers = 1, .width = {2}, .act = {MTG_ACT_RELU}};
    struct mtg_mlp *m = mtg_mlp_new(&spec, 1, NULL);
    float *p = mtg_mlp_params(m);
    /* W = [[1, -2], [3, 4]] (in x out), b = [0.5, -100] */
    float w[] = {1, -2, 3, 4, 0.5f, -100};
    memcpy(p, w, sizeof w);
    float x[] = {1, 1};
    const float *y = mtg_mlp_forward(m, x, 1);
    cr_assert_float_eq(y[0], 4.5f, 1e-6);
    cr_assert_float_eq(y[1], 0.0f, 1e-6);
    mtg_mlp_free(m);
}

Test(nn, spec_validation_names_problem)
{
    struct mtg_err err = {0};
    struct mtg_mlp_spec spec = {.in_dim = 4, .n_layers = 2, .width = {8, 0}};
    cr_assert_null(mtg_mlp_new(&spec, 4, &err));
    cr_assert_eq(err.code, MTG_EINVAL);
    cr_assert(strstr(err.msg, "layer 1 width 0"), "%s", err.msg);
    spec.width[1] = 2;
    spec.n_layers = 99;
    cr_assert_null(mtg_mlp_new(&spec, 4, &err));
    cr_assert(strstr(err.msg, "n_layers"), "%s", err.msg);
}

Test(nn, activation_names_round_trip)
{
    for (int a = 0; a <= MTG_ACT_TANH; a++) {
        enum mtg_act back;
        cr_assert_eq(mtg_act_parse(mtg_act_name((enum mtg_act)a), &back), MTG_OK);
        cr_assert_eq((int)back, a);
    }
    enum mtg_act x;
    cr_assert_eq(mtg_act_parse("gelu", &x), MTG_EINVAL);
}

Test(nn, clone_copies_params)
{
    struct mtg_mlp_spec spec = {.in_dim = 3, .n_layers = 2, .width = {4, 2},
                                .act = {MTG_ACT_TANH, MTG_ACT_NONE}};
    struct mtg_mlp *m = mtg_mlp_new(&spec, 2, NULL);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 1);
    mtg_mlp_init_params(m, &rng);
    struct mtg_mlp *c = mtg_mlp_clone(m, NULL);
    cr_assert_eq(memcmp(mtg_mlp_params(m), mtg_mlp_params(c), mtg_mlp_param_count(m) * sizeof(float)), 0);
    mtg_mlp_free(m);
    mtg_mlp_free(c);
    mtg_mlp_free(NULL);
}
