#include "wire/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nn.h"
#include "core/status.h"

/* Leaves room in a 255-byte tensor name for ".<layer>.w". */
#define PREFIX_MAX 200

static int check_prefix(const char *prefix, struct mtg_err *err)
{
    if (!prefix || !*prefix || strlen(prefix) > PREFIX_MAX)
        return mtg_err_set(err, MTG_EINVAL, "model: prefix must be 1..%d bytes", PREFIX_MAX);
    return MTG_OK;
}

static void tensor_name(char *buf, size_t cap, const char *prefix, int layer, char kind)
{
    snprintf(buf, cap, "%s.%d.%c", prefix, layer, kind);
}

int mtg_model_flat_to_blob(const struct mtg_mlp *shape, const float *flat, const char *prefix,
                           enum mtg_dtype dtype, bool borrow, struct mtg_blob *b,
                           struct mtg_err *err)
{
    char name[MTG_BLOB_MAX_NAME + 1];
    int rc;

    if (!shape || !flat || !b)
        return mtg_err_set(err, MTG_EINVAL, "model: to_blob needs an mlp, parameters and a blob");
    if ((rc = check_prefix(prefix, err)) != MTG_OK)
        return rc;
    size_t before = mtg_blob_count(b);
    int n = mtg_mlp_n_layers(shape);
    for (int i = 0; i < n; i++) {
        struct mtg_mlp_layer l;
        mtg_mlp_get_layer(shape, i, &l);
        uint32_t wd[2] = {(uint32_t)l.in, (uint32_t)l.out};
        uint32_t bd[1] = {(uint32_t)l.out};
        tensor_name(name, sizeof name, prefix, i, 'w');
        rc = borrow ? mtg_blob_add_ref(b, name, 2, wd, flat + l.w_offset, dtype, err)
                    : mtg_blob_add(b, name, 2, wd, flat + l.w_offset, dtype, err);
        if (rc != MTG_OK)
            goto fail;
        tensor_name(name, sizeof name, prefix, i, 'b');
        rc = borrow ? mtg_blob_add_ref(b, name, 1, bd, flat + l.b_offset, dtype, err)
                    : mtg_blob_add(b, name, 1, bd, flat + l.b_offset, dtype, err);
        if (rc != MTG_OK)
            goto fail;
    }
    return MTG_OK;

fail:
    mtg_blob_truncate(b, before);
    if (err)
        mtg_err_wrap(err, "model \"%s\"", prefix);
    return rc;
}

int mtg_model_to_blob(const struct mtg_mlp *m, const char *prefix, enum mtg_dtype dtype,
                      struct mtg_blob *b, struct mtg_err *err)
{
    if (!m)
        return mtg_err_set(err, MTG_EINVAL, "model: to_blob needs an mlp");
    return mtg_model_flat_to_blob(m, mtg_mlp_params_const(m), prefix, dtype, false, b, err);
}

/*
 * Finds the tensor of b named "<prefix>.<layer>.<kind>" and checks that it
 * has exactly the given shape.
 */
static int expect(const struct mtg_blob *b, const char *prefix, int layer, char kind, int rank,
                  const uint32_t *dims, const struct mtg_blob_tensor **out, struct mtg_err *err)
{
    char name[MTG_BLOB_MAX_NAME + 1];
    char got[64], want[64];
    tensor_name(name, sizeof name, prefix, layer, kind);
    const struct mtg_blob_tensor *t = mtg_blob_find(b, name);
    if (!t)
        return mtg_err_set(err, MTG_ENOTFOUND, "model: blob has no tensor \"%s\"", name);
    struct mtg_blob_tensor w = {.rank = rank};
    memcpy(w.dims, dims, (size_t)rank * sizeof dims[0]);
    bool same = t->rank == rank;
    for (int i = 0; same && i < rank; i++)
        same = t->dims[i] == dims[i];
    if (!same) {
        mtg_blob_shape_str(got, sizeof got, t);
        mtg_blob_shape_str(want, sizeof want, &w);
        return mtg_err_set(err, MTG_EFORMAT,
                           "model: tensor \"%s\" has shape %s but the model needs %s", name, got,
                           want);
    }
    *out = t;
    return MTG_OK;
}

/* Whether name is "<prefix>.<i>.w|b" with 0 <= i < n_layers (exact decimal form). */
static bool is_expected(const char *name, size_t plen, int n_layers)
{
    const char *p = name + plen + 1;
    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
        return false;
    long v = 0;
    while (*p >= '0' && *p <= '9' && v < 1000)
        v = 10 * v + (*p++ - '0');
    return v < n_layers && p[0] == '.' && (p[1] == 'w' || p[1] == 'b') && p[2] == '\0';
}

int mtg_model_flat_from_blob(const struct mtg_mlp *shape, float *flat, const char *prefix,
                             const struct mtg_blob *b, struct mtg_err *err)
{
    const struct mtg_blob_tensor *tw[MTG_MLP_MAX_LAYERS], *tb[MTG_MLP_MAX_LAYERS];
    struct mtg_mlp_layer l;
    int rc;

    if (!shape || !flat || !b)
        return mtg_err_set(err, MTG_EINVAL, "model: from_blob needs an mlp, parameters and a blob");
    if ((rc = check_prefix(prefix, err)) != MTG_OK)
        return rc;
    int n = mtg_mlp_n_layers(shape);
    if (n < 0 || n > MTG_MLP_MAX_LAYERS)
        return mtg_err_set(err, MTG_EINVAL, "model: mlp has %d layers", n);

    /* Validate everything before touching flat: all or nothing. */
    for (int i = 0; i < n; i++) {
        mtg_mlp_get_layer(shape, i, &l);
        uint32_t wd[2] = {(uint32_t)l.in, (uint32_t)l.out};
        uint32_t bd[1] = {(uint32_t)l.out};
        if ((rc = expect(b, prefix, i, 'w', 2, wd, &tw[i], err)) != MTG_OK ||
            (rc = expect(b, prefix, i, 'b', 1, bd, &tb[i], err)) != MTG_OK)
            return rc;
    }
    /* A tensor for a layer the model lacks means a different architecture. */
    size_t plen = strlen(prefix);
    for (size_t k = 0; k < mtg_blob_count(b); k++) {
        const char *nm = mtg_blob_at(b, k)->name;
        if (strncmp(nm, prefix, plen) == 0 && nm[plen] == '.' && !is_expected(nm, plen, n))
            return mtg_err_set(err, MTG_EFORMAT,
                               "model: unexpected tensor \"%s\" for a %d-layer model \"%s\"", nm,
                               n, prefix);
    }

    for (int i = 0; i < n; i++) {
        mtg_mlp_get_layer(shape, i, &l);
        memcpy(flat + l.w_offset, tw[i]->data, tw[i]->n * sizeof(float));
        memcpy(flat + l.b_offset, tb[i]->data, tb[i]->n * sizeof(float));
    }
    return MTG_OK;
}

int mtg_model_from_blob(struct mtg_mlp *m, const char *prefix, const struct mtg_blob *b,
                        struct mtg_err *err)
{
    if (!m)
        return mtg_err_set(err, MTG_EINVAL, "model: from_blob needs an mlp");
    return mtg_model_flat_from_blob(m, mtg_mlp_params(m), prefix, b, err);
}
