#include "wire/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/net.h"
#include "core/status.h"

/* Leaves room in a 255-byte tensor name for ".<layer>.<name>". */
#define PREFIX_MAX 200
#define MAX_TENSORS (MTG_NET_MAX_LAYERS * 4)

static int check_prefix(const char *prefix, struct mtg_err *err)
{
    if (!prefix || !*prefix || strlen(prefix) > PREFIX_MAX)
        return mtg_err_set(err, MTG_EINVAL, "model: prefix must be 1..%d bytes", PREFIX_MAX);
    return MTG_OK;
}

static void tensor_name(char *buf, size_t cap, const char *prefix, const struct mtg_net_tensor *t)
{
    snprintf(buf, cap, "%s.%d.%s", prefix, t->layer, t->name);
}

static void tensor_dims(const struct mtg_net_tensor *t, uint32_t dims[4])
{
    for (int i = 0; i < t->rank; i++)
        dims[i] = (uint32_t)t->dims[i];
}

int mtg_model_flat_to_blob(const struct mtg_net *shape, const float *flat, const char *prefix,
                           enum mtg_dtype dtype, bool borrow, struct mtg_blob *b,
                           struct mtg_err *err)
{
    char name[MTG_BLOB_MAX_NAME + 1];
    int rc;

    if (!shape || !flat || !b)
        return mtg_err_set(err, MTG_EINVAL, "model: to_blob needs a net, parameters and a blob");
    if ((rc = check_prefix(prefix, err)) != MTG_OK)
        return rc;
    size_t before = mtg_blob_count(b);
    for (int k = 0; k < mtg_net_n_tensors(shape); k++) {
        struct mtg_net_tensor t;
        uint32_t dims[4];
        mtg_net_tensor(shape, k, &t);
        tensor_dims(&t, dims);
        tensor_name(name, sizeof name, prefix, &t);
        rc = borrow ? mtg_blob_add_ref(b, name, t.rank, dims, flat + t.offset, dtype, err)
                    : mtg_blob_add(b, name, t.rank, dims, flat + t.offset, dtype, err);
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

int mtg_model_to_blob(const struct mtg_net *net, const char *prefix, enum mtg_dtype dtype,
                      struct mtg_blob *b, struct mtg_err *err)
{
    if (!net)
        return mtg_err_set(err, MTG_EINVAL, "model: to_blob needs a net");
    return mtg_model_flat_to_blob(net, mtg_net_params_const(net), prefix, dtype, false, b, err);
}

/* Finds the tensor of b named for t and checks that it has exactly t's shape. */
static int expect(const struct mtg_blob *b, const char *prefix, const struct mtg_net_tensor *t,
                  const struct mtg_blob_tensor **out, struct mtg_err *err)
{
    char name[MTG_BLOB_MAX_NAME + 1];
    char got[64], want[64];
    tensor_name(name, sizeof name, prefix, t);
    const struct mtg_blob_tensor *bt = mtg_blob_find(b, name);
    if (!bt)
        return mtg_err_set(err, MTG_ENOTFOUND, "model: blob has no tensor \"%s\"", name);
    struct mtg_blob_tensor w = {.rank = t->rank};
    tensor_dims(t, w.dims);
    bool same = bt->rank == t->rank;
    for (int i = 0; same && i < t->rank; i++)
        same = bt->dims[i] == w.dims[i];
    if (!same) {
        mtg_blob_shape_str(got, sizeof got, bt);
        mtg_blob_shape_str(want, sizeof want, &w);
        return mtg_err_set(err, MTG_EFORMAT,
                           "model: tensor \"%s\" has shape %s but the model needs %s", name, got,
                           want);
    }
    *out = bt;
    return MTG_OK;
}

int mtg_model_flat_from_blob(const struct mtg_net *shape, float *flat, const char *prefix,
                             const struct mtg_blob *b, struct mtg_err *err)
{
    const struct mtg_blob_tensor *found[MAX_TENSORS];
    struct mtg_net_tensor t;
    int rc;

    if (!shape || !flat || !b)
        return mtg_err_set(err, MTG_EINVAL, "model: from_blob needs a net, parameters and a blob");
    if ((rc = check_prefix(prefix, err)) != MTG_OK)
        return rc;
    int n = mtg_net_n_tensors(shape);
    if (n < 0 || n > MAX_TENSORS)
        return mtg_err_set(err, MTG_EINVAL, "model: net has %d tensors", n);

    /* Validate everything before touching flat: all or nothing. */
    for (int k = 0; k < n; k++) {
        mtg_net_tensor(shape, k, &t);
        if ((rc = expect(b, prefix, &t, &found[k], err)) != MTG_OK)
            return rc;
    }
    /*
     * A "<prefix>." tensor the net lacks means a different architecture. Every
     * expected name was found above, so the prefix's tensors are exactly the
     * net's when their count matches (blob names are unique).
     */
    size_t plen = strlen(prefix), mine = 0;
    const char *extra = NULL;
    for (size_t i = 0; i < mtg_blob_count(b); i++) {
        const char *nm = mtg_blob_at(b, i)->name;
        if (strncmp(nm, prefix, plen) != 0 || nm[plen] != '.')
            continue;
        mine++;
        int known = 0;
        for (int k = 0; k < n && !known; k++)
            known = mtg_blob_at(b, i) == found[k];
        if (!known && !extra)
            extra = nm;
    }
    if (extra || mine != (size_t)n)
        return mtg_err_set(err, MTG_EFORMAT,
                           "model: unexpected tensor \"%s\" for a %d-layer model \"%s\"",
                           extra ? extra : "?", mtg_net_n_layers(shape), prefix);

    for (int k = 0; k < n; k++) {
        mtg_net_tensor(shape, k, &t);
        memcpy(flat + t.offset, found[k]->data, found[k]->n * sizeof(float));
    }
    return MTG_OK;
}

int mtg_model_from_blob(struct mtg_net *net, const char *prefix, const struct mtg_blob *b,
                        struct mtg_err *err)
{
    if (!net)
        return mtg_err_set(err, MTG_EINVAL, "model: from_blob needs a net");
    return mtg_model_flat_from_blob(net, mtg_net_params(net), prefix, b, err);
}
