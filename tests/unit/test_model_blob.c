/* Tests for src/wire/model.h: MLP parameters <-> blob tensors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/nn.h"
#include "core/rng.h"
#include "core/status.h"
#include "wire/blob.h"
#include "wire/model.h"

static struct mtg_mlp *make_mlp(int in, int h, int out, uint64_t seed)
{
    struct mtg_err err = {0};
    struct mtg_mlp_spec s = {.in_dim = in, .n_layers = 2, .width = {h, out},
                             .act = {MTG_ACT_RELU, MTG_ACT_NONE}, .leaky_slope = 0.2f};
    struct mtg_mlp *m = mtg_mlp_new(&s, 4, &err);
    cr_assert_not_null(m, "%s", err.msg);
    struct mtg_rng rng;
    mtg_rng_seed(&rng, seed);
    mtg_mlp_init_params(m, &rng);
    /* Non-zero biases so that b tensors are checked too. */
    for (int i = 0; i < 2; i++) {
        struct mtg_mlp_layer l;
        mtg_mlp_get_layer(m, i, &l);
        for (int k = 0; k < l.out; k++)
            l.b[k] = (float)(seed % 7) + 0.5f * (float)k;
    }
    return m;
}

Test(model_blob, round_trip_through_encoding)
{
    struct mtg_err err = {0};
    struct mtg_mlp *a = make_mlp(5, 7, 3, 1), *c = make_mlp(5, 7, 3, 2);
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
    cr_assert_eq(memcmp(mtg_mlp_params_const(a), mtg_mlp_params_const(c),
                        mtg_mlp_param_count(a) * sizeof(float)), 0);
    free(buf);
    mtg_blob_free(b);
    mtg_blob_free(d);
    mtg_mlp_free(a);
    mtg_mlp_free(c);
}

Test(model_blob, two_models_in_one_blob_and_flat_delta)
{
    struct mtg_err err = {0};
    struct mtg_mlp *g = make_mlp(4, 6, 8, 3), *dm = make_mlp(8, 6, 1, 4);
    struct mtg_blob *b = mtg_blob_new(&err);
    cr_assert_eq(mtg_model_to_blob(g, "g", MTG_DTYPE_F32, b, &err), MTG_OK);
    cr_assert_eq(mtg_model_to_blob(dm, "d", MTG_DTYPE_F32, b, &err), MTG_OK);
    size_t np = mtg_mlp_param_count(g);
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
    mtg_mlp_free(g);
    mtg_mlp_free(dm);
}

Test(model_blob, shape_mismatch_is_all_or_nothing)
{
    struct mtg_err err = {0};
    struct mtg_mlp *a = make_mlp(5, 7, 3, 1), *other = make_mlp(5, 7, 4, 2);
    struct mtg_blob *b = mtg_blob_new(&err);
    cr_assert_eq(mtg_model_to_blob(a, "g", MTG_DTYPE_F32, b, &err), MTG_OK);
    size_t np = mtg_mlp_param_count(other);
    float *before = malloc(np * sizeof(float));
    memcpy(before, mtg_mlp_params_const(other), np * sizeof(float));
    cr_assert_eq(mtg_model_from_blob(other, "g", b, &err), MTG_EFORMAT);
    cr_assert(strstr(err.msg, "\"g.1.w\" has shape [7,3] but the model needs [7,4]"), "%s", err.msg);
    cr_assert_eq(memcmp(before, mtg_mlp_params_const(other), np * sizeof(float)), 0,
                 "layer 0 matched but must not have been copied");
    free(before);
    mtg_blob_free(b);
    mtg_mlp_free(a);
    mtg_mlp_free(other);
}

Test(model_blob, missing_and_unexpected_tensors)
{
    struct mtg_err err = {0};
    struct mtg_mlp *a = make_mlp(5, 7, 3, 1);
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
    mtg_mlp_free(a);
}

Test(model_blob, to_blob_failure_leaves_blob_unchanged)
{
    struct mtg_err err = {0};
    struct mtg_mlp *a = make_mlp(5, 7, 3, 1);
    struct mtg_blob *b = mtg_blob_new(&err);
    float x[3] = {0};
    uint32_t d1[1] = {3};
    cr_assert_eq(mtg_blob_add(b, "g.1.b", 1, d1, x, MTG_DTYPE_F32, &err), MTG_OK);
    cr_assert_eq(mtg_model_to_blob(a, "g", MTG_DTYPE_F32, b, &err), MTG_EINVAL);
    cr_assert(strstr(err.msg, "duplicate tensor name \"g.1.b\""), "%s", err.msg);
    cr_assert_eq(mtg_blob_count(b), 1, "partial adds rolled back");
    cr_assert_eq(mtg_model_to_blob(a, "", MTG_DTYPE_F32, b, &err), MTG_EINVAL);
    mtg_blob_free(b);
    mtg_mlp_free(a);
}
