/*
 * struct mtg_net_spec: defaults, validation (the shape walk), description,
 * the mlp conversion and the DCGAN presets. Nothing here allocates.
 */
#include "core/net_internal.h"
#include "core/status.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NET_MAX_PARAMS ((size_t)1 << 30)

const struct net_op_ops *net_op_lookup(enum mtg_op op)
{
    switch (op) {
    case MTG_OP_DENSE:
        return &net_op_dense;
    case MTG_OP_CONV2D:
        return &net_op_conv2d;
    case MTG_OP_CONVT2D:
        return &net_op_convt2d;
    case MTG_OP_BATCHNORM:
        return &net_op_batchnorm;
    case MTG_OP_ACT:
        return &net_op_act;
    case MTG_OP_RESHAPE:
        return &net_op_reshape;
    case MTG_OP_MBSTD:
        return &net_op_mbstd;
    }
    return NULL;
}

void net_spec_resolve(const struct mtg_net_spec *in, struct mtg_net_spec *out)
{
    *out = *in;
    if (out->leaky_slope == 0.0f)
        out->leaky_slope = 0.2f;
    if (out->bn_momentum == 0.0f)
        out->bn_momentum = 0.1f;
    if (out->bn_eps == 0.0f)
        out->bn_eps = 1e-5f;
}

const char *net_layer_label(const struct mtg_layer_spec *l, char *buf, size_t cap)
{
    const struct net_op_ops *ops = net_op_lookup(l->op);
    switch (ops ? (int)l->op : -1) {
    case MTG_OP_DENSE:
        snprintf(buf, cap, "dense %d", l->out);
        break;
    case MTG_OP_CONV2D:
    case MTG_OP_CONVT2D:
        snprintf(buf, cap, "%s k%d s%d p%d", ops->name, l->kernel, l->stride, l->pad);
        break;
    case MTG_OP_ACT:
        snprintf(buf, cap, "act %s", mtg_act_name(l->act));
        break;
    case MTG_OP_MBSTD:
        if (l->group)
            snprintf(buf, cap, "mbstd g%d", l->group);
        else
            snprintf(buf, cap, "mbstd");
        break;
    case MTG_OP_BATCHNORM:
    case MTG_OP_RESHAPE:
        snprintf(buf, cap, "%s", ops->name);
        break;
    default:
        snprintf(buf, cap, "op %d", (int)l->op);
    }
    return buf;
}

static int uses_act(const struct mtg_net_spec *s, enum mtg_act act)
{
    for (int i = 0; i < s->n_layers; i++)
        if (s->layer[i].act == act)
            return 1;
    return 0;
}

/*
 * Walks the (resolved) spec: shapes[0] is the input, shapes[i + 1] layer i's
 * output. Fills *n_params when not NULL. MTG_OK or an error naming the layer.
 */
int net_spec_walk(const struct mtg_net_spec *s, int shapes[][3], size_t *n_params, struct mtg_err *err)
{
    if (s->n_layers < 1 || s->n_layers > MTG_NET_MAX_LAYERS)
        return mtg_err_set(err, MTG_EINVAL, "net: n_layers %d outside [1, %d]", s->n_layers, MTG_NET_MAX_LAYERS);
    for (int d = 0; d < 3; d++)
        if (s->in_shape[d] < 1 || s->in_shape[d] > MTG_NET_MAX_DIM)
            return mtg_err_set(err, MTG_EINVAL, "net: input shape %dx%dx%d has a dimension outside [1, %d]",
                               s->in_shape[0], s->in_shape[1], s->in_shape[2], MTG_NET_MAX_DIM);
    if ((long long)s->in_shape[0] * s->in_shape[1] * s->in_shape[2] > MTG_NET_MAX_FEATURES)
        return mtg_err_set(err, MTG_ERANGE, "net: input %dx%dx%d exceeds %d features", s->in_shape[0],
                           s->in_shape[1], s->in_shape[2], MTG_NET_MAX_FEATURES);
    if (uses_act(s, MTG_ACT_LEAKY_RELU) && !(s->leaky_slope > 0.0f && s->leaky_slope < 1.0f))
        return mtg_err_set(err, MTG_EINVAL, "net: leaky_slope %g outside (0, 1)", (double)s->leaky_slope);
    if (!(s->bn_momentum > 0.0f && s->bn_momentum <= 1.0f))
        return mtg_err_set(err, MTG_EINVAL, "net: bn_momentum %g outside (0, 1]", (double)s->bn_momentum);
    if (!(s->bn_eps > 0.0f && isfinite(s->bn_eps)))
        return mtg_err_set(err, MTG_EINVAL, "net: bn_eps %g must be positive", (double)s->bn_eps);
    memcpy(shapes[0], s->in_shape, sizeof shapes[0]);
    size_t total = 0;
    for (int i = 0; i < s->n_layers; i++) {
        const struct mtg_layer_spec *l = &s->layer[i];
        const struct net_op_ops *ops = net_op_lookup(l->op);
        char label[64], why[192];
        net_layer_label(l, label, sizeof label);
        if (!ops)
            return mtg_err_set(err, MTG_EINVAL, "net: layer %d has unknown op %d", i, (int)l->op);
        if (!net_act_valid(l->act))
            return mtg_err_set(err, MTG_EINVAL, "net: layer %d (%s) has unknown activation %d", i, label,
                               (int)l->act);
        why[0] = '\0';
        if (ops->shape(l, shapes[i], shapes[i + 1], why, sizeof why) != MTG_OK)
            return mtg_err_set(err, MTG_EINVAL, "net: layer %d (%s): %s", i, label, why);
        const int *o = shapes[i + 1];
        if ((long long)o[0] * o[1] * o[2] > MTG_NET_MAX_FEATURES)
            return mtg_err_set(err, MTG_ERANGE, "net: layer %d (%s): input %dx%dx%d gives %dx%dx%d, over %d features",
                               i, label, shapes[i][0], shapes[i][1], shapes[i][2], o[0], o[1], o[2],
                               MTG_NET_MAX_FEATURES);
        struct mtg_net_tensor t[NET_MAX_TENSORS];
        int nt = ops->tensors(l, shapes[i], o, t);
        for (int k = 0; k < nt; k++)
            total += t[k].count;
        if (total > NET_MAX_PARAMS)
            return mtg_err_set(err, MTG_ERANGE, "net: layer %d (%s) brings the parameters past the 2^30 limit", i,
                               label);
    }
    if (n_params)
        *n_params = total;
    return MTG_OK;
}

int mtg_net_spec_validate(const struct mtg_net_spec *spec, struct mtg_err *err)
{
    struct mtg_net_spec s;
    int shapes[MTG_NET_MAX_LAYERS + 1][3];
    net_spec_resolve(spec, &s);
    return net_spec_walk(&s, shapes, NULL, err);
}

size_t mtg_net_spec_param_count(const struct mtg_net_spec *spec)
{
    struct mtg_net_spec s;
    int shapes[MTG_NET_MAX_LAYERS + 1][3];
    size_t n = 0;
    net_spec_resolve(spec, &s);
    return net_spec_walk(&s, shapes, &n, NULL) == MTG_OK ? n : 0;
}

int mtg_net_spec_out_shape(const struct mtg_net_spec *spec, int out[3])
{
    struct mtg_net_spec s;
    int shapes[MTG_NET_MAX_LAYERS + 1][3];
    net_spec_resolve(spec, &s);
    int rc = net_spec_walk(&s, shapes, NULL, NULL);
    if (rc == MTG_OK)
        memcpy(out, shapes[s.n_layers], sizeof shapes[0]);
    return rc;
}

int mtg_net_spec_from_mlp(const struct mtg_mlp_spec *mlp, struct mtg_net_spec *out)
{
    if (mlp->n_layers < 1 || mlp->n_layers > MTG_MLP_MAX_LAYERS || mlp->n_layers > MTG_NET_MAX_LAYERS)
        return MTG_EINVAL;
    memset(out, 0, sizeof *out);
    out->in_shape[0] = mlp->in_dim;
    out->in_shape[1] = out->in_shape[2] = 1;
    out->n_layers = mlp->n_layers;
    for (int i = 0; i < mlp->n_layers; i++)
        out->layer[i] = (struct mtg_layer_spec){.op = MTG_OP_DENSE, .out = mlp->width[i], .act = mlp->act[i]};
    out->leaky_slope = mlp->leaky_slope;
    return MTG_OK;
}

int mtg_net_spec_to_mlp(const struct mtg_net_spec *spec, struct mtg_mlp_spec *out)
{
    struct mtg_net_spec s;
    net_spec_resolve(spec, &s);
    if (s.n_layers < 1 || s.n_layers > MTG_MLP_MAX_LAYERS || s.n_layers > MTG_NET_MAX_LAYERS ||
        s.in_shape[1] != 1 || s.in_shape[2] != 1)
        return MTG_EINVAL;
    for (int i = 0; i < s.n_layers; i++)
        if (s.layer[i].op != MTG_OP_DENSE)
            return MTG_EINVAL;
    memset(out, 0, sizeof *out);
    out->in_dim = s.in_shape[0];
    out->n_layers = s.n_layers;
    for (int i = 0; i < s.n_layers; i++) {
        out->width[i] = s.layer[i].out;
        out->act[i] = s.layer[i].act;
    }
    out->leaky_slope = s.leaky_slope;
    return MTG_OK;
}

/* Whether two layers are the same, comparing only the fields their op reads. */
static int same_layer(const struct mtg_layer_spec *a, const struct mtg_layer_spec *b)
{
    if (a->op != b->op || a->act != b->act)
        return 0;
    switch (a->op) {
    case MTG_OP_DENSE:
        return a->out == b->out;
    case MTG_OP_CONV2D:
    case MTG_OP_CONVT2D:
        return a->out == b->out && a->kernel == b->kernel && a->stride == b->stride && a->pad == b->pad;
    case MTG_OP_RESHAPE:
        return a->shape[0] == b->shape[0] && a->shape[1] == b->shape[1] && a->shape[2] == b->shape[2];
    case MTG_OP_MBSTD:
        return a->group == b->group;
    case MTG_OP_BATCHNORM:
    case MTG_OP_ACT:
        return 1;
    }
    return 0;
}

int mtg_net_spec_equal(const struct mtg_net_spec *a, const struct mtg_net_spec *b)
{
    struct mtg_net_spec x, y;
    net_spec_resolve(a, &x);
    net_spec_resolve(b, &y);
    if (memcmp(x.in_shape, y.in_shape, sizeof x.in_shape) != 0 || x.n_layers != y.n_layers ||
        x.n_layers < 0 || x.n_layers > MTG_NET_MAX_LAYERS)
        return 0;
    for (int i = 0; i < x.n_layers; i++)
        if (!same_layer(&x.layer[i], &y.layer[i]))
            return 0;
    /* Settings count only where a layer reads them. */
    if (uses_act(&x, MTG_ACT_LEAKY_RELU) && x.leaky_slope != y.leaky_slope)
        return 0;
    for (int i = 0; i < x.n_layers; i++)
        if (x.layer[i].op == MTG_OP_BATCHNORM && (x.bn_momentum != y.bn_momentum || x.bn_eps != y.bn_eps))
            return 0;
    return 1;
}

int mtg_net_spec_mixes_batch(const struct mtg_net_spec *spec)
{
    for (int i = 0; i < spec->n_layers && i < MTG_NET_MAX_LAYERS; i++)
        if (spec->layer[i].op == MTG_OP_BATCHNORM || spec->layer[i].op == MTG_OP_MBSTD)
            return 1;
    return 0;
}

/* snprintf that appends at *len and keeps counting past cap, like snprintf itself. */
__attribute__((format(printf, 4, 5))) static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(*len < cap ? buf + *len : NULL, *len < cap ? cap - *len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len += (size_t)n;
}

size_t mtg_net_spec_describe(const struct mtg_net_spec *spec, char *buf, size_t cap)
{
    struct mtg_net_spec s;
    net_spec_resolve(spec, &s);
    size_t len = 0;
    if (cap > 0)
        buf[0] = '\0';
    put(buf, cap, &len, "input %dx%dx%d\n", s.in_shape[0], s.in_shape[1], s.in_shape[2]);
    int n = s.n_layers < 0 ? 0 : s.n_layers > MTG_NET_MAX_LAYERS ? MTG_NET_MAX_LAYERS : s.n_layers;
    struct mtg_err err = {0};
    for (int i = 0; i < n; i++) {
        /* Walk the prefix up to layer i, so a broken layer stops the listing with its reason. */
        struct mtg_net_spec pre = s;
        int shapes[MTG_NET_MAX_LAYERS + 1][3];
        pre.n_layers = i + 1;
        if (net_spec_walk(&pre, shapes, NULL, &err) != MTG_OK) {
            put(buf, cap, &len, "%s\n", err.msg);
            return len;
        }
        const struct mtg_layer_spec *l = &s.layer[i];
        const int *o = shapes[i + 1];
        struct mtg_net_tensor t[NET_MAX_TENSORS];
        size_t np = 0;
        int nt = net_op_lookup(l->op)->tensors(l, shapes[i], o, t);
        for (int k = 0; k < nt; k++)
            np += t[k].count;
        char label[64], act[32] = "";
        net_layer_label(l, label, sizeof label);
        if (l->act != MTG_ACT_NONE && l->op != MTG_OP_ACT)
            snprintf(act, sizeof act, " +%s", mtg_act_name(l->act));
        char left[112];
        snprintf(left, sizeof left, "%s%s", label, act);
        put(buf, cap, &len, "%2d %-28s -> %dx%dx%d", i, left, o[0], o[1], o[2]);
        if (np)
            put(buf, cap, &len, "  params %zu", np);
        put(buf, cap, &len, "\n");
    }
    if (s.n_layers != n)
        put(buf, cap, &len, "net: n_layers %d outside [1, %d]\n", s.n_layers, MTG_NET_MAX_LAYERS);
    return len;
}

static void conv_layer(struct mtg_layer_spec *l, enum mtg_op op, int out, enum mtg_act act)
{
    *l = (struct mtg_layer_spec){.op = op, .out = out, .kernel = 4, .stride = 2, .pad = 1, .act = act};
}

/* n * k, or -1 (which validation rejects) where it would overflow an int. */
static int mul_or_bad(int n, int k)
{
    long long v = (long long)n * k;
    return v >= INT_MIN && v <= INT_MAX ? (int)v : -1;
}

void mtg_net_spec_dcgan28_g(struct mtg_net_spec *spec, int latent, int width)
{
    *spec = (struct mtg_net_spec){.in_shape = {latent, 1, 1}, .n_layers = 6, .leaky_slope = 0.2f,
                                  .bn_momentum = 0.1f, .bn_eps = 1e-5f};
    struct mtg_layer_spec *l = spec->layer;
    l[0] = (struct mtg_layer_spec){.op = MTG_OP_DENSE, .out = mul_or_bad(width, 2 * 7 * 7)};
    l[1] = (struct mtg_layer_spec){.op = MTG_OP_RESHAPE, .shape = {mul_or_bad(width, 2), 7, 7}};
    l[2] = (struct mtg_layer_spec){.op = MTG_OP_BATCHNORM, .act = MTG_ACT_RELU};
    conv_layer(&l[3], MTG_OP_CONVT2D, width, MTG_ACT_NONE);
    l[4] = (struct mtg_layer_spec){.op = MTG_OP_BATCHNORM, .act = MTG_ACT_RELU};
    conv_layer(&l[5], MTG_OP_CONVT2D, 1, MTG_ACT_TANH);
}

void mtg_net_spec_dcgan28_d(struct mtg_net_spec *spec, int width, int mbstd)
{
    *spec = (struct mtg_net_spec){.in_shape = {1, 28, 28}, .leaky_slope = 0.2f, .bn_momentum = 0.1f,
                                  .bn_eps = 1e-5f};
    struct mtg_layer_spec *l = spec->layer;
    int n = 0;
    conv_layer(&l[n++], MTG_OP_CONV2D, width, MTG_ACT_LEAKY_RELU);
    conv_layer(&l[n++], MTG_OP_CONV2D, mul_or_bad(width, 2), MTG_ACT_LEAKY_RELU);
    if (mbstd != 0)
        l[n++] = (struct mtg_layer_spec){.op = MTG_OP_MBSTD, .group = mbstd < 0 ? 0 : mbstd};
    l[n++] = (struct mtg_layer_spec){.op = MTG_OP_DENSE, .out = 1};
    spec->n_layers = n;
}
