/*
 * frechet.h - Fréchet distance between Gaussian fits of two feature sets
 * (Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule
 * Converge to a Local Nash Equilibrium", Eq. 6 - the FID formula, here on
 * our classifier's features instead of Inception's):
 *
 *     d² = ||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^{1/2})
 *
 * in double precision. Tr (S1 S2)^{1/2} is computed without a
 * non-symmetric matrix square root: S1 S2 is similar to the symmetric PSD
 * M = S1^{1/2} S2 S1^{1/2}, so Tr (S1 S2)^{1/2} = Σ sqrt(λ_i(M)). Both
 * eigen-decompositions are LAPACK's dsyevd; products are cblas_dgemm.
 *
 *     double mu1[d], cov1[d*d], mu2[d], cov2[d*d], fd;
 *     mtg_quality_gauss_fit(x1, n1, d, mu1, cov1, &err);
 *     mtg_quality_gauss_fit(x2, n2, d, mu2, cov2, &err);
 *     mtg_quality_frechet(mu1, cov1, mu2, cov2, d, &fd, &err);
 */
#ifndef MTG_QUALITY_FRECHET_H
#define MTG_QUALITY_FRECHET_H

struct mtg_err;

#define MTG_QUALITY_FRECHET_MAX_DIM 4096

/*
 * Mean mu [d] and unbiased covariance cov [d, d] (divisor n - 1, as numpy's
 * cov and the reference FID code) of x [n, d]; n >= 2. MTG_ENOTFINITE when
 * x holds NaN/Inf.
 */
int mtg_quality_gauss_fit(const float *x, int n, int d, double *mu, double *cov,
                          struct mtg_err *err);

/*
 * The Fréchet distance (squared, as FID reports it) between N(mu1, cov1)
 * and N(mu2, cov2); covariances symmetric PSD [d, d]. Eigenvalues that
 * rounding pushes below zero count as zero, and a result below zero from
 * cancellation is reported as 0. Allocates O(d²) scratch per call.
 */
int mtg_quality_frechet(const double *mu1, const double *cov1, const double *mu2,
                        const double *cov2, int d, double *out, struct mtg_err *err);

/*
 * Symmetric PSD square root: out = V diag(sqrt(max(λ, 0))) V^T for
 * cov = V diag(λ) V^T; out [d, d] may not alias cov. For callers that
 * compare many sets against one reference (see mtg_quality_frechet_sqrt).
 */
int mtg_quality_psd_sqrt(const double *cov, int d, double *out, struct mtg_err *err);

/*
 * As mtg_quality_frechet, with cov1 given by its precomputed square root
 * sqrt1 (from mtg_quality_psd_sqrt) and its trace: one eigen-decomposition
 * per call instead of two.
 */
int mtg_quality_frechet_sqrt(const double *mu1, const double *sqrt1, double trace1,
                             const double *mu2, const double *cov2, int d, double *out,
                             struct mtg_err *err);

#endif
