#include "quality/prec_recall.h"

#include <math.h>
#include <stdlib.h>

#include "core/status.h"

static double sqdist(const float *a, const float *b, int d)
{
    double s = 0.0;
    for (int j = 0; j < d; j++) {
        double t = (double)a[j] - (double)b[j];
        s += t * t;
    }
    return s;
}

/*
 * radius2[i] = squared distance from x_i to its k-th nearest other point of
 * x. best[] holds the k smallest distances so far, ascending (insertion:
 * k is tiny).
 */
static void knn_radii(const float *x, int n, int d, int k, double *best, double *radius2)
{
    for (int i = 0; i < n; i++) {
        int have = 0;
        for (int j = 0; j < n; j++) {
            if (j == i)
                continue;
            double s = sqdist(x + (size_t)i * (size_t)d, x + (size_t)j * (size_t)d, d);
            if (have == k && s >= best[k - 1])
                continue;
            int p = have < k ? have++ : k - 1;
            while (p > 0 && best[p - 1] > s) {
                best[p] = best[p - 1];
                p--;
            }
            best[p] = s;
        }
        radius2[i] = best[k - 1];
    }
}

/* Fraction of the points q that lie in at least one ball (centre x_i, radius2[i]). */
static double coverage(const float *q, int nq, const float *x, const double *radius2, int nx,
                       int d)
{
    long inside = 0;
    for (int a = 0; a < nq; a++)
        for (int i = 0; i < nx; i++)
            if (sqdist(q + (size_t)a * (size_t)d, x + (size_t)i * (size_t)d, d) <= radius2[i]) {
                inside++;
                break;
            }
    return (double)inside / (double)nq;
}

int mtg_quality_precision_recall(const float *real, int n_real, const float *fake, int n_fake,
                                 int d, int k, double *precision, double *recall,
                                 struct mtg_err *err)
{
    if (!real || !fake || !precision || !recall || d < 1)
        return mtg_err_set(err, MTG_EINVAL, "precision/recall: NULL argument or dim %d", d);
    if (k < 1 || k > MTG_QUALITY_PR_MAX_K)
        return mtg_err_set(err, MTG_EINVAL, "precision/recall: k = %d outside [1, %d]", k,
                           MTG_QUALITY_PR_MAX_K);
    if (n_real <= k || n_fake <= k)
        return mtg_err_set(err, MTG_EINVAL,
                           "precision/recall: %d real and %d generated points, need > k = %d each",
                           n_real, n_fake, k);
    for (size_t i = 0; i < (size_t)n_real * (size_t)d; i++)
        if (!isfinite(real[i]))
            return mtg_err_set(err, MTG_ENOTFINITE, "precision/recall: real feature %zu is %g", i,
                               (double)real[i]);
    for (size_t i = 0; i < (size_t)n_fake * (size_t)d; i++)
        if (!isfinite(fake[i]))
            return mtg_err_set(err, MTG_ENOTFINITE, "precision/recall: generated feature %zu is %g",
                               i, (double)fake[i]);
    double best[MTG_QUALITY_PR_MAX_K];
    double *r_real = malloc((size_t)n_real * sizeof *r_real);
    double *r_fake = malloc((size_t)n_fake * sizeof *r_fake);
    if (!r_real || !r_fake) {
        free(r_real);
        free(r_fake);
        return mtg_err_set(err, MTG_ENOMEM, "precision/recall: out of memory");
    }
    knn_radii(real, n_real, d, k, best, r_real);
    knn_radii(fake, n_fake, d, k, best, r_fake);
    *precision = coverage(fake, n_fake, real, r_real, n_real, d);
    *recall = coverage(real, n_real, fake, r_fake, n_fake, d);
    free(r_real);
    free(r_fake);
    return MTG_OK;
}
