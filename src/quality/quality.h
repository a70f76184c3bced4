/*
 * quality.h - how "trained" a generator is (DESIGN §11). A struct
 * mtg_quality holds the held-out classifier (classifier.h) and, per class,
 * the reference real features and their Gaussian fit, computed once; each
 * evaluation then scores a batch of generated samples for one task:
 *
 *   fidelity  - fraction classified as the task's class with p >= 0.5
 *   fd        - Fréchet distance of penultimate features vs reference (frechet.h)
 *   precision, recall, coverage - k-NN manifolds, k = 3, same features (prec_recall.h)
 *
 * and, per class, the real-vs-real ceiling: the same metrics of real images
 * that are not in the reference (for digits, the class's train split, the
 * data the generators learn from) scored as if generated. Recall 0.9 means
 * nothing without it; DESIGN §11 sets recall and coverage targets relative
 * to it.
 *
 *     struct mtg_quality *q;
 *     mtg_quality_new_digits("data/digits.csv.gz", "state/classifier.mtgb", NULL, &q, &err);
 *     struct mtg_quality_task r;
 *     mtg_quality_eval_task(q, 3, samples, 500, &r, &err);      // samples [500, 64] in [0,1]
 *     const struct mtg_quality_task *c = mtg_quality_ceiling(q, 3);
 *     printf("recall %.2f/%.2f coverage %.2f/%.2f\n", r.recall, c->recall, r.coverage, c->coverage);
 *     mtg_quality_free(q);
 *
 * A struct mtg_quality is read-only after creation (and the optional
 * mtg_quality_set_ceiling): evaluations may run concurrently from several
 * threads.
 */
#ifndef MTG_QUALITY_QUALITY_H
#define MTG_QUALITY_QUALITY_H

#include <stddef.h>

#include "quality/classifier.h"

struct mtg_err;
struct mtg_net;
struct mtg_dataset;
struct mtg_quality;

/* p >= 0.5 for the task's class (DESIGN §11), i.e. a confident, unambiguous sample. */
#define MTG_QUALITY_FIDELITY_P 0.5f

struct mtg_quality_task {
    int label;        /* the class evaluated */
    int n;            /* generated samples scored; 0 = not measured (an unknown ceiling) */
    double fidelity;  /* in [0, 1] */
    double fd;        /* >= 0; lower is better */
    double precision; /* in [0, 1] */
    double recall;    /* in [0, 1] */
    double coverage;  /* in [0, 1] (Naeem et al. 2020) */
};

/*
 * Builds the evaluator from a trained classifier and labelled reference
 * data (the held-out split): every class of ref needs more than
 * MTG_QUALITY_PR_K rows. Takes ownership of clf, on failure too (it is
 * freed). Caller frees *out with mtg_quality_free().
 */
int mtg_quality_new(struct mtg_net *clf, const struct mtg_dataset *ref, struct mtg_quality **out,
                    struct mtg_err *err);

/*
 * Scores, for every class, real's rows of that class against the reference
 * as if they were generated samples, and keeps the result as the class's
 * ceiling (mtg_quality_ceiling). real must hold images disjoint from the
 * reference, same dim and classes; a class with at most MTG_QUALITY_PR_K
 * rows in real keeps an unknown ceiling. Call before sharing q between
 * threads. The ceiling's n is real's class count, usually fewer than the
 * few hundred generated samples an evaluation scores: its recall and
 * coverage are then slightly low and its FD slightly high (both grow
 * better with n), which errs on the side of an attainable target.
 */
int mtg_quality_set_ceiling(struct mtg_quality *q, const struct mtg_dataset *real,
                            struct mtg_err *err);

/*
 * The real-vs-real ceiling of class label, owned by q; NULL when label is
 * out of range or its ceiling was never set.
 */
const struct mtg_quality_task *mtg_quality_ceiling(const struct mtg_quality *q, int label);

/*
 * The standard evaluator: loads the digits csv.gz at digits_path, splits it
 * with mtg_data_split(MTG_DATA_HELDOUT_EVERY), gets the classifier with
 * mtg_quality_classifier_load_or_train(cache_path, train, cfg) (cache_path
 * NULL = always train; cfg NULL = defaults), uses the held-out split as
 * reference and the train split for the ceiling: "held-out halves" of
 * DESIGN §11 would leave ~18 images per class and side, too few for a
 * 128-d Gaussian fit or a k = 3 manifold, so the ceiling compares the
 * class's ~143 train images with its ~36 held-out ones - the images the
 * generators learn from against those they never see. (The classifier
 * was trained on them too, so the ceiling's fidelity is 1.0 where held-out
 * digits score ~0.97.) Caller frees *out.
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
 * stable FD, recall and coverage - compare runs at equal n, as all three depend on it.
 * MTG_ENOTFINITE when samples hold NaN/Inf.
 */
int mtg_quality_eval_task(const struct mtg_quality *q, int label, const float *samples, int n,
                          struct mtg_quality_task *out, struct mtg_err *err);

#endif
