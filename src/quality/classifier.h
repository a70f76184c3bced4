/*
 * classifier.h - the held-out digit classifier behind fidelity and FD
 * (DESIGN §11): an MLP 64 -> 256 ReLU -> 128 ReLU -> 10 (our own core/net),
 * trained once with softmax cross-entropy and Adam on the train split, and
 * cached as a blob file so every process reuses the same weights. Its
 * 128-d penultimate activations are the feature space of FD and
 * precision/recall.
 *
 *     struct mtg_quality_cfg cfg;
 *     mtg_quality_cfg_default(&cfg);
 *     struct mtg_net *clf;
 *     mtg_quality_classifier_load_or_train("state/classifier.mtgb", train, &cfg, &clf, &err);
 *     double acc = mtg_quality_classifier_accuracy(clf, heldout);   // ~0.97
 *     mtg_net_free(clf);
 */
#ifndef MTG_QUALITY_CLASSIFIER_H
#define MTG_QUALITY_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>

struct mtg_err;
struct mtg_net;
struct mtg_dataset;

/* Index of the feature layer (the second hidden layer) in the classifier. */
#define MTG_QUALITY_FEATURE_LAYER 1

struct mtg_quality_cfg {
    int hidden1;   /* 256 */
    int hidden2;   /* 128: the feature dimension */
    int epochs;    /* 30 */
    int batch;     /* 64 */
    float lr;      /* 1e-3, Adam betas 0.9 / 0.999 (Kingma & Ba 2015 defaults) */
    uint64_t seed; /* 1: init and minibatch order */
};

void mtg_quality_cfg_default(struct mtg_quality_cfg *cfg);
int mtg_quality_cfg_validate(const struct mtg_quality_cfg *cfg, struct mtg_err *err);

/*
 * Trains a new classifier on train (dim inputs, n_classes outputs). Same
 * cfg and data give bit-identical weights on one machine (OpenBLAS may
 * differ across CPUs). Caller frees *out with mtg_net_free().
 */
int mtg_quality_classifier_train(const struct mtg_dataset *train, const struct mtg_quality_cfg *cfg,
                                 struct mtg_net **out, struct mtg_err *err);

/* Fraction of rows of ds whose argmax class equals the label. Runs forwards on clf. */
double mtg_quality_classifier_accuracy(struct mtg_net *clf, const struct mtg_dataset *ds);

/*
 * How mtg_quality_fit trains: softmax cross-entropy, Adam with the usual
 * betas (0.9, 0.999) at lr, or decaying linearly to 0 over the run with
 * lr_decay; who (e.g. "cnn judge") logs one line per epoch, NULL is silent.
 */
struct mtg_quality_fit_opts {
    int epochs;
    int batch;
    float lr;
    int lr_decay;
    uint64_t seed;     /* init (stream 1) and minibatch order */
    const char *who;
};

/*
 * The one classifier training loop (the MLP classifier and the conv judge
 * share it): initialises m's parameters from o->seed, then epochs x
 * ceil(n / batch) minibatch steps over train. m is the caller's; 0 or an error.
 */
int mtg_quality_fit(struct mtg_net *m, const struct mtg_dataset *train, const struct mtg_quality_fit_opts *o,
                    struct mtg_err *err);

/*
 * Loads the classifier cached at path if it was trained with this cfg on
 * this exact train data (a key over both is stored in the blob); otherwise
 * trains it and, when path is non-NULL, writes the cache atomically. A
 * missing, stale or corrupt cache is silently replaced (logged at info /
 * warn); failing to write it is only a warning. Caller frees *out.
 */
int mtg_quality_classifier_load_or_train(const char *path, const struct mtg_dataset *train,
                                         const struct mtg_quality_cfg *cfg, struct mtg_net **out,
                                         struct mtg_err *err);

/* Writes clf's parameters to path as a blob (tensors "clf.<i>.w", "clf.<i>.b", "clf.key"). */
/* FNV-1a, 64-bit (Fowler, Noll, Vo), continuing from h (0xcbf29ce484222325 to start): cache keys. */
uint64_t mtg_quality_fnv1a(uint64_t h, const void *data, size_t n);

/*
 * A trained net as a cache file: its parameters as "<prefix>.<layer>.<name>"
 * tensors plus "<prefix>.key" (key as four 16-bit floats), written with
 * blob_flags (MTG_BLOB_ZLIB or 0). Load is all or nothing: MTG_ECONFLICT for
 * another key (a cache for other data or settings), MTG_EFORMAT / MTG_ECRC /
 * MTG_ENOTFINITE for a corrupt file, MTG_ENOTFOUND for none; net is
 * untouched on failure. The classifier ("clf") and the conv judge ("judge")
 * both cache this way.
 */
int mtg_quality_net_save(const struct mtg_net *net, const char *prefix, uint64_t key, const char *path,
                         unsigned blob_flags, struct mtg_err *err);
int mtg_quality_net_load(struct mtg_net *net, const char *prefix, uint64_t key, const char *path,
                         struct mtg_err *err);

int mtg_quality_classifier_save(const struct mtg_net *clf, uint64_t key, const char *path,
                                struct mtg_err *err);

/*
 * Loads parameters saved by mtg_quality_classifier_save into clf, whose
 * spec must match the stored shapes; MTG_ECONFLICT when the stored key is
 * not key (a cache for other data or settings), MTG_EFORMAT on shape mismatch.
 */
int mtg_quality_classifier_load(struct mtg_net *clf, uint64_t key, const char *path,
                                struct mtg_err *err);

/* The cache key of (cfg, train): FNV-1a over the settings, the shape and every value. */
uint64_t mtg_quality_classifier_key(const struct mtg_dataset *train,
                                    const struct mtg_quality_cfg *cfg);

#endif
