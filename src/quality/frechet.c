#include "quality/frechet.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

static int check_dim(int d, struct mtg_err *err)
{
    if (d < 1 || d > MTG_QUALITY_FRECHET_MAX_DIM)
        return mtg_err_set(err, MTG_ERANGE, "frechet: dim %d outside [1, %d]", d,
                           MTG_QUALITY_FRECHET_MAX_DIM);
    return MTG_OK;
}

static int all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

int mtg_quality_gauss_fit(const float *x, int n, int d, double *mu, double *cov,
                          struct mtg_err *err)
{
    if (!x || !mu || !cov)
        return mtg_err_set(err, MTG_EINVAL, "gauss fit: NULL argument");
    int rc = check_dim(d, err);
    if (rc != MTG_OK)
        return rc;
    if (n < 2)
        return mtg_err_set(err, MTG_EINVAL, "gauss fit: %d samples, need >= 2 for a covariance", n);
    double *xc = malloc((size_t)n * (size_t)d * sizeof *xc);
    if (!xc)
        return mtg_err_set(err, MTG_ENOMEM, "gauss fit: out of memory for %d x %d", n, d);
    memset(mu, 0, (size_t)d * sizeof *mu);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            float v = x[(size_t)i * (size_t)d + (size_t)j];
            if (!isfinite(v)) {
                free(xc);
                return mtg_err_set(err, MTG_ENOTFINITE, "gauss fit: sample %d feature %d is %g",
                                   i, j, (double)v);
            }
            mu[j] += v;
        }
    for (int j = 0; j < d; j++)
        mu[j] /= n;
    /* Centre first, then one product: cov = Xc^T Xc / (n - 1) (two-pass, no cancellation). */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            xc[(size_t)i * (size_t)d + (size_t)j] = (double)x[(size_t)i * (size_t)d + (size_t)j] - mu[j];
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, n, 1.0 / (n - 1), xc, d, xc, d, 0.0,
                cov, d);
    free(xc);
    return MTG_OK;
}

/* Eigenvalues (ascending) into w, eigenvectors into a's columns when vectors. */
static int sym_eig(double *a, int d, double *w, int vectors, struct mtg_err *err)
{
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, vectors ? 'V' : 'N', 'U', d, a, d, w);
    if (info != 0)
        return mtg_err_set(err, info < 0 ? MTG_EINVAL : MTG_ENOTFINITE,
                           "frechet: dsyevd failed (info %d)", (int)info);
    return MTG_OK;
}

int mtg_quality_psd_sqrt(const double *cov, int d, double *out, struct mtg_err *err)
{
    int rc = check_dim(d, err);
    if (rc != MTG_OK)
        return rc;
    size_t dd = (size_t)d * (size_t)d;
    if (!all_finite(cov, dd))
        return mtg_err_set(err, MTG_ENOTFINITE, "frechet: covariance holds NaN or Inf");
    double *v = malloc(dd * sizeof *v);
    double *w = malloc((size_t)d * sizeof *w);
    if (!v || !w) {
        rc = mtg_err_set(err, MTG_ENOMEM, "frechet: out of memory for dim %d", d);
        goto done;
    }
    memcpy(v, cov, dd * sizeof *v);
    rc = sym_eig(v, d, w, 1, err);
    if (rc != MTG_OK)
        goto done;
    /* C = V diag(λ^{1/4}); then C C^T = V diag(λ^{1/2}) V^T, symmetric by construction. */
    for (int j = 0; j < d; j++) {
        double s = w[j] > 0.0 ? sqrt(sqrt(w[j])) : 0.0;
        for (int i = 0; i < d; i++)
            v[(size_t)i * (size_t)d + (size_t)j] *= s;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, d, d, 1.0, v, d, v, d, 0.0, out, d);
done:
    free(v);
    free(w);
    return rc;
}

int mtg_quality_frechet_sqrt(const double *mu1, const double *sqrt1, double trace1,
                             const double *mu2, const double *cov2, int d, double *out,
                             struct mtg_err *err)
{
    if (!mu1 || !sqrt1 || !mu2 || !cov2 || !out)
        return mtg_err_set(err, MTG_EINVAL, "frechet: NULL argument");
    int rc = check_dim(d, err);
    if (rc != MTG_OK)
        return rc;
    size_t dd = (size_t)d * (size_t)d;
    if (!all_finite(mu1, (size_t)d) || !all_finite(mu2, (size_t)d) || !all_finite(cov2, dd) ||
        !isfinite(trace1))
        return mtg_err_set(err, MTG_ENOTFINITE, "frechet: mean or covariance holds NaN or Inf");
    double *t = malloc(dd * sizeof *t);
    double *m = malloc(dd * sizeof *m);
    double *w = malloc((size_t)d * sizeof *w);
    if (!t || !m || !w) {
        rc = mtg_err_set(err, MTG_ENOMEM, "frechet: out of memory for dim %d", d);
        goto done;
    }
    /* M = S1^{1/2} S2 S1^{1/2}: same eigenvalues as S1 S2, but symmetric PSD. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, sqrt1, d, cov2, d, 0.0,
                t, d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, t, d, sqrt1, d, 0.0, m,
                d);
    /* dsyevd reads one triangle; average both so rounding asymmetry is not one-sided. */
    for (int i = 0; i < d; i++)
        for (int j = i + 1; j < d; j++) {
            double s = 0.5 * (m[(size_t)i * (size_t)d + (size_t)j] + m[(size_t)j * (size_t)d + (size_t)i]);
            m[(size_t)i * (size_t)d + (size_t)j] = s;
            m[(size_t)j * (size_t)d + (size_t)i] = s;
        }
    rc = sym_eig(m, d, w, 0, err);
    if (rc != MTG_OK)
        goto done;
    double tr_sqrt = 0.0, trace2 = 0.0, dmu = 0.0;
    for (int i = 0; i < d; i++) {
        tr_sqrt += w[i] > 0.0 ? sqrt(w[i]) : 0.0;
        trace2 += cov2[(size_t)i * (size_t)d + (size_t)i];
        dmu += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
    }
    double fd = dmu + trace1 + trace2 - 2.0 * tr_sqrt;
    *out = fd > 0.0 ? fd : 0.0;
done:
    free(t);
    free(m);
    free(w);
    return rc;
}

int mtg_quality_frechet(const double *mu1, const double *cov1, const double *mu2,
                        const double *cov2, int d, double *out, struct mtg_err *err)
{
    if (!mu1 || !cov1 || !mu2 || !cov2 || !out)
        return mtg_err_set(err, MTG_EINVAL, "frechet: NULL argument");
    int rc = check_dim(d, err);
    if (rc != MTG_OK)
        return rc;
    double *s1 = malloc((size_t)d * (size_t)d * sizeof *s1);
    if (!s1)
        return mtg_err_set(err, MTG_ENOMEM, "frechet: out of memory for dim %d", d);
    rc = mtg_quality_psd_sqrt(cov1, d, s1, err);
    if (rc == MTG_OK) {
        double trace1 = 0.0;
        for (int i = 0; i < d; i++)
            trace1 += cov1[(size_t)i * (size_t)d + (size_t)i];
        rc = mtg_quality_frechet_sqrt(mu1, s1, trace1, mu2, cov2, d, out, err);
    }
    free(s1);
    return rc;
}
