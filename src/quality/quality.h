/*
 * quality.h - how "trained" a generator is (DESIGN §11). A struct
 * mtg_quality holds the held-out classifier (classifier.h) and, per class,
 * the reference real features and their Gaussian fit, computed once; each
 * evaluation then scores a batch of generated samples for one task:
 *
 *   fidelity  - fraction classified as the task's class with p >= 0.5
 *   fd        - Fréchet distance of penultimate features vs reference (frechet.h)
 *   precision, recall - k-NN manifolds, k = 3, same features (prec_recall.h)
 *
 *     struct mtg_quality *q;
 *     mtg_quality_new_digits("data/digits.csv.gz", "state/classifier.mtgb", NULL, &q, &err);
 *     struct mtg_quality_task r;
 *     mtg_quality_eval_task(q, 3, samples, 500, &r, &err);      // samples [500, 64] in [0,1]
 *     printf("fidelity %.3f fd %.2f P %.2f R %.2f\n", r.fidelity, r.fd, r.precision, r.recall);
 *     mtg_quality_free(q);
 *
 * A struct mtg_quality is read-only after creation: evaluations may run
 * concurrently from several threads.
 */
#ifndef MTG_QUALITY_QUALITY_H
#define MTG_QUALITY_QUALITY_H

#include <stddef.h>

#include "quality/classifier.h"

struct mtg_err;
struct mtg_mlp;
struct mtg_dataset;
struct mtg_quality;

/* p >= 0.5 for the task's class (DESIGN §11), i.e. a confident, unambiguous sample. */
#define MTG_QUALITY_FIDELITY_P 0.5f

struct mtg_quality_task {
    int label;        /* the class evaluated */
    int n;            /* generated samples scored */
    double fidelity;  /* in [0, 1] */
    double fd;        /* >= 0; lower is better */
    double precision; /* in [0, 1] */
    double recall;    /* in [0, 1] */
};

/*
 * Builds the evaluator from a trained classifier and labelled reference
 * data (the held-out split): every class of ref needs more than
 * MTG_QUALITY_PR_K rows. Takes ownership of clf, on failure too (it is
 * freed). Caller frees *out with mtg_quality_free().
 */
int mtg_quality_new(struct mtg_mlp *clf, const struct mtg_dataset *ref, struct mtg_quality **out,
                    struct mtg_err *err);

/*
 * The standard evaluator: loads the digits csv.gz at digits_path, splits it
 * with mtg_data_split(MTG_DATA_HELDOUT_EVERY), gets the classifier with
 * mtg_quality_classifier_load_or_train(cache_path, train, cfg) (cache_path
 * NULL = always train; cfg NULL = defaults) and uses the held-out split as
 * reference. Caller frees *out.
 */
int mtg_quality_new_digits(const char *digits_path, const char *cache_path,
                           const struct mtg_quality_cfg *cfg, struct mtg_quality **out,
                           struct mtg_err *err);

void mtg_quality_free(struct mtg_quality *q);

int mtg_quality_n_classes(const struct mtg_quality *q);
/* Input features per sample (64 for digits) and feature-space dimension (128). */
int mtg_quality_in_dim(const struct mtg_quality *q);
int mtg_quality_feature_dim(const struct mtg_quality *q);
/* Classifier accuracy on the reference (held-out) data, computed at creation. */
double mtg_quality_ref_accuracy(const struct mtg_quality *q);
/* Reference rows of class label (0 when out of range). */
int mtg_quality_ref_count(const struct mtg_quality *q, int label);
/* The classifier's flat parameters (*n of them), owned by q. */
const float *mtg_quality_classifier_params(const struct mtg_quality *q, size_t *n);

/*
 * Classifier features [n, feature_dim] and, if probs is non-NULL, class
 * probabilities [n, n_classes] of x [n, in_dim]. Uses a private copy of
 * the classifier, so q stays untouched.
 */
int mtg_quality_features(const struct mtg_quality *q, const float *x, int n, float *feat,
                         float *probs, struct mtg_err *err);

/*
 * Scores samples [n, in_dim] (generated for task label) against the
 * reference of that class. n > MTG_QUALITY_PR_K; a few hundred samples give
 * stable FD and recall - compare runs at equal n, as both depend on it.
 * MTG_ENOTFINITE when samples hold NaN/Inf.
 */
int mtg_quality_eval_task(const struct mtg_quality *q, int label, const float *samples, int n,
                          struct mtg_quality_task *out, struct mtg_err *err);

#endif
