/*
 * struct mtg_net: creation (buffers carved from one arena), the layer loop
 * of forward/backward with the fused activations, and the accessors. The
 * ops themselves live in net_ops_*.c behind struct net_op_ops.
 */
#include "core/arena.h"
#include "core/net_internal.h"
#include "core/status.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define NET_MAX_BATCH (1 << 20)

struct mtg_net {
    struct mtg_net_spec spec; /* resolved: defaults filled in */
    int max_batch;
    int train;
    int stats_frozen;
    size_t n_params;
    float *params;
    float *grads;
    struct net_layer layer[MTG_NET_MAX_LAYERS];
    int n_tensors;
    struct mtg_net_tensor tensor[MTG_NET_MAX_LAYERS * NET_MAX_TENSORS];
    struct mtg_arena *arena;
    void *scratch;   /* shared by every op: only one runs at a time */
    float *gbuf[2];  /* ping-pong gradient buffers [max_batch, largest C*H*W] */
    const float *in_ptr[MTG_NET_MAX_LAYERS];  /* each layer's input in the last forward */
    const float *out_ptr[MTG_NET_MAX_LAYERS]; /* its output: its buffer, or its input for a view */
    int last_batch;
};

/* A reshape without activation changes no value: its output is its input. */
static int is_view(const struct mtg_layer_spec *l) { return l->op == MTG_OP_RESHAPE && l->act == MTG_ACT_NONE; }

static size_t floats_bytes(size_t n) { return mtg_arena_round(n * sizeof(float)); }

struct mtg_net *mtg_net_new(const struct mtg_net_spec *spec, int max_batch, struct mtg_err *err)
{
    struct mtg_net_spec s;
    int shapes[MTG_NET_MAX_LAYERS + 1][3];
    size_t n_params = 0;
    net_spec_resolve(spec, &s);
    if (net_spec_walk(&s, shapes, &n_params, err) != MTG_OK)
        return NULL;
    if (max_batch < 1 || max_batch > NET_MAX_BATCH) {
        mtg_err_set(err, MTG_EINVAL, "net: max_batch %d outside [1, 2^20]", max_batch);
        return NULL;
    }
    size_t max_feat = 0;
    for (int i = 0; i <= s.n_layers; i++) {
        size_t f = (size_t)shapes[i][0] * (size_t)shapes[i][1] * (size_t)shapes[i][2];
        max_feat = f > max_feat ? f : max_feat;
    }
    /* BLAS takes int dimensions: batch * features must fit. */
    if ((size_t)max_batch * max_feat > (size_t)INT_MAX) {
        mtg_err_set(err, MTG_ERANGE, "net: max_batch %d x %zu features exceeds the BLAS int range", max_batch,
                    max_feat);
        return NULL;
    }
    struct mtg_net *n = calloc(1, sizeof *n);
    if (!n) {
        mtg_err_set(err, MTG_ENOMEM, "net: out of memory");
        return NULL;
    }
    n->spec = s;
    n->max_batch = max_batch;
    n->train = 1;
    n->n_params = n_params;

    size_t off = 0, ws = 0, scratch = 0;
    for (int i = 0; i < s.n_layers; i++) {
        struct net_layer *L = &n->layer[i];
        L->ops = net_op_lookup(s.layer[i].op);
        L->s = s.layer[i];
        memcpy(L->in, shapes[i], sizeof L->in);
        memcpy(L->out, shapes[i + 1], sizeof L->out);
        L->in_feat = (size_t)L->in[0] * L->in[1] * L->in[2];
        L->out_feat = (size_t)L->out[0] * L->out[1] * L->out[2];
        struct mtg_net_tensor t[NET_MAX_TENSORS];
        L->n_p = L->ops->tensors(&L->s, L->in, L->out, t);
        for (int k = 0; k < L->n_p; k++) {
            t[k].layer = i;
            t[k].offset = off;
            L->p_off[k] = off;
            off += t[k].count;
            n->tensor[n->n_tensors++] = t[k];
        }
        if (!is_view(&L->s))
            ws += floats_bytes((size_t)max_batch * L->out_feat);
        ws += floats_bytes(L->ops->state(L));
        size_t sc = L->ops->scratch(L, max_batch);
        scratch = sc > scratch ? sc : scratch;
    }
    assert(off == n_params);
    ws += floats_bytes(scratch) + 2 * floats_bytes((size_t)max_batch * max_feat);

    size_t pbytes = floats_bytes(n_params ? n_params : 1);
    n->params = aligned_alloc(MTG_ARENA_ALIGN, pbytes);
    n->grads = aligned_alloc(MTG_ARENA_ALIGN, pbytes);
    if (!n->params || !n->grads) {
        mtg_err_set(err, MTG_ENOMEM, "net: out of memory for %zu parameters", n_params);
        goto fail;
    }
    memset(n->params, 0, pbytes);
    memset(n->grads, 0, pbytes);
    n->arena = mtg_arena_new(ws, err);
    if (!n->arena) {
        mtg_err_wrap(err, "net: workspace for max_batch %d", max_batch);
        goto fail;
    }
    /* The arena was sized from the same sums, so these cannot fail. */
    for (int i = 0; i < s.n_layers; i++) {
        struct net_layer *L = &n->layer[i];
        if (!is_view(&L->s))
            L->y = mtg_arena_alloc(n->arena, (size_t)max_batch * L->out_feat * sizeof(float));
        L->state = mtg_arena_alloc(n->arena, L->ops->state(L) * sizeof(float));
    }
    n->scratch = mtg_arena_alloc(n->arena, scratch * sizeof(float));
    for (int k = 0; k < 2; k++)
        n->gbuf[k] = mtg_arena_alloc(n->arena, (size_t)max_batch * max_feat * sizeof(float));
    assert(n->gbuf[1] != NULL);
    return n;
fail:
    mtg_net_free(n);
    return NULL;
}

void mtg_net_free(struct mtg_net *net)
{
    if (!net)
        return;
    free(net->params);
    free(net->grads);
    mtg_arena_free(net->arena);
    free(net);
}

struct mtg_net *mtg_net_clone(const struct mtg_net *net, struct mtg_err *err)
{
    struct mtg_net *c = mtg_net_new(&net->spec, net->max_batch, err);
    if (c) {
        memcpy(c->params, net->params, net->n_params * sizeof(float));
        c->train = net->train;
        c->stats_frozen = net->stats_frozen;
    }
    return c;
}

static void init_all(struct mtg_net *net, struct mtg_rng *rng, int dcgan)
{
    for (int i = 0; i < net->spec.n_layers; i++)
        net->layer[i].ops->init(&net->layer[i], net->params, rng, dcgan);
}

void mtg_net_init_params(struct mtg_net *net, struct mtg_rng *rng) { init_all(net, rng, 0); }
void mtg_net_init_dcgan(struct mtg_net *net, struct mtg_rng *rng) { init_all(net, rng, 1); }

void mtg_net_set_train(struct mtg_net *net, int train) { net->train = train != 0; }
int mtg_net_train(const struct mtg_net *net) { return net->train; }
void mtg_net_set_stats_frozen(struct mtg_net *net, int frozen) { net->stats_frozen = frozen != 0; }
int mtg_net_stats_frozen(const struct mtg_net *net) { return net->stats_frozen; }

static struct net_ctx make_ctx(struct mtg_net *net)
{
    return (struct net_ctx){.params = net->params, .grads = net->grads, .scratch = net->scratch,
                            .train = net->train, .update_stats = net->train && !net->stats_frozen,
                            .bn_momentum = net->spec.bn_momentum,
                            .bn_eps = net->spec.bn_eps};
}

const float *mtg_net_forward(struct mtg_net *net, const float *x, int batch)
{
    assert(batch >= 1 && batch <= net->max_batch);
    struct net_ctx c = make_ctx(net);
    const float *in = x;
    for (int i = 0; i < net->spec.n_layers; i++) {
        struct net_layer *L = &net->layer[i];
        net->in_ptr[i] = in;
        if (L->y) {
            L->ops->forward(L, &c, in, L->y, batch);
            net_act_forward(L->s.act, L->y, (size_t)batch * L->out_feat, net->spec.leaky_slope);
            in = L->y;
        }
        net->out_ptr[i] = in;
    }
    net->last_batch = batch;
    return in;
}

const float *mtg_net_backward(struct mtg_net *net, const float *dy, int batch, unsigned flags)
{
    assert(batch == net->last_batch && net->in_ptr[0]);
    struct net_ctx c = make_ctx(net);
    const float *cur = dy;
    for (int i = net->spec.n_layers - 1; i >= 0; i--) {
        struct net_layer *L = &net->layer[i];
        const float *dz = cur;
        if (L->s.act != MTG_ACT_NONE) {
            /* The caller's dy is read-only; gradients in our own buffers are transformed in place. */
            float *w = cur == dy ? net->gbuf[0] : (float *)cur;
            net_act_backward(L->s.act, net->out_ptr[i], cur, w, (size_t)batch * L->out_feat,
                             net->spec.leaky_slope);
            dz = w;
        }
        int need_dx = i > 0 || (flags & MTG_NET_INPUT_GRAD);
        float *dx = need_dx ? (dz == net->gbuf[0] ? net->gbuf[1] : net->gbuf[0]) : NULL;
        cur = L->ops->backward(L, &c, net->in_ptr[i], dz, dx, batch, flags);
        if (!need_dx)
            return NULL;
    }
    return cur;
}

void mtg_net_zero_grad(struct mtg_net *net) { memset(net->grads, 0, net->n_params * sizeof(float)); }

const float *mtg_net_activation(const struct mtg_net *net, int layer)
{
    assert(layer >= 0 && layer < net->spec.n_layers);
    return net->out_ptr[layer] ? net->out_ptr[layer] : net->layer[layer].y;
}

void mtg_net_layer_shape(const struct mtg_net *net, int layer, int out[3])
{
    assert(layer >= 0 && layer < net->spec.n_layers);
    memcpy(out, net->layer[layer].out, 3 * sizeof(int));
}

const struct mtg_net_spec *mtg_net_get_spec(const struct mtg_net *net) { return &net->spec; }
int mtg_net_in_dim(const struct mtg_net *net) { return (int)net->layer[0].in_feat; }
int mtg_net_out_dim(const struct mtg_net *net) { return (int)net->layer[net->spec.n_layers - 1].out_feat; }
int mtg_net_max_batch(const struct mtg_net *net) { return net->max_batch; }
int mtg_net_n_layers(const struct mtg_net *net) { return net->spec.n_layers; }
size_t mtg_net_param_count(const struct mtg_net *net) { return net->n_params; }
float *mtg_net_params(struct mtg_net *net) { return net->params; }
const float *mtg_net_params_const(const struct mtg_net *net) { return net->params; }
float *mtg_net_grads(struct mtg_net *net) { return net->grads; }
int mtg_net_n_tensors(const struct mtg_net *net) { return net->n_tensors; }

void mtg_net_tensor(const struct mtg_net *net, int k, struct mtg_net_tensor *out)
{
    assert(k >= 0 && k < net->n_tensors);
    *out = net->tensor[k];
}

size_t mtg_net_bytes(const struct mtg_net *net)
{
    return sizeof *net + 2 * floats_bytes(net->n_params ? net->n_params : 1) + mtg_arena_capacity(net->arena);
}

void mtg_net_predict(struct mtg_net *net, const float *x, int n, float *out)
{
    size_t in = net->layer[0].in_feat, od = net->layer[net->spec.n_layers - 1].out_feat;
    for (int r = 0; r < n; r += net->max_batch) {
        int b = n - r < net->max_batch ? n - r : net->max_batch;
        const float *y = mtg_net_forward(net, x + (size_t)r * in, b);
        memcpy(out + (size_t)r * od, y, (size_t)b * od * sizeof(float));
    }
}
