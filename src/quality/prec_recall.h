/*
 * prec_recall.h - improved precision and recall of a generative model
 * (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for
 * Assessing Generative Models", NeurIPS, §2, Eq. 1-2). Each set's manifold
 * is the union of balls around its points, each ball's radius the distance
 * to the point's k-th nearest neighbour within the same set (k = 3 here, as
 * in the paper). Precision: fraction of generated points inside the real
 * manifold (how realistic). Recall: fraction of real points inside the
 * generated manifold (how much of the data is covered - what mode collapse
 * destroys and fidelity cannot see).
 *
 *     double p, r;
 *     mtg_quality_precision_recall(real, n_real, fake, n_fake, 128, 3, &p, &r, &err);
 *
 * Exact pairwise distances in double: O((n_real + n_fake)² d) time, O(n) memory.
 */
#ifndef MTG_QUALITY_PREC_RECALL_H
#define MTG_QUALITY_PREC_RECALL_H

struct mtg_err;

#define MTG_QUALITY_PR_K 3
#define MTG_QUALITY_PR_MAX_K 64

/*
 * real [n_real, d], fake [n_fake, d]; 1 <= k <= 64, and both sets need more
 * than k points. Writes precision and recall in [0, 1].
 */
int mtg_quality_precision_recall(const float *real, int n_real, const float *fake, int n_fake,
                                 int d, int k, double *precision, double *recall,
                                 struct mtg_err *err);

#endif
