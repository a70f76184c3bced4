#include "quality/prec_recall.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/status.h"

/* A point set in double with its squared norms, the operand of every distance block. */
struct pts {
    const double *x; /* [n, d] */
    const double *x2; /* [n] */
    int n;
};

/*
 * out[i, j] = ||a_i - b_j||² for rows [a0, a0 + na) of a and all of b:
 * -2 a·b from dgemm, then the norms. Cancellation leaves a few ulps of
 * ||a||² + ||b||² where the points coincide; those (and negatives) are 0,
 * so a copy of a point is exactly at distance 0 and lies inside a radius-0
 * ball, as exact arithmetic says.
 */
static void sqdist_block(const struct pts *a, int a0, int na, const struct pts *b, int d,
                         double *out)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, na, b->n, d, -2.0,
                a->x + (size_t)a0 * (size_t)d, d, b->x, d, 0.0, out, b->n);
    for (int i = 0; i < na; i++) {
        double *row = out + (size_t)i * (size_t)b->n, ai = a->x2[a0 + i];
        for (int j = 0; j < b->n; j++) {
            double norms = ai + b->x2[j], s = row[j] + norms;
            row[j] = s <= 1e-12 * norms ? 0.0 : s;
        }
    }
}

/*
 * Entries of the distance buffer for sets of up to n points: a full n x n
 * block when it fits in MTG_QUALITY_PR_BLOCK, else at least one row.
 */
static size_t block_cap(size_t n)
{
    if (n * n <= MTG_QUALITY_PR_BLOCK)
        return n * n;
    return n > MTG_QUALITY_PR_BLOCK ? n : MTG_QUALITY_PR_BLOCK;
}

/* Rows per block against n_cols columns in a buffer of cap >= n_cols entries. */
static int block_rows(size_t cap, int n_cols)
{
    size_t r = cap / (size_t)n_cols;
    return r > (size_t)INT32_MAX ? INT32_MAX : (int)r;
}

/*
 * radius2[i] = k-th smallest of the distances from x_i to the other points
 * (by index: a duplicate counts, at 0). best[] keeps the k smallest so far,
 * ascending, by insertion: k is tiny.
 */
static void knn_radii(const struct pts *x, int d, int k, double *buf, size_t cap, double *radius2)
{
    double best[MTG_QUALITY_PR_MAX_K];
    int rows = block_rows(cap, x->n);
    for (int i0 = 0; i0 < x->n; i0 += rows) {
        int nb = x->n - i0 < rows ? x->n - i0 : rows;
        sqdist_block(x, i0, nb, x, d, buf);
        for (int i = 0; i < nb; i++) {
            const double *row = buf + (size_t)i * (size_t)x->n;
            int have = 0;
            for (int j = 0; j < x->n; j++) {
                double s = row[j];
                if (j == i0 + i || (have == k && s >= best[k - 1]))
                    continue;
                int p = have < k ? have++ : k - 1;
                while (p > 0 && best[p - 1] > s) {
                    best[p] = best[p - 1];
                    p--;
                }
                best[p] = s;
            }
            radius2[i0 + i] = best[k - 1];
        }
    }
}

/*
 * For each point q_a: in_any[a] = some x_j has ||q_a - x_j||² <= radius2[j]
 * (q_a inside x's manifold); in_own[a], when own_radius2 is non-NULL, = some
 * x_j has ||q_a - x_j||² <= own_radius2[a] (q_a's ball holds a point of x).
 * Returns the count of in_any; *own the count of in_own.
 */
static long inside(const struct pts *q, const struct pts *x, const double *radius2,
                   const double *own_radius2, int d, double *buf, size_t cap, long *own)
{
    long n_any = 0, n_own = 0;
    int rows = block_rows(cap, x->n);
    for (int a0 = 0; a0 < q->n; a0 += rows) {
        int nb = q->n - a0 < rows ? q->n - a0 : rows;
        sqdist_block(q, a0, nb, x, d, buf);
        for (int a = 0; a < nb; a++) {
            const double *row = buf + (size_t)a * (size_t)x->n;
            int any = 0;
            double nearest = INFINITY;
            for (int j = 0; j < x->n; j++) {
                any |= row[j] <= radius2[j];
                if (row[j] < nearest)
                    nearest = row[j];
            }
            n_any += any;
            if (own_radius2)
                n_own += nearest <= own_radius2[a0 + a];
        }
    }
    if (own)
        *own = n_own;
    return n_any;
}

/* Double copy of x [n, d] and its squared norms, into storage from the caller. */
static int to_pts(const float *x, int n, int d, const char *what, double *xd, double *x2,
                  struct pts *out, struct mtg_err *err)
{
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int j = 0; j < d; j++) {
            size_t at = (size_t)i * (size_t)d + (size_t)j;
            if (!isfinite(x[at]))
                return mtg_err_set(err, MTG_ENOTFINITE, "precision/recall: %s feature %zu is %g", what,
                                   at, (double)x[at]);
            xd[at] = (double)x[at];
            s += xd[at] * xd[at];
        }
        x2[i] = s;
    }
    *out = (struct pts){xd, x2, n};
    return MTG_OK;
}

static int check_k(int n, int d, int k, const char *what, struct mtg_err *err)
{
    if (d < 1)
        return mtg_err_set(err, MTG_EINVAL, "precision/recall: dim %d", d);
    if (k < 1 || k > MTG_QUALITY_PR_MAX_K)
        return mtg_err_set(err, MTG_EINVAL, "precision/recall: k = %d outside [1, %d]", k,
                           MTG_QUALITY_PR_MAX_K);
    if (n <= k)
        return mtg_err_set(err, MTG_EINVAL, "precision/recall: %d %s points, need > k = %d", n, what,
                           k);
    return MTG_OK;
}

int mtg_quality_knn_radii(const float *x, int n, int d, int k, double *radius2,
                          struct mtg_err *err)
{
    if (!x || !radius2)
        return mtg_err_set(err, MTG_EINVAL, "k-NN radii: NULL argument");
    int rc = check_k(n, d, k, "real", err);
    if (rc != MTG_OK)
        return rc;
    double *xd = malloc((size_t)n * (size_t)d * sizeof *xd);
    double *x2 = malloc((size_t)n * sizeof *x2);
    size_t cap = block_cap((size_t)n);
    double *buf = malloc(cap * sizeof *buf);
    struct pts p = {0};
    if (!xd || !x2 || !buf)
        rc = mtg_err_set(err, MTG_ENOMEM, "k-NN radii: out of memory for %d points", n);
    if (rc == MTG_OK)
        rc = to_pts(x, n, d, "real", xd, x2, &p, err);
    if (rc == MTG_OK)
        knn_radii(&p, d, k, buf, cap, radius2);
    free(xd);
    free(x2);
    free(buf);
    return rc;
}

int mtg_quality_prc(const float *real, const double *real_radius2, int n_real, const float *fake,
                    int n_fake, int d, int k, struct mtg_quality_prc *out, struct mtg_err *err)
{
    if (!real || !fake || !out)
        return mtg_err_set(err, MTG_EINVAL, "precision/recall: NULL argument");
    int rc = check_k(n_real, d, k, "real", err);
    if (rc == MTG_OK)
        rc = check_k(n_fake, d, k, "generated", err);
    if (rc != MTG_OK)
        return rc;
    size_t nr = (size_t)n_real, nf = (size_t)n_fake, nmax = nr > nf ? nr : nf;
    double *xd = malloc((nr + nf) * (size_t)d * sizeof *xd);
    double *x2 = malloc((nr + nf) * sizeof *x2);
    double *r_real = real_radius2 ? NULL : malloc(nr * sizeof *r_real);
    double *r_fake = malloc(nf * sizeof *r_fake);
    size_t cap = block_cap(nmax); /* blocks have n_real or n_fake columns */
    double *buf = malloc(cap * sizeof *buf);
    struct pts pr = {0}, pf = {0};
    if (!xd || !x2 || (!real_radius2 && !r_real) || !r_fake || !buf)
        rc = mtg_err_set(err, MTG_ENOMEM, "precision/recall: out of memory for %d + %d points",
                         n_real, n_fake);
    if (rc == MTG_OK)
        rc = to_pts(real, n_real, d, "real", xd, x2, &pr, err);
    if (rc == MTG_OK)
        rc = to_pts(fake, n_fake, d, "generated", xd + nr * (size_t)d, x2 + nr, &pf, err);
    if (rc == MTG_OK) {
        if (!real_radius2) {
            knn_radii(&pr, d, k, buf, cap, r_real);
            real_radius2 = r_real;
        }
        knn_radii(&pf, d, k, buf, cap, r_fake);
        long covered = 0;
        long precise = inside(&pf, &pr, real_radius2, NULL, d, buf, cap, NULL);
        long recalled = inside(&pr, &pf, r_fake, real_radius2, d, buf, cap, &covered);
        out->precision = (double)precise / (double)n_fake;
        out->recall = (double)recalled / (double)n_real;
        out->coverage = (double)covered / (double)n_real;
    }
    free(xd);
    free(x2);
    free(r_real);
    free(r_fake);
    free(buf);
    return rc;
}

int mtg_quality_precision_recall(const float *real, int n_real, const float *fake, int n_fake,
                                 int d, int k, double *precision, double *recall,
                                 struct mtg_err *err)
{
    if (!precision || !recall)
        return mtg_err_set(err, MTG_EINVAL, "precision/recall: NULL argument");
    struct mtg_quality_prc m = {0};
    int rc = mtg_quality_prc(real, NULL, n_real, fake, n_fake, d, k, &m, err);
    if (rc == MTG_OK) {
        *precision = m.precision;
        *recall = m.recall;
    }
    return rc;
}
