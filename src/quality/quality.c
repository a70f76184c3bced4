#include "quality/quality.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/loss.h"
#include "core/net.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/digits.h"
#include "quality/frechet.h"
#include "quality/prec_recall.h"

/* Reference statistics of one class, fixed at creation. */
struct class_ref {
    int n;
    float *feat;      /* [n, feat_dim] */
    double *mu;       /* [feat_dim] */
    double *cov_sqrt; /* [feat_dim, feat_dim]: S^{1/2}, so FD needs one eigensolve */
    double cov_trace;
    double *radius2;  /* [n]: squared k-NN radii of feat, shared by every evaluation */
    struct mtg_quality_task ceiling; /* n = 0 until mtg_quality_set_ceiling */
};

struct mtg_quality {
    struct mtg_net *clf; /* never run after creation: evaluations clone it */
    int n_classes;
    int in_dim;
    int feat_dim;
    double ref_accuracy;
    struct class_ref *ref; /* [n_classes] */
};

void mtg_quality_free(struct mtg_quality *q)
{
    if (!q)
        return;
    for (int c = 0; q->ref && c < q->n_classes; c++) {
        free(q->ref[c].feat);
        free(q->ref[c].mu);
        free(q->ref[c].cov_sqrt);
        free(q->ref[c].radius2);
    }
    free(q->ref);
    mtg_net_free(q->clf);
    free(q);
}

/* Chunked forward of m over x: features from the penultimate layer, optional softmax. */
static void run_features(struct mtg_net *m, const float *x, int n, int in_dim, int feat_dim,
                         int classes, float *feat, float *probs)
{
    int chunk = mtg_net_max_batch(m);
    for (int r = 0; r < n; r += chunk) {
        int b = n - r < chunk ? n - r : chunk;
        const float *y = mtg_net_forward(m, x + (size_t)r * (size_t)in_dim, b);
        memcpy(feat + (size_t)r * (size_t)feat_dim, mtg_net_activation(m, MTG_QUALITY_FEATURE_LAYER),
               (size_t)b * (size_t)feat_dim * sizeof *feat);
        if (probs)
            mtg_softmax(y, b, classes, probs + (size_t)r * (size_t)classes);
    }
}

/* Fills ref[c] from the reference rows of class c, run through q->clf. */
static int build_class_ref(struct mtg_quality *q, const struct mtg_dataset *ref, int c,
                           struct mtg_err *err)
{
    struct mtg_dataset *sub = NULL;
    double *cov = NULL;
    struct class_ref *cr = &q->ref[c];
    int d = q->feat_dim;
    int rc = mtg_data_class_subset(ref, c, &sub, err);
    if (rc != MTG_OK)
        return rc;
    cr->n = mtg_data_n(sub);
    if (cr->n <= MTG_QUALITY_PR_K) {
        rc = mtg_err_set(err, MTG_EINVAL, "quality: class %d has %d reference rows, need > %d", c,
                         cr->n, MTG_QUALITY_PR_K);
        goto done;
    }
    cr->feat = malloc((size_t)cr->n * (size_t)d * sizeof *cr->feat);
    cr->mu = malloc((size_t)d * sizeof *cr->mu);
    cr->cov_sqrt = malloc((size_t)d * (size_t)d * sizeof *cr->cov_sqrt);
    cr->radius2 = malloc((size_t)cr->n * sizeof *cr->radius2);
    cov = malloc((size_t)d * (size_t)d * sizeof *cov);
    if (!cr->feat || !cr->mu || !cr->cov_sqrt || !cr->radius2 || !cov) {
        rc = mtg_err_set(err, MTG_ENOMEM, "quality: out of memory for class %d", c);
        goto done;
    }
    run_features(q->clf, mtg_data_x(sub), cr->n, q->in_dim, d, q->n_classes, cr->feat, NULL);
    rc = mtg_quality_gauss_fit(cr->feat, cr->n, d, cr->mu, cov, err);
    if (rc == MTG_OK)
        rc = mtg_quality_psd_sqrt(cov, d, cr->cov_sqrt, err);
    if (rc == MTG_OK)
        rc = mtg_quality_knn_radii(cr->feat, cr->n, d, MTG_QUALITY_PR_K, cr->radius2, err);
    if (rc != MTG_OK) {
        mtg_err_wrap(err, "quality: class %d", c);
        goto done;
    }
    cr->cov_trace = 0.0;
    for (int i = 0; i < d; i++)
        cr->cov_trace += cov[(size_t)i * (size_t)d + (size_t)i];
done:
    free(cov);
    mtg_data_free(sub);
    return rc;
}

int mtg_quality_new(struct mtg_net *clf, const struct mtg_dataset *ref, struct mtg_quality **out,
                    struct mtg_err *err)
{
    int rc;
    struct mtg_quality *q = NULL;
    if (!clf || !ref || !out) {
        rc = mtg_err_set(err, MTG_EINVAL, "quality: NULL argument");
        goto fail;
    }
    *out = NULL;
    if (mtg_net_n_layers(clf) <= MTG_QUALITY_FEATURE_LAYER + 1 || mtg_net_in_dim(clf) != mtg_data_dim(ref) ||
        mtg_net_out_dim(clf) != mtg_data_n_classes(ref)) {
        rc = mtg_err_set(err, MTG_EINVAL,
                         "quality: classifier (%d layers, %d -> %d) does not fit data (%d -> %d classes)",
                         mtg_net_n_layers(clf), mtg_net_in_dim(clf), mtg_net_out_dim(clf),
                         mtg_data_dim(ref), mtg_data_n_classes(ref));
        goto fail;
    }
    int fs[3];
    mtg_net_layer_shape(clf, MTG_QUALITY_FEATURE_LAYER, fs);
    q = calloc(1, sizeof *q);
    if (!q) {
        rc = mtg_err_set(err, MTG_ENOMEM, "quality: out of memory");
        goto fail;
    }
    q->clf = clf;
    clf = NULL;
    q->n_classes = mtg_data_n_classes(ref);
    q->in_dim = mtg_data_dim(ref);
    q->feat_dim = fs[0] * fs[1] * fs[2];
    q->ref = calloc((size_t)q->n_classes, sizeof *q->ref);
    if (!q->ref) {
        rc = mtg_err_set(err, MTG_ENOMEM, "quality: out of memory");
        goto fail;
    }
    for (int c = 0; c < q->n_classes; c++) {
        rc = build_class_ref(q, ref, c, err);
        if (rc != MTG_OK)
            goto fail;
    }
    q->ref_accuracy = mtg_quality_classifier_accuracy(q->clf, ref);
    *out = q;
    return MTG_OK;
fail:
    mtg_net_free(clf);
    mtg_quality_free(q);
    return rc;
}

int mtg_quality_new_digits(const char *digits_path, const char *cache_path,
                           const struct mtg_quality_cfg *cfg, struct mtg_quality **out,
                           struct mtg_err *err)
{
    struct mtg_dataset *all = NULL, *train = NULL, *held = NULL;
    struct mtg_net *clf = NULL;
    struct mtg_quality_cfg def;
    if (!digits_path || !out)
        return mtg_err_set(err, MTG_EINVAL, "quality: NULL argument");
    *out = NULL;
    if (!cfg) {
        mtg_quality_cfg_default(&def);
        cfg = &def;
    }
    int rc = mtg_data_digits_load(digits_path, &all, err);
    if (rc == MTG_OK)
        rc = mtg_data_split(all, MTG_DATA_HELDOUT_EVERY, &train, &held, err);
    if (rc == MTG_OK)
        rc = mtg_quality_classifier_load_or_train(cache_path, train, cfg, &clf, err);
    if (rc == MTG_OK)
        rc = mtg_quality_new(clf, held, out, err); /* consumes clf */
    if (rc == MTG_OK && (rc = mtg_quality_set_ceiling(*out, train, err)) != MTG_OK) {
        mtg_quality_free(*out);
        *out = NULL;
    }
    mtg_data_free(all);
    mtg_data_free(train);
    mtg_data_free(held);
    return rc;
}

int mtg_quality_n_classes(const struct mtg_quality *q) { return q->n_classes; }
int mtg_quality_in_dim(const struct mtg_quality *q) { return q->in_dim; }
int mtg_quality_feature_dim(const struct mtg_quality *q) { return q->feat_dim; }
double mtg_quality_ref_accuracy(const struct mtg_quality *q) { return q->ref_accuracy; }

int mtg_quality_ref_count(const struct mtg_quality *q, int label)
{
    return label >= 0 && label < q->n_classes ? q->ref[label].n : 0;
}

const float *mtg_quality_classifier_params(const struct mtg_quality *q, size_t *n)
{
    *n = mtg_net_param_count(q->clf);
    return mtg_net_params_const(q->clf);
}

int mtg_quality_features(const struct mtg_quality *q, const float *x, int n, float *feat,
                         float *probs, struct mtg_err *err)
{
    if (!q || !x || !feat || n < 1)
        return mtg_err_set(err, MTG_EINVAL, "quality features: NULL argument or n = %d", n);
    /* A private clone keeps q read-only, so evaluations may run in parallel. */
    struct mtg_net *m = mtg_net_clone(q->clf, err);
    if (!m)
        return err ? err->code : MTG_ENOMEM;
    run_features(m, x, n, q->in_dim, q->feat_dim, q->n_classes, feat, probs);
    mtg_net_free(m);
    return MTG_OK;
}

int mtg_quality_eval_task(const struct mtg_quality *q, int label, const float *samples, int n,
                          struct mtg_quality_task *out, struct mtg_err *err)
{
    int rc;
    float *feat = NULL, *probs = NULL;
    double *mu = NULL, *cov = NULL;
    if (!q || !samples || !out)
        return mtg_err_set(err, MTG_EINVAL, "quality: NULL argument");
    if (label < 0 || label >= q->n_classes)
        return mtg_err_set(err, MTG_ERANGE, "quality: task class %d outside [0, %d)", label,
                           q->n_classes);
    if (n <= MTG_QUALITY_PR_K)
        return mtg_err_set(err, MTG_EINVAL, "quality: %d samples, need > %d", n, MTG_QUALITY_PR_K);
    memset(out, 0, sizeof *out);
    int d = q->feat_dim, classes = q->n_classes;
    for (size_t i = 0; i < (size_t)n * (size_t)q->in_dim; i++)
        if (!isfinite(samples[i]))
            return mtg_err_set(err, MTG_ENOTFINITE, "quality: sample %zu value %zu is not finite",
                               i / (size_t)q->in_dim, i % (size_t)q->in_dim);
    feat = malloc((size_t)n * (size_t)d * sizeof *feat);
    probs = malloc((size_t)n * (size_t)classes * sizeof *probs);
    mu = malloc((size_t)d * sizeof *mu);
    cov = malloc((size_t)d * (size_t)d * sizeof *cov);
    if (!feat || !probs || !mu || !cov) {
        rc = mtg_err_set(err, MTG_ENOMEM, "quality: out of memory for %d samples", n);
        goto done;
    }
    rc = mtg_quality_features(q, samples, n, feat, probs, err);
    if (rc != MTG_OK)
        goto done;
    long hits = 0;
    for (int i = 0; i < n; i++)
        hits += probs[(size_t)i * (size_t)classes + (size_t)label] >= MTG_QUALITY_FIDELITY_P;
    const struct class_ref *cr = &q->ref[label];
    rc = mtg_quality_gauss_fit(feat, n, d, mu, cov, err);
    if (rc == MTG_OK)
        rc = mtg_quality_frechet_sqrt(cr->mu, cr->cov_sqrt, cr->cov_trace, mu, cov, d, &out->fd,
                                      err);
    struct mtg_quality_prc m;
    if (rc == MTG_OK)
        rc = mtg_quality_prc(cr->feat, cr->radius2, cr->n, feat, n, d, MTG_QUALITY_PR_K, &m, err);
    if (rc != MTG_OK) {
        mtg_err_wrap(err, "quality: task class %d", label);
        goto done;
    }
    out->label = label;
    out->n = n;
    out->fidelity = (double)hits / (double)n;
    out->precision = m.precision;
    out->recall = m.recall;
    out->coverage = m.coverage;
done:
    free(feat);
    free(probs);
    free(mu);
    free(cov);
    return rc;
}

int mtg_quality_set_ceiling(struct mtg_quality *q, const struct mtg_dataset *real,
                            struct mtg_err *err)
{
    if (!q || !real)
        return mtg_err_set(err, MTG_EINVAL, "quality ceiling: NULL argument");
    if (mtg_data_dim(real) != q->in_dim || mtg_data_n_classes(real) != q->n_classes)
        return mtg_err_set(err, MTG_EINVAL,
                           "quality ceiling: real data (%d features, %d classes) does not fit the "
                           "evaluator (%d, %d)",
                           mtg_data_dim(real), mtg_data_n_classes(real), q->in_dim, q->n_classes);
    for (int c = 0; c < q->n_classes; c++) {
        struct mtg_dataset *sub = NULL;
        struct mtg_quality_task r;
        int rc = mtg_data_class_subset(real, c, &sub, err);
        if (rc == MTG_OK && mtg_data_n(sub) > MTG_QUALITY_PR_K)
            rc = mtg_quality_eval_task(q, c, mtg_data_x(sub), mtg_data_n(sub), &r, err);
        else
            memset(&r, 0, sizeof r); /* too few rows: the ceiling stays unknown */
        mtg_data_free(sub);
        if (rc != MTG_OK) {
            mtg_err_wrap(err, "quality ceiling");
            return rc;
        }
        q->ref[c].ceiling = r;
    }
    return MTG_OK;
}

const struct mtg_quality_task *mtg_quality_ceiling(const struct mtg_quality *q, int label)
{
    if (!q || label < 0 || label >= q->n_classes || q->ref[label].ceiling.n == 0)
        return NULL;
    return &q->ref[label].ceiling;
}
