#include "quality/classifier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loss.h"
#include "core/net.h"
#include "core/optim.h"
#include "core/rng.h"
#include "core/status.h"
#include "data/batch.h"
#include "data/dataset.h"
#include "wire/blob.h"
#include "wire/model.h"

/* Rows per forward when predicting: large enough that sgemm runs near peak. */
#define PREDICT_BATCH 256
/* The key is stored as 4 floats of 16 bits each: exact in float32. */
#define KEY_PARTS 4

void mtg_quality_cfg_default(struct mtg_quality_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->hidden1 = 256;
    cfg->hidden2 = 128;
    cfg->epochs = 30;
    cfg->batch = 64;
    cfg->lr = 1e-3f;
    cfg->seed = 1;
}

int mtg_quality_cfg_validate(const struct mtg_quality_cfg *cfg, struct mtg_err *err)
{
    if (cfg->hidden1 < 1 || cfg->hidden1 > 4096 || cfg->hidden2 < 1 || cfg->hidden2 > 4096)
        return mtg_err_set(err, MTG_EINVAL, "quality: hidden widths %d, %d outside [1, 4096]",
                           cfg->hidden1, cfg->hidden2);
    if (cfg->epochs < 1 || cfg->epochs > 100000)
        return mtg_err_set(err, MTG_EINVAL, "quality: epochs %d outside [1, 100000]", cfg->epochs);
    if (cfg->batch < 1 || cfg->batch > 65536)
        return mtg_err_set(err, MTG_EINVAL, "quality: batch %d outside [1, 65536]", cfg->batch);
    if (!(cfg->lr > 0.0f && cfg->lr < 1.0f))
        return mtg_err_set(err, MTG_EINVAL, "quality: lr %g outside (0, 1)", (double)cfg->lr);
    return MTG_OK;
}

static void classifier_spec(const struct mtg_quality_cfg *cfg, int in_dim, int n_classes,
                            struct mtg_mlp_spec *s)
{
    memset(s, 0, sizeof *s);
    s->in_dim = in_dim;
    s->n_layers = 3;
    s->width[0] = cfg->hidden1;
    s->width[1] = cfg->hidden2;
    s->width[2] = n_classes;
    s->act[0] = MTG_ACT_RELU;
    s->act[1] = MTG_ACT_RELU;
    s->act[2] = MTG_ACT_NONE;
    s->leaky_slope = 0.2f;
}

static int new_classifier(const struct mtg_dataset *train, const struct mtg_quality_cfg *cfg,
                          struct mtg_net **out, struct mtg_err *err)
{
    int rc = mtg_quality_cfg_validate(cfg, err);
    if (rc != MTG_OK)
        return rc;
    struct mtg_mlp_spec mlp;
    struct mtg_net_spec spec;
    classifier_spec(cfg, mtg_data_dim(train), mtg_data_n_classes(train), &mlp);
    mtg_net_spec_from_mlp(&mlp, &spec); /* three layers: cannot fail */
    int max_batch = cfg->batch > PREDICT_BATCH ? cfg->batch : PREDICT_BATCH;
    *out = mtg_net_new(&spec, max_batch, err);
    return *out ? MTG_OK : err ? err->code : MTG_ENOMEM;
}

int mtg_quality_fit(struct mtg_net *m, const struct mtg_dataset *train, const struct mtg_quality_fit_opts *o,
                    struct mtg_err *err)
{
    int rc;
    struct mtg_adam *opt = NULL;
    struct mtg_data_epoch *ep = NULL;
    float *xb = NULL, *dlogits = NULL;
    int *idx = NULL, *yb = NULL;
    const int n = mtg_data_n(train), dim = mtg_data_dim(train), classes = mtg_data_n_classes(train);
    if (n < 1 || o->epochs < 1 || o->batch < 1 || dim != mtg_net_in_dim(m) || classes != mtg_net_out_dim(m))
        return mtg_err_set(err, MTG_EINVAL, "quality: %d rows of %d features, %d classes do not fit a %d -> %d net",
                           n, dim, classes, mtg_net_in_dim(m), mtg_net_out_dim(m));
    /* Separate streams for init and batch order: changing epochs keeps the init. */
    struct mtg_rng root, init_rng;
    mtg_rng_seed(&root, o->seed);
    mtg_rng_fork(&root, 1, &init_rng);
    mtg_net_init_params(m, &init_rng);

    /* Classification, not a GAN: Adam's usual betas (Kingma & Ba 2015), not the GAN recipe's. */
    struct mtg_adam_cfg acfg = {.lr = o->lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    opt = mtg_adam_new(mtg_net_param_count(m), &acfg, err);
    if (!opt)
        return err ? err->code : MTG_ENOMEM;
    rc = mtg_data_epoch_new(n, mtg_rng_u64(&root), &ep, err);
    if (rc != MTG_OK)
        goto fail;
    const int batch = o->batch < n ? o->batch : n;
    xb = malloc((size_t)batch * (size_t)dim * sizeof *xb);
    dlogits = malloc((size_t)batch * (size_t)classes * sizeof *dlogits);
    idx = malloc((size_t)batch * sizeof *idx);
    yb = malloc((size_t)batch * sizeof *yb);
    if (!xb || !dlogits || !idx || !yb) {
        rc = mtg_err_set(err, MTG_ENOMEM, "quality: out of memory for training buffers");
        goto fail;
    }
    const int *labels = mtg_data_labels(train);
    /* ceil(n / batch) steps per epoch: every sample seen once per epoch on average. */
    const long per_epoch = (n + batch - 1) / batch, steps = (long)o->epochs * per_epoch;
    double loss_sum = 0.0;
    for (long s = 0; s < steps; s++) {
        if (o->lr_decay) {
            /* A linear decay towards 0 lets the last epochs settle instead of bouncing at the first step size. */
            acfg.lr = o->lr * (float)(steps - s) / (float)steps;
            mtg_adam_set_cfg(opt, &acfg);
        }
        mtg_data_epoch_next(ep, batch, idx);
        mtg_data_gather(mtg_data_x(train), dim, idx, batch, xb);
        for (int i = 0; i < batch; i++)
            yb[i] = labels[idx[i]];
        const float *logits = mtg_net_forward(m, xb, batch);
        loss_sum += mtg_loss_softmax_xent(logits, yb, batch, classes, dlogits);
        mtg_net_zero_grad(m);
        mtg_net_backward(m, dlogits, batch, MTG_NET_PARAM_GRAD);
        mtg_adam_step(opt, mtg_net_params(m), mtg_net_grads(m));
        if (o->who && (s + 1) % per_epoch == 0) {
            mtg_log(MTG_LOG_INFO, "quality", "%s: epoch %ld/%d loss %.4f", o->who, (s + 1) / per_epoch, o->epochs,
                    loss_sum / (double)per_epoch);
            loss_sum = 0.0;
        }
    }
    rc = MTG_OK;
fail:
    mtg_adam_free(opt);
    mtg_data_epoch_free(ep);
    free(xb);
    free(dlogits);
    free(idx);
    free(yb);
    return rc;
}

int mtg_quality_classifier_train(const struct mtg_dataset *train, const struct mtg_quality_cfg *cfg,
                                 struct mtg_net **out, struct mtg_err *err)
{
    if (!train || !cfg || !out)
        return mtg_err_set(err, MTG_EINVAL, "quality: NULL argument");
    *out = NULL;
    if (mtg_data_n(train) < 1)
        return mtg_err_set(err, MTG_EINVAL, "quality: empty train set");
    struct mtg_net *m = NULL;
    int rc = new_classifier(train, cfg, &m, err);
    if (rc != MTG_OK)
        return rc;
    const struct mtg_quality_fit_opts o = {.epochs = cfg->epochs, .batch = cfg->batch, .lr = cfg->lr, .seed = cfg->seed};
    rc = mtg_quality_fit(m, train, &o, err);
    if (rc != MTG_OK) {
        mtg_net_free(m);
        return rc;
    }
    *out = m;
    return MTG_OK;
}

double mtg_quality_classifier_accuracy(struct mtg_net *clf, const struct mtg_dataset *ds)
{
    int n = mtg_data_n(ds), dim = mtg_data_dim(ds), classes = mtg_net_out_dim(clf);
    int chunk = mtg_net_max_batch(clf);
    const int *labels = mtg_data_labels(ds);
    if (n == 0)
        return 0.0;
    long correct = 0;
    for (int r = 0; r < n; r += chunk) {
        int b = n - r < chunk ? n - r : chunk;
        const float *y = mtg_net_forward(clf, mtg_data_x(ds) + (size_t)r * (size_t)dim, b);
        for (int i = 0; i < b; i++) {
            const float *row = y + (size_t)i * (size_t)classes;
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (row[c] > row[best])
                    best = c;
            correct += best == labels[r + i];
        }
    }
    return (double)correct / (double)n;
}

uint64_t mtg_quality_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t mtg_quality_classifier_key(const struct mtg_dataset *train,
                                    const struct mtg_quality_cfg *cfg)
{
    /* Hash field by field: struct padding bytes are indeterminate. */
    int32_t ints[7] = {1 /* key format */, cfg->hidden1, cfg->hidden2, cfg->epochs, cfg->batch,
                       mtg_data_n(train), mtg_data_dim(train)};
    uint64_t h = 0xcbf29ce484222325ULL;
    h = mtg_quality_fnv1a(h, ints, sizeof ints);
    h = mtg_quality_fnv1a(h, &cfg->lr, sizeof cfg->lr);
    h = mtg_quality_fnv1a(h, &cfg->seed, sizeof cfg->seed);
    h = mtg_quality_fnv1a(h, mtg_data_x(train),
              (size_t)mtg_data_n(train) * (size_t)mtg_data_dim(train) * sizeof(float));
    h = mtg_quality_fnv1a(h, mtg_data_labels(train), (size_t)mtg_data_n(train) * sizeof(int));
    return h;
}

int mtg_quality_net_save(const struct mtg_net *net, const char *prefix, uint64_t key, const char *path,
                         unsigned blob_flags, struct mtg_err *err)
{
    char kname[64];
    snprintf(kname, sizeof kname, "%s.key", prefix);
    struct mtg_blob *b = mtg_blob_new(err);
    if (!b)
        return err ? err->code : MTG_ENOMEM;
    float parts[KEY_PARTS];
    for (int i = 0; i < KEY_PARTS; i++)
        parts[i] = (float)((key >> (16 * i)) & 0xffffu);
    uint32_t kdim = KEY_PARTS;
    int rc = mtg_blob_add(b, kname, 1, &kdim, parts, MTG_DTYPE_F32, err);
    if (rc == MTG_OK)
        rc = mtg_model_flat_to_blob(net, mtg_net_params_const(net), prefix, MTG_DTYPE_F32, true, b, err);
    if (rc == MTG_OK)
        rc = mtg_blob_write_file(b, path, blob_flags, err);
    mtg_blob_free(b);
    return rc;
}

int mtg_quality_net_load(struct mtg_net *net, const char *prefix, uint64_t key, const char *path,
                         struct mtg_err *err)
{
    char kname[64];
    snprintf(kname, sizeof kname, "%s.key", prefix);
    struct mtg_blob *b = NULL;
    int rc = mtg_blob_read_file(path, NULL, &b, err); /* checks the CRC before anything else */
    if (rc != MTG_OK)
        return rc;
    const struct mtg_blob_tensor *k = mtg_blob_find(b, kname);
    if (!k || k->rank != 1 || k->n != KEY_PARTS) {
        rc = mtg_err_set(err, MTG_EFORMAT, "%s: no %s tensor", path, kname);
        goto done;
    }
    uint64_t stored = 0;
    for (int i = 0; i < KEY_PARTS; i++) {
        float part = k->data[i];
        if (!(part >= 0.0f && part <= 65535.0f) || part != (float)(uint32_t)part) {
            rc = mtg_err_set(err, MTG_EFORMAT, "%s: key part %d is %g, not a 16-bit integer", path, i,
                             (double)part);
            goto done;
        }
        stored |= (uint64_t)(uint32_t)part << (16 * i);
    }
    if (stored != key) {
        rc = mtg_err_set(err, MTG_ECONFLICT, "%s: cached for other data or settings", path);
        goto done;
    }
    /* Check first, then copy: a corrupt cache leaves net as it was. */
    rc = mtg_blob_check_finite(b, err);
    if (rc == MTG_OK) {
        /* The key is the one prefixed tensor that is not a parameter: leave it out of the model check. */
        struct mtg_blob *params = mtg_blob_new(err);
        if (!params) {
            rc = err ? err->code : MTG_ENOMEM;
            goto done;
        }
        for (size_t i = 0; rc == MTG_OK && i < mtg_blob_count(b); i++) {
            const struct mtg_blob_tensor *t = mtg_blob_at(b, i);
            if (t != k)
                rc = mtg_blob_add_ref(params, t->name, t->rank, t->dims, t->data, MTG_DTYPE_F32, err);
        }
        if (rc == MTG_OK && (rc = mtg_model_from_blob(net, prefix, params, err)) != MTG_OK)
            mtg_err_wrap(err, "%s", path);
        mtg_blob_free(params);
    } else {
        mtg_err_wrap(err, "%s", path);
    }
done:
    mtg_blob_free(b);
    return rc;
}

int mtg_quality_classifier_save(const struct mtg_net *clf, uint64_t key, const char *path,
                                struct mtg_err *err)
{
    return mtg_quality_net_save(clf, "clf", key, path, 0, err);
}

int mtg_quality_classifier_load(struct mtg_net *clf, uint64_t key, const char *path,
                                struct mtg_err *err)
{
    return mtg_quality_net_load(clf, "clf", key, path, err);
}

int mtg_quality_classifier_load_or_train(const char *path, const struct mtg_dataset *train,
                                         const struct mtg_quality_cfg *cfg, struct mtg_net **out,
                                         struct mtg_err *err)
{
    if (!train || !cfg || !out)
        return mtg_err_set(err, MTG_EINVAL, "quality: NULL argument");
    *out = NULL;
    if (!path)
        return mtg_quality_classifier_train(train, cfg, out, err);
    uint64_t key = mtg_quality_classifier_key(train, cfg);
    struct mtg_net *m = NULL;
    int rc = new_classifier(train, cfg, &m, err);
    if (rc != MTG_OK)
        return rc;
    struct mtg_err lerr = {0};
    rc = mtg_quality_classifier_load(m, key, path, &lerr);
    if (rc == MTG_OK) {
        *out = m;
        return MTG_OK;
    }
    mtg_net_free(m);
    /* A cache is only ever a shortcut: whatever is wrong with it, train afresh. */
    mtg_log(rc == MTG_ENOTFOUND ? MTG_LOG_INFO : MTG_LOG_WARN, "quality",
            "classifier cache not used (%s); training", lerr.msg);
    rc = mtg_quality_classifier_train(train, cfg, out, err);
    if (rc != MTG_OK)
        return rc;
    struct mtg_err serr = {0};
    if (mtg_quality_classifier_save(*out, key, path, &serr) != MTG_OK)
        mtg_log(MTG_LOG_WARN, "quality", "classifier cache not written: %s", serr.msg);
    return MTG_OK;
}
