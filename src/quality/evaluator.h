/*
 * evaluator.h - the quality evaluator (quality.h) of a dataset kind, built in
 * one place so every program judges a dataset alike (server, train-local,
 * mtgan eval) and a better judge can replace it here alone:
 *
 *   digits        - the MLP classifier on the digits train split, the
 *                   held-out split as reference (mtg_quality_new_digits)
 *   fashion-mnist - the conv judge (cnn_judge.h: conv 4x4/2 -> 32 -> dense
 *                   128 -> 10, features at the 128-d layer) trained on the
 *                   whole train split, the test split (1,000 per class) as
 *                   reference, and the first MTG_QUALITY_FASHION_PER_CLASS
 *                   train images of each class (fewer with
 *                   data.limit_per_class) - the images the generators learn
 *                   from - for the real-vs-real ceiling
 *   ring          - none: the ring is judged by mode coverage (quality/ring.h)
 *
 *     struct mtg_quality *q;
 *     if (mtg_quality_new_for_dataset(MTG_DATA_KIND_FASHION, NULL, 0, "state", &q, &err) != MTG_OK)
 *         fprintf(stderr, "%s\n", err.msg);
 *     mtg_quality_eval_task(q, 3, samples, 500, &r, &err);   // samples [500, 784] in [0, 1]
 *     mtg_quality_free(q);
 */
#ifndef MTG_QUALITY_EVALUATOR_H
#define MTG_QUALITY_EVALUATOR_H

struct mtg_err;
struct mtg_quality;

/* Train images per class of the Fashion-MNIST ceiling: ~1 s of features, a class size like the reference's. */
#define MTG_QUALITY_FASHION_PER_CLASS 1000

/*
 * The evaluator of dataset kind (enum mtg_data_kind) with data at path
 * (data.path: the digits file, the Fashion-MNIST directory, NULL/"" = its
 * default). limit_per_class > 0 (data.limit_per_class) shrinks the
 * Fashion-MNIST ceiling's slice; it never changes a judge. Classifiers are
 * cached and reused while data and settings match: the digits one in
 * state_dir/classifier.blob, the Fashion-MNIST judge once per machine
 * (mtg_cnn_judge_cache_path: $MTGAN_CACHE_DIR, $XDG_CACHE_HOME/mtgan or
 * ~/.cache/mtgan, else state_dir; the first build trains it, ~40 s on one
 * core). NULL or "" state_dir = no cache. MTG_EINVAL for the ring. Caller
 * frees *out with mtg_quality_free().
 */
int mtg_quality_new_for_dataset(int kind, const char *path, int limit_per_class, const char *state_dir,
                                struct mtg_quality **out, struct mtg_err *err);

#endif
