/* A network spec as one blob tensor (model_spec.h). */
#include "wire/model_spec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/net.h"
#include "core/status.h"

#define PREFIX_MAX 200
#define ROWS_MAX (1 + MTG_NET_MAX_LAYERS)
/* Integers up to 2^24 are exact in f32. */
#define EXACT_MAX (1 << 24)

static const char *const header_cols[MTG_MODEL_SPEC_COLS] = {
    "format", "in C", "in H", "in W", "n_layers", "leaky_slope", "bn_momentum", "bn_eps", "unused", "unused"};
static const char *const layer_cols[MTG_MODEL_SPEC_COLS] = {
    "op", "out", "kernel", "stride", "pad", "shape C", "shape H", "shape W", "act", "group"};

static int check_prefix(const char *prefix, struct mtg_err *err)
{
    if (!prefix || !*prefix || strlen(prefix) > PREFIX_MAX)
        return mtg_err_set(err, MTG_EINVAL, "model spec: prefix must be 1..%d bytes", PREFIX_MAX);
    return MTG_OK;
}

/* Stores integer v at *dst; MTG_EINVAL when f32 cannot hold it exactly. */
static int put_int(float *dst, int v, const char *name, int row, int col, struct mtg_err *err)
{
    if (v > EXACT_MAX || v < -EXACT_MAX)
        return mtg_err_set(err, MTG_EINVAL, "model spec: \"%s\" row %d (%s) = %d is not exact in f32", name, row,
                           row ? layer_cols[col] : header_cols[col], v);
    *dst = (float)v;
    return MTG_OK;
}

int mtg_model_spec_to_blob(const struct mtg_net_spec *spec, const char *prefix, struct mtg_blob *b,
                           struct mtg_err *err)
{
    int rc = check_prefix(prefix, err);
    if (rc != MTG_OK)
        return rc;
    if (spec->n_layers < 1 || spec->n_layers > MTG_NET_MAX_LAYERS)
        return mtg_err_set(err, MTG_EINVAL, "model spec: n_layers %d outside [1, %d]", spec->n_layers,
                           MTG_NET_MAX_LAYERS);
    const struct mtg_net_spec s = *spec;
    char name[MTG_BLOB_MAX_NAME + 1];
    snprintf(name, sizeof name, "spec.%s.net", prefix);
    float v[ROWS_MAX][MTG_MODEL_SPEC_COLS];
    memset(v, 0, sizeof v);
    const int hdr[5] = {MTG_MODEL_SPEC_FORMAT, s.in_shape[0], s.in_shape[1], s.in_shape[2], s.n_layers};
    for (int c = 0; rc == MTG_OK && c < 5; c++)
        rc = put_int(&v[0][c], hdr[c], name, 0, c, err);
    v[0][5] = s.leaky_slope;
    v[0][6] = s.bn_momentum;
    v[0][7] = s.bn_eps;
    for (int i = 0; rc == MTG_OK && i < s.n_layers; i++) {
        const struct mtg_layer_spec *l = &s.layer[i];
        const int row[MTG_MODEL_SPEC_COLS] = {(int)l->op, l->out,      l->kernel,   l->stride, l->pad,
                                              l->shape[0], l->shape[1], l->shape[2], (int)l->act, l->group};
        for (int c = 0; rc == MTG_OK && c < MTG_MODEL_SPEC_COLS; c++)
            rc = put_int(&v[1 + i][c], row[c], name, 1 + i, c, err);
    }
    if (rc != MTG_OK)
        return rc;
    uint32_t dims[2] = {(uint32_t)(1 + s.n_layers), MTG_MODEL_SPEC_COLS};
    return mtg_blob_add(b, name, 2, dims, &v[0][0], MTG_DTYPE_F32, err);
}

/* Reads the integer at row r, column c of t into *out. */
static int get_int(const struct mtg_blob_tensor *t, int r, int c, int *out, struct mtg_err *err)
{
    float x = t->data[(size_t)r * MTG_MODEL_SPEC_COLS + (size_t)c];
    if (!(x >= -EXACT_MAX && x <= EXACT_MAX) || x != floorf(x))
        return mtg_err_set(err, MTG_EFORMAT, "model: \"%s\" row %d (%s) = %g is not an integer", t->name, r,
                           r ? layer_cols[c] : header_cols[c], (double)x);
    *out = (int)x;
    return MTG_OK;
}

int mtg_model_spec_from_blob(const struct mtg_blob *b, const char *prefix, struct mtg_net_spec *out,
                             struct mtg_err *err)
{
    int rc = check_prefix(prefix, err);
    if (rc != MTG_OK)
        return rc;
    char name[MTG_BLOB_MAX_NAME + 1];
    snprintf(name, sizeof name, "spec.%s.net", prefix);
    const struct mtg_blob_tensor *t = mtg_blob_find(b, name);
    if (!t)
        return mtg_err_set(err, MTG_ENOTFOUND, "model: blob has no tensor \"%s\"", name);
    if (t->rank != 2 || t->dims[1] != MTG_MODEL_SPEC_COLS || t->dims[0] < 2 || t->dims[0] > ROWS_MAX) {
        char got[64];
        mtg_blob_shape_str(got, sizeof got, t);
        return mtg_err_set(err, MTG_EFORMAT, "model: \"%s\" has shape %s, not [1 + layers (1..%d), %d]", name, got,
                           MTG_NET_MAX_LAYERS, MTG_MODEL_SPEC_COLS);
    }
    int format = 0;
    if ((rc = get_int(t, 0, 0, &format, err)) != MTG_OK)
        return rc;
    if (format != MTG_MODEL_SPEC_FORMAT)
        return mtg_err_set(err, MTG_EFORMAT, "model: \"%s\" has format %d; this build reads format %d", name,
                           format, MTG_MODEL_SPEC_FORMAT);
    struct mtg_net_spec s;
    memset(&s, 0, sizeof s);
    for (int c = 0; c < 3; c++)
        if ((rc = get_int(t, 0, 1 + c, &s.in_shape[c], err)) != MTG_OK)
            return rc;
    if ((rc = get_int(t, 0, 4, &s.n_layers, err)) != MTG_OK)
        return rc;
    if (s.n_layers != (int)t->dims[0] - 1)
        return mtg_err_set(err, MTG_EFORMAT, "model: \"%s\" says %d layers but has %u layer rows", name, s.n_layers,
                           t->dims[0] - 1);
    s.leaky_slope = t->data[5];
    s.bn_momentum = t->data[6];
    s.bn_eps = t->data[7];
    if (!isfinite(s.leaky_slope) || !isfinite(s.bn_momentum) || !isfinite(s.bn_eps))
        return mtg_err_set(err, MTG_EFORMAT, "model: \"%s\": leaky_slope, bn_momentum and bn_eps must be finite",
                           name);
    for (int i = 0; i < s.n_layers; i++) {
        int v[MTG_MODEL_SPEC_COLS];
        for (int c = 0; c < MTG_MODEL_SPEC_COLS; c++)
            if ((rc = get_int(t, 1 + i, c, &v[c], err)) != MTG_OK)
                return rc;
        s.layer[i] = (struct mtg_layer_spec){.op = (enum mtg_op)v[0], .out = v[1], .kernel = v[2], .stride = v[3],
                                             .pad = v[4], .shape = {v[5], v[6], v[7]}, .act = (enum mtg_act)v[8],
                                             .group = v[9]};
    }
    /* Unknown ops and activations, shapes that do not chain: the net's own validation names them. */
    if (mtg_net_spec_validate(&s, err) != MTG_OK) {
        if (err) {
            mtg_err_wrap(err, "model: \"%s\" describes no valid network", name);
            err->code = MTG_EFORMAT;
        }
        return MTG_EFORMAT;
    }
    *out = s;
    return MTG_OK;
}
