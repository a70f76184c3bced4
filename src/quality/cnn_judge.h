/*
 * cnn_judge.h - the conv classifier that judges 28x28 generators (DESIGN
 * §11, "conv for images"): a struct mtg_net trained once in our own core,
 * with softmax cross-entropy and Adam, on the Fashion-MNIST train split:
 *
 *     1x28x28 -> conv 4x4/2 p1 -> 32x14x14 leaky(0.2) -> dense 128 leaky -> dense 10
 *
 * Its 128-d penultimate activations (layer MTG_CNN_JUDGE_FEATURE_LAYER) are
 * the feature space of FD, precision/recall and coverage (quality.h). The
 * weights are cached as a blob keyed by the settings and the training data,
 * so a machine trains the judge once; a missing, stale or corrupt cache is
 * retrained, never trusted.
 *
 *     struct mtg_cnn_judge_cfg cfg;
 *     mtg_cnn_judge_cfg_default(&cfg);
 *     char cache[1100];
 *     mtg_cnn_judge_cache_path("state", cache, sizeof cache, &err);   // ~/.cache/mtgan/...
 *     struct mtg_net *judge;
 *     if (mtg_cnn_judge_fashion(NULL, &cfg, cache, &judge, NULL, &err) != MTG_OK)
 *         fprintf(stderr, "%s\n", err.msg);
 *     double acc = mtg_cnn_judge_accuracy(judge, test);   // 0.909 on the 10k test images
 *     mtg_net_free(judge);
 */
#ifndef MTG_QUALITY_CNN_JUDGE_H
#define MTG_QUALITY_CNN_JUDGE_H

#include <stddef.h>
#include <stdint.h>

struct mtg_err;
struct mtg_net;
struct mtg_net_spec;
struct mtg_dataset;

/*
 * Layer whose output is the feature space: the dense layer before the
 * logits. It is also quality.c's MTG_QUALITY_FEATURE_LAYER, which is why
 * the judge has a single conv layer (evaluator.c asserts the two agree).
 */
#define MTG_CNN_JUDGE_FEATURE_LAYER 1
/* Cache file name, in the directory mtg_cnn_judge_cache_path() picks. */
#define MTG_CNN_JUDGE_CACHE_FILE "classifier-fashion-mnist-cnn.blob"

struct mtg_cnn_judge_cfg {
    int conv;      /* 32: channels of the conv layer (side -> side / 2) */
    int hidden;    /* 128: the feature dimension */
    int per_class; /* 0 = all: train images per class mtg_cnn_judge_fashion() reads, first in file order */
    int epochs;    /* 6 */
    int batch;     /* 64 */
    float lr;      /* 2e-3: Adam's first step (betas 0.9 / 0.999), decaying linearly towards 0 */
    uint64_t seed; /* 1: init and minibatch order */
};

/* The judge measured in cnn_judge.c: test accuracy 0.909, ~40 s on one core. */
void mtg_cnn_judge_cfg_default(struct mtg_cnn_judge_cfg *cfg);
int mtg_cnn_judge_cfg_validate(const struct mtg_cnn_judge_cfg *cfg, struct mtg_err *err);

/* The judge's network for side x side single-channel images and n_classes. */
void mtg_cnn_judge_spec(const struct mtg_cnn_judge_cfg *cfg, int side, int n_classes,
                        struct mtg_net_spec *out);

/*
 * A judge with zero parameters, in eval mode, for images of side x side
 * (even side) and n_classes: the shape a cache loads into. Caller frees
 * *out with mtg_net_free().
 */
int mtg_cnn_judge_new(const struct mtg_cnn_judge_cfg *cfg, int side, int n_classes, struct mtg_net **out,
                      struct mtg_err *err);

/*
 * Trains a new judge on train (rows of side*side pixels in [0, 1], side
 * even). Same cfg and data give bit-identical weights on one machine
 * (OpenBLAS may differ across CPUs). Logs one line per epoch. Caller frees
 * *out with mtg_net_free().
 */
int mtg_cnn_judge_train(const struct mtg_dataset *train, const struct mtg_cnn_judge_cfg *cfg,
                        struct mtg_net **out, struct mtg_err *err);

/* Fraction of rows of ds whose argmax class equals the label. Runs forwards on net. */
double mtg_cnn_judge_accuracy(struct mtg_net *net, const struct mtg_dataset *ds);

/*
 * The identity of training data for the cache key. From loaded arrays:
 * CRC-32 of the pixels and of the labels, and the shape. From the
 * Fashion-MNIST directory dir (NULL/"" = the package's): CRC-32 and size of
 * the train image and label files, read the way mtg_data_fashion_load
 * finds them (<name>.gz, else <name>), without decoding them;
 * MTG_ENOTFOUND / MTG_EIO naming the file.
 */
uint64_t mtg_cnn_judge_data_key(const struct mtg_dataset *ds);
int mtg_cnn_judge_fashion_data_key(const char *dir, uint64_t *out, struct mtg_err *err);

/*
 * The cache key: FNV-1a over a format version (bumped when the
 * architecture's code or the training loop changes), every setting of
 * cfg, side, n_classes and data_key. Any change gives another key.
 */
uint64_t mtg_cnn_judge_key(const struct mtg_cnn_judge_cfg *cfg, int side, int n_classes, uint64_t data_key);

/*
 * Writes net's parameters to path atomically as a zlib blob: "judge.key"
 * (the 64-bit key as four 16-bit parts, exact in float32) and one tensor
 * "judge.<layer>.<name>" per parameter tensor (mtg_net_tensor).
 */
int mtg_cnn_judge_save(const struct mtg_net *net, uint64_t key, const char *path, struct mtg_err *err);

/*
 * Loads a blob written by mtg_cnn_judge_save into net; all or nothing, net
 * is untouched on failure. MTG_ENOTFOUND (no file), MTG_ECRC / MTG_EFORMAT
 * (corrupt; a tensor missing, extra or of another shape), MTG_ECONFLICT
 * (another key: other data or settings), MTG_ENOTFINITE.
 */
int mtg_cnn_judge_load(struct mtg_net *net, uint64_t key, const char *path, struct mtg_err *err);

/*
 * The judge cached at path (NULL = no cache) if it was trained with this
 * cfg on this exact train data (mtg_cnn_judge_data_key); otherwise trains
 * it and writes the cache - failing to write is only a warning. *trained
 * (may be NULL) is 1 when it trained. Caller frees *out with mtg_net_free().
 */
int mtg_cnn_judge_load_or_train(const char *path, const struct mtg_dataset *train,
                                const struct mtg_cnn_judge_cfg *cfg, struct mtg_net **out, int *trained,
                                struct mtg_err *err);

/*
 * As mtg_cnn_judge_load_or_train for Fashion-MNIST in dir (NULL/"" = the
 * package's), keyed by mtg_cnn_judge_fashion_data_key: the train split (its
 * first cfg->per_class images of each class) is read only when the cache
 * cannot be used, so a cached judge costs neither the time nor the memory
 * (188 MB as float) of loading it.
 */
int mtg_cnn_judge_fashion(const char *dir, const struct mtg_cnn_judge_cfg *cfg, const char *path,
                          struct mtg_net **out, int *trained, struct mtg_err *err);

/*
 * Where the judge is cached, so that one machine trains it once whatever
 * state directory a program runs with: the first of $MTGAN_CACHE_DIR,
 * $XDG_CACHE_HOME/mtgan and $HOME/.cache/mtgan that is or can be made a
 * writable directory, else state_dir (NULL/"" = none), joined with
 * MTG_CNN_JUDGE_CACHE_FILE into buf[cap]. MTG_OK; MTG_ENOTFOUND when there
 * is nowhere to cache, MTG_ERANGE when the path does not fit (buf = "").
 */
int mtg_cnn_judge_cache_path(const char *state_dir, char *buf, size_t cap, struct mtg_err *err);

#endif
