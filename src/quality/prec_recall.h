/*
 * prec_recall.h - k-NN manifold metrics of a generative model in a feature
 * space. Each set's manifold is the union of balls around its points, each
 * ball's radius the distance to the point's k-th nearest neighbour within
 * the same set (k = 3 here, as in both papers).
 *
 *   precision - fraction of generated points inside the real manifold (how
 *               realistic); Kynkäänniemi et al. 2019, "Improved Precision
 *               and Recall Metric for Assessing Generative Models", Eq. 1-2.
 *   recall    - fraction of real points inside the generated manifold. A
 *               collapsed generator's tiny balls around its few modes cover
 *               little, but a handful of outlying fakes with huge k-NN
 *               balls can inflate it (Naeem et al. 2020).
 *   coverage  - fraction of real points whose own k-NN ball holds at least
 *               one generated point; Naeem et al. 2020, "Reliable Fidelity
 *               and Diversity Metrics for Generative Models", ICML. Only
 *               real balls are used, so fake outliers cannot inflate it and
 *               a collapsed generator covers only the balls at its modes.
 *               Two samples of one distribution score 1 - 1/2^k = 0.875 at
 *               equal sizes, more when the generated set is larger (the
 *               paper's Lemma 2).
 *
 * Balls are closed (distance <= radius), as in Kynkäänniemi's Eq. 1.
 *
 *     struct mtg_quality_prc m;
 *     mtg_quality_prc(real, NULL, n_real, fake, n_fake, 128, 3, &m, &err);
 *     printf("P %.2f R %.2f C %.2f\n", m.precision, m.recall, m.coverage);
 *
 * Squared distances come from ||a||² + ||b||² - 2 a·b with the products in
 * cblas_dgemm, in row blocks of at most MTG_QUALITY_PR_BLOCK entries: time
 * O((n_real + n_fake)² d) at BLAS speed, memory O((n_real + n_fake) d).
 */
#ifndef MTG_QUALITY_PREC_RECALL_H
#define MTG_QUALITY_PREC_RECALL_H

struct mtg_err;

#define MTG_QUALITY_PR_K 3
#define MTG_QUALITY_PR_MAX_K 64
/* Distance entries per dgemm block (8 MiB of doubles). */
#define MTG_QUALITY_PR_BLOCK (1 << 20)

struct mtg_quality_prc {
    double precision; /* in [0, 1] */
    double recall;    /* in [0, 1] */
    double coverage;  /* in [0, 1] */
};

/*
 * radius2[i] = squared distance from x_i to its k-th nearest other point of
 * x [n, d] (a duplicate of x_i counts, at distance 0); n > k, 1 <= k <= 64.
 * For callers that score many sets against one fixed real set.
 */
int mtg_quality_knn_radii(const float *x, int n, int d, int k, double *radius2,
                          struct mtg_err *err);

/*
 * Precision, recall and coverage of fake [n_fake, d] against real
 * [n_real, d]. real_radius2 holds the real k-NN radii from
 * mtg_quality_knn_radii with this k, or NULL to compute them. 1 <= k <= 64,
 * and both sets need more than k points. Distances below 1e-12 of the
 * points' squared norms count as 0, so a copy of a point is at distance 0
 * despite rounding. MTG_ENOTFINITE when a set holds NaN/Inf.
 */
int mtg_quality_prc(const float *real, const double *real_radius2, int n_real, const float *fake,
                    int n_fake, int d, int k, struct mtg_quality_prc *out, struct mtg_err *err);

/* mtg_quality_prc without coverage (kept for callers that need only these two). */
int mtg_quality_precision_recall(const float *real, int n_real, const float *fake, int n_fake,
                                 int d, int k, double *precision, double *recall,
                                 struct mtg_err *err);

#endif
