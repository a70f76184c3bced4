/*
 * ring.h - quality of samples of the 8-Gaussian ring (data/ring.h), as
 * defined by VEEGAN (Srivastava et al. 2017, "VEEGAN: Reducing Mode
 * Collapse in GANs using Implicit Variational Learning", §5.1): a sample is
 * high quality when it lies within 3σ of the nearest mode centre, and a
 * mode is covered when at least min_count high-quality samples are nearest
 * to it. A collapsed generator scores high quality but few modes.
 *
 *     struct mtg_quality_ring r;
 *     mtg_quality_ring_eval(samples, 2500, 0, &r, &err);
 *     printf("%d/8 modes, %.1f%% high quality\n", r.modes_covered, 100 * r.high_quality);
 */
#ifndef MTG_QUALITY_RING_H
#define MTG_QUALITY_RING_H

#include "data/ring.h"

struct mtg_err;

struct mtg_quality_ring {
    int modes_covered;                 /* of MTG_DATA_RING_MODES */
    double high_quality;               /* fraction of samples within 3σ of a mode */
    int per_mode[MTG_DATA_RING_MODES]; /* high-quality samples nearest to each mode */
};

/*
 * samples [n, 2], n >= 1. min_count <= 0 means the default: max(1, n / 100)
 * - a mode holding under 1 % of the samples when a fair share is 12.5 % is
 * as good as lost. NaN/Inf samples count as low quality.
 */
int mtg_quality_ring_eval(const float *samples, int n, int min_count, struct mtg_quality_ring *out,
                          struct mtg_err *err);

#endif
