/*
 * export.c - global models to files and back (see export.h), and the
 * generator-blob helpers shared by `mtgan sample` / `mtgan eval`.
 */
#include "server/export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gan.h"
#include "core/log.h"
#include "core/net.h"
#include "core/rng.h"
#include "core/status.h"
#include "sedna/sedna.h"
#include "server/server_internal.h"
#include "wire/blob.h"
#include "wire/model.h"
#include "wire/model_spec.h"

/* DESIGN §4 defaults for blobs without spec tensors (train-local's). */
#define DEFAULT_LEAKY 0.2f

/* ---- network <-> blob ---- */

/* "spec.<prefix>.act" and ".leaky_slope", the older format, for a dense stack. */
static int add_mlp_spec(const struct mtg_mlp_spec *sp, const char *prefix, struct mtg_blob *b, struct mtg_err *err)
{
    float act[MTG_MLP_MAX_LAYERS], slope = sp->leaky_slope;
    for (int i = 0; i < sp->n_layers; i++)
        act[i] = (float)sp->act[i];
    char name[64];
    uint32_t dims[1] = {(uint32_t)sp->n_layers};
    snprintf(name, sizeof name, "spec.%s.act", prefix);
    int rc = mtg_blob_add(b, name, 1, dims, act, MTG_DTYPE_F32, err);
    if (rc == MTG_OK) {
        dims[0] = 1;
        snprintf(name, sizeof name, "spec.%s.leaky_slope", prefix);
        rc = mtg_blob_add(b, name, 1, dims, &slope, MTG_DTYPE_F32, err);
    }
    return rc;
}

int mtg_srv_net_to_blob(const struct mtg_net *m, const char *prefix, struct mtg_blob *b,
                        struct mtg_err *err)
{
    size_t before = mtg_blob_count(b);
    struct mtg_mlp_spec sp;
    int rc = mtg_model_to_blob(m, prefix, MTG_DTYPE_F32, b, err);
    if (rc == MTG_OK && mtg_net_spec_to_mlp(mtg_net_get_spec(m), &sp) == MTG_OK)
        rc = add_mlp_spec(&sp, prefix, b, err);
    if (rc == MTG_OK)
        rc = mtg_model_spec_to_blob(mtg_net_get_spec(m), prefix, b, err);
    if (rc != MTG_OK)
        mtg_blob_truncate(b, before);
    return rc;
}

/* The dense stack of a blob without "spec.<prefix>.net": see export.h. */
static int mlp_spec_from_blob(const struct mtg_blob *b, const char *prefix, struct mtg_mlp_spec *out,
                              struct mtg_err *err)
{
    memset(out, 0, sizeof *out);
    char name[64];
    int n = 0;
    for (;; n++) {
        snprintf(name, sizeof name, "%s.%d.w", prefix, n);
        const struct mtg_blob_tensor *w = mtg_blob_find(b, name);
        if (!w)
            break;
        if (n == MTG_MLP_MAX_LAYERS)
            return mtg_err_set(err, MTG_EFORMAT, "model: more than %d layers under \"%s.\"",
                               MTG_MLP_MAX_LAYERS, prefix);
        if (w->rank != 2 || w->dims[0] < 1 || w->dims[1] < 1 ||
            w->dims[0] > MTG_NET_MAX_DIM || w->dims[1] > MTG_NET_MAX_DIM)
            return mtg_err_set(err, MTG_EFORMAT, "model: tensor \"%s\" is not a [in, out] matrix",
                               name);
        if (n == 0)
            out->in_dim = (int)w->dims[0];
        else if ((int)w->dims[0] != out->width[n - 1])
            return mtg_err_set(err, MTG_EFORMAT,
                               "model: tensor \"%s\" takes %u inputs but layer %d gives %d", name,
                               w->dims[0], n - 1, out->width[n - 1]);
        out->width[n] = (int)w->dims[1];
    }
    if (n == 0)
        return mtg_err_set(err, MTG_ENOTFOUND, "model: no tensor \"%s.0.w\" (not a \"%s\" network)",
                           prefix, prefix);
    out->n_layers = n;
    out->leaky_slope = DEFAULT_LEAKY;
    int is_g = strcmp(prefix, "g") == 0;
    for (int i = 0; i < n; i++)
        out->act[i] = i == n - 1 ? (is_g ? MTG_ACT_SIGMOID : MTG_ACT_NONE)
                                 : (is_g ? MTG_ACT_RELU : MTG_ACT_LEAKY_RELU);
    snprintf(name, sizeof name, "spec.%s.act", prefix);
    const struct mtg_blob_tensor *act = mtg_blob_find(b, name);
    if (act) {
        if (act->rank != 1 || (int)act->n != n)
            return mtg_err_set(err, MTG_EFORMAT, "model: \"%s\" has %zu entries for %d layers",
                               name, act->n, n);
        for (int i = 0; i < n; i++) {
            float v = act->data[i];
            if (!(v >= 0 && v <= MTG_ACT_TANH) || v != floorf(v))
                return mtg_err_set(err, MTG_EFORMAT, "model: \"%s\"[%d] = %g is no activation",
                                   name, i, (double)v);
            out->act[i] = (enum mtg_act)(int)v;
        }
    }
    snprintf(name, sizeof name, "spec.%s.leaky_slope", prefix);
    const struct mtg_blob_tensor *ls = mtg_blob_find(b, name);
    if (ls) {
        if (ls->n != 1 || !(ls->data[0] >= 0 && ls->data[0] < 1))
            return mtg_err_set(err, MTG_EFORMAT, "model: \"%s\" must be one value in [0, 1)", name);
        out->leaky_slope = ls->data[0];
    }
    return MTG_OK;
}

int mtg_srv_net_spec(const struct mtg_blob *b, const char *prefix, struct mtg_net_spec *out,
                     struct mtg_err *err)
{
    /* The full spec, when the blob has one, is the whole truth. */
    int rc = mtg_model_spec_from_blob(b, prefix, out, err);
    if (rc != MTG_ENOTFOUND)
        return rc;
    struct mtg_mlp_spec mlp;
    rc = mlp_spec_from_blob(b, prefix, &mlp, err);
    if (rc == MTG_OK)
        rc = mtg_net_spec_from_mlp(&mlp, out);
    if (rc == MTG_OK && (rc = mtg_net_spec_validate(out, err)) != MTG_OK)
        mtg_err_wrap(err, "model \"%s\"", prefix);
    return rc;
}

int mtg_srv_net_from_blob(const struct mtg_blob *b, const char *prefix, int max_batch,
                          struct mtg_net **out, struct mtg_err *err)
{
    *out = NULL;
    struct mtg_net_spec spec;
    int rc = mtg_srv_net_spec(b, prefix, &spec, err);
    if (rc != MTG_OK)
        return rc;
    /* Room for the sample groups of mtg_gan_generate. */
    if (mtg_net_spec_mixes_batch(&spec) && max_batch < MTG_GAN_SAMPLE_GROUP)
        max_batch = MTG_GAN_SAMPLE_GROUP;
    struct mtg_net *m = mtg_net_new(&spec, max_batch, err);
    if (!m)
        return err ? err->code : MTG_ENOMEM;
    rc = mtg_model_from_blob(m, prefix, b, err);
    if (rc != MTG_OK) {
        mtg_net_free(m);
        return rc;
    }
    *out = m;
    return MTG_OK;
}

int mtg_srv_generator_load(const char *path, int max_batch, struct mtg_net **out,
                           struct mtg_err *err)
{
    *out = NULL;
    struct mtg_blob *b = NULL;
    int rc = mtg_blob_read_file(path, NULL, &b, err);
    if (rc == MTG_OK)
        rc = mtg_blob_check_finite(b, err);
    if (rc == MTG_OK)
        rc = mtg_srv_net_from_blob(b, "g", max_batch, out, err);
    mtg_blob_free(b);
    if (rc != MTG_OK)
        mtg_err_wrap(err, "generator %s", path);
    return rc;
}

int mtg_srv_generator_sample(struct mtg_net *g, int n, uint64_t seed, float *x, struct mtg_err *err)
{
    const int zd = mtg_net_in_dim(g), chunk = mtg_net_max_batch(g);
    if (mtg_net_spec_mixes_batch(mtg_net_get_spec(g)) && chunk < MTG_GAN_SAMPLE_GROUP)
        return mtg_err_set(err, MTG_EINVAL, "sample: a generator with batch norm needs max_batch >= %d, not %d",
                           MTG_GAN_SAMPLE_GROUP, chunk);
    float *z = malloc((size_t)chunk * (size_t)zd * sizeof *z);
    if (!z)
        return mtg_err_set(err, MTG_ENOMEM, "sample: out of memory");
    /* mtg_gan_sample's way, so a seed gives the server's samples. */
    mtg_gan_generate(g, seed, z, x, n);
    free(z);
    return MTG_OK;
}

/* ---- export ---- */

/* What one task looks like once copied out of the server. */
struct snap {
    char id[MTG_CFG_ID_MAX];
    struct mtg_net_spec g_spec, d_spec;
    float *g, *d; /* d NULL for sgda */
    size_t ng, nd;
    uint64_t version, steps;
    struct srv_quality q;
};

static int snapshot(struct mtg_srv *s, struct snap **out, int *n_out, struct mtg_err *err)
{
    int rc = MTG_OK;
    pthread_mutex_lock(&s->mu);
    int n = srv_n_tasks(s), k = 0;
    struct snap *v = calloc(n > 0 ? (size_t)n : 1, sizeof *v);
    if (!v)
        rc = mtg_err_set(err, MTG_ENOMEM, "export: out of memory");
    for (int t = 0; rc == MTG_OK && t < n; t++) {
        if (s->deleted[t])
            continue;
        struct snap *o = &v[k++];
        snprintf(o->id, sizeof o->id, "%s", srv_task_id(s, t));
        const struct mtg_gan_cfg *gc = srv_task_cfg(s, t);
        o->g_spec = gc->g;
        o->d_spec = gc->d;
        o->version = srv_task_version(s, t);
        o->steps = srv_task_steps(s, t);
        o->q = s->q[t];
        if ((rc = srv_task_resident(s, t, err)) != MTG_OK)
            break;
        const float *g = srv_task_g_served(s, t, &o->ng, err);
        const float *d = s->sgda ? NULL : mtg_fed_task_d(s->fed, t, &o->nd);
        o->g = malloc(o->ng * sizeof(float));
        o->d = d ? malloc(o->nd * sizeof(float)) : NULL;
        if (!o->g || (d && !o->d)) {
            rc = mtg_err_set(err, MTG_ENOMEM, "export: out of memory copying task %s", o->id);
            break;
        }
        memcpy(o->g, g, o->ng * sizeof(float));
        if (d)
            memcpy(o->d, d, o->nd * sizeof(float));
    }
    pthread_mutex_unlock(&s->mu);
    *out = v;
    *n_out = k;
    return rc;
}

/* Writes flat params with the layout of spec to path under prefix. */
static int write_net(const struct mtg_net_spec *spec, const float *p, size_t np, const char *prefix,
                     const char *path, struct mtg_err *err)
{
    struct mtg_net *m = mtg_net_new(spec, 1, err);
    if (!m)
        return err->code;
    int rc = MTG_OK;
    if (mtg_net_param_count(m) != np)
        rc = mtg_err_set(err, MTG_EINVAL, "export: %s: %zu parameters for a network of %zu", path,
                         np, mtg_net_param_count(m));
    struct mtg_blob *b = rc == MTG_OK ? mtg_blob_new(err) : NULL;
    if (rc == MTG_OK && !b)
        rc = err->code;
    if (rc == MTG_OK) {
        memcpy(mtg_net_params(m), p, np * sizeof *p);
        rc = mtg_srv_net_to_blob(m, prefix, b, err);
    }
    if (rc == MTG_OK)
        rc = mtg_blob_write_file(b, path, 0, err);
    mtg_blob_free(b);
    mtg_net_free(m);
    return rc;
}

/* A task id becomes a file name: refuse anything that could leave dir. */
static int safe_id(const char *id)
{
    if (!id[0] || id[0] == '.')
        return 0;
    for (const char *p = id; *p; p++)
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return 0;
    return 1;
}

#define MAX_TASK_METRICS 4

/* Reads, checks and rewrites a model blob at to (atomic); src == to is a no-op. */
static int copy_blob(const char *from, const char *to, struct mtg_err *err)
{
    if (strcmp(from, to) == 0)
        return MTG_OK;
    struct mtg_blob *b = NULL;
    int rc = mtg_blob_read_file(from, NULL, &b, err);
    if (rc == MTG_OK)
        rc = mtg_blob_write_file(b, to, 0, err);
    mtg_blob_free(b);
    if (rc != MTG_OK)
        mtg_err_wrap(err, "export: carrying %s", from);
    return rc;
}

int mtg_srv_export(struct mtg_srv *s, const char *dir, const struct mtg_srv_export_opts *opts,
                   struct mtg_err *err)
{
    struct mtg_srv_export_opts none = {0};
    if (!opts)
        opts = &none;
    struct snap *v = NULL;
    int n = 0;
    size_t n_carry = opts->carry ? opts->carry->n : 0;
    struct mtg_sedna_kb_task *kt = NULL;
    unsigned long long *kv = NULL;
    struct mtg_sedna_metric(*km)[MAX_TASK_METRICS] = NULL;
    char(*paths)[2][1024] = NULL;
    int rc = snapshot(s, &v, &n, err);
    if (rc == MTG_OK) {
        kt = calloc((size_t)n + n_carry + 1, sizeof *kt);
        kv = calloc((size_t)n + n_carry + 1, sizeof *kv);
        km = calloc((size_t)n + 1, sizeof *km);
        paths = calloc((size_t)n + 1, sizeof *paths);
        if (!kt || !kv || !km || !paths)
            rc = mtg_err_set(err, MTG_ENOMEM, "export: out of memory");
    }
    size_t nk = 0;
    for (int i = 0; rc == MTG_OK && i < n; i++) {
        struct snap *o = &v[i];
        if (!safe_id(o->id)) {
            rc = mtg_err_set(err, MTG_EINVAL, "export: task id \"%s\" cannot be a file name", o->id);
            break;
        }
        snprintf(paths[i][0], sizeof paths[i][0], "%s/%s" MTG_SRV_GENERATOR_SUFFIX, dir, o->id);
        rc = write_net(&o->g_spec, o->g, o->ng, "g", paths[i][0], err);
        if (rc == MTG_OK && o->d) {
            snprintf(paths[i][1], sizeof paths[i][1], "%s/%s" MTG_SRV_DISCRIMINATOR_SUFFIX, dir,
                     o->id);
            rc = write_net(&o->d_spec, o->d, o->nd, "d", paths[i][1], err);
        }
        if (rc != MTG_OK)
            break;
        size_t nm = 0;
        if (o->q.evaluated) {
            km[i][nm++] = (struct mtg_sedna_metric){"fidelity", o->q.fidelity};
            km[i][nm++] = (struct mtg_sedna_metric){"fd", o->q.fd};
            km[i][nm++] = (struct mtg_sedna_metric){"precision", o->q.precision};
            km[i][nm++] = (struct mtg_sedna_metric){"recall", o->q.recall};
        }
        kv[nk] = o->version;
        kt[nk++] = (struct mtg_sedna_kb_task){
            .id = o->id,
            .generator = paths[i][0],
            .discriminator = o->d ? paths[i][1] : NULL,
            .metrics = km[i],
            .n_metrics = nm,
            .steps = (long long)o->steps,
        };
    }
    /* Tasks of the previous knowledge base that this round did not hold,
     * copied beside this round's: a Sedna pod mounts only the parent folder
     * of the index it is given, so the index must not point elsewhere. */
    char(*cpaths)[2][1024] = n_carry ? calloc(n_carry, sizeof *cpaths) : NULL;
    if (rc == MTG_OK && n_carry && !cpaths)
        rc = mtg_err_set(err, MTG_ENOMEM, "export: out of memory");
    for (size_t c = 0; rc == MTG_OK && c < n_carry; c++) {
        const struct mtg_sedna_kb_entry *e = &opts->carry->tasks[c];
        int held = 0;
        for (int i = 0; i < n && !held; i++)
            held = strcmp(v[i].id, e->id) == 0;
        if (held)
            continue;
        if (!safe_id(e->id)) {
            rc = mtg_err_set(err, MTG_EINVAL, "export: carried task id \"%s\" cannot be a file name", e->id);
            break;
        }
        snprintf(cpaths[c][0], sizeof cpaths[c][0], "%s/%s" MTG_SRV_GENERATOR_SUFFIX, dir, e->id);
        rc = copy_blob(e->generator, cpaths[c][0], err);
        if (rc == MTG_OK && e->discriminator) {
            snprintf(cpaths[c][1], sizeof cpaths[c][1], "%s/%s" MTG_SRV_DISCRIMINATOR_SUFFIX, dir, e->id);
            rc = copy_blob(e->discriminator, cpaths[c][1], err);
        }
        kv[nk] = e->version;
        kt[nk++] = (struct mtg_sedna_kb_task){
            .id = e->id,
            .generator = cpaths[c][0],
            .discriminator = e->discriminator ? cpaths[c][1] : NULL,
            .metrics = e->metrics,
            .n_metrics = e->n_metrics,
            .steps = e->steps,
        };
    }
    if (rc == MTG_OK)
        rc = mtg_sedna_write_index_versions(dir, opts->data_path_prefix, kt, kv, nk, err);
    if (rc == MTG_OK)
        mtg_log(MTG_LOG_INFO, "export", "wrote %d task models and %s/index.json (%zu entries)", n,
                dir, nk);
    free(cpaths);
    for (int i = 0; v && i < n; i++) {
        free(v[i].g);
        free(v[i].d);
    }
    free(v);
    free(kt);
    free(kv);
    free(km);
    free(paths);
    return rc;
}

/* ---- import ---- */

struct loaded {
    const struct mtg_sedna_kb_entry *e;
    struct mtg_net *g, *d;
};

/* The config entry that rebuilds the networks stored in the blobs (tasks[] describes dense stacks). */
static int task_cfg_from(const struct loaded *l, struct mtg_cfg_task *tc, struct mtg_err *err)
{
    mtg_cfg_task_defaults(tc, l->e->id);
    struct mtg_mlp_spec gm, dm;
    const struct mtg_mlp_spec *gs = &gm, *ds = &dm;
    if (mtg_net_spec_to_mlp(mtg_net_get_spec(l->g), &gm) != MTG_OK ||
        (l->d && mtg_net_spec_to_mlp(mtg_net_get_spec(l->d), &dm) != MTG_OK))
        return mtg_err_set(err, MTG_EFORMAT,
                           "import: task %s: its networks are not dense stacks, which tasks[] cannot describe; "
                           "configure the task on the server first", l->e->id);
    if (gs->n_layers - 1 > MTG_CFG_MAX_HIDDEN)
        return mtg_err_set(err, MTG_EFORMAT, "import: task %s: too many layers", l->e->id);
    tc->generator.layers.n = gs->n_layers - 1;
    for (int i = 0; i < gs->n_layers - 1; i++) {
        tc->generator.layers.width[i] = gs->width[i];
        if (gs->act[i] != gs->act[0])
            return mtg_err_set(err, MTG_EFORMAT,
                               "import: task %s: hidden layers with different activations cannot "
                               "be configured", l->e->id);
    }
    if (gs->n_layers > 1)
        tc->generator.activation = gs->act[0];
    tc->generator.output_activation = gs->act[gs->n_layers - 1];
    tc->generator.latent_dim = gs->in_dim;
    tc->generator.leaky_slope = gs->leaky_slope;
    if (l->d) {
        if (ds->n_layers - 1 > MTG_CFG_MAX_HIDDEN)
            return mtg_err_set(err, MTG_EFORMAT, "import: task %s: too many layers", l->e->id);
        tc->discriminator.layers.n = ds->n_layers - 1;
        for (int i = 0; i < ds->n_layers - 1; i++)
            tc->discriminator.layers.width[i] = ds->width[i];
        if (ds->n_layers > 1)
            tc->discriminator.activation = ds->act[0];
        tc->discriminator.leaky_slope = ds->leaky_slope;
    }
    return MTG_OK;
}

/* Checks l against task t (mu held). */
static int check_task(struct mtg_srv *s, int t, const struct loaded *l, struct mtg_err *err)
{
    const struct mtg_gan_cfg *gc = srv_task_cfg(s, t);
    if (!mtg_net_spec_equal(&gc->g, mtg_net_get_spec(l->g)))
        return mtg_err_set(err, MTG_ECONFLICT,
                           "import: task %s: generator in %s does not match the server's network "
                           "(layers, widths, activations, latent dim)", l->e->id, l->e->generator);
    if (l->d && !s->sgda && !mtg_net_spec_equal(&gc->d, mtg_net_get_spec(l->d)))
        return mtg_err_set(err, MTG_ECONFLICT,
                           "import: task %s: discriminator in %s does not match the server's network",
                           l->e->id, l->e->discriminator);
    return MTG_OK;
}

/* Copies l's parameters into task t and marks the task as new (mu held). */
static void copy_task(struct mtg_srv *s, int t, const struct loaded *l, unsigned flags)
{
    if (s->sgda) {
        struct mtg_net *g = mtg_gan_generator(mtg_sgda_task_gan(s->sgda_state, t));
        memcpy(mtg_net_params(g), mtg_net_params_const(l->g), mtg_net_param_count(g) * sizeof(float));
        mtg_gan_ema_reset(mtg_sgda_task_gan(s->sgda_state, t)); /* an exported generator is served as it is */
        if (flags & MTG_SRV_IMPORT_STEPS)
            mtg_sgda_set_task_steps(s->sgda_state, t, (uint64_t)l->e->steps);
    } else {
        size_t n = 0;
        float *g = mtg_fed_task_g(s->fed, t, &n);
        memcpy(g, mtg_net_params_const(l->g), n * sizeof(float));
        mtg_fed_task_ema_reset(s->fed, t);
        if (l->d) {
            float *d = mtg_fed_task_d(s->fed, t, &n);
            memcpy(d, mtg_net_params_const(l->d), n * sizeof(float));
        }
        struct mtg_fed_task_info fi;
        mtg_fed_task_info(s->fed, t, &fi);
        /* A new version: an edge that pulled the pre-import globals must
         * see them as stale and pull again. */
        uint64_t version = fi.version + 1;
        if ((flags & MTG_SRV_IMPORT_STEPS) && l->e->version > version)
            version = l->e->version;
        mtg_fed_set_task_state(s->fed, t, version, fi.rounds,
                               (flags & MTG_SRV_IMPORT_STEPS) ? (uint64_t)l->e->steps : fi.steps);
    }
    /* The quality of the old parameters says nothing about these. */
    srv_task_reset_quality(s, t);
    for (size_t m = 0; m < l->e->n_metrics; m++) {
        const struct mtg_sedna_metric *km = &l->e->metrics[m];
        if (strcmp(km->name, "fidelity") == 0)
            s->q[t].fidelity = km->value;
        else if (strcmp(km->name, "fd") == 0)
            s->q[t].fd = km->value;
        else if (strcmp(km->name, "precision") == 0)
            s->q[t].precision = km->value;
        else if (strcmp(km->name, "recall") == 0)
            s->q[t].recall = km->value;
    }
    s->q[t].evaluated = l->e->n_metrics > 0;
    s->q[t].version = ~(uint64_t)0; /* matches no version: re-evaluated when possible */
    s->q[t].steps = srv_task_steps(s, t); /* the imported metrics describe the model as imported */
}

int mtg_srv_import(struct mtg_srv *s, const struct mtg_sedna_kb *kb, unsigned flags,
                   int *n_loaded, struct mtg_err *err)
{
    if (n_loaded)
        *n_loaded = 0;
    if (!s || !kb)
        return mtg_err_set(err, MTG_EINVAL, "import: NULL argument");
    struct loaded *ls = calloc(kb->n ? kb->n : 1, sizeof *ls);
    if (!ls)
        return mtg_err_set(err, MTG_ENOMEM, "import: out of memory");
    int rc = MTG_OK, count = 0;
    /* Phase 1, no lock: read and validate every blob. */
    for (size_t i = 0; rc == MTG_OK && i < kb->n; i++) {
        ls[i].e = &kb->tasks[i];
        rc = mtg_srv_generator_load(kb->tasks[i].generator, 1, &ls[i].g, err);
        if (rc == MTG_OK && mtg_net_out_dim(ls[i].g) != s->data_dim)
            rc = mtg_err_set(err, MTG_ECONFLICT,
                             "import: task %s: generator gives %d features, the server's data has %d",
                             kb->tasks[i].id, mtg_net_out_dim(ls[i].g), s->data_dim);
        if (rc == MTG_OK && kb->tasks[i].discriminator && !s->sgda) {
            struct mtg_blob *b = NULL;
            rc = mtg_blob_read_file(kb->tasks[i].discriminator, NULL, &b, err);
            if (rc == MTG_OK)
                rc = mtg_blob_check_finite(b, err);
            if (rc == MTG_OK)
                rc = mtg_srv_net_from_blob(b, "d", 1, &ls[i].d, err);
            mtg_blob_free(b);
            if (rc != MTG_OK)
                mtg_err_wrap(err, "discriminator %s", kb->tasks[i].discriminator);
        }
    }
    /* Phase 2, locked: check every shape against the server, then add and copy. */
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; rc == MTG_OK && i < kb->n; i++) {
        int t = srv_find_task(s, kb->tasks[i].id);
        if (t >= 0)
            rc = check_task(s, t, &ls[i], err);
    }
    for (size_t i = 0; rc == MTG_OK && i < kb->n; i++) {
        int t = srv_find_task(s, kb->tasks[i].id);
        if (t < 0) {
            if (!(flags & MTG_SRV_IMPORT_ADD))
                continue;
            struct mtg_cfg_task tc;
            rc = task_cfg_from(&ls[i], &tc, err);
            if (rc == MTG_OK && (t = srv_add_task(s, &tc, err)) < 0)
                rc = err->code;
            if (rc == MTG_OK)
                rc = check_task(s, t, &ls[i], err); /* e.g. model.width_mult scaled it */
            if (rc != MTG_OK)
                break;
        }
        /* A spilled task is reloaded first: its arrays are what the import overwrites. */
        if ((rc = srv_task_resident(s, t, err)) != MTG_OK)
            break;
        copy_task(s, t, &ls[i], flags);
        count++;
    }
    if (rc == MTG_OK && (flags & MTG_SRV_IMPORT_ONLY)) {
        for (int t = 0; t < srv_n_tasks(s); t++) {
            int listed = 0;
            for (size_t i = 0; i < kb->n && !listed; i++)
                listed = strcmp(srv_task_id(s, t), kb->tasks[i].id) == 0;
            if (!listed && !s->deleted[t]) {
                srv_set_task_quality(s, t, 0, 0.0);
                s->deleted[t] = 1;
            }
        }
    }
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < kb->n; i++) {
        mtg_net_free(ls[i].g);
        mtg_net_free(ls[i].d);
    }
    free(ls);
    if (rc == MTG_OK) {
        if (n_loaded)
            *n_loaded = count;
        mtg_log(MTG_LOG_INFO, "import", "loaded %d of %zu tasks from the knowledge base", count,
                kb->n);
    }
    return rc;
}
