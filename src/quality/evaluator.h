/*
 * evaluator.h - the quality evaluator (quality.h) of a dataset kind, built in
 * one place so every program judges a dataset alike (server, train-local,
 * mtgan eval) and a better judge can replace it here alone:
 *
 *   digits        - the MLP classifier on the digits train split, the
 *                   held-out split as reference (mtg_quality_new_digits)
 *   fashion-mnist - the same MLP classifier (784 -> 256 -> 128 -> 10) trained
 *                   on the first MTG_QUALITY_FASHION_PER_CLASS images of each
 *                   class of the train split (fewer with data.limit_per_class),
 *                   the test split (1,000 per class) as reference, and that
 *                   train slice - the images the generators learn from - for
 *                   the real-vs-real ceiling
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

/* Images per class the Fashion-MNIST classifier trains on: ~10 s of training, not minutes. */
#define MTG_QUALITY_FASHION_PER_CLASS 1000
/* Epochs over that slice (digits: 30 over ~1,400 images; here 10 over 10,000 already converge). */
#define MTG_QUALITY_FASHION_EPOCHS 10

/*
 * The evaluator of dataset kind (enum mtg_data_kind) with data at path
 * (data.path: the digits file, the Fashion-MNIST directory, NULL/"" = its
 * default). limit_per_class > 0 (data.limit_per_class) shrinks the
 * Fashion-MNIST classifier's slice further; digits always use their whole
 * train split. The trained classifier is cached in state_dir
 * (classifier.blob for digits, classifier-<dataset>.blob otherwise; NULL or
 * "" = no cache) and reused while data and settings match. MTG_EINVAL for
 * the ring. Caller frees *out with mtg_quality_free().
 */
int mtg_quality_new_for_dataset(int kind, const char *path, int limit_per_class, const char *state_dir,
                                struct mtg_quality **out, struct mtg_err *err);

#endif
