/* Tests for src/wire/model.h: network parameters <-> blob tensors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/net.h"
#include "core/rng.h"
#include "core/status.h"
#include "wire/blob.h"
#include "wire/model.h"
#include "wire/model_spec.h"

static struct mtg_net *make_mlp(int in, int h, int out, uint64_t seed)
{
    struct mtg_err err = {0};
    struct mtg_mlp_spec s = {.in_dim = in, .n_layers = 2, .width = {h, out},
                             .act = {MTG_ACT_RELU, MTG_ACT_NONE}, .leaky_slope = 0.2f};
    struct mtg_net_spec ns;
    cr_assert_eq(mtg_net_spec_from_mlp(&s, &ns), MTG_OK);
    struct mtg_net *m = mtg_net_new(&ns, 4, &err);
    cr_assert_not_null(m, "%s", err.msg);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, seed);
    mtg_net_init_params(m, &rng);
    /* Non-zero biases so that b tensors are checked too. */
    for (int k = 0; k < mtg_net_n_tensors(m); k++) {
        struct mtg_net_tensor t;
        mtg_net_tensor(m, k, &t);
        if (!strcmp(t.name, "b"))
            for (size_t i = 0; i < t.count; i++)
                mtg_net_params(m)[t.offset + i] = (float)(seed % 7) + 0.5f * (float)i;
    }
    return m;
}

Test(model_blob, round_trip_through_encoding)
{
    struct mtg_err err = {0};
    struct mtg_net *a = make_mlp(5, 7, 3, 1), *c = make_mlp(5, 7, 3, 2);
    struct mtg_blob *b = mtg_blob_new(&err), *d = NULL;
    cr_assert_eq(mtg_model_to_blob(a, "g", MTG_DTYPE_F32, b, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_blob_count(b), 4);
    const struct mtg_blob_tensor *w0 = mtg_blob_find(b, "g.0.w");
    cr_assert_not_null(w0);
    cr_assert_eq(w0->rank, 2);
    cr_assert_eq(w0->dims[0], 5);
    cr_assert_eq(w0->dims[1], 7);
    cr_assert_eq(mtg_blob_find(b, "g.1.b")->dims[0], 3);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(mtg_blob_encode(b, MTG_BLOB_ZLIB, &buf, &len, &err), MTG_OK);
    cr_assert_eq(mtg_blob_decode(buf, len, NULL, &d, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_model_from_blob(c, "g", d, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(memcmp(mtg_net_params_const(a), mtg_net_params_const(c),
                        mtg_net_param_count(a) * sizeof(float)), 0);
    free(buf);
    mtg_blob_free(b);
    mtg_blob_free(d);
    mtg_net_free(a);
    mtg_net_free(c);
}

Test(model_blob, two_models_in_one_blob_and_flat_delta)
{
    struct mtg_err err = {0};
    struct mtg_net *g = make_mlp(4, 6, 8, 3), *dm = make_mlp(8, 6, 1, 4);
    struct mtg_blob *b = mtg_blob_new(&err);
    cr_assert_eq(mtg_model_to_blob(g, "g", MTG_DTYPE_F32, b, &err), MTG_OK);
    cr_assert_eq(mtg_model_to_blob(dm, "d", MTG_DTYPE_F32, b, &err), MTG_OK);
    size_t np = mtg_net_param_count(g);
    float *delta = malloc(np * sizeof *delta), *back = calloc(np, sizeof *back);
    for (size_t i = 0; i < np; i++)
        delta[i] = (float)i * 0.25f - 3.0f; /* exact in f16 */
    cr_assert_eq(mtg_model_flat_to_blob(g, delta, "dg", MTG_DTYPE_F16, true, b, &err), MTG_OK);
    cr_assert_eq(mtg_blob_find(b, "dg.0.w")->data, delta, "borrowed, not copied");
    uint8_t *buf;
    size_t len;
    struct mtg_blob *d = NULL;
    cr_assert_eq(mtg_blob_encode(b, 0, &buf, &len, &err), MTG_OK);
    cr_assert_eq(mtg_blob_decode(buf, len, NULL, &d, &err), MTG_OK);
    cr_assert_eq(mtg_blob_find(d, "dg.1.b")->dtype, MTG_DTYPE_F16);
    cr_assert_eq(mtg_model_flat_from_blob(g, back, "dg", d, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(memcmp(delta, back, np * sizeof(float)), 0);
    /* the g prefix is unaffected by the presence of "dg" and "d" tensors */
    cr_assert_eq(mtg_model_from_blob(g, "g", d, &err), MTG_OK, "%s", err.msg);
    free(buf);
    free(delta);
    free(back);
    mtg_blob_free(b);
    mtg_blob_free(d);
    mtg_net_free(g);
    mtg_net_free(dm);
}

Test(model_blob, shape_mismatch_is_all_or_nothing)
{
    struct mtg_err err = {0};
    struct mtg_net *a = make_mlp(5, 7, 3, 1), *other = make_mlp(5, 7, 4, 2);
    struct mtg_blob *b = mtg_blob_new(&err);
    cr_assert_eq(mtg_model_to_blob(a, "g", MTG_DTYPE_F32, b, &err), MTG_OK);
    size_t np = mtg_net_param_count(other);
    float *before = malloc(np * sizeof(float));
    memcpy(before, mtg_net_params_const(other), np * sizeof(float));
    cr_assert_eq(mtg_model_from_blob(other, "g", b, &err), MTG_EFORMAT);
    cr_assert(strstr(err.msg, "\"g.1.w\" has shape [7,3] but the model needs [7,4]"), "%s", err.msg);
    cr_assert_eq(memcmp(before, mtg_net_params_const(other), np * sizeof(float)), 0,
                 "layer 0 matched but must not have been copied");
    free(before);
    mtg_blob_free(b);
    mtg_net_free(a);
    mtg_net_free(other);
}

Test(model_blob, missing_and_unexpected_tensors)
{
    struct mtg_err err = {0};
    struct mtg_net *a = make_mlp(5, 7, 3, 1);
    struct mtg_blob *b = mtg_blob_new(&err);
    cr_assert_eq(mtg_model_from_blob(a, "g", b, &err), MTG_ENOTFOUND);
    cr_assert(strstr(err.msg, "no tensor \"g.0.w\""), "%s", err.msg);
    cr_assert_eq(mtg_model_to_blob(a, "g", MTG_DTYPE_F32, b, &err), MTG_OK);
    float x[3] = {0};
    uint32_t d1[1] = {3};
    cr_assert_eq(mtg_blob_add(b, "g.2.b", 1, d1, x, MTG_DTYPE_F32, &err), MTG_OK);
    cr_assert_eq(mtg_model_from_blob(a, "g", b, &err), MTG_EFORMAT);
    cr_assert(strstr(err.msg, "unexpected tensor \"g.2.b\" for a 2-layer model"), "%s", err.msg);
    mtg_blob_free(b);
    mtg_net_free(a);
}

Test(model_blob, to_blob_failure_leaves_blob_unchanged)
{
    struct mtg_err err = {0};
    struct mtg_net *a = make_mlp(5, 7, 3, 1);
    struct mtg_blob *b = mtg_blob_new(&err);
    float x[3] = {0};
    uint32_t d1[1] = {3};
    cr_assert_eq(mtg_blob_add(b, "g.1.b", 1, d1, x, MTG_DTYPE_F32, &err), MTG_OK);
    cr_assert_eq(mtg_model_to_blob(a, "g", MTG_DTYPE_F32, b, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "duplicate tensor name \"g.1.b\""), "%s", err.msg);
    cr_assert_eq(mtg_blob_count(b), 1, "partial adds rolled back");
    cr_assert_eq(mtg_model_to_blob(a, "", MTG_DTYPE_F32, b, &err), MTG_EINVAL);
    mtg_blob_free(b);
    mtg_net_free(a);
}

Test(model_blob, conv_and_batchnorm_tensors_by_layer_and_name)
{
    struct mtg_err err = {0};
    struct mtg_net_spec s;
    mtg_net_spec_dcgan28_g(&s, 8, 4); /* dense, reshape, BN, convT, BN, convT */
    struct mtg_net *a = mtg_net_new(&s, 2, &err), *c = mtg_net_new(&s, 2, &err);
    cr_assert(a && c, "%s", err.msg);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, 5);
    mtg_net_init_dcgan(a, &rng);
    for (size_t i = 0; i < mtg_net_param_count(a); i++)
        mtg_net_params(a)[i] += 0.001f * (float)i; /* running statistics too */
    struct mtg_blob *b = mtg_blob_new(&err);
    cr_assert_eq(mtg_model_to_blob(a, "g", MTG_DTYPE_F32, b, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(mtg_blob_count(b), (size_t)mtg_net_n_tensors(a));
    static const char *const names[] = {"g.0.w", "g.0.b", "g.2.gamma", "g.2.beta", "g.2.rmean", "g.2.rvar",
                                        "g.3.w", "g.3.b", "g.4.gamma", "g.4.beta", "g.4.rmean", "g.4.rvar",
                                        "g.5.w", "g.5.b"};
    cr_assert_eq(mtg_blob_count(b), sizeof names / sizeof names[0]);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_assert_str_eq(mtg_blob_at(b, i)->name, names[i]);
    const struct mtg_blob_tensor *w = mtg_blob_find(b, "g.3.w"); /* convT [in_c, out_c, k, k] */
    cr_assert(w->rank == 4 && w->dims[0] == 8 && w->dims[1] == 4 && w->dims[2] == 4 && w->dims[3] == 4);
    cr_assert_eq(mtg_blob_find(b, "g.2.rvar")->dims[0], 8);
    cr_assert_eq(mtg_model_from_blob(c, "g", b, &err), MTG_OK, "%s", err.msg);
    cr_assert_eq(memcmp(mtg_net_params(a), mtg_net_params(c), mtg_net_param_count(a) * sizeof(float)), 0);

    /* The same layers with another kernel are another architecture. */
    struct mtg_net_spec other = s;
    other.layer[3].kernel = 2, other.layer[3].pad = 0;
    struct mtg_net *o = mtg_net_new(&other, 2, &err);
    cr_assert_not_null(o, "%s", err.msg);
    cr_assert_eq(mtg_model_from_blob(o, "g", b, &err), MTG_EFORMAT);
    cr_assert(strstr(err.msg, "\"g.3.w\" has shape [8,4,4,4] but the model needs [8,4,2,2]"), "%s", err.msg);
    mtg_net_free(o);

    /* A missing BN statistic is named. */
    struct mtg_blob *part = mtg_blob_new(&err);
    for (size_t i = 0; i < mtg_blob_count(b); i++) {
        const struct mtg_blob_tensor *t = mtg_blob_at(b, i);
        if (strcmp(t->name, "g.4.rmean") != 0)
            mtg_blob_add_ref(part, t->name, t->rank, t->dims, t->data, MTG_DTYPE_F32, &err);
    }
    cr_assert_eq(mtg_model_from_blob(c, "g", part, &err), MTG_ENOTFOUND);
    cr_assert(strstr(err.msg, "no tensor \"g.4.rmean\""), "%s", err.msg);
    /* And a stray one too. */
    float v[8] = {0};
    uint32_t d8[1] = {8};
    cr_assert_eq(mtg_blob_add(b, "g.1.gamma", 1, d8, v, MTG_DTYPE_F32, &err), MTG_OK);
    cr_assert_eq(mtg_model_from_blob(c, "g", b, &err), MTG_EFORMAT);
    cr_assert(strstr(err.msg, "unexpected tensor \"g.1.gamma\""), "%s", err.msg);
    mtg_blob_free(part);
    mtg_blob_free(b);
    mtg_net_free(a);
    mtg_net_free(c);
}

/* ---- the spec tensor (wire/model_spec.h) ---- */

static void expect_spec_round_trip(const struct mtg_net_spec *s, const char *what)
{
    struct mtg_err err = {0};
    struct mtg_blob *b = mtg_blob_new(&err), *d = NULL;
    cr_assert_eq(mtg_model_spec_to_blob(s, "g", b, &err), MTG_OK, "%s: %s", what, err.msg);
    const struct mtg_blob_tensor *t = mtg_blob_find(b, "spec.g.net");
    cr_assert(t && t->rank == 2 && t->dims[0] == (uint32_t)s->n_layers + 1 && t->dims[1] == MTG_MODEL_SPEC_COLS);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(mtg_blob_encode(b, MTG_BLOB_ZLIB, &buf, &len, &err), MTG_OK);
    cr_assert_eq(mtg_blob_decode(buf, len, NULL, &d, &err), MTG_OK);
    struct mtg_net_spec back;
    cr_assert_eq(mtg_model_spec_from_blob(d, "g", &back, &err), MTG_OK, "%s: %s", what, err.msg);
    cr_assert(mtg_net_spec_equal(s, &back), "%s: spec changed on the way", what);
    for (int i = 0; i < s->n_layers; i++)
        cr_assert_eq(back.layer[i].group, s->layer[i].group);
    free(buf);
    mtg_blob_free(b);
    mtg_blob_free(d);
}

Test(model_spec, round_trips_every_op)
{
    struct mtg_net_spec s;
    mtg_net_spec_dcgan28_g(&s, 64, 64);
    expect_spec_round_trip(&s, "dcgan G");
    mtg_net_spec_dcgan28_d(&s, 64, 4);
    expect_spec_round_trip(&s, "dcgan D + mbstd");
    struct mtg_mlp_spec ms = {.in_dim = 32, .n_layers = 3, .width = {128, 256, 64},
                              .act = {MTG_ACT_RELU, MTG_ACT_LEAKY_RELU, MTG_ACT_SIGMOID}, .leaky_slope = 0.1f};
    mtg_net_spec_from_mlp(&ms, &s);
    expect_spec_round_trip(&s, "dense");
    struct mtg_net_spec misc = {.in_shape = {8, 1, 1}, .n_layers = 3, .bn_momentum = 0.05f, .bn_eps = 1e-3f,
                                .layer = {{.op = MTG_OP_RESHAPE, .shape = {2, 2, 2}},
                                          {.op = MTG_OP_BATCHNORM},
                                          {.op = MTG_OP_ACT, .act = MTG_ACT_TANH}}};
    expect_spec_round_trip(&misc, "reshape, bn, act");
}

/* Writes a valid dcgan D spec, lets edit change its values or shape, and expects code and a message part. */
static void expect_spec_error(void (*edit)(float *v, uint32_t dims[2]), int code, const char *part)
{
    struct mtg_err err = {0};
    struct mtg_net_spec s;
    mtg_net_spec_dcgan28_d(&s, 8, 0);
    struct mtg_blob *b = mtg_blob_new(&err), *bad = mtg_blob_new(&err);
    cr_assert_eq(mtg_model_spec_to_blob(&s, "d", b, &err), MTG_OK);
    const struct mtg_blob_tensor *t = mtg_blob_find(b, "spec.d.net");
    float v[4 * MTG_MODEL_SPEC_COLS];
    cr_assert_eq(t->n, sizeof v / sizeof v[0]);
    memcpy(v, t->data, sizeof v);
    uint32_t dims[2] = {t->dims[0], t->dims[1]};
    edit(v, dims);
    cr_assert_eq(mtg_blob_add(bad, "spec.d.net", 2, dims, v, MTG_DTYPE_F32, &err), MTG_OK);
    struct mtg_net_spec back;
    cr_assert_eq(mtg_model_spec_from_blob(bad, "d", &back, &err), code, "%s", err.msg);
    cr_assert(strstr(err.msg, part), "\"%s\" lacks \"%s\"", err.msg, part);
    mtg_blob_free(b);
    mtg_blob_free(bad);
}

static void bad_format(float *v, uint32_t dims[2]) { (void)dims, v[0] = 2; }
static void bad_int(float *v, uint32_t dims[2]) { (void)dims, v[MTG_MODEL_SPEC_COLS + 2] = 3.5f; }    /* layer 0 kernel */
static void bad_count(float *v, uint32_t dims[2]) { (void)dims, v[4] = 5; }
static void bad_op(float *v, uint32_t dims[2]) { (void)dims, v[2 * MTG_MODEL_SPEC_COLS] = 99; }       /* layer 1 op */
static void bad_chain(float *v, uint32_t dims[2]) { (void)dims, v[2 * MTG_MODEL_SPEC_COLS + 2] = 9; } /* layer 1 kernel */
static void bad_slope(float *v, uint32_t dims[2]) { (void)dims, v[5] = INFINITY; }
static void bad_shape(float *v, uint32_t dims[2]) { (void)v, dims[0] = 5, dims[1] = 8; }

Test(model_spec, errors_name_the_tensor_row_and_column)
{
    expect_spec_error(bad_format, MTG_EFORMAT, "\"spec.d.net\" has format 2; this build reads format 1");
    expect_spec_error(bad_int, MTG_EFORMAT, "\"spec.d.net\" row 1 (kernel) = 3.5 is not an integer");
    expect_spec_error(bad_count, MTG_EFORMAT, "says 5 layers but has 3 layer rows");
    expect_spec_error(bad_op, MTG_EFORMAT, "describes no valid network: net: layer 1 has unknown op 99");
    expect_spec_error(bad_chain, MTG_EFORMAT, "describes no valid network: net: layer 1 (conv2d k9 s2 p1)");
    expect_spec_error(bad_slope, MTG_EFORMAT, "must be finite");
    expect_spec_error(bad_shape, MTG_EFORMAT, "\"spec.d.net\" has shape [5,8]");

    struct mtg_err err = {0};
    struct mtg_blob *b = mtg_blob_new(&err);
    struct mtg_net_spec s;
    cr_assert_eq(mtg_model_spec_from_blob(b, "g", &s, &err), MTG_ENOTFOUND);
    mtg_net_spec_dcgan28_d(&s, 8, 0);
    s.layer[0].group = (1 << 24) + 1; /* ignored by conv2d, but written: must be exact */
    cr_assert_eq(mtg_model_spec_to_blob(&s, "d", b, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "(group) = 16777217 is not exact in f32"), "%s", err.msg);
    cr_assert_eq(mtg_blob_count(b), 0);
    mtg_blob_free(b);
}
